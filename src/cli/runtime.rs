//! A Lune runtime assembled from the published pieces (the `lune` crate itself refuses
//! `@lune/` names in `Runtime::with_lib` and pulls in every standard library):
//! `mlua-luau-scheduler` drives the threads, `lune-std` brings the globals and libraries,
//! and `@lune/ffi` is registered beside them.

use std::{
    ffi::{OsStr, OsString},
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use lune_std::LuneStandardGlobal;
use lune_utils::{
    fmt::{ErrorComponents, Label},
    process::{ProcessArgs, ProcessEnv, ProcessJitEnablement},
};
use mlua::prelude::*;
use mlua_luau_scheduler::{Functions, Scheduler};

use super::script::{self, Script};

/// The version `_VERSION` reports (`Lune <this>+<luau version>`).
const RUNTIME_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Luau feature flags, set once before any VM exists. `LuauIntegerLibrary` makes the
/// buffer library offer `readinteger`/`writeinteger` next to the `integer` library
/// (which mlua opens anyway through `StdLib::INTEGER`).
const LUAU_FLAGS: &[&str] = &["LuauIntegerLibrary"];

/// Runs the script named by `script_arg` with `args` as `process.args`
/// and returns the exit code of the run.
pub fn run_script(script_arg: &OsStr, args: Vec<OsString>) -> ExitCode {
    let script = match script::load(script_arg) {
        Ok(script) => script,
        Err(message) => {
            eprintln!("{}\n{message}", Label::Error);
            return ExitCode::FAILURE;
        }
    };

    set_luau_flags();
    start_io_driver();

    let outcome = Runtime::new(args, jit_enabled()).and_then(|rt| {
        let lua = rt.lua.clone();
        async_io::block_on(IdleAware {
            lua,
            inner: Box::pin(rt.run(script)),
            idle: None,
        })
    });
    match outcome {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            eprint!("{}", format_error(err));
            ExitCode::FAILURE
        }
    }
}

/// async-io starts its driver thread the first time its reactor is used (a timer, I/O),
/// and panics if that thread cannot be created: with the address space used up by
/// thousands of `lib:async` workers, the first `task.wait` after them killed the process
/// (`cannot spawn async-io thread`, exit 101). Start it while there is room.
fn start_io_driver() {
    async_io::block_on(async_io::Timer::after(std::time::Duration::ZERO));
}

fn set_luau_flags() {
    for flag in LUAU_FLAGS {
        // A flag this Luau does not know is not worth failing over.
        let _ = Lua::set_fflag(flag, true);
    }
}

/// Native code generation is on unless `LUNE_LUAU_JIT` says otherwise, as in Lune.
fn jit_enabled() -> bool {
    !std::env::var("LUNE_LUAU_JIT")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "off"))
}

/// Lune's error format: the message(s), then `[Stack Begin]` ... `[Stack End]`
/// with one `Script '<name>', Line <n>` line per frame.
fn format_error(err: LuaError) -> String {
    let text = ErrorComponents::from(err).to_string();
    if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    }
}

/// Lune's `print` formats values through mlua, which shows lune-ffi objects as
/// `<userdata>`: give it their `tostring` text instead (top-level arguments).
fn show_ffi_objects_in_print(lua: &Lua) -> LuaResult<()> {
    let print: LuaFunction = lua.globals().get("print")?;
    let wrapped = lua.create_function(move |lua, args: LuaMultiValue| {
        let args: LuaMultiValue = args
            .into_iter()
            .map(|v| match lune_ffi::display_value(lua, &v) {
                Some(text) => lua.create_string(text).map(LuaValue::String),
                None => Ok(v),
            })
            .collect::<LuaResult<_>>()?;
        print.call::<()>(args)
    })?;
    lua.globals().set("print", wrapped)
}

/// Drives the scheduler with the VM lock released whenever it waits (the future is
/// pending: timers, I/O), so callbacks that libraries call from their own threads run
/// promptly instead of at the next ffi call (see `lune_ffi::IdleGuard`).
struct IdleAware<F> {
    lua: Lua,
    inner: std::pin::Pin<Box<F>>,
    idle: Option<lune_ffi::IdleGuard>,
}

impl<F: std::future::Future> std::future::Future for IdleAware<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        // Take the VM back before any Luau runs.
        self.idle = None;
        // A scheduler step is a safe point for the Luau finalizers of ffi.gc.
        lune_ffi::run_pending_finalizers(&self.lua);
        let r = self.inner.as_mut().poll(cx);
        if r.is_pending() {
            let guard = lune_ffi::IdleGuard::new(&self.lua);
            self.idle = Some(guard);
        }
        r
    }
}

/// What `coroutine.resume` says about a coroutine that waits in the scheduler.
const WAITING: &str = "cannot resume a coroutine that is waiting in task.wait or an async call (the scheduler resumes it when the wait is over)";

/// `coroutine.resume` and `coroutine.wrap` over the scheduler's `resume`, which defers a
/// coroutine that calls an async function (`task.wait`, `lib:async`) onto the scheduler.
/// Two additions:
/// - a coroutine waiting in such a call is not resumed by hand: that re-entered the
///   pending call, the scheduler then waited for a wake-up that never came, and the
///   process never exited after the script's last line;
/// - while resumed by hand, the coroutine is marked in `lune_ffi::resumed_by_hand`, so a
///   `lib:async` function called there raises its "call it from a task" error instead of
///   yielding it.
fn hand_resume(lua: &Lua, scheduler_resume: LuaFunction) -> LuaResult<(LuaFunction, LuaFunction)> {
    let by_hand = lune_ffi::resumed_by_hand(lua)?;
    let resume = lua.create_function(move |lua, (thread, args): (LuaThread, LuaMultiValue)| {
        if waits_in_async_call(lua, &thread)? {
            return (false, WAITING).into_lua_multi(lua);
        }
        by_hand.raw_set(&thread, true)?;
        let r = scheduler_resume.call::<LuaMultiValue>((&thread, args));
        by_hand.raw_set(&thread, LuaValue::Nil)?;
        r
    })?;
    let wrap: LuaFunction = lua
        .load(
            r#"
            local resume, create, pack, unpack = ...
            return function(f)
                local t = create(f)
                return function(...)
                    local r = pack(resume(t, ...))
                    if r[1] then
                        return unpack(r, 2, r.n)
                    end
                    error(r[2], 2)
                end
            end
            "#,
        )
        .set_name("=coroutine.wrap")
        .call((
            resume.clone(),
            lua.globals()
                .get::<LuaTable>("coroutine")?
                .get::<LuaFunction>("create")?,
            lua.globals()
                .get::<LuaTable>("table")?
                .get::<LuaFunction>("pack")?,
            lua.globals()
                .get::<LuaTable>("table")?
                .get::<LuaFunction>("unpack")?,
        ))?;
    Ok((resume, wrap))
}

/// `@lune/task` with `task.spawn` and `task.defer` refusing a thread that waits in
/// `task.wait` or an async call: resuming it again left the scheduler waiting forever, as
/// `coroutine.resume` did (see `hand_resume`).
fn guard_task_library(lua: &Lua) -> LuaResult<()> {
    let task: LuaTable = lua
        .load(r#"return require("@lune/task")"#)
        .set_name("=@lune/task")
        .call(())?;
    let waiting =
        lua.create_function(|lua, thread: LuaThread| waits_in_async_call(lua, &thread))?;
    let guarded: LuaTable = lua
        .load(
            r#"
            local task, waiting, message = ...
            local guarded = {}
            for k, v in task do
                guarded[k] = v
            end
            for _, name in { "spawn", "defer" } do
                local f = task[name]
                guarded[name] = function(t, ...)
                    if type(t) == "thread" and waiting(t) then
                        error("task." .. name .. ": " .. message, 2)
                    end
                    return f(t, ...)
                end
            end
            table.freeze(guarded)
            return guarded
            "#,
        )
        .set_name("=@lune/task")
        .call((task, waiting, WAITING))?;
    lua.register_module("@lune/task", guarded)
}

/// Whether `thread` is suspended inside an async function's poll loop (the check mlua
/// itself makes: the yielding frame's caller is its `__mlua_async_poll` wrapper).
fn waits_in_async_call(lua: &Lua, thread: &LuaThread) -> LuaResult<bool> {
    use mlua::ffi;
    // SAFETY: mlua pushes the thread at index 1; we only read its status and debug info
    // and leave one boolean.
    unsafe {
        lua.exec_raw::<bool>(thread, |state| {
            let co = ffi::lua_tothread(state, 1);
            let mut ar = std::mem::zeroed::<ffi::lua_Debug>();
            let waiting = !co.is_null()
                && ffi::lua_status(co) == ffi::LUA_YIELD
                && ffi::lua_getinfo(co, 1, c"s".as_ptr(), &mut ar) != 0
                && !ar.source.is_null()
                && std::ffi::CStr::from_ptr(ar.source) == c"=__mlua_async_poll";
            // Everything left on the stack is the result: only the boolean.
            ffi::lua_settop(state, 0);
            ffi::lua_pushboolean(state, waiting as std::ffi::c_int);
        })
    }
}

struct Runtime {
    lua: Lua,
    sched: Scheduler,
}

impl Runtime {
    fn new(args: Vec<OsString>, jit: bool) -> LuaResult<Self> {
        // The integer library is part of ALL_SAFE under Luau; named for clarity, since
        // @lune/ffi returns 64-bit values that a double cannot hold as integers.
        let lua = Lua::new_with(
            LuaStdLib::ALL_SAFE | LuaStdLib::INTEGER,
            LuaOptions::default(),
        )?;

        let sched = Scheduler::new(lua.clone());
        let fns = Functions::new(lua.clone())?;

        // The default coroutine functions know nothing about the scheduler's async calls.
        let coroutine = lua.globals().get::<LuaTable>("coroutine")?;
        let (resume, wrap) = hand_resume(&lua, fns.resume.clone())?;
        coroutine.set("resume", resume)?;
        coroutine.set("wrap", wrap)?;

        lune_std::set_global_version(&lua, RUNTIME_VERSION);
        lune_std::inject_globals(lua.clone())?;
        show_ffi_objects_in_print(&lua)?;

        lua.sandbox(true)?;

        // Sandboxing makes the original _G read-only: give scripts a usable one again.
        let g_table = LuneStandardGlobal::GTable;
        lua.globals()
            .set(g_table.name(), g_table.create(lua.clone())?)?;

        // Must be app data before the standard libraries are created: @lune/process
        // reads them (and errors without args and env).
        lua.set_app_data(args.into_iter().collect::<ProcessArgs>());
        lua.set_app_data(ProcessEnv::current());
        lua.set_app_data(ProcessJitEnablement::new(jit));

        lune_std::inject_std(lua.clone())?;
        guard_task_library(&lua)?;
        lua.register_module("@lune/ffi", lune_ffi::module(lua.clone())?)?;

        lua.enable_jit(jit);

        Ok(Self { lua, sched })
    }

    /// Runs the script and every thread it spawns to completion; returns the exit status:
    /// the code given to `process.exit`, else 1 if any thread errored, else 0.
    async fn run(self, script: Script) -> LuaResult<u8> {
        let errored = Arc::new(AtomicBool::new(false));
        let errored_inner = Arc::clone(&errored);
        self.sched.set_error_callback(move |err| {
            errored_inner.store(true, Ordering::SeqCst);
            eprint!("{}", format_error(err));
        });

        let main = self.lua.load(script.source).set_name(script.chunk_name);
        self.sched.push_thread_back(main, ())?;
        self.sched.run().await;

        Ok(self
            .sched
            .get_exit_code()
            .unwrap_or(u8::from(errored.load(Ordering::SeqCst))))
    }
}
