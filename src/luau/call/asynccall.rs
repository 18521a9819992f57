//! Async calls: `lib:async(name, ret, args)` gives a function that, called from a Lune
//! task, converts its arguments on the Luau thread, runs the C call on a worker thread, and
//! yields the task until the call returns, while other tasks keep running.
//!
//! The arguments stay referenced by the waiting task until the call returns, so strings,
//! buffers and arena memory passed to C stay alive and in place (Luau never moves them).
//! Callbacks C makes from the worker thread are handed over like any worker-thread
//! callback; their errors, and the call's own, are raised in the waiting task.

use std::ffi::c_int;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use mlua::ffi::{self, lua_State};
use mlua::prelude::{Lua, LuaError, LuaFunction, LuaMultiValue, LuaResult, LuaTable, LuaValue};

use crate::engine::{Buffers, Call, Prototype};
use crate::luau::call::desc::FnDesc;
use crate::luau::call::invoke::{check_arg_count, convert_arg, Names};
use crate::luau::call::library::{check_name, lib_self};
use crate::luau::call::signature::parse_sig;
use crate::luau::memory::access::push_bits;
use crate::luau::memory::objects::push_struct_value;
use crate::luau::values::ctypes::StrArg;
use crate::luau::vm::frame::guarded;
use crate::luau::vm::raw::{raise, LResult};
use crate::luau::vm::reentry;
use crate::types::{CType, Prim};
use mlua::IntoLuaMulti;

/// One argument, converted on the Luau thread: a register image, or a struct's bytes.
enum Arg {
    Scalar(u64),
    Struct(Vec<u8>),
}

/// Why a job failed: a callback C called raised an error (raised as is, like a synchronous
/// call's), or the call itself failed.
enum Failure {
    Callback(String),
    Call(String),
}

/// What the worker hands back.
enum Done {
    Scalar(u64),
    Struct(Vec<u8>),
}

/// The call a worker thread runs: everything it needs, nothing of Luau.
struct Job {
    proto: Arc<Prototype>,
    func: usize,
    args: Vec<Arg>,
}

// SAFETY: `func` is a code address and the argument images are plain bytes; the memory
// they point at stays alive (referenced by the waiting task) until the job is done.
unsafe impl Send for Job {}

impl Job {
    fn run(self) -> Result<Done, String> {
        let proto = &*self.proto;
        let mut bufs = MaybeUninit::<Buffers>::uninit();
        let mut call = Call::new(proto, &mut bufs);
        for (i, a) in self.args.iter().enumerate() {
            match a {
                Arg::Scalar(bits) => call.set_scalar(i, *bits),
                Arg::Struct(bytes) => {
                    let slot = call.struct_slot(i);
                    // SAFETY: the slot holds the struct's size, which `bytes` has.
                    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), slot, bytes.len()) };
                }
            }
        }
        match &proto.sig.ret {
            CType::Struct(st) => {
                // u64 words: aligned for any struct the ABIs return.
                let mut ret = vec![0u64; st.size.div_ceil(8).max(1)];
                // SAFETY: the prototype was classified for this symbol's declared type.
                unsafe { call.invoke(self.func, ret.as_mut_ptr() as *mut u8)? };
                let bytes: Vec<u8> = ret
                    .iter()
                    .flat_map(|w| w.to_ne_bytes())
                    .take(st.size)
                    .collect();
                Ok(Done::Struct(bytes))
            }
            CType::Prim(_) => {
                // SAFETY: the prototype was classified for this symbol's declared type.
                unsafe { call.invoke(self.func, std::ptr::null_mut())? };
                Ok(Done::Scalar(call.ret_bits()))
            }
        }
    }
}

/// Completion shared by the worker and the waiting task.
#[derive(Default)]
struct Slot {
    result: Option<Result<Done, Failure>>,
    waker: Option<Waker>,
}

struct Completion(Arc<Mutex<Slot>>);

impl Future for Completion {
    type Output = Result<Done, Failure>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A worker thread's stack: Rust's default for spawned threads, stated so the probe below
/// knows what it needs.
const WORKER_STACK: usize = 2 << 20;

/// Address space a new worker needs beyond its stack (its signal stack, thread-local
/// blocks, the allocations of the runtime around it) and that must remain afterwards.
/// With less, Rust's or glibc's thread setup aborts the whole process instead of failing.
const WORKER_HEADROOM: usize = 16 << 20;

/// Whether the address space has room for another worker: reserves, then releases, its
/// stack and the headroom (an inaccessible mapping, never touched). Under an address-space
/// limit (`ulimit -v`) the pool then stays smaller, or the call fails with an error.
fn room_for_worker() -> Result<(), String> {
    region::alloc(WORKER_STACK + WORKER_HEADROOM, region::Protection::NONE)
        .map(drop)
        .map_err(|_| "cannot start a worker thread: out of address space".to_string())
}

/// Runs `job` on a worker of the pool; resolves when it returns.
fn spawn(job: Job) -> Result<Completion, String> {
    let slot = Arc::new(Mutex::new(Slot::default()));
    let shared = slot.clone();
    pool::submit(Box::new(move || {
        let (r, cb_err) = reentry::in_async_job(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()))
                .unwrap_or_else(|_| Err("internal error in lune-ffi (a bug, please report)".into()))
        });
        // A callback's error is the call's error, raised as the synchronous call
        // raises it (with no prefix of the async function's).
        let r = match cb_err {
            Some(e) => Err(Failure::Callback(e)),
            None => r.map_err(Failure::Call),
        };
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        s.result = Some(r);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }))?;
    Ok(Completion(slot))
}

/// The worker threads that run async calls, shared by every Lua state of the process, as
/// Koffi's resident async workers are: started on demand up to [`pool::size`] and kept,
/// so a call costs a queue push and a wake-up instead of a thread start; calls beyond
/// the pool wait in a queue, in order.
mod pool {
    use std::collections::VecDeque;
    use std::sync::{Condvar, Mutex};

    type Task = Box<dyn FnOnce() + Send>;

    struct State {
        queue: VecDeque<Task>,
        threads: usize,
        /// Workers waiting for a task, and how many of them a submit has woken already:
        /// a task goes to a waiting worker only if one is not yet claimed, else it
        /// starts another worker (two quick submits must not both count on one waiter).
        idle: usize,
        claimed: usize,
    }

    static STATE: Mutex<State> = Mutex::new(State {
        queue: VecDeque::new(),
        threads: 0,
        idle: 0,
        claimed: 0,
    });
    static WORK: Condvar = Condvar::new();

    /// Workers at most: `LUNE_FFI_ASYNC_WORKERS` if set (at least 1), else twice the
    /// machine's parallelism and at least 4, because async calls usually wait (I/O,
    /// sleeps) rather than compute. Read once.
    pub fn size() -> usize {
        static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *SIZE.get_or_init(|| {
            std::env::var("LUNE_FFI_ASYNC_WORKERS")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .map(|n| n.max(1))
                .unwrap_or_else(|| {
                    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                    (2 * cores).max(4)
                })
        })
    }

    /// Queues `task`, starting a worker when none is idle and the pool is not full. Fails
    /// only when no worker exists and none can be started.
    pub fn submit(task: Task) -> Result<(), String> {
        let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
        st.queue.push_back(task);
        if st.idle > st.claimed {
            st.claimed += 1;
            drop(st);
            WORK.notify_one();
            return Ok(());
        }
        if st.threads >= size() {
            return Ok(());
        }
        match start_worker() {
            Ok(()) => {
                st.threads += 1;
                Ok(())
            }
            // The calls queued wait for the workers there are.
            Err(_) if st.threads > 0 => Ok(()),
            Err(e) => {
                st.queue.pop_back();
                Err(e)
            }
        }
    }

    fn start_worker() -> Result<(), String> {
        super::room_for_worker()?;
        std::thread::Builder::new()
            .name("lune-ffi async".into())
            .stack_size(super::WORKER_STACK)
            .spawn(work)
            .map(drop)
            .map_err(|e| format!("cannot start a worker thread: {}", e))
    }

    /// A worker's life: the next task, or wait for one.
    fn work() {
        loop {
            let task = {
                let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(t) = st.queue.pop_front() {
                        break t;
                    }
                    st.idle += 1;
                    st = WORK.wait(st).unwrap_or_else(|e| e.into_inner());
                    st.idle -= 1;
                    // Woken by a submit (or spuriously, then claiming nothing).
                    st.claimed = st.claimed.saturating_sub(1);
                }
            };
            // The task catches its own panics (see `spawn`).
            task();
        }
    }
}

/// `lib:async(name, ret, args)` → a function that yields the calling task until the C
/// call, run on a worker thread, returns.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub(crate) unsafe extern "C-unwind" fn lib_async(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guarded(L, |f| {
            const F: &str = "lib:async";
            let lib = lib_self(L, F)?.lib.clone();
            let name = check_name(L, 2, F)?.to_string();
            // Strings for pointer parameters are copied for the worker (the default
            // `StrArg::Copy` of every parameter): the call outlives this stack frame.
            let mut desc = parse_sig(f, Some(3), 4, F, 2, 3)?;
            for p in &mut desc.params {
                p.str_arg = StrArg::Copy;
            }
            let func = lib.lookup(&name).map_err(|e| format!("{}: {}", F, e))?;
            let proto = Arc::new(
                Prototype::host(desc.signature())
                    .map_err(|e| format!("{}: '{}': {}", F, name, e))?,
            );
            let lua = Lua::get_or_init_from_ptr(L);
            let f = make_function(lua, lib, proto, std::rc::Rc::new(desc), func, name)
                .map_err(|e| format!("{}: {}", F, e))?;
            let key = lua
                .create_registry_value(f)
                .map_err(|e| format!("{}: {}", F, e))?;
            ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, key.id());
            drop(key);
            Ok(1)
        })
    }
}

/// The async function and its yieldability check, as one Luau function.
fn make_function(
    lua: &Lua,
    lib: std::rc::Rc<crate::luau::call::library::LibInner>,
    proto: Arc<Prototype>,
    desc: std::rc::Rc<FnDesc>,
    func: usize,
    name: String,
) -> LuaResult<LuaFunction> {
    let api = format!("async '{}'", name);
    // Returns (true, result) or (false, message): the wrapper raises the message itself,
    // so the task gets the plain string a synchronous call raises, not mlua's wrapped
    // error (a userdata, `runtime error: ...` with the scheduler's traceback).
    let inner = lua.create_async_function(move |lua, args: LuaMultiValue| {
        // The function keeps its library loaded.
        let _lib = &lib;
        let proto = proto.clone();
        let api = api.clone();
        let desc = desc.clone();
        async move {
            let (job, copies) = match prepare(&lua, &proto, &desc, func, &api, &args) {
                Ok(p) => p,
                Err(e) => {
                    return (false, LuaValue::String(lua.create_string(message(e))?))
                        .into_lua_multi(&lua)
                }
            };
            // While the worker runs, C may use the arguments' memory: `arena:free()` of
            // an arena holding it waits for the call (see `ArenaInner::free`).
            let flight = crate::memory::InFlight::new();
            let done = match spawn(job) {
                Ok(c) => c.await,
                Err(e) => Err(Failure::Call(e)),
            };
            drop(flight);
            if !reentry::c_may_use_memory() {
                crate::memory::release_deferred();
            }
            // The arguments and their copies stay referenced until the C call returned.
            drop((args, copies));
            let r = match done {
                Ok(done) => finish(&lua, &proto, done).map_err(message),
                Err(Failure::Callback(e)) => Err(e),
                Err(Failure::Call(e)) => Err(format!("{}: {}", api, e)),
            };
            match r {
                Ok(v) => (true, v).into_lua_multi(&lua),
                Err(e) => (false, LuaValue::String(lua.create_string(e)?)).into_lua_multi(&lua),
            }
        }
    })?;
    let wrap: LuaFunction = lua
        .load(
            r#"
            local inner, name, by_hand = ...
            return function(...)
                if not coroutine.isyieldable() or by_hand[coroutine.running()] then
                    error(name .. ": call it from a task (a coroutine the scheduler runs, such as the main script or task.spawn): it yields until the C call returns", 2)
                end
                local ok, r = inner(...)
                if not ok then
                    error(r, 0)
                end
                return r
            end
        "#,
        )
        .set_name("=lib:async")
        .into_function()?;
    wrap.call::<LuaFunction>((
        inner,
        format!("lib:async function '{}'", name),
        resumed_by_hand(lua)?,
    ))
}

/// Registry name of the table of coroutines resumed by hand (see `resumed_by_hand`).
const BY_HAND_KEY: &str = "lune_ffi.resumed_by_hand";

/// The table (weak keys) in which a runtime marks the coroutines it is resuming through
/// `coroutine.resume` or `coroutine.wrap`, rather than through its scheduler. A `lib:async`
/// function called in one raises its "call it from a task" error: yielding would hand the
/// coroutine to the scheduler behind the back of the code that resumed it.
pub fn resumed_by_hand(lua: &Lua) -> LuaResult<LuaTable> {
    if let Some(t) = lua.named_registry_value::<Option<LuaTable>>(BY_HAND_KEY)? {
        return Ok(t);
    }
    let t = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.set("__mode", "k")?;
    t.set_metatable(Some(mt))?;
    lua.set_named_registry_value(BY_HAND_KEY, &t)?;
    Ok(t)
}

/// The text of an error, as a synchronous call would raise it.
fn message(e: LuaError) -> String {
    match e {
        LuaError::RuntimeError(s) => s,
        LuaError::CallbackError { cause, .. } => message((*cause).clone()),
        other => other.to_string(),
    }
}

/// Converts the arguments on the Luau thread, with the same checks and messages as a
/// synchronous call.
fn prepare(
    lua: &Lua,
    proto: &Arc<Prototype>,
    desc: &FnDesc,
    func: usize,
    api: &str,
    args: &LuaMultiValue,
) -> LuaResult<(Job, LuaMultiValue)> {
    let mut out: Vec<Arg> = Vec::with_capacity(args.len());
    // SAFETY: mlua pushes `args` at 1..n of a fresh stack; the body only reads them and
    // raises on error (inside mlua's protected call).
    let copies = unsafe {
        lua.exec_raw::<LuaMultiValue>(args.clone(), |L| {
            let nargs = ffi::lua_gettop(L);
            let names = Names {
                api,
                cfn: api,
                desc: Some(desc),
            };
            let r = (|| -> LResult<()> {
                check_arg_count(L, proto, 1, &names)?;
                for (i, t) in proto.sig.args().enumerate() {
                    let size = match t {
                        CType::Struct(st) => st.size,
                        _ => 0,
                    };
                    let mut bytes = vec![0u8; size];
                    let slot = bytes.as_mut_ptr();
                    match convert_arg(L, t, i, 1, &names, || slot)? {
                        Some(bits) => out.push(Arg::Scalar(bits)),
                        None => out.push(Arg::Struct(bytes)),
                    }
                }
                Ok(())
            })();
            if let Err(msg) = r {
                raise(L, msg);
            }
            // What conversion left above the arguments (UTF-16 copies of string16
            // arguments) is returned, so the waiting task keeps it alive.
            for _ in 0..nargs {
                ffi::lua_remove(L, 1);
            }
        })?
    };
    Ok((
        Job {
            proto: proto.clone(),
            func,
            args: out,
        },
        copies,
    ))
}

/// The result as a Luau value.
fn finish(lua: &Lua, proto: &Prototype, done: Done) -> LuaResult<LuaValue> {
    // SAFETY: pushes one value onto the fresh stack mlua gives.
    unsafe {
        lua.exec_raw::<LuaValue>((), |L| match (&proto.sig.ret, done) {
            (CType::Prim(Prim::Void), _) => ffi::lua_pushnil(L),
            (CType::Prim(p), Done::Scalar(bits)) => push_bits(L, *p, bits),
            (CType::Struct(st), Done::Struct(bytes)) => {
                let dst = push_struct_value(L, st);
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, st.size);
            }
            _ => raise(
                L,
                "internal error in lune-ffi: async result of the wrong kind".into(),
            ),
        })
    }
}
