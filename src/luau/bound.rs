//! Bound functions: `lib:func` and `ffi.fn` give a plain Luau function with its
//! prototype and address bound once, the fast path for repeated calls.

use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use super::invoke::{call_with, fast_call, Names};
use super::library::{check_name, lib_self, LibInner};
use super::objects::*;
use super::raw::*;
use super::signature::parse_sig;
use super::value::StrArg;
use super::vmlock::VmLock;
use crate::abi::Signature;
use crate::engine::Prototype;
use crate::memory::Ptr;
use crate::types::{CType, Pointee, Prim};

/// A prototype bound to an address: the upvalue of a `lib:func` / `ffi.fn` function.
pub struct BoundUd {
    proto: Rc<Prototype>,
    /// A variadic function's argument types as written (before promotion), for range
    /// checks; None when they are the prototype's own.
    declared: Option<Vec<CType>>,
    /// For a `T *` return: T, the element type of the TypedPointer it comes back as.
    ret_elem: Option<Pointee>,
    fn_params: Vec<FnParam>,
    /// A declared function's parameters in C (`const char *filename`), for messages.
    c_params: Option<Vec<String>>,
    /// What a Luau string passed for each pointer parameter becomes.
    strs: Vec<StrArg>,
    func: usize,
    name: String,
    /// Keeps the library loaded while the function is reachable.
    _lib: Option<Rc<LibInner>>,
    vm_lock: &'static VmLock,
}

impl Ud for BoundUd {
    const TAG: c_int = 97;
    const NAME: &'static std::ffi::CStr = c"ffi function";
}

/// `lib:func(name, ret, args)` → a plain Luau function bound once.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub(super) unsafe extern "C-unwind" fn lib_func(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "lib:func";
            let lib = lib_self(L, F)?.lib.clone();
            let name = check_name(L, 2, F)?.to_string();
            // A variadic function binds its variadic types once, `{ fixed..., "...",
            // variadic... }`; lib:call keeps per-call types.
            let (sig, declared, strs) = parse_sig(L, Some(3), 4, F, 2, 3)?;
            let declared = sig.is_variadic().then_some(declared);
            let ret_elem = ret_pointee(L, 3);
            let func = lib.lookup(&name).map_err(|e| format!("{}: {}", F, e))?;
            let proto = lib
                .sigs
                .prototype_for(&name, sig)
                .map_err(|e| format!("{}: '{}': {}", F, name, e))?;
            push_bound(
                L,
                Bound {
                    proto,
                    declared,
                    ret_elem,
                    func,
                    name,
                    lib: Some(lib),
                    fn_params: Vec::new(),
                    c_params: None,
                    strs,
                },
            );
            Ok(1)
        })
    }
}

/// `ffi.fn(ptr, ret, args)` → a plain Luau function calling the pointer.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_fn(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.fn";
            let p = match ffi::lua_type(L, 1) {
                ffi::LUA_TNIL => Ptr::foreign(0),
                _ => check_ptr(L, 1, false, F, "argument #1 (ptr)")?,
            };
            if p.is_null() {
                return Err(format!(
                    "{}: argument #1 (ptr): expected a function pointer, got NULL",
                    F
                ));
            }
            let (sig, declared, strs) = parse_sig(L, Some(2), 3, F, 2, 3)?;
            let declared = sig.is_variadic().then_some(declared);
            let ret_elem = ret_pointee(L, 2);
            let proto = Rc::new(Prototype::host(sig).map_err(|e| format!("{}: {}", F, e))?);
            // What its errors call it: how it was made, and which function it calls.
            let name = format!("ffi.fn-bound function at 0x{:x}", p.addr);
            push_bound(
                L,
                Bound {
                    proto,
                    declared,
                    ret_elem,
                    func: p.addr,
                    name,
                    lib: None,
                    fn_params: Vec::new(),
                    c_params: None,
                    strs,
                },
            );
            Ok(1)
        })
    }
}

/// For `ffi.gc`: when the value at `idx` is a bound function's upvalue, the function as a
/// C finalizer (prototype, address, library), or why it cannot be one: it must take one
/// pointer and return a scalar or nothing (its result is ignored).
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
#[allow(clippy::type_complexity)]
pub(super) unsafe fn finalizer_parts(
    L: *mut lua_State,
    idx: c_int,
) -> Option<Result<(Rc<Prototype>, usize, Option<Rc<LibInner>>), String>> {
    // SAFETY: the caller's contract.
    let b = unsafe { get_ud::<BoundUd>(L, idx) }?;
    let sig = &b.proto.sig;
    let one_pointer = sig.variadic.is_none()
        && sig.fixed.len() == 1
        && matches!(sig.fixed[0], CType::Prim(Prim::Pointer | Prim::String));
    if !one_pointer || !matches!(sig.ret, CType::Prim(_)) || b.func == 0 {
        return Some(Err(format!(
            "'{}' cannot be a finalizer: it must take one pointer and return nothing or a scalar",
            b.name
        )));
    }
    Some(Ok((b.proto.clone(), b.func, b._lib.clone())))
}

/// What a bound function is made of.
pub struct Bound {
    pub proto: Rc<Prototype>,
    pub declared: Option<Vec<CType>>,
    pub ret_elem: Option<Pointee>,
    pub func: usize,
    pub name: String,
    pub lib: Option<Rc<LibInner>>,
    /// Parameters declared as function pointers, with the function type: a Luau function
    /// passed there becomes a callback for the duration of the call.
    pub fn_params: Vec<FnParam>,
    pub c_params: Option<Vec<String>>,
    pub strs: Vec<StrArg>,
}

/// A parameter declared as a function pointer: its position, the function type, and
/// the TypedPointer element types of the callback's pointer arguments.
pub struct FnParam {
    pub index: usize,
    pub sig: Signature,
    pub arg_elems: Vec<Option<Pointee>>,
}

/// Pushes a plain Luau function calling `b.func` (upvalue: the `BoundUd`).
///
/// # Safety
/// `L` must be a live Luau state; may raise (allocation).
pub unsafe fn push_bound(L: *mut lua_State, b: Bound) {
    // SAFETY: see above.
    unsafe {
        push_ud(
            L,
            BoundUd {
                proto: b.proto,
                declared: b.declared,
                ret_elem: b.ret_elem,
                fn_params: b.fn_params,
                c_params: b.c_params,
                strs: b.strs,
                func: b.func,
                name: b.name,
                _lib: b.lib,
                vm_lock: shared(L).vm_lock,
            },
        );
        ffi::lua_pushcclosurek(L, bound_call, c"ffi function".as_ptr(), 1, None);
    }
}

/// The body of every bound function: arguments straight from the stack into the frame.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
unsafe extern "C-unwind" fn bound_call(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        let b = super::slots::upvalue_ud(L, BoundUd::TAG) as *const BoundUd;
        // SAFETY: the upvalue is the BoundUd this closure was created with (push_bound).
        if let Some(b) = b.as_ref() {
            if let Some(fast) = &b.proto.fast {
                match fast_call(L, fast, b.func, 1, b.vm_lock) {
                    Some(Ok(n)) => {
                        if let Some(elem) = &b.ret_elem {
                            retype_result_to(L, elem);
                        }
                        return n;
                    }
                    // A callback failed during the call: no Rust value is alive here.
                    Some(Err(e)) => raise(L, e),
                    None => {}
                }
            }
        }
        // The general path: structs, conversions the fast path declines, and every error.
        guard(L, || {
            let b = get_ud::<BoundUd>(L, ffi::lua_upvalueindex(1))
                .ok_or("bound function lost its prototype")?;
            // Luau functions given for function-pointer parameters: temporary callbacks,
            // freed when the call returns (C must not keep them).
            let mut temps = Vec::new();
            for fp in &b.fn_params {
                let idx = fp.index as c_int + 1;
                if ffi::lua_type(L, idx) == ffi::LUA_TFUNCTION {
                    let err = |e: String| format!("{}: argument #{}: {}", b.name, idx, e);
                    let proto = Prototype::host(fp.sig.clone()).map_err(|e| err(e.into()))?;
                    super::callback::push_callback(
                        L,
                        idx,
                        proto,
                        fp.arg_elems.clone(),
                        Vec::new(),
                        true,
                    )
                    .map_err(err)?;
                    ffi::lua_replace(L, idx);
                    temps.push(idx);
                }
            }
            let r = call_with(
                L,
                &b.proto,
                b.declared.as_deref(),
                b.func,
                1,
                &Names {
                    api: &b.name,
                    cfn: &b.name,
                    params: b.c_params.as_deref(),
                    strs: &b.strs,
                },
                b.vm_lock,
            );
            for idx in temps {
                super::callback::free_callback(L, idx);
            }
            let n = r?;
            if let Some(elem) = &b.ret_elem {
                retype_result_to(L, elem);
            }
            Ok(n)
        })
    }
}
