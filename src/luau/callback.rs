//! Callbacks: C calls Luau through executable-page thunks (`engine::thunk`).
//!
//! Nothing raised in Luau ever unwinds through C: the dispatcher calls the Luau function
//! with `lua_pcall`, hands C a zero value on failure, and parks the error; the ffi call
//! that led to the callback raises it when it returns. A call through a freed or
//! collected callback, or from a thread that does not own the Lua state, never touches
//! the VM.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
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
        let slot = thunk::acquire(abi, dispatch, state_ptr).map_err(|e| format!("{}: {}", F, e))?;
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
    let owner = record.owner.load(Ordering::Acquire);
    if owner != thunk::thread_token() {
        park_foreign(
            owner,
            "a callback was called from a thread that does not own the Luau state; it did not run and C received a zero value".into(),
        );
        return;
    }
    let state = record.state.load(Ordering::Acquire) as *const CallbackState;
    if state.is_null() {
        park_error(
            "a freed or garbage-collected callback was called from C; it did not run and C received a zero value (keep a reference to the Callback while C may call it)".into(),
        );
        return;
    }
    // SAFETY: the state is published only while its CallbackUd owns it, on this thread.
    let state = &*state;
    let result = catch_unwind(AssertUnwindSafe(|| invoke(state, frame)));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => {
            frame.ret_gpr = [0; 2];
            frame.ret_fpr = [0; 4];
            park_error(msg);
        }
        Err(_) => {
            frame.ret_gpr = [0; 2];
            frame.ret_fpr = [0; 4];
            park_error(
                "internal error in lune-ffi while running a callback (a bug, please report)".into(),
            );
        }
    }
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

unsafe fn invoke(state: &CallbackState, frame: &mut CallFrame) -> LResult<()> {
    let active = ACTIVE.with(|a| a.get());
    let L = if active.is_null() { state.main } else { active };
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
