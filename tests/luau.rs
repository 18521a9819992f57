//! Runs every script under tests/luau in a plain mlua Luau state with `@lune/ffi`
//! registered (no Lune runtime, so the cross-target lanes can run them too).
//!
//! Each script runs twice in one `#[test]`: first in a plain state, then in a sandboxed
//! one (`lua.sandbox(true)`), as the Lune runtime runs scripts. In the sandboxed state
//! `collectgarbage` only answers "count", so scripts drive the collector the way a real
//! script can: by allocating (see `gc_cycles` below).

use mlua::prelude::*;

/// Globals every script can use. Scripts fail by raising an error.
///
/// API (keep README/report in sync when changing it):
/// - `check_eq(actual, expected, label?)`: `actual == expected`, else an error.
/// - `check_error(fn, needle, ...)`: `fn()` must raise, and the message must contain every
///   needle (plain substring). At least one non-empty needle is required. Returns the message.
/// - `hex64(v)`: the 64-bit two's-complement pattern of an integral value, 16 hex digits.
/// - `same(a, b)`: exact equality: integers and integral numbers by their 64-bit pattern,
///   NaN matches NaN, zero matches zero of the same sign.
/// - `show(v)`: a value for a message (`%.17g` numbers, `nan`, `-0`, else type and value).
/// - `check_same(actual, expected, label)`: `same(actual, expected)`, else an error.
/// - The recorder of tests/clib (the C library at `TESTLIB`, loaded on first use):
///   `rec_reset()`, `rec_count()`, `rec_kind(i)`, `rec_i(i)`, `rec_f(i)` (i from 0),
///   `check_rec(expected, label)`: the record holds exactly `expected` in order;
///   an element equal to `SKIP` matches anything (strings, pointers).
/// - `gc_cycles(n?)`: allocates garbage until the collector has finished `n` (default 3)
///   complete cycles one after the other, each one proven by a sentinel in a weak table
///   being cleared; three make sure that everything unreachable before the call has been
///   swept (its Rust `Drop` has run). Works in a sandboxed state. Errors if the collector
///   does not finish a cycle within about 1 GB of allocation.
/// - `TESTLIB` (path of the C conformance library), `PLATFORM` ("linux-x86_64", ...),
///   `SANDBOXED` (true in the sandboxed run).
const PRELUDE: &str = r##"
function check_eq(actual, expected, label)
    if actual ~= expected then
        error(string.format("%s: expected %s (%s), got %s (%s)", tostring(label or "value"),
            tostring(expected), typeof(expected), tostring(actual), typeof(actual)), 2)
    end
end

function check_error(fn, ...)
    local n = select("#", ...)
    if n == 0 then
        error("check_error: name at least one substring of the expected error message", 2)
    end
    for i = 1, n do
        local needle = select(i, ...)
        if type(needle) ~= "string" or needle == "" then
            error(string.format("check_error: expected substring #%d must be a non-empty string, got %s",
                i, tostring(needle)), 2)
        end
    end
    local ok, err = pcall(fn)
    if ok then
        error("expected an error, but the call succeeded", 2)
    end
    err = tostring(err)
    for i = 1, n do
        local needle = select(i, ...)
        if not string.find(err, needle, 1, true) then
            error(string.format("error message %q does not contain %q", err, needle), 2)
        end
    end
    return err
end

function hex64(v)
    return string.format("%016x", v)
end

function same(a, b)
    local ta, tb = typeof(a), typeof(b)
    if ta == "integer" or tb == "integer" then
        if (ta ~= "integer" and ta ~= "number") or (tb ~= "integer" and tb ~= "number") then
            return false
        end
        if ta == "number" and a ~= math.floor(a) then
            return false
        end
        if tb == "number" and b ~= math.floor(b) then
            return false
        end
        return hex64(a) == hex64(b)
    end
    if ta ~= tb then
        return false
    end
    if ta == "number" then
        if a ~= a then
            return b ~= b
        end
        if a == 0 and b == 0 then
            return 1 / a == 1 / b
        end
    end
    return a == b
end

function show(v)
    if typeof(v) == "number" then
        if v ~= v then
            return "nan"
        end
        if v == 0 and 1 / v < 0 then
            return "-0"
        end
        return string.format("%.17g", v)
    end
    return typeof(v) .. " " .. tostring(v)
end

function check_same(actual, expected, label)
    if not same(actual, expected) then
        error(string.format("%s: got %s, expected %s", label, show(actual), show(expected)), 2)
    end
end

SKIP = table.freeze({})

local recorder
local function rec()
    if not recorder then
        local lib = require("@lune/ffi").load(TESTLIB)
        recorder = {
            reset = lib:func("rec_reset", "void", {}),
            count = lib:func("rec_count", "i32", {}),
            kind = lib:func("rec_kind", "i32", { "i32" }),
            i = lib:func("rec_i", "i64", { "i32" }),
            f = lib:func("rec_f", "f64", { "i32" }),
        }
    end
    return recorder
end

function rec_reset()
    rec().reset()
end
function rec_count()
    return rec().count()
end
function rec_kind(i)
    return rec().kind(i)
end
function rec_i(i)
    return rec().i(i)
end
function rec_f(i)
    return rec().f(i)
end

function check_rec(expected, label)
    check_eq(rec_count(), #expected, label .. ": number of recorded values")
    for k, want in expected do
        if want == SKIP then
            continue
        end
        local got
        if rec_kind(k - 1) == string.byte("f") then
            got = rec_f(k - 1)
        else
            got = rec_i(k - 1)
        end
        check_same(got, want, label .. ": recorded value #" .. k)
    end
end

function gc_cycles(cycles)
    cycles = cycles or 3
    local sink
    for _ = 1, cycles do
        local weak = setmetatable({}, { __mode = "v" })
        weak[1] = {}
        local rounds = 0
        while weak[1] ~= nil do
            rounds += 1
            if rounds > 250000 then
                error("gc_cycles: the collector did not finish a cycle", 2)
            end
            -- about 4 KB of garbage per round
            sink = table.create(256, rounds)
        end
    end
    sink = nil
end
"##;

/// How a script is run: the two states a script must pass in.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Plain,
    Sandboxed,
}

fn testlib() -> &'static str {
    // Empty means testkit/build_clib.rs did not build the C library.
    lune_ffi_testkit::TESTLIB
}

fn run_in(path: &str, src: &str, mode: Mode) -> LuaResult<()> {
    let lua = Lua::new();
    let ffi = lune_ffi::module(lua.clone())?;
    lua.register_module("@lune/ffi", ffi)?;
    let globals = lua.globals();
    globals.set("TESTLIB", testlib())?;
    // "linux-x86_64", "linux-aarch64", "windows-x86_64", ...: for the few tests that are
    // platform-specific (C library names, threads, Win64-only APIs).
    globals.set(
        "PLATFORM",
        format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
    )?;
    globals.set("SANDBOXED", matches!(mode, Mode::Sandboxed))?;
    // The calling convention forced at build time for a test lane (LUNE_FFI_FORCE_ABI:
    // "apple_arm64" in `ci/cross.sh macos-arm64`), else "". There glibc's variadic
    // functions expect another convention than the engine's, so scripts call the
    // conformance library's Apple-convention snprintf instead.
    globals.set(
        "FORCED_ABI",
        option_env!("LUNE_FFI_FORCE_ABI").unwrap_or(""),
    )?;
    lua.load(PRELUDE).set_name("prelude").exec()?;
    if let Mode::Sandboxed = mode {
        // As the Lune runtime does: the prelude's globals become read-only, the script
        // writes its globals into its own table, and collectgarbage only counts.
        lua.sandbox(true)?;
    }
    lua.load(src).set_name(format!("@{}", path)).exec()
}

fn run_script(path: &str) {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {}", path, e));
    if src.contains("TESTLIB") && testlib().is_empty() {
        // A missing C library is a failure, never a quiet pass. testkit/build.rs marks
        // these tests #[ignore] on MSVC targets, the one kind of target that cannot build it.
        let why = if cfg!(target_env = "msvc") {
            "MSVC targets cannot build the C conformance library (it needs gcc or clang)"
        } else {
            "testkit/build_clib.rs did not build it (LUNE_FFI_SKIP_TESTLIB set, or no tests/clib/*.c)"
        };
        panic!(
            "{}: needs the C conformance library, but lune_ffi_testkit::TESTLIB is empty: {}",
            path, why
        );
    }
    // On the stack a Lune script has: the main thread's 8 MiB (Linux), not a test
    // thread's 2 MiB, which deep callback nesting in a debug build would exhaust.
    let path = path.to_string();
    let runner = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            for mode in [Mode::Plain, Mode::Sandboxed] {
                if let Err(e) = run_in(&path, &src, mode) {
                    panic!("{} failed ({:?} state):\n{}", path, mode, e);
                }
            }
        })
        .expect("start the script thread");
    if let Err(panic) = runner.join() {
        std::panic::resume_unwind(panic);
    }
}

// One #[test] per script under tests/luau and per generated difftest script (the list is
// made by testkit/build.rs).
lune_ffi_testkit::script_tests!(run_script);
