//! Callbacks: C calls Luau through executable-page thunks (`engine::thunk`).
//!
//! Nothing raised in Luau ever unwinds through C: the dispatcher runs the callback's
//! whole body (pushing arguments, the Luau function, converting the result) inside
//! `lua_pcall`, hands C a zero value on failure, and parks the error; the ffi call that
//! led to the callback raises it when it returns. A call through a freed or collected
//! callback, or of a closed state, never touches the VM. A call from another OS thread
//! waits for the state's VM lock, which ffi calls release while C runs.

pub mod dispatch;
pub mod kind;

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use crate::engine::thunk::{self, Bank};
use crate::engine::Prototype;
use crate::luau::call::desc::{FnDesc, Param};
use crate::luau::call::signature::parse_sig;
use crate::luau::callback::kind::{CallbackState, CallbackUd, DirectArg};
use crate::luau::memory::objects::push_rawptr;
use crate::luau::values::ctypes::StrArg;
use crate::luau::vm::frame::{guarded, Frame};
use crate::luau::vm::raw::{describe, get_ud, guard, push_fn, push_ud, Entry, LResult};
use crate::luau::vm::state::{drain_releases, shared};
use crate::memory::{Owner, Ptr};
use crate::types::{CType, Prim};
use crate::vmlock::{self, VmLock};

impl CallbackUd {
    fn free(&self) {
        if let Some(i) = self.slot.take() {
            // Unpublish first so no call can reach the state being dropped.
            thunk::release(i, self.per_call);
            vmlock::callback_freed();
        }
        // A callback may free itself while it runs: `dispatch` holds its own count, so
        // the state is dropped when the running call is over, never under its feet.
        drop(self.state.take());
    }
}

impl Drop for CallbackUd {
    fn drop(&mut self) {
        self.free();
    }
}

pub(crate) const METHODS: &[Entry] = &[(c"__index", callback_index)];

/// `cb.ptr`, `cb:free()`.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
unsafe extern "C-unwind" fn callback_index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let cb = get_ud::<CallbackUd>(L, 1).ok_or("Callback expected")?;
            match Frame::new(L).str(2) {
                Some(b"ptr") => {
                    if cb.slot.get().is_none() {
                        return Err("Callback.ptr: the callback has been freed".into());
                    }
                    // A bare address, as C sees it: storing the Callback itself (not `.ptr`)
                    // into module memory is what keeps it alive. Bounded to nothing: the
                    // thunk is code in a read-execute page, never memory to read or write.
                    push_rawptr(L, Ptr::bounded(cb.code, 0, Owner::Foreign));
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
}

/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
unsafe extern "C-unwind" fn callback_free(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            let cb = get_ud::<CallbackUd>(L, 1)
                .ok_or("Callback:free: call it with ':' on a Callback")?;
            cb.free();
            drain_releases(L);
            Ok(0)
        })
    }
}

/// `ffi.callback(fn, ret, args)` → Callback.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_callback(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guarded(L, |f| {
            const F: &str = "ffi.callback";
            if ffi::lua_type(L, 1) != ffi::LUA_TFUNCTION {
                return Err(format!(
                    "{}: argument #1 (fn): expected a function, got {}",
                    F,
                    describe(L, 1)
                ));
            }
            // `ffi.callback(fn, "curl_write_callback")`: the signature of a declared
            // function-pointer typedef or function type.
            if ffi::lua_isnoneornil(L, 3) != 0 && ffi::lua_type(L, 2) == ffi::LUA_TSTRING {
                let desc = declared_signature(L, 2, F)?;
                push_callback(L, 1, Rc::new(desc), false).map_err(|e| format!("{}: {}", F, e))?;
                return Ok(1);
            }
            // `{ fixed..., "...", variadic... }` fixes the variadic part's types at
            // creation, as libffi's `ffi_prep_cif_var` closures do; C's default promotions
            // apply to them, and the plan reads them where the ABI puts variadic arguments.
            // C pointer types (`int *`) for arguments arrive as TypedPointers, a variadic
            // `bool` (promoted to int by C) as a boolean.
            let mut desc = parse_sig(f, Some(2), 3, F, 2, 3)?;
            // `const char *` written as a C type is text C may not terminate; the short
            // name `string` (StrArg::Copy) asked for the conversion.
            desc.text_args_as_pointers(char_prim(L), |p| p.str_arg != StrArg::Copy);
            push_callback(L, 1, Rc::new(desc), false).map_err(|e| format!("{}: {}", F, e))?;
            Ok(1)
        })
    }
}

/// The callback descriptor of the declared function type or function-pointer type the
/// type string at `idx` names; text arguments arrive as pointers, as for every callback
/// declared in C.
///
/// # Safety
/// `L` must be the state of the running `lua_CFunction`, in which the module is open, with
/// the type name at `idx`.
unsafe fn declared_signature(L: *mut lua_State, idx: c_int, F: &str) -> LResult<FnDesc> {
    // SAFETY: the caller's contract: `L` is the running C function's state.
    let frame = unsafe { Frame::new(L) };
    let name = frame.str(idx).unwrap_or_default();
    let name = String::from_utf8_lossy(name).into_owned();
    let bad = |why: String| {
        format!(
            "{}: argument #2 (type): expected a declared function type or function-pointer type (such as a typedef from ffi.cdef) or a return type with a table of argument types; '{}' {}",
            F, name, why
        )
    };
    // SAFETY: `L` is a live state with the module open (the caller's contract), as `shared`
    // needs.
    let ctypes = unsafe { &shared(L).ctypes };
    let ty = ctypes
        .ns
        .borrow_mut()
        .parse_type(&name)
        .map_err(|e| bad(format!("is not a type ({})", e)))?;
    let ns = ctypes.ns.borrow();
    let f = match &ty {
        crate::cdecl::Type::Func(f) => f,
        t => match t.func_pointee() {
            Some(f) => f,
            None => return Err(bad(format!("is {}", ns.type_name(&ty)))),
        },
    };
    if f.variadic {
        return Err(bad(
            "is variadic: give its variadic types in the table form { fixed..., \"...\", variadic... }"
                .into(),
        ));
    }
    declared_callback(&ns, f).map_err(bad)
}

/// The descriptor of a callback of the declared function type `f`: its arguments'
/// declared pointees, text arguments as pointers (the rule for text).
pub fn declared_callback(
    ns: &crate::cdecl::Namespace,
    f: &crate::cdecl::FuncType,
) -> Result<FnDesc, String> {
    let (ret, fixed, variadic) = ns.lower_func(f)?;
    let mut desc = FnDesc {
        ret,
        ret_pointee: None,
        params: fixed
            .into_iter()
            .zip(&f.params)
            .map(|(ty, p)| Param {
                pointee: ns.pointee_of(&p.ty),
                ..Param::plain(ty)
            })
            .collect(),
        variadic,
    };
    desc.text_args_as_pointers(ns_char_prim(ns), |_| true);
    Ok(desc)
}

/// C's `char` as the engine's primitive for this platform (signed on x86-64 and Win64,
/// unsigned on Linux arm64).
fn ns_char_prim(ns: &crate::cdecl::Namespace) -> Prim {
    match ns.lower(&crate::cdecl::Type::Int(crate::cdecl::IntKind::Char)) {
        Ok(CType::Prim(p)) => p,
        _ => Prim::I8,
    }
}

/// [`ns_char_prim`] of the state's namespace.
///
/// # Safety
/// `L` must be a live Luau state in which the module is open.
pub unsafe fn char_prim(L: *mut lua_State) -> Prim {
    // SAFETY: `L` is a live state with the module open (the caller's contract), as `shared`
    // needs.
    ns_char_prim(&unsafe { shared(L) }.ctypes.ns.borrow())
}

/// Pushes a Callback running the Luau function at `fn_idx` as a C function of `desc`'s
/// type.
///
/// # Safety
/// `L` must be a live Luau state with a function at `fn_idx`; may raise (allocation).
pub unsafe fn push_callback(
    L: *mut lua_State,
    fn_idx: c_int,
    desc: Rc<FnDesc>,
    per_call: bool,
) -> LResult<()> {
    let proto = Prototype::host(desc.signature())?;
    // SAFETY: `L` is a live state with a function at `fn_idx` (the caller's contract); the
    // holder thread pushed is referenced from the registry and popped, and the handler and
    // function pushed are moved onto it.
    let (sh, holder, holder_ref, main) = unsafe {
        drain_releases(L);
        let sh = shared(L);
        let fn_idx = ffi::lua_absindex(L, fn_idx);
        // The holder thread: [message handler, function].
        let holder = ffi::lua_newthread(L);
        ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, sh.traceback_ref);
        ffi::lua_pushvalue(L, fn_idx);
        ffi::lua_xmove(L, holder, 2);
        let holder_ref = ffi::lua_ref(L, -1);
        ffi::lua_pop(L, 1);
        (sh, holder, holder_ref, ffi::lua_mainthread(L))
    };
    let direct = direct_args(&proto, &desc);
    let uniform = direct.as_deref().and_then(uniform_args);
    let state = Rc::new(CallbackState {
        main,
        holder,
        holder_ref,
        direct,
        uniform: uniform.and_then(|p| Some((p, thunk::register_run(&proto.plan)?))),
        number_ret: number_ret(&proto),
        proto,
        last_string_ref: Cell::new(0),
        release_queue: sh.release_queue.clone(),
        invoker_ref: sh.invoker_ref,
        desc,
    });
    let state_ptr = Rc::as_ptr(&state) as *mut c_void;
    let lock = sh.vm_lock;
    // The owner is the state's thread even when a worker-thread callback creates this.
    let gate = lock as *const VmLock as *mut c_void;
    let slot = thunk::acquire(
        &state.proto.plan,
        dispatch::dispatch,
        state_ptr,
        gate,
        lock.owner,
        per_call,
    )?;
    vmlock::callback_created();
    // SAFETY: `L` is a live state (the caller's contract); the Callback is its one push.
    unsafe {
        push_ud(
            L,
            CallbackUd {
                slot: Cell::new(Some(slot.index)),
                code: slot.code,
                per_call,
                state: Cell::new(Some(state)),
            },
        );
    }
    Ok(())
}

/// How to push each argument directly, when all push without allocating and within
/// LUA_MINSTACK slots (with the handler and the function).
fn direct_args(proto: &Prototype, desc: &FnDesc) -> Option<Box<[DirectArg]>> {
    if proto.sig.arg_count() + 2 > 20 {
        return None;
    }
    proto
        .sig
        .args()
        .enumerate()
        .map(|(i, t)| match t {
            CType::Prim(p) if !matches!(p, Prim::Pointer | Prim::String | Prim::String16) => {
                Some(DirectArg {
                    prim: *p,
                    loc: thunk::scalar_loc(&proto.plan, i),
                    promoted_bool: desc.params[i].promoted_bool(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The one type of every direct argument, when it is a number type that converts to a
/// Luau number without a check (not a 64-bit integer, which may not fit a double, nor a
/// boolean).
fn uniform_args(direct: &[DirectArg]) -> Option<Prim> {
    let first = direct.first()?;
    let plain = matches!(
        first.prim,
        Prim::I8 | Prim::U8 | Prim::I16 | Prim::U16 | Prim::I32 | Prim::U32 | Prim::F32 | Prim::F64
    );
    (plain
        && direct
            .iter()
            .all(|a| a.prim == first.prim && !a.promoted_bool))
    .then_some(first.prim)
}

/// A number result (not a boolean) and the return register it goes in.
fn number_ret(proto: &Prototype) -> Option<(Prim, Bank, usize)> {
    match proto.sig.ret {
        CType::Prim(p)
            if !matches!(
                p,
                Prim::Void | Prim::Bool | Prim::Pointer | Prim::String | Prim::String16
            ) =>
        {
            thunk::ret_register(&proto.plan).map(|(bank, r)| (p, bank, r))
        }
        _ => None,
    }
}

/// Frees the Callback at `idx` (a temporary one, once the call it was made for returned).
///
/// # Safety
/// `L` must be a live Luau state.
pub unsafe fn free_callback(L: *mut lua_State, idx: c_int) {
    // SAFETY: the Callback at `idx` is on the stack of the live `L` (the caller's
    // contract), so it is alive while it is freed.
    unsafe {
        if let Some(cb) = get_ud::<CallbackUd>(L, idx) {
            cb.free();
        }
    }
}
