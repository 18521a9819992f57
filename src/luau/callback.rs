//! Callbacks: C calls Luau through executable-page thunks (`engine::thunk`).
//!
//! Nothing raised in Luau ever unwinds through C: the dispatcher calls the Luau function
//! with `lua_pcall`, hands C a zero value on failure, and parks the error; the ffi call
//! that led to the callback raises it when it returns. A call through a freed or
//! collected callback, or of a closed state, never touches the VM. A call from another
//! OS thread waits for the state's VM lock (`Gil`), which ffi calls release while C runs.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use mlua::ffi::{self, lua_State};

use super::access::{push_at, store_at};
use super::objects::*;
use super::raw::*;
use super::value::*;
use crate::abi::Signature;
use crate::engine::frame::CallFrame;
use crate::engine::thunk::{self, SlotRecord};
use crate::engine::Prototype;
use crate::memory::{OwnedBlock, Owner, Ptr};
use crate::types::{CType, Prim};

thread_local! {
    /// The error a callback raised during the current ffi call.
    static PENDING: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether PENDING holds an error: a destructor-free flag, so the check every ffi call
    /// makes stays a plain thread-local load.
    static HAS_PENDING: Cell<bool> = const { Cell::new(false) };
    /// The Lua thread of the innermost ffi call in progress on this OS thread.
    static ACTIVE: Cell<*mut lua_State> = const { Cell::new(std::ptr::null_mut()) };
}

/// Errors from calls on foreign threads, with the token of the thread that owns the
/// callback: the next ffi call on that thread reports them.
static FOREIGN_ERRORS: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
static HAS_FOREIGN_ERRORS: AtomicBool = AtomicBool::new(false);

/// Callbacks alive in the process. While there are none, ffi calls skip the VM lock.
static LIVE_CALLBACKS: AtomicUsize = AtomicUsize::new(0);

/// The VM lock of one Lua state. Whichever OS thread runs Luau on the state holds it.
/// While callbacks exist, an ffi call releases it for the duration of the C code, so a
/// callback that a library calls from its own worker thread can take it, run, and give it
/// back: the hand-over Deno and Python's ctypes do (ctypes releases the GIL the same way).
/// A worker-thread callback therefore waits until the owning thread is inside an ffi
/// call. Leaked, one per state (a word), so a waiting worker can never see it freed.
pub struct Gil {
    /// `thread_token()` of the holder, 0 when free.
    holder: AtomicUsize,
    /// `thread_token()` of the thread that owns the state (created its module).
    owner: usize,
}

impl Gil {
    /// A lock held by the calling thread, the one creating the Lua state's module.
    pub fn new_held() -> &'static Gil {
        let me = thunk::thread_token();
        Box::leak(Box::new(Gil {
            holder: AtomicUsize::new(me),
            owner: me,
        }))
    }

    /// Releases the lock around an ffi call, if callbacks exist and this thread holds
    /// it. Returns this thread's token if it did (0 if not), to pass to `reacquire`.
    #[inline(always)]
    pub fn release_for_call(&self) -> usize {
        if LIVE_CALLBACKS.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let me = thunk::thread_token();
        if self.holder.load(Ordering::Relaxed) != me {
            return 0;
        }
        self.holder.store(0, Ordering::Release);
        me
    }

    #[inline(always)]
    pub fn reacquire(&self, released_by: usize) {
        if released_by != 0 {
            // Only the thread running Luau can close the state, so this always succeeds.
            self.acquire(released_by);
        }
    }

    fn held_by(&self, me: usize) -> bool {
        self.holder.load(Ordering::Acquire) == me
    }

    /// Takes the lock; false if the Lua state has been closed meanwhile.
    fn acquire(&self, me: usize) -> bool {
        let mut spins = 0u32;
        loop {
            match self
                .holder
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(CLOSED) => return false,
                Err(_) => {}
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else if spins < 1024 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
    }

    fn release(&self) {
        self.holder.store(0, Ordering::Release);
    }

    /// Marks the state closed: a worker thread waiting for the lock, or arriving later
    /// through a stale pointer, gives up instead of waiting forever.
    pub fn close(&self) {
        self.holder.store(CLOSED, Ordering::Release);
    }
}

/// `Gil::holder` of a closed state.
const CLOSED: usize = usize::MAX;

/// Marks `L` as the thread running an ffi call; returns the previous one to restore.
#[inline]
pub fn enter_call(L: *mut lua_State) -> *mut lua_State {
    ACTIVE.with(|a| a.replace(L))
}

#[inline]
pub fn leave_call(prev: *mut lua_State) {
    ACTIVE.with(|a| a.set(prev));
}

/// The error a callback raised during the ffi call that just returned, if any, or one
/// parked by a callback that was called where it could not run.
#[inline]
pub fn take_pending_error() -> Option<String> {
    if HAS_PENDING.with(|h| h.replace(false)) {
        if let Some(e) = PENDING.with(|p| p.borrow_mut().take()) {
            return Some(e);
        }
    }
    if HAS_FOREIGN_ERRORS.load(Ordering::Relaxed) {
        if let Ok(mut v) = FOREIGN_ERRORS.lock() {
            let me = thunk::thread_token();
            let mine: Vec<String> = v
                .iter()
                .filter(|(t, _)| *t == me)
                .map(|(_, m)| m.clone())
                .collect();
            v.retain(|(t, _)| *t != me);
            HAS_FOREIGN_ERRORS.store(!v.is_empty(), Ordering::Relaxed);
            if !mine.is_empty() {
                return Some(mine.join("\n"));
            }
        }
    }
    None
}

fn park_error(msg: String) {
    let in_call = ACTIVE.with(|a| !a.get().is_null());
    if in_call {
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            // Keep the first error: later ones are usually its consequences.
            if p.is_none() {
                *p = Some(msg);
            }
            HAS_PENDING.with(|h| h.set(true));
        });
    } else {
        eprintln!(
            "[lune-ffi] error in a callback called outside any ffi call: {}",
            msg
        );
    }
}

fn park_foreign(owner: usize, msg: String) {
    if let Ok(mut v) = FOREIGN_ERRORS.lock() {
        if v.len() < 64 {
            v.push((owner, msg));
        }
        HAS_FOREIGN_ERRORS.store(true, Ordering::Relaxed);
    }
}

/// What a live callback needs when C calls it.
struct CallbackState {
    main: *mut lua_State,
    fn_ref: c_int,
    proto: Prototype,
    /// The last Luau string a `string`-returning callback handed to C, kept alive until
    /// the next call.
    last_string_ref: Cell<c_int>,
    release_queue: Rc<RefCell<Vec<i32>>>,
    traceback_ref: c_int,
}

impl Drop for CallbackState {
    fn drop(&mut self) {
        // Destructors run inside the collector: defer registry releases.
        if let Ok(mut q) = self.release_queue.try_borrow_mut() {
            q.push(self.fn_ref);
            let s = self.last_string_ref.get();
            if s != 0 {
                q.push(s);
            }
        }
    }
}

pub struct CallbackUd {
    slot: Option<usize>,
    code: usize,
    state: Option<Box<CallbackState>>,
}

impl CallbackUd {
    fn free(&mut self) {
        if let Some(i) = self.slot.take() {
            // Unpublish first so no call can reach the state being dropped.
            thunk::release(i);
            LIVE_CALLBACKS.fetch_sub(1, Ordering::Relaxed);
        }
        self.state = None;
    }
}

impl Drop for CallbackUd {
    fn drop(&mut self) {
        self.free();
    }
}

/// The thunk address of the Callback at `idx`; a freed Callback is an error, so C is
/// never handed a pointer that was already released.
pub unsafe fn callback_ptr(L: *mut lua_State, idx: c_int) -> LResult<Ptr> {
    match get_ud::<CallbackUd>(L, idx, TAG_CALLBACK) {
        Some(c) if c.slot.is_some() => Ok(Ptr::foreign(c.code)),
        Some(_) => Err("the Callback has been freed (:free() was called); create a new one".into()),
        None => Err("Callback expected".into()),
    }
}

pub unsafe fn register_dtors(L: *mut lua_State) {
    ffi::lua_setuserdatadtor(L, TAG_CALLBACK, Some(drop_ud::<CallbackUd>));
}

pub unsafe fn register_metatables(L: *mut lua_State) {
    super::new_metatable(L, c"Callback", &[(c"__index", callback_index)]);
    ffi::lua_setuserdatametatable(L, TAG_CALLBACK);
}

/// `cb.ptr`, `cb:free()`.
unsafe extern "C-unwind" fn callback_index(L: *mut lua_State) -> c_int {
    guard(L, || {
        let cb = get_ud::<CallbackUd>(L, 1, TAG_CALLBACK).ok_or("Callback expected")?;
        match get_str(L, 2) {
            Some(b"ptr") => {
                if cb.slot.is_none() {
                    return Err("Callback.ptr: the callback has been freed".into());
                }
                push_rawptr(L, Ptr::foreign(cb.code));
            }
            Some(b"free") => push_fn(L, callback_free, c"free"),
            _ => {
                return Err(format!(
                    "Callback: no member {} (expected 'ptr' or 'free')",
                    describe(L, 2)
                ))
            }
        }
        Ok(1)
    })
}

unsafe extern "C-unwind" fn callback_free(L: *mut lua_State) -> c_int {
    guard(L, || {
        let cb = get_ud::<CallbackUd>(L, 1, TAG_CALLBACK)
            .ok_or("Callback:free: call it with ':' on a Callback")?;
        cb.free();
        drain_releases(L);
        Ok(0)
    })
}

/// `ffi.callback(fn, ret, args)` → Callback.
pub unsafe extern "C-unwind" fn ffi_callback(L: *mut lua_State) -> c_int {
    guard(L, || {
        const F: &str = "ffi.callback";
        if ffi::lua_type(L, 1) != ffi::LUA_TFUNCTION {
            return Err(format!(
                "{}: argument #1 (fn): expected a function, got {}",
                F,
                describe(L, 1)
            ));
        }
        let ret = check_type(L, 2, F, "argument #2 (return type)")?;
        if ffi::lua_type(L, 3) != ffi::LUA_TTABLE {
            return Err(format!(
                "{}: argument #3 (argument types): expected a table of type names, got {}",
                F,
                describe(L, 3)
            ));
        }
        let n = ffi::lua_objlen(L, 3);
        let mut fixed = Vec::with_capacity(n);
        for i in 1..=n {
            ffi::lua_rawgeti_(L, 3, i as c_int);
            if get_str(L, -1) == Some(b"...") {
                ffi::lua_pop(L, 1);
                return Err(format!(
                    "{}: argument #3 (argument types): variadic callbacks are not supported",
                    F
                ));
            }
            let t = check_value_type(
                L,
                -1,
                F,
                &format!("argument #3 (argument types), entry {}", i),
            );
            ffi::lua_pop(L, 1);
            fixed.push(t?);
        }
        let proto = Prototype::host(Signature {
            ret,
            fixed,
            variadic: None,
        })
        .map_err(|e| format!("{}: {}", F, e))?;
        drain_releases(L);
        let abi = proto.plan.abi;
        let fn_ref = ffi::lua_ref(L, 1);
        let state = Box::new(CallbackState {
            main: ffi::lua_mainthread(L),
            fn_ref,
            proto,
            last_string_ref: Cell::new(0),
            release_queue: shared(L).release_queue.clone(),
            traceback_ref: shared(L).traceback_ref,
        });
        let state_ptr = &*state as *const CallbackState as *mut c_void;
        let gil = shared(L).gil;
        // The owner is the state's thread even when a worker-thread callback creates this.
        let gate = gil as *const Gil as *mut c_void;
        let slot = thunk::acquire(abi, dispatch, state_ptr, gate, gil.owner)
            .map_err(|e| format!("{}: {}", F, e))?;
        LIVE_CALLBACKS.fetch_add(1, Ordering::Relaxed);
        push_ud(
            L,
            TAG_CALLBACK,
            CallbackUd {
                slot: Some(slot.index),
                code: slot.code,
                state: Some(state),
            },
        );
        Ok(1)
    })
}

/// Called by the callback entry of `asm/<abi>.S` for every thunk. Must not unwind.
unsafe extern "C" fn dispatch(record: *mut SlotRecord, frame: *mut CallFrame) {
    // SAFETY: the entry passes the thunk's record and a frame on its own stack.
    let frame = &mut *frame;
    frame.ret_gpr = [0; 2];
    frame.ret_fpr = [0; 4];
    let record = &*record;
    let me = thunk::thread_token();
    let owner = record.owner.load(Ordering::Acquire);
    // Local: on the owning thread, or on any thread inside an ffi call of its own (a
    // worker's handed-over callback calling into C that calls back): such a call runs on
    // that ffi call's Luau thread and its error is raised when that call returns.
    let active = ACTIVE.with(|a| a.get());
    let foreign = owner != me && active.is_null();
    let report = |msg: String| {
        if foreign {
            park_foreign(owner, msg)
        } else {
            park_error(msg)
        }
    };
    let gil = record.gate.load(Ordering::Acquire) as *const Gil;
    if gil.is_null() {
        report("a callback slot without a Luau state was called; C received a zero value".into());
        return;
    }
    // SAFETY: gates are leaked Gil objects, valid forever once published.
    let gil = &*gil;
    // Take the VM: at once on the owning thread inside its own ffi call; on a worker
    // thread, as soon as the owning thread is inside an ffi call.
    let mine = gil.held_by(me);
    if !mine && !gil.acquire(me) {
        report("a callback of a closed Luau state was called; C received a zero value".into());
        return;
    }
    // Read the state only under the lock: the owner frees callbacks only while holding it.
    let state = record.state.load(Ordering::Acquire) as *const CallbackState;
    if state.is_null() {
        report(
            "a freed or garbage-collected callback was called from C; it did not run and C received a zero value (keep a reference to the Callback while C may call it)".into(),
        );
    } else {
        // SAFETY: published while its CallbackUd owns it; freeing needs the lock we hold.
        let state = &*state;
        let result = catch_unwind(AssertUnwindSafe(|| {
            if foreign {
                invoke_foreign(state, frame)
            } else {
                let active = ACTIVE.with(|a| a.get());
                invoke(
                    state,
                    frame,
                    if active.is_null() { state.main } else { active },
                )
            }
        }));
        let failure = match result {
            Ok(Ok(())) => None,
            Ok(Err(msg)) => Some(msg),
            Err(_) => Some(
                "internal error in lune-ffi while running a callback (a bug, please report)".into(),
            ),
        };
        if let Some(msg) = failure {
            frame.ret_gpr = [0; 2];
            frame.ret_fpr = [0; 4];
            report(msg);
        }
    }
    if !mine {
        gil.release();
    }
}

/// A call from a library's worker thread, made while the owning thread is blocked in C.
/// It runs on a fresh Luau thread, never on the stack of the owner's suspended call: if
/// this callback's Luau code makes an ffi call, the lock is released again and the owner
/// may resume its own thread meanwhile.
unsafe fn invoke_foreign(state: &CallbackState, frame: &mut CallFrame) -> LResult<()> {
    let main = state.main;
    if ffi::lua_checkstack(main, 2) == 0 {
        return Err("callback: Luau stack overflow".into());
    }
    let thread = ffi::lua_newthread(main);
    let thread_ref = ffi::lua_ref(main, -1);
    ffi::lua_pop(main, 1);
    let prev = enter_call(std::ptr::null_mut());
    let r = invoke(state, frame, thread);
    leave_call(prev);
    ffi::lua_unref(main, thread_ref);
    r
}

/// Message handler: appends a traceback to the error.
pub(super) unsafe extern "C-unwind" fn traceback(L: *mut lua_State) -> c_int {
    let trace = ffi::lua_debugtrace(L);
    let msg = if ffi::lua_type(L, 1) == ffi::LUA_TSTRING {
        get_str(L, 1)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default()
    } else {
        describe(L, 1)
    };
    let t = std::ffi::CStr::from_ptr(trace)
        .to_string_lossy()
        .into_owned();
    let full = format!("{}\nstack traceback (callback):\n{}", msg, t);
    drop(msg);
    drop(t);
    push_str(L, &full);
    1
}

unsafe fn invoke(state: &CallbackState, frame: &mut CallFrame, L: *mut lua_State) -> LResult<()> {
    let proto = &state.proto;
    let nargs = proto.sig.fixed.len() as c_int;
    if ffi::lua_checkstack(L, nargs + 8) == 0 {
        return Err("callback: Luau stack overflow".into());
    }
    let top = ffi::lua_gettop(L);
    ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, state.traceback_ref);
    ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, state.fn_ref);
    for (i, t) in proto.sig.fixed.iter().enumerate() {
        match t {
            CType::Prim(p) => {
                let bits = normalize_bits(*p, thunk::arg_bits(&proto.plan, frame, i));
                match p {
                    Prim::Pointer => push_foreign_ptr(L, bits as usize),
                    Prim::String => push_cstring(L, bits as usize),
                    _ => push_number_bits(L, *p, bits),
                }
            }
            CType::Struct(st) => {
                let block = OwnedBlock::new(st.size, st.align)?;
                thunk::read_struct_arg(&proto.plan, frame, i, block.addr() as *mut u8, st.size);
                let p = Ptr::bounded(block.addr(), st.size, Owner::Owned(block));
                push_at(L, t, p.addr, &p);
            }
        }
    }
    let status = ffi::lua_pcall(L, nargs, 1, top + 1);
    if status != 0 {
        let msg = if ffi::lua_type(L, -1) == ffi::LUA_TSTRING {
            get_str(L, -1)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default()
        } else {
            describe(L, -1)
        };
        ffi::lua_settop(L, top);
        return Err(format!("error in callback: {}", msg));
    }
    let r = write_return(L, state, frame);
    ffi::lua_settop(L, top);
    r
}

unsafe fn write_return(
    L: *mut lua_State,
    state: &CallbackState,
    frame: &mut CallFrame,
) -> LResult<()> {
    let proto = &state.proto;
    let site = Site {
        func: "ffi.callback",
        what: &"return value",
    };
    match &proto.sig.ret {
        CType::Prim(Prim::Void) => Ok(()),
        CType::Prim(p @ (Prim::Pointer | Prim::String)) => {
            let addr = if ffi::lua_type(L, -1) == ffi::LUA_TNIL {
                0
            } else if *p == Prim::String && ffi::lua_type(L, -1) == ffi::LUA_TSTRING {
                let s = check_c_string(L, -1, site)?.unwrap_or_default();
                let addr = s.as_ptr() as u64;
                // Keep the string alive until the next call of this callback.
                let old = state.last_string_ref.replace(ffi::lua_ref(L, -1));
                if old != 0 {
                    ffi::lua_unref(L, old);
                }
                addr
            } else {
                match to_ptr(L, -1, false)? {
                    Some(ptr) => ptr.addr as u64,
                    None => return Err(site.err("a pointer or nil", describe(L, -1))),
                }
            };
            thunk::set_ret_bits(&proto.plan, frame, addr);
            Ok(())
        }
        CType::Prim(p) => {
            let bits = match fast_number(L, -1, *p, *p) {
                Some(bits) => bits,
                None => encode_number(L, -1, *p, site)?,
            };
            thunk::set_ret_bits(&proto.plan, frame, bits);
            Ok(())
        }
        CType::Struct(st) => {
            let tmp = OwnedBlock::new(st.size, st.align)?;
            store_at(L, -1, &proto.sig.ret, tmp.addr(), site)?;
            match thunk::ret_pointer(&proto.plan, frame) {
                Some(dst) => std::ptr::copy_nonoverlapping(tmp.addr() as *const u8, dst, st.size),
                None => thunk::set_ret_struct(&proto.plan, frame, tmp.addr() as *const u8),
            }
            Ok(())
        }
    }
}
