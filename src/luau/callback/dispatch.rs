//! What runs when C calls a Callback: the dispatcher the thunks enter, the protected
//! body that pushes the arguments, calls the Luau function and writes its result into
//! the frame, and how its errors reach the ffi call that led to it.

use crate::engine::frame::CallFrame;
use crate::engine::thunk::{self, SlotRecord};
use crate::luau::callback::kind::CallbackState;
use crate::luau::memory::access::{push_bits, store_at};
use crate::luau::memory::objects::push_pointer_to;
use crate::luau::memory::objects::{pointer_value, push_struct_value};
use crate::luau::values::convert::{
    check_c_string, emit_bits, encode_number, fast_number, number_bits, push_number_bits,
    push_utf16_copy, Site,
};
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::is_raised_callback_error;
use crate::luau::vm::raw::{describe, guard, push_str, AbortOnPanic, LResult};
use crate::luau::vm::reentry::{self, park_error, park_foreign};
use crate::luau::vm::slots::{self, PlainSink};
use crate::memory::{OwnedBlock, Owner};
use crate::types::{CType, Prim};
use crate::vmlock::VmLock;
use mlua::ffi::{self, lua_State};
use std::ffi::{c_int, c_void};
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// Called by the callback entry of `asm/<abi>.S` for every thunk. Must not unwind: every
/// Luau call that may raise runs inside `lua_pcall` (see `protected`), and a panic aborts.
pub(crate) unsafe extern "C" fn dispatch(record: *mut SlotRecord, frame: *mut CallFrame) {
    let _bomb = AbortOnPanic;
    // SAFETY: the entry passes the thunk's record and a frame on its own stack, its
    // return registers zero (C gets 0 unless the callback sets them).
    let frame = unsafe { &mut *frame };
    // SAFETY: records live as long as the thunk pool, i.e. forever.
    let record = unsafe { &*record };
    let me = thunk::thread_token();
    let owner = record.owner.load(Ordering::Acquire);
    // Local: on the owning thread, or on any thread inside an ffi call of its own (a
    // worker's handed-over callback calling into C that calls back): such a call runs on
    // that ffi call's Luau thread and its error is raised when that call returns.
    let active = reentry::active();
    let foreign = owner != me && active.is_null();
    let report = |msg: String| {
        if foreign {
            // On a `lib:async` worker, the error is the waiting task's.
            if let Err(msg) = reentry::park_job_error(msg) {
                park_foreign(owner, msg)
            }
        } else {
            park_error(msg)
        }
    };
    if reentry::is_in_gc_finalizer() {
        // Inside the collector (a C finalizer of ffi.gc calling back): Luau cannot run,
        // and the call the error would belong to is unrelated. stderr is all there is.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "[lune-ffi] a callback was called by a C finalizer (ffi.gc) while the garbage collector ran it; it did not run and C received a zero value (use a Luau function as the finalizer)"
        );
        return;
    }
    let lock = record.gate.load(Ordering::Acquire) as *const VmLock;
    if lock.is_null() {
        report("a callback slot without a Luau state was called; C received a zero value".into());
        return;
    }
    // SAFETY: gates are leaked VmLock objects, valid forever once published.
    let lock = unsafe { &*lock };
    // Take the VM: at once on the owning thread inside its own ffi call; on a worker
    // thread, as soon as the owning thread is inside an ffi call.
    let Some(taken) = lock.take_for_callback() else {
        report("a callback of a closed Luau state was called; C received a zero value".into());
        return;
    };
    // Read the state only under the lock: the owner frees callbacks only while holding it.
    let state = record.state.load(Ordering::Acquire) as *const CallbackState;
    if state.is_null() {
        report(
            "a freed or garbage-collected callback was called from C; it did not run and C received a zero value (keep a reference to the Callback while C may call it)".into(),
        );
    } else {
        // SAFETY: published from an `Rc` a CallbackUd holds, and freeing needs the lock we
        // hold; our own count keeps the state alive even if the callback frees itself.
        let state = unsafe {
            Rc::increment_strong_count(state);
            Rc::from_raw(state)
        };
        let result = match reentry::enter_callback() {
            Err(msg) => Err(Failure {
                msg,
                passing: false,
            }),
            Ok(()) => {
                // SAFETY: we hold the VM lock; the state's Lua state is open (the lock
                // is closed before the state is).
                let r = unsafe {
                    if foreign {
                        invoke_foreign(&state, frame)
                    } else {
                        // Inside an ffi call, `active` stands in that call's C function
                        // frame; outside any (rare: C calling back on its own), the main
                        // thread's free stack is unknown.
                        match active.is_null() {
                            false => invoke(&state, frame, active, true),
                            true => invoke(&state, frame, state.main, false),
                        }
                    }
                };
                reentry::leave_callback();
                r
            }
        };
        if let Err(Failure { msg, passing }) = result {
            frame.ret_gpr = [0; 2];
            frame.ret_fpr = [0; 4];
            // Shown now, once (not again by the callbacks it travels up through): C may
            // abort before the ffi call returns and raises it (libpng after a failed read
            // callback), and the cause must not be lost.
            // (Outside any ffi call `park_error` shows it, as all it can do.)
            if !passing && (foreign || !active.is_null()) {
                show_callback_error(&msg);
            }
            report(msg);
        }
        drop(state);
    }
    lock.give_back(taken);
}

/// Writes a callback's error to stderr as it is raised into C. Never panics (`eprintln!`
/// would, on a closed stderr, and this runs under a C frame).
fn show_callback_error(msg: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "[lune-ffi] a callback raised an error; C received a zero value and the error is raised again when the ffi call returns:\n{}",
        msg.trim_end()
    );
}

/// Stack indices in `CallbackState::holder`.
const HOLDER_HANDLER: c_int = 1;
const HOLDER_FN: c_int = 2;

/// The body `invoker` runs: may raise; returns how many values it leaves on the stack.
type Body<'a> = &'a mut dyn FnMut(*mut lua_State) -> LResult<c_int>;

/// Runs `body` on `L` inside `lua_pcall` with the message handler at `handler`: whatever
/// it raises (its own `Err`, a Luau error, out of memory) comes back as the message. The
/// top `nvals` values move into the call (the body sees them at 1..nvals); the values
/// it returns stay on the stack. Transient: it adds nothing to the nesting depth of what
/// runs after it.
///
/// # Safety
/// `L` must be a live thread of a state whose VM lock the caller holds, with 2 free
/// stack slots (Luau keeps LUA_MINSTACK free in the C function frame `L` stands in).
unsafe fn protected(
    L: *mut lua_State,
    handler: c_int,
    invoker_ref: c_int,
    nvals: c_int,
    body: Body,
) -> Result<(), String> {
    // SAFETY (whole body): API calls on a live thread under the VM lock; the pushed
    // light userdata points at `body`, which outlives the protected call.
    unsafe {
        ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, invoker_ref);
        ffi::lua_insert(L, -(nvals + 1));
        let mut body = body;
        ffi::lua_pushlightuserdata(L, &mut body as *mut Body as *mut c_void);
        ffi::lua_insert(L, -(nvals + 1));
        match ffi::lua_pcall(L, nvals + 1, ffi::LUA_MULTRET, handler) {
            0 => Ok(()),
            _ => Err(error_message(L)),
        }
    }
}

/// The error on top of the stack, popped.
unsafe fn error_message(L: *mut lua_State) -> String {
    // SAFETY: an error value is on top of `L`'s stack.
    unsafe {
        let msg = match Frame::new(L).str(-1) {
            Some(s) => String::from_utf8_lossy(s).into_owned(),
            None => describe(L, -1),
        };
        ffi::lua_pop(L, 1);
        msg
    }
}

/// The C function `protected` calls: runs the body passed as a light userdata and raises
/// its `Err`. Created once per state (`Shared::invoker_ref`).
pub(crate) unsafe extern "C-unwind" fn invoker(L: *mut lua_State) -> c_int {
    // SAFETY: only `protected` calls this, with a pointer to a live `Body`.
    let body = unsafe { &mut **(ffi::lua_touserdata(L, 1) as *mut Body) };
    // SAFETY: a C function of `L`; drop the light userdata so the values start at 1.
    unsafe {
        ffi::lua_remove(L, 1);
        guard(L, || body(L))
    }
}

/// A call from a library's worker thread, made while the owning thread is blocked in C.
/// It runs on a fresh Luau thread, never on the stack of the owner's suspended call: if
/// this callback's Luau code makes an ffi call, the lock is released again and the owner
/// may resume its own thread meanwhile.
unsafe fn invoke_foreign(state: &CallbackState, frame: &mut CallFrame) -> Result<(), Failure> {
    let main = state.main;
    let mut thread: (*mut lua_State, c_int) = (std::ptr::null_mut(), 0);
    // SAFETY: the VM lock is held; creating and anchoring the thread may raise, so it
    // runs protected (no handler: an out-of-memory message needs no traceback).
    unsafe {
        let top = ffi::lua_gettop(main);
        let r = protected(main, 0, state.invoker_ref, 0, &mut |L| {
            let t = ffi::lua_newthread(L);
            thread = (t, ffi::lua_ref(L, -1));
            Ok(0)
        });
        ffi::lua_settop(main, top);
        r.map_err(|e| Failure {
            msg: format!("error in callback: {}", e),
            passing: false,
        })?;
        let r = reentry::outside_calls(|| invoke(state, frame, thread.0, true));
        ffi::lua_unref(main, thread.1);
        r
    }
}

/// Why a callback failed: the message C's ffi call will raise, and whether it is a
/// callback error of a nested ffi call travelling up through this one (already prefixed,
/// with its traceback, and already shown).
pub(crate) struct Failure {
    msg: String,
    passing: bool,
}

/// Message handler: appends a traceback to the error, except to a callback error that is
/// travelling up through this callback from a nested one (it has its traceback already).
pub(crate) unsafe extern "C-unwind" fn traceback(L: *mut lua_State) -> c_int {
    // SAFETY: a message handler of `L`, called with the error at index 1.
    unsafe {
        if is_raised_callback_error(L, 1) {
            return 1;
        }
        let trace = ffi::lua_debugtrace(L);
        let msg = match Frame::new(L).str(1) {
            Some(s) => String::from_utf8_lossy(s).into_owned(),
            None => describe(L, 1),
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
}

/// Runs the callback on thread `L`: arguments from the frame, the Luau function, the
/// result into the frame. Pushing arguments and converting a result that needs memory run
/// in transient protected calls; the Luau function itself is called with `lua_pcall`
/// directly, so each level of C → Luau → C nesting costs Luau one C call, as before.
///
/// `room`: `L` stands in a C function frame (an ffi call in progress) or is a fresh
/// thread, so LUA_MINSTACK slots are free above its top.
unsafe fn invoke(
    state: &CallbackState,
    frame: &mut CallFrame,
    L: *mut lua_State,
    room: bool,
) -> Result<(), Failure> {
    let proto = &state.proto;
    let nargs = proto.sig.arg_count() as c_int;
    // Whether the Luau function failed with a callback error of a nested ffi call, which
    // travels up unchanged.
    let mut passing = false;
    // SAFETY (whole body): API calls on a live thread under the VM lock; everything that
    // may raise is inside `protected` or `lua_pcall`.
    let r = unsafe {
        let top = slots::count(L);
        let handler = top + 1;
        // Numbers and booleans push without allocating, into the LUA_MINSTACK (20) slots
        // Luau guarantees above the C function `L` stands in (`room`): the common case
        // writes handler, function and arguments straight into those slots, with no
        // protected call for its arguments.
        let direct = match (&state.direct, room) {
            (Some(direct), true) => slots::pusher(L, direct.len() + 2).map(|p| (direct, p)),
            _ => None,
        };
        let pushed = if let Some((direct, mut p)) = direct {
            p.copy(state.holder, HOLDER_HANDLER);
            p.copy(state.holder, HOLDER_FN);
            match state.uniform {
                // One type in one run of registers (most callbacks): no location or type to
                // look at per argument; i32 and f64 need not even a match.
                Some((prim, bank)) => {
                    let regs = &thunk::bank_regs(frame, bank)[..direct.len()];
                    match prim {
                        Prim::I32 => regs.iter().for_each(|&b| p.number(b as i32 as f64)),
                        Prim::F64 => regs.iter().for_each(|&b| p.number(f64::from_bits(b))),
                        // Always pushes: a run has no 64-bit integer (`uniform_args`).
                        _ => regs.iter().for_each(|&b| {
                            emit_bits(prim, b, &mut p);
                        }),
                    }
                }
                None => {
                    for (i, a) in direct.iter().enumerate() {
                        let bits = match a.loc {
                            Some(l) => thunk::read_loc(frame, l),
                            None => thunk::arg_bits(&proto.plan, frame, i),
                        };
                        if a.promoted_bool {
                            p.boolean(bits as u32 != 0);
                            continue;
                        }
                        if !emit_bits(a.prim, bits, &mut p) {
                            // A 64-bit integer beyond 2^53: a Luau integer, through the API.
                            p.via_api(L, |L| push_number_bits(L, a.prim, bits));
                        }
                    }
                }
            }
            p.finish(L);
            Ok(())
        } else {
            // Without `room` (the main thread outside any call), the API grows the stack.
            if room {
                slots::xpush(state.holder, L, HOLDER_HANDLER);
            } else {
                ffi::lua_xpush(state.holder, L, HOLDER_HANDLER);
            }
            protected(L, handler, state.invoker_ref, 0, &mut |L| {
                push_args(state, frame, L)?;
                Ok(nargs + 1)
            })
        };
        let r = pushed
            .and_then(|()| match ffi::lua_pcall(L, nargs, 1, handler) {
                0 => Ok(()),
                _ => {
                    passing = is_raised_callback_error(L, -1);
                    Err(error_message(L))
                }
            })
            .and_then(|()| match (state.number_ret, slots::top(L)) {
                // A number result that converts exactly (the common case), straight into
                // its register.
                (Some((p, bank, r)), slots::Plain::Number(n)) => match number_bits(n, p, p) {
                    Some(bits) => {
                        thunk::set_bank_ret(frame, bank, r, bits);
                        Ok(())
                    }
                    None => write_return(L, -1, state, frame),
                },
                _ => match &proto.sig.ret {
                    CType::Prim(Prim::Void) => Ok(()),
                    // Other scalars (a boolean, a number that needs its error or a Luau
                    // integer) convert without allocating: no protection needed.
                    CType::Prim(p)
                        if !matches!(p, Prim::String | Prim::Pointer | Prim::String16) =>
                    {
                        write_return(L, -1, state, frame)
                    }
                    _ => protected(L, handler, state.invoker_ref, 1, &mut |L| {
                        write_return(L, 1, state, frame).map(|()| 0)
                    }),
                },
            });
        slots::truncate(L, top);
        r
    };
    // An error from a nested callback keeps its one prefix and traceback.
    r.map_err(|msg| match passing {
        true => Failure { msg, passing },
        false => Failure {
            msg: format!("error in callback: {}", msg),
            passing,
        },
    })
}

/// Pushes argument `i` from its register image; a variadic `bool` (promoted to int by C)
/// as a boolean.
///
/// # Safety
/// `L` must be a live Luau state with a free stack slot.
unsafe fn push_arg_bits(state: &CallbackState, L: *mut lua_State, p: Prim, i: usize, bits: u64) {
    // SAFETY: `L` is a live state with a free slot (the caller's contract); either branch
    // pushes one value.
    unsafe {
        if state.desc.params[i].promoted_bool() {
            ffi::lua_pushboolean(L, (bits as u32 != 0) as c_int);
        } else {
            push_bits(L, p, bits);
        }
    }
}

/// Pushes the Luau function and the arguments from the frame (may raise).
unsafe fn push_args(
    state: &CallbackState,
    frame: &mut CallFrame,
    L: *mut lua_State,
) -> LResult<()> {
    let proto = &state.proto;
    let nargs = proto.sig.arg_count() as c_int;
    // SAFETY (whole body): a protected C function of `L`; raising is fine here.
    unsafe {
        if ffi::lua_checkstack(L, nargs + 4) == 0 {
            return Err(format!(
                "callback: Luau stack overflow ({} arguments)",
                nargs
            ));
        }
        ffi::lua_xpush(state.holder, L, HOLDER_FN);
        for (i, t) in proto.sig.args().enumerate() {
            match t {
                CType::Prim(p) => {
                    let bits = thunk::arg_bits(&proto.plan, frame, i);
                    match &state.desc.params[i].pointee {
                        Some(to) if *p == Prim::Pointer => push_pointer_to(L, bits as usize, to),
                        _ => push_arg_bits(state, L, *p, i, bits),
                    }
                }
                CType::Struct(st) => {
                    // A struct value of its own (the caller's copy may not outlive the call).
                    let dst = push_struct_value(L, st);
                    thunk::read_struct_arg(&proto.plan, frame, i, dst, st.size);
                }
            }
        }
        Ok(())
    }
}

/// Converts the callback's result at `idx` into the frame. Only pointer, string and
/// struct results may raise (anchoring, table traversal), and run protected.
unsafe fn write_return(
    L: *mut lua_State,
    idx: c_int,
    state: &CallbackState,
    frame: &mut CallFrame,
) -> LResult<()> {
    let proto = &state.proto;
    let site = Site {
        func: "ffi.callback",
        what: &"return value",
    };
    // SAFETY (whole body): inside the protected callback body, the result at -1.
    unsafe {
        match &proto.sig.ret {
            CType::Prim(Prim::Void) => Ok(()),
            CType::Prim(Prim::String16) if ffi::lua_type(L, idx) == ffi::LUA_TSTRING => {
                let addr = push_utf16_copy(L, idx, site)? as u64;
                // Keep the UTF-16 copy alive until the next call of this callback.
                let old = state.last_string_ref.replace(ffi::lua_ref(L, -1));
                if old != 0 {
                    ffi::lua_unref(L, old);
                }
                thunk::set_ret_bits(&proto.plan, frame, addr);
                Ok(())
            }
            CType::Prim(p @ (Prim::Pointer | Prim::String | Prim::String16)) => {
                let addr = if *p == Prim::String && ffi::lua_type(L, idx) == ffi::LUA_TSTRING {
                    let s = check_c_string(L, idx, site)?.unwrap_or_default();
                    let addr = s.as_ptr() as u64;
                    // Keep the string alive until the next call of this callback.
                    let old = state.last_string_ref.replace(ffi::lua_ref(L, idx));
                    if old != 0 {
                        ffi::lua_unref(L, old);
                    }
                    addr
                } else {
                    match pointer_value(L, idx, false, site)? {
                        Some(ptr) => ptr.addr as u64,
                        None => return Err(site.err("a pointer or nil", describe(L, idx))),
                    }
                };
                thunk::set_ret_bits(&proto.plan, frame, addr);
                Ok(())
            }
            CType::Prim(p) => {
                let bits = match fast_number(L, idx, *p, *p) {
                    Some(bits) => bits,
                    None => encode_number(&Frame::new(L), idx, *p, site)?,
                };
                thunk::set_ret_bits(&proto.plan, frame, bits);
                Ok(())
            }
            CType::Struct(st) => {
                let tmp = OwnedBlock::new(st.size, st.align)?;
                store_at(L, idx, &proto.sig.ret, tmp.addr(), &Owner::Foreign, site)?;
                match thunk::ret_pointer(&proto.plan, frame) {
                    Some(dst) => {
                        std::ptr::copy_nonoverlapping(tmp.addr() as *const u8, dst, st.size)
                    }
                    None => thunk::set_ret_struct(&proto.plan, frame, tmp.addr() as *const u8),
                }
                Ok(())
            }
        }
    }
}
