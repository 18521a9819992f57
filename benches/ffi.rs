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
static mut DRIVE: Option<extern "C" fn(usize, i32) -> i64> = None;

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

/// Baseline for callbacks: `lua_call` of the Luau function from Rust, n times.
unsafe extern "C-unwind" fn raw_lua_calls(L: *mut lua_State) -> c_int {
    let n = num(L, 2) as i32;
    let mut s = 0i64;
    for k in 0..n {
        lua::lua_pushvalue(L, 1);
        lua::lua_pushnumber(L, k as f64);
        lua::lua_pushnumber(L, 1.0);
        lua::lua_call(L, 2, 1);
        s += num(L, -1) as i64;
        lua::lua_settop(L, 2);
    }
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

/// Runs the Luau chunk `body` (which performs `n` operations) RUNS times; ns per op.
fn time(lua: &Lua, body: &str, n: u64) -> f64 {
    let f: LuaFunction = lua
        .load(format!("return function(N) {} end", body))
        .eval()
        .unwrap();
    f.call::<()>(n / 10).unwrap(); // warm up
    let mut v = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        f.call::<()>(n).unwrap();
        v.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    median(v)
}

fn row(name: &str, ns: f64, base: f64, target: &str) {
    println!(
        "{:<44} {:>8.1} ns  {:>5.2}x baseline   (target {})",
        name,
        ns,
        ns / base,
        target
    );
}

fn main() {
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone()).unwrap();
    lua.globals().set("ffi", ffi).unwrap();
    // SAFETY: plain C functions registered as globals.
    unsafe {
        for (name, f) in [
            ("raw_identity", raw_identity as lua::lua_CFunction),
            ("raw_mm_new", raw_mm_new),
            ("raw_add", raw_add),
            ("raw_fma", raw_fma),
            ("raw_make_ii", raw_make_ii),
            ("raw_make_s24", raw_make_s24),
            ("raw_mixed10", raw_mixed10),
            ("raw_lua_calls", raw_lua_calls),
        ] {
            lua.globals()
                .set(name, lua.create_c_function(f).unwrap())
                .unwrap();
        }
    }
    let n = 2_000_000u64;

    println!("== memory access (baseline: raw lua_CFunction with one number argument)");
    lua.load(
        r#"
        arena = ffi.arena()
        floats = arena:allocArray("f32", 1024)
        S = ffi.struct({ { "x", "f32" }, { "y", "f32" }, { "health", "i32" } })
        view = arena:new(S)
    "#,
    )
    .exec()
    .unwrap();
    let floor = time(
        &lua,
        "local f = raw_identity local x = 0 for i = 1, N do x = f(1.5) end",
        n,
    );
    println!("{:<44} {:>8.1} ns", "raw lua_CFunction (floor)", floor);
    lua.load("mm = raw_mm_new()").exec().unwrap();
    let mm_read = time(
        &lua,
        "local t = mm local x = 0 for i = 1, N do x = t[7] end",
        n,
    );
    row("(trivial C __index: dispatch alone)", mm_read, floor, "-");
    let mm_write = time(&lua, "local t = mm for i = 1, N do t[7] = 1.5 end", n);
    row(
        "(trivial C __newindex: dispatch alone)",
        mm_write,
        floor,
        "-",
    );
    let read = time(
        &lua,
        "local t = floats local x = 0 for i = 1, N do x = t[7] end",
        n,
    );
    row("TypedPointer f32 read  tp[i]", read, floor, "<= 1.5x");
    let write = time(&lua, "local t = floats for i = 1, N do t[7] = 1.5 end", n);
    row("TypedPointer f32 write tp[i] = v", write, floor, "<= 1.5x");
    let fread = time(
        &lua,
        "local v = view local x = 0 for i = 1, N do x = v.health end",
        n,
    );
    row("StructView field read", fread, floor, "<= 2x");
    let fwrite = time(&lua, "local v = view for i = 1, N do v.health = 7 end", n);
    row("StructView field write", fwrite, floor, "<= 2x");

    if std::env::var("BENCH_ONLY").as_deref() == Ok("memory") {
        return;
    }
    let Some(path) = option_env!("LUNE_FFI_TESTLIB").filter(|p| !p.is_empty()) else {
        println!("(no C test library built: call benchmarks skipped)");
        return;
    };
    // SAFETY: the crate's own C test library.
    let lib = unsafe { libloading::Library::new(path) }.expect("test library loads");
    // SAFETY: symbols of the test library with the declared C types.
    unsafe {
        ADD = Some(*lib.get(b"add_i32\0").unwrap());
        FMA = Some(*lib.get(b"fma3\0").unwrap());
        MAKE_II = Some(*lib.get(b"make_ii\0").unwrap());
        MAKE_S24 = Some(*lib.get(b"make_s24\0").unwrap());
        MIXED10 = Some(*lib.get(b"mixed10\0").unwrap());
        DRIVE = Some(*lib.get(b"drive_cb\0").unwrap());
    }
    let _ = unsafe { DRIVE };
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
    "#,
    )
    .exec()
    .unwrap();

    // Profiling hook: `BENCH_LOOP='<luau loop body using N>'` times just that loop.
    if let Ok(body) = std::env::var("BENCH_LOOP") {
        let ns = time(&lua, &body, 10 * n);
        println!("{:<44} {:>8.1} ns", body, ns);
        return;
    }
    println!();
    println!("== calls (baseline: raw lua_CFunction making the same C call directly)");
    let b_add = time(
        &lua,
        "local f = raw_add local x for i = 1, N do x = f(i, 2) end",
        n,
    );
    let add = time(
        &lua,
        "local f = add local x for i = 1, N do x = f(i, 2) end",
        n,
    );
    println!("{:<44} {:>8.1} ns", "raw add(int,int)", b_add);
    row("bound lib:func add(int,int)", add, b_add, "<= 1.25x");
    let b_fma = time(
        &lua,
        "local f = raw_fma local x for i = 1, N do x = f(1.5, 2, 0.25) end",
        n,
    );
    let fma = time(
        &lua,
        "local f = fma local x for i = 1, N do x = f(1.5, 2, 0.25) end",
        n,
    );
    println!("{:<44} {:>8.1} ns", "raw fma(double x3)", b_fma);
    row("bound lib:func fma(double x3)", fma, b_fma, "<= 1.25x");
    let call_add = time(
        &lua,
        r#"local l = lib local a = { "i32", "i32" } local x for i = 1, N do x = l:call("add_i32", "i32", a, i, 2) end"#,
        n,
    );
    row("lib:call add(int,int)", call_add, b_add, "<= 3x");
    let call_add_lit = time(
        &lua,
        r#"local l = lib local x for i = 1, N do x = l:call("add_i32", "i32", { "i32", "i32" }, i, 2) end"#,
        n,
    );
    row(
        "lib:call add, args table literal per call",
        call_add_lit,
        b_add,
        "<= 3x",
    );
    let call_fma = time(
        &lua,
        r#"local l = lib local a = { "f64", "f64", "f64" } local x for i = 1, N do x = l:call("fma3", "f64", a, 1.5, 2, 0.25) end"#,
        n,
    );
    row("lib:call fma(double x3)", call_fma, b_fma, "<= 3x");
    let b_ii = time(
        &lua,
        "local f = raw_make_ii local x for i = 1, N do x = f(1, 2) end",
        n,
    );
    let ii = time(
        &lua,
        "local f = make_ii local x for i = 1, N do x = f(1, 2) end",
        n,
    );
    println!(
        "{:<44} {:>8.1} ns",
        "raw 8-byte struct return (userdata)", b_ii
    );
    row("bound 8-byte struct return", ii, b_ii, "<= 4x");
    let b_24 = time(
        &lua,
        "local f = raw_make_s24 local x for i = 1, N do x = f(1.5, 2, 3, 4) end",
        n,
    );
    let s24 = time(
        &lua,
        "local f = make_s24 local x for i = 1, N do x = f(1.5, 2, 3, 4) end",
        n,
    );
    println!(
        "{:<44} {:>8.1} ns",
        "raw 24-byte struct return (userdata)", b_24
    );
    row("bound 24-byte struct return", s24, b_24, "<= 4x");
    let b_10 = time(
        &lua,
        "local f = raw_mixed10 local x for i = 1, N do x = f(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5) end",
        n,
    );
    let m10 = time(
        &lua,
        "local f = mixed10 local x for i = 1, N do x = f(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5) end",
        n,
    );
    println!("{:<44} {:>8.1} ns", "raw 10-argument mixed call", b_10);
    row("bound 10-argument mixed call", m10, b_10, "<= 1.25x");

    println!();
    println!("== callbacks (baseline: lua_call of the same Luau function from Rust)");
    lua.load(
        r#"
        cbfn = function(a, b) return a + b end
        cb = ffi.callback(cbfn, "i32", { "i32", "i32" })
        drive = lib:func("drive_cb", "i64", { "pointer", "i32" })
    "#,
    )
    .exec()
    .unwrap();
    let b_cb = time(&lua, "raw_lua_calls(cbfn, N)", n);
    let cb = time(&lua, "drive(cb, N)", n);
    println!("{:<44} {:>8.1} ns", "lua_call from Rust", b_cb);
    row("C -> Luau callback int cb(int,int)", cb, b_cb, "<= 1.5x");
}
