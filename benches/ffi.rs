//! lune-ffi benchmarks. Each figure is a ratio to a baseline measured in the same
//! process: a raw `lua_CFunction` doing the equivalent work directly. Medians of
//! several runs; nothing here asserts a time.
//!
//! `cargo bench --bench ffi`

#![allow(non_snake_case)]

use std::ffi::c_int;
use std::time::Instant;

use mlua::ffi::{self as lua, lua_State};
use mlua::prelude::*;

const RUNS: usize = 7;

/// The floor for any userdata access: one number in, one number out.
unsafe extern "C-unwind" fn raw_identity(L: *mut lua_State) -> c_int {
    let n = lua::lua_tonumberx(L, 1, std::ptr::null_mut());
    lua::lua_pushnumber(L, n);
    1
}

/// Function pointers of the C test library, resolved once, for the raw baselines.
static mut ADD: Option<extern "C" fn(i32, i32) -> i32> = None;
static mut FMA: Option<extern "C" fn(f64, f64, f64) -> f64> = None;
static mut MAKE_II: Option<extern "C" fn(i32, i32) -> SIntInt> = None;
static mut MAKE_S24: Option<extern "C" fn(f64, i64, f32, i32) -> S24> = None;
#[allow(clippy::type_complexity)]
static mut MIXED10: Option<extern "C" fn(i32, f64, i64, f32, i32, f64, u8, f32, i16, f64) -> f64> =
    None;

#[repr(C)]
#[derive(Clone, Copy)]
struct SIntInt {
    a: i32,
    b: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct S24 {
    a: f64,
    b: i64,
    c: f32,
    d: i32,
}

unsafe fn num(L: *mut lua_State, i: c_int) -> f64 {
    lua::lua_tonumberx(L, i, std::ptr::null_mut())
}

unsafe extern "C-unwind" fn raw_add(L: *mut lua_State) -> c_int {
    let f = ADD.unwrap();
    lua::lua_pushnumber(L, f(num(L, 1) as i32, num(L, 2) as i32) as f64);
    1
}

unsafe extern "C-unwind" fn raw_fma(L: *mut lua_State) -> c_int {
    let f = FMA.unwrap();
    lua::lua_pushnumber(L, f(num(L, 1), num(L, 2), num(L, 3)));
    1
}

/// Struct returns: the baseline returns the fields in a fresh table, the closest a
/// `lua_CFunction` gets to handing back a struct.
unsafe extern "C-unwind" fn raw_make_ii(L: *mut lua_State) -> c_int {
    let f = MAKE_II.unwrap();
    let s = f(num(L, 1) as i32, num(L, 2) as i32);
    let p = lua::lua_newuserdata(L, 8) as *mut SIntInt;
    *p = s;
    1
}

unsafe extern "C-unwind" fn raw_make_s24(L: *mut lua_State) -> c_int {
    let f = MAKE_S24.unwrap();
    let s = f(
        num(L, 1),
        num(L, 2) as i64,
        num(L, 3) as f32,
        num(L, 4) as i32,
    );
    let p = lua::lua_newuserdata(L, 24) as *mut S24;
    *p = s;
    1
}

unsafe extern "C-unwind" fn raw_mixed10(L: *mut lua_State) -> c_int {
    let f = MIXED10.unwrap();
    let r = f(
        num(L, 1) as i32,
        num(L, 2),
        num(L, 3) as i64,
        num(L, 4) as f32,
        num(L, 5) as i32,
        num(L, 6),
        num(L, 7) as u8,
        num(L, 8) as f32,
        num(L, 9) as i16,
        num(L, 10),
    );
    lua::lua_pushnumber(L, r);
    1
}

/// The callback baselines: the Luau function at index 1 called as `f(k, 1)` for k in
/// 0..n (n at index 2) from Rust, the results summed; with `handler`, a stack index,
/// through `lua_pcall` with that message handler, else through `lua_call`.
unsafe fn lua_call_loop(L: *mut lua_State, handler: Option<c_int>) -> c_int {
    let n = num(L, 2) as i32;
    let top = lua::lua_gettop(L);
    let mut s = 0i64;
    for k in 0..n {
        lua::lua_pushvalue(L, 1);
        lua::lua_pushnumber(L, k as f64);
        lua::lua_pushnumber(L, 1.0);
        match handler {
            Some(h) => {
                if lua::lua_pcall(L, 2, 1, h) != 0 {
                    return 0;
                }
            }
            None => lua::lua_call(L, 2, 1),
        }
        s += num(L, -1) as i64;
        lua::lua_settop(L, top);
    }
    lua::lua_pushnumber(L, s as f64);
    1
}

/// Baseline for callbacks: `lua_call` of the Luau function from Rust, n times.
unsafe extern "C-unwind" fn raw_lua_calls(L: *mut lua_State) -> c_int {
    lua_call_loop(L, None)
}

/// `raw_lua_calls` with `lua_pcall` and a message handler (at index 3): what a C → Luau
/// call must at least cost here, since Luau errors may not unwind through C frames.
unsafe extern "C-unwind" fn raw_lua_pcalls(L: *mut lua_State) -> c_int {
    lua_call_loop(L, Some(3))
}

/// The library's `drive_cb(cb, n)`: calls `cb(k, 1)` for k in 0..n and sums the results.
type DriveCb = extern "C" fn(extern "C" fn(i32, i32) -> i32, i32) -> i64;
static mut DRIVE_CB: Option<DriveCb> = None;

thread_local! {
    /// The thread `raw_drive_pcalls` runs on, for its hand-written callback.
    static RAW_CB_L: std::cell::Cell<*mut lua_State> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// A hand-written C callback: calls the Luau function at index 1 of the running
/// `raw_drive_pcalls` with `lua_pcall` and the message handler at index 3, pushing its
/// two arguments and reading its result through the API, and checks nothing else.
extern "C" fn raw_cb(a: i32, b: i32) -> i32 {
    let L = RAW_CB_L.with(|l| l.get());
    // SAFETY: `raw_drive_pcalls` set `L` to its own thread, which C calls back during
    // that function, with the stack room it checked; `lua_pcall` keeps errors from
    // unwinding through C.
    unsafe {
        lua::lua_pushvalue(L, 1);
        lua::lua_pushnumber(L, a as f64);
        lua::lua_pushnumber(L, b as f64);
        let r = match lua::lua_pcall(L, 2, 1, 3) {
            0 => num(L, -1) as i32,
            _ => 0,
        };
        lua::lua_pop(L, 1);
        r
    }
}

/// The floor of a C → Luau callback as a C library makes it (`drive_cb`, as `drive(cb, N)`
/// does): a C function pointer to `raw_cb`, no thunk, no checks.
unsafe extern "C-unwind" fn raw_drive_pcalls(L: *mut lua_State) -> c_int {
    let n = num(L, 2) as i32;
    lua::lua_checkstack(L, 8);
    RAW_CB_L.with(|l| l.set(L));
    let s = DRIVE_CB.unwrap()(raw_cb, n);
    lua::lua_pushnumber(L, s as f64);
    1
}

/// A userdata whose `__index` / `__newindex` are trivial C functions: what Luau's
/// metamethod dispatch alone costs, the true floor for `tp[i]` and `view.field`.
unsafe extern "C-unwind" fn raw_mm_index(L: *mut lua_State) -> c_int {
    let n = lua::lua_tonumberx(L, 2, std::ptr::null_mut());
    lua::lua_pushnumber(L, n);
    1
}

unsafe extern "C-unwind" fn raw_mm_newindex(_L: *mut lua_State) -> c_int {
    0
}

/// The floor for a string key (`view.field`): a trivial C `__index` that pushes a constant
/// without looking at the key (`raw_mm_index` would try to convert the string to a number,
/// which costs more than a field read).
unsafe extern "C-unwind" fn raw_smm_index(L: *mut lua_State) -> c_int {
    lua::lua_pushnumber(L, 7.0);
    1
}

unsafe extern "C-unwind" fn raw_smm_new(L: *mut lua_State) -> c_int {
    lua::lua_newuserdata(L, 8);
    lua::lua_createtable(L, 0, 1);
    lua::lua_pushcfunction(L, raw_smm_index);
    lua::lua_setfield(L, -2, c"__index".as_ptr());
    lua::lua_setmetatable(L, -2);
    1
}

/// The floor for a struct value (`ffi.new(T)`): a C function that only allocates a
/// userdata of the size one of `T3` takes (its 56-byte view header and 12 bytes), with
/// no metatable, nothing written and no destructor.
unsafe extern "C-unwind" fn raw_new_ud(L: *mut lua_State) -> c_int {
    lua::lua_newuserdata(L, 56 + 12);
    1
}

unsafe extern "C-unwind" fn raw_mm_new(L: *mut lua_State) -> c_int {
    lua::lua_newuserdata(L, 8);
    lua::lua_createtable(L, 0, 2);
    lua::lua_pushcfunction(L, raw_mm_index);
    lua::lua_setfield(L, -2, c"__index".as_ptr());
    lua::lua_pushcfunction(L, raw_mm_newindex);
    lua::lua_setfield(L, -2, c"__newindex".as_ptr());
    lua::lua_setmetatable(L, -2);
    1
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn compile(lua: &Lua, body: &str) -> LuaFunction {
    lua.load(format!("return function(N) {} end", body))
        .eval()
        .unwrap()
}

/// ns per operation of one run of a compiled loop.
fn once(f: &LuaFunction, n: u64) -> f64 {
    let t = Instant::now();
    f.call::<()>(n).unwrap();
    t.elapsed().as_nanos() as f64 / n as f64
}

/// Times `body` against `base`, alternating the two RUNS times so that drift in this
/// noisy machine's speed hits both alike; prints the medians and the median of the
/// per-pair ratios.
fn compare(lua: &Lua, name: &str, base: &str, body: &str, target: &str) {
    const N: u64 = 1_000_000;
    let (b, f) = (compile(lua, base), compile(lua, body));
    once(&b, N / 10);
    once(&f, N / 10);
    let (mut bs, mut fs, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let tb = once(&b, N);
        let tf = once(&f, N);
        bs.push(tb);
        fs.push(tf);
        rs.push(tf / tb);
    }
    println!(
        "{:<40} {:>7.1} ns vs {:>6.1} ns baseline  {:>5.2}x  (target {})",
        name,
        median(fs),
        median(bs),
        median(rs),
        target
    );
}

fn main() {
    // `cargo bench --bench ffi -- cdef-calls N`: only N small cdef calls, once (for
    // callgrind: instruction counts of 10,000 and 20,000 calls, unaffected by load).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "cdef-calls") {
        let n = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        let (total, first, last) = many_small_cdefs(n);
        println!(
            "{} small ffi.cdef calls: {:.3} s; first 1,000 {:.1} us a call, last 1,000 {:.1} us a call",
            n,
            total,
            first * 1e3,
            last * 1e3
        );
        return;
    }
    // `cargo bench --bench ffi -- cdef`: only the `ffi.cdef` figures.
    if args.iter().any(|a| a == "cdef") {
        println!("== ffi.cdef");
        cdef_parse_time();
        return;
    }
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.globals().set("ffi", ffi).unwrap();
    // SAFETY: plain C functions registered as globals.
    unsafe {
        for (name, f) in [
            ("raw_identity", raw_identity as lua::lua_CFunction),
            ("raw_mm_new", raw_mm_new),
            ("raw_smm_new", raw_smm_new),
            ("raw_new_ud", raw_new_ud),
            ("raw_add", raw_add),
            ("raw_fma", raw_fma),
            ("raw_make_ii", raw_make_ii),
            ("raw_make_s24", raw_make_s24),
            ("raw_mixed10", raw_mixed10),
            ("raw_lua_calls", raw_lua_calls),
            ("raw_lua_pcalls", raw_lua_pcalls),
            ("raw_drive_pcalls", raw_drive_pcalls),
        ] {
            lua.globals()
                .set(name, lua.create_c_function(f).unwrap())
                .unwrap();
        }
    }
    // Profiling hook: `BENCH_LOOP='<luau loop body using N>'` times just that loop,
    // `BENCH_N` times (20,000,000 unless set; callgrind wants fewer).
    let profile = std::env::var("BENCH_LOOP").ok();
    let profile_n = std::env::var("BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000_000);

    lua.load(
        r#"
        arena = ffi.arena()
        floats = arena:allocArray("f32", 1024)
        S = ffi.struct({ { "x", "f32" }, { "y", "f32" }, { "health", "i32" } })
        view = arena:new(S)
        T3 = ffi.struct({ { "x", "f32" }, { "y", "f32" }, { "z", "f32" } })
        mm = raw_mm_new()
        smm = raw_smm_new()
    "#,
    )
    .exec()
    .unwrap();
    let path = Some(lune_ffi_testkit::TESTLIB).filter(|p| !p.is_empty());
    let _lib = path.map(|path| setup_calls(&lua, path));
    if let Some(body) = profile {
        let f = compile(&lua, &body);
        let ns = once(&f, profile_n);
        println!("{:<44} {:>8.1} ns", body, ns);
        return;
    }

    println!("== memory access (baseline: a raw lua_CFunction taking one number, f(1.5))");
    let floor = "local f = raw_identity local x for i = 1, N do x = f(1.5) end";
    compare(
        &lua,
        "(trivial C __index, dispatch alone)",
        floor,
        "local t = mm local x for i = 1, N do x = t[7] end",
        "-",
    );
    compare(
        &lua,
        "(trivial C __newindex, dispatch alone)",
        floor,
        "local t = mm for i = 1, N do t[7] = 1.5 end",
        "-",
    );
    compare(
        &lua,
        "TypedPointer f32 read  x = tp[7]",
        floor,
        "local t = floats local x for i = 1, N do x = t[7] end",
        "<= 1.5x",
    );
    compare(
        &lua,
        "TypedPointer f32 write tp[7] = 1.5",
        floor,
        "local t = floats for i = 1, N do t[7] = 1.5 end",
        "<= 1.5x",
    );
    compare(
        &lua,
        "StructView field read  x = v.health",
        floor,
        "local v = view local x for i = 1, N do x = v.health end",
        "<= 2x",
    );
    compare(
        &lua,
        "StructView field write v.health = 7",
        floor,
        "local v = view for i = 1, N do v.health = 7 end",
        "<= 2x",
    );
    compare(
        &lua,
        "struct value made and dropped ffi.new(T3)",
        "local f = raw_new_ud local x for i = 1, N do x = f() end",
        "local new, T = ffi.new, T3 local x for i = 1, N do x = new(T) end",
        "-",
    );

    if std::env::var("BENCH_ONLY").as_deref() == Ok("memory") {
        return;
    }
    if path.is_none() {
        println!("(no C test library built: call benchmarks skipped)");
        return;
    }

    println!();
    println!(
        "== reads and writes against a trivial C metamethod on a userdata (issue 14: <= 1.25x; the field read against one taking a string key)"
    );
    let mm_index = "local t = mm local x for i = 1, N do x = t[7] end";
    let mm_newindex = "local t = mm for i = 1, N do t[7] = 1.5 end";
    for (name, base, body) in [
        (
            "TypedPointer f32 read  x = tp[7]",
            mm_index,
            "local t = floats local x for i = 1, N do x = t[7] end",
        ),
        (
            "StructView field read  x = v.health",
            "local t = smm local x for i = 1, N do x = t.health end",
            "local v = view local x for i = 1, N do x = v.health end",
        ),
        (
            "TypedPointer f32 write tp[7] = 1.5",
            mm_newindex,
            "local t = floats for i = 1, N do t[7] = 1.5 end",
        ),
        (
            "StructView field write v.health = 7",
            mm_newindex,
            "local v = view for i = 1, N do v.health = 7 end",
        ),
    ] {
        compare(&lua, name, base, body, "<= 1.25x");
    }

    println!("== calls (baseline: a raw lua_CFunction making the same C call directly)");
    let raw_add = "local f = raw_add local x for i = 1, N do x = f(i, 2) end";
    let raw_fma = "local f = raw_fma local x for i = 1, N do x = f(1.5, 2, 0.25) end";
    compare(
        &lua,
        "bound lib:func add(int,int)",
        raw_add,
        "local f = add local x for i = 1, N do x = f(i, 2) end",
        "<= 1.25x",
    );
    compare(
        &lua,
        "declared lib.add_i32 vs lib:func add",
        "local f = add local x for i = 1, N do x = f(i, 2) end",
        "local f = cadd local x for i = 1, N do x = f(i, 2) end",
        "<= 1.0x",
    );
    compare(
        &lua,
        "bound lib:func fma(double x3)",
        raw_fma,
        "local f = fma local x for i = 1, N do x = f(1.5, 2, 0.25) end",
        "<= 1.25x",
    );
    compare(&lua, "bound 10-argument mixed call",
        "local f = raw_mixed10 local x for i = 1, N do x = f(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5) end",
        "local f = mixed10 local x for i = 1, N do x = f(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5) end",
        "<= 1.25x");
    compare(
        &lua,
        "lib:call add(int,int)",
        raw_add,
        r#"local l = lib local a = { "i32", "i32" } local x for i = 1, N do x = l:call("add_i32", "i32", a, i, 2) end"#,
        "<= 3x",
    );
    compare(
        &lua,
        "lib:call add, table literal per call",
        raw_add,
        r#"local l = lib local x for i = 1, N do x = l:call("add_i32", "i32", { "i32", "i32" }, i, 2) end"#,
        "<= 3x",
    );
    compare(
        &lua,
        "lib:call fma(double x3)",
        raw_fma,
        r#"local l = lib local a = { "f64", "f64", "f64" } local x for i = 1, N do x = l:call("fma3", "f64", a, 1.5, 2, 0.25) end"#,
        "<= 3x",
    );
    compare(
        &lua,
        "bound 8-byte struct return",
        "local f = raw_make_ii local x for i = 1, N do x = f(1, 2) end",
        "local f = make_ii local x for i = 1, N do x = f(1, 2) end",
        "<= 4x",
    );
    compare(
        &lua,
        "bound 24-byte struct return",
        "local f = raw_make_s24 local x for i = 1, N do x = f(1.5, 2, 3, 4) end",
        "local f = make_s24 local x for i = 1, N do x = f(1.5, 2, 3, 4) end",
        "<= 4x",
    );

    println!();
    println!("== ffi.cdef");
    cdef_parse_time();

    println!();
    println!("== callbacks (baseline: lua_call of the same Luau function from Rust, N times)");
    compare(
        &lua,
        "C -> Luau callback int cb(int,int)",
        "raw_lua_calls(cbfn, N)",
        "drive(cb, N)",
        "<= 1.5x",
    );
    compare(
        &lua,
        "C -> Luau callback vs a protected call",
        "raw_lua_pcalls(cbfn, N, debug.traceback)",
        "drive(cb, N)",
        "-",
    );
    compare(
        &lua,
        "C -> Luau callback vs a C callback",
        "raw_drive_pcalls(cbfn, N, debug.traceback)",
        "drive(cb, N)",
        "-",
    );
}

/// Median time to declare what `gcc -E -P` prints for <sqlite3.h> into a fresh
/// namespace (issue 11's target: under 20 ms).
fn cdef_parse_time() {
    let out = std::process::Command::new("sh")
        .args(["-c", "echo '#include <sqlite3.h>' | gcc -E -P -"])
        .output();
    let src = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => {
            println!("ffi.cdef of sqlite3.h: NOT MEASURED (needs gcc and libsqlite3-dev)");
            return;
        }
    };
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let mut ns = lune_ffi::cdecl::Namespace::new();
        let t = Instant::now();
        ns.cdef(&src).expect("sqlite3.h parses");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{:<40} {:>7.2} ms for {} lines (median of {}; target < 20 ms)",
        "ffi.cdef of preprocessed sqlite3.h",
        median(times),
        src.lines().count(),
        RUNS
    );
    let host = *lune_ffi::cdecl::Namespace::new().platform();
    dd_parse_time(
        "ffi.cdef of gcc -E -dD <sqlite3.h>",
        dd_text("gcc", "sqlite3.h"),
        host,
    );
    // MinGW's <windows.h> into a Win64 namespace (its typedefs are Win64's: on the host's
    // platform `size_t` would conflict).
    dd_parse_time(
        "ffi.cdef of mingw -E -dD <windows.h>",
        dd_text("x86_64-w64-mingw32-gcc", "windows.h"),
        lune_ffi::cdecl::Platform::WIN64,
    );
    let mut totals = Vec::new();
    for n in [10_000, 20_000] {
        let runs: Vec<(f64, f64, f64)> = (0..3).map(|_| many_small_cdefs(n)).collect();
        let t = median(runs.iter().map(|r| r.0).collect());
        totals.push(t);
        println!(
            "{:<40} {:>7.2} s total, {:.1} us a call; first 1,000 {:.1} us, last 1,000 {:.1} us a call (medians of 3)",
            format!("{} small ffi.cdef calls, one state", n),
            t,
            t / n as f64 * 1e6,
            median(runs.iter().map(|r| r.1).collect()) * 1e3,
            median(runs.iter().map(|r| r.2).collect()) * 1e3
        );
    }
    println!(
        "{:<40} {:>7.2} (2.00 = linear)",
        "20,000 calls / 10,000 calls",
        totals[1] / totals[0]
    );
}

/// `<compiler> -E -dD` of `#include <header>`, or None when that fails.
fn dd_text(compiler: &str, header: &str) -> Option<String> {
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("echo '#include <{}>' | {} -E -dD -x c -", header, compiler),
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Median time to declare `src` (`-E -dD` output, with its `#define`s) into a fresh
/// namespace of `platform`.
fn dd_parse_time(what: &str, src: Option<String>, platform: lune_ffi::cdecl::Platform) {
    let Some(src) = src else {
        println!(
            "{:<40} NOT MEASURED (its compiler or headers are missing)",
            what
        );
        return;
    };
    let mut times = Vec::new();
    let mut constants = 0;
    for _ in 0..RUNS {
        let mut ns = lune_ffi::cdecl::Namespace::with_platform(platform);
        let t = Instant::now();
        let r = ns.cdef_report(&src).expect("the header parses");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        constants = r.constants;
    }
    println!(
        "{:<40} {:>7.2} ms for {} lines, {} KB, {} constants (median of {})",
        what,
        median(times),
        src.lines().count(),
        src.len() / 1024,
        constants,
        RUNS
    );
}

/// Total time of `n` small `ffi.cdef` calls into one fresh Lua state, each declaring a
/// struct, a typedef and a function: the cost of a call must follow its own text, not
/// what the state already declares (issue 22: 20,000 such calls took 97 s).
/// Returns the total seconds and the seconds of the first and of the last 1,000 calls.
fn many_small_cdefs(n: usize) -> (f64, f64, f64) {
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.globals().set("ffi", ffi).unwrap();
    let f: LuaFunction = lua
        .load(
            r#"return function(n)
                local cdef, fmt, clock = ffi.cdef, string.format, os.clock
                local first, last, t0 = 0, 0, clock()
                for i = 1, n do
                    if i == 1001 then first = clock() - t0 end
                    if i == n - 999 then last = clock() end
                    cdef(fmt("typedef struct s%d { int a; double b; } t%d; int f%d(t%d *p);", i, i, i, i))
                end
                return first, clock() - last
            end"#,
        )
        .eval()
        .unwrap();
    let t = Instant::now();
    let (first, last) = f.call::<(f64, f64)>(n).unwrap();
    (t.elapsed().as_secs_f64(), first, last)
}

/// Loads the C test library for the raw baselines and binds the same functions in Luau.
fn setup_calls(lua: &Lua, path: &str) -> libloading::Library {
    // SAFETY: the crate's own C test library.
    let lib = unsafe { libloading::Library::new(path) }.expect("test library loads");
    // SAFETY: symbols of the test library with the declared C types.
    unsafe {
        ADD = Some(*lib.get(b"add_i32\0").unwrap());
        FMA = Some(*lib.get(b"fma3\0").unwrap());
        MAKE_II = Some(*lib.get(b"make_ii\0").unwrap());
        MAKE_S24 = Some(*lib.get(b"make_s24\0").unwrap());
        MIXED10 = Some(*lib.get(b"mixed10\0").unwrap());
        DRIVE_CB = Some(*lib.get(b"drive_cb\0").unwrap());
    }
    lua.globals().set("TESTLIB", path).unwrap();
    lua.load(
        r#"
        lib = ffi.load(TESTLIB)
        add = lib:func("add_i32", "i32", { "i32", "i32" })
        fma = lib:func("fma3", "f64", { "f64", "f64", "f64" })
        SIntInt = ffi.struct({ { "a", "i32" }, { "b", "i32" } })
        S24 = ffi.struct({ { "a", "f64" }, { "b", "i64" }, { "c", "f32" }, { "d", "i32" } })
        make_ii = lib:func("make_ii", SIntInt, { "i32", "i32" })
        make_s24 = lib:func("make_s24", S24, { "f64", "i64", "f32", "i32" })
        mixed10 = lib:func("mixed10", "f64", { "i32", "f64", "i64", "f32", "i32", "f64", "u8", "f32", "i16", "f64" })
        cbfn = function(a, b) return a + b end
        cb = ffi.callback(cbfn, "i32", { "i32", "i32" })
        drive = lib:func("drive_cb", "i64", { "pointer", "i32" })
        ffi.cdef("int add_i32(int a, int b);")
        cadd = lib.add_i32
    "#,
    )
    .exec()
    .unwrap();
    lib
}
