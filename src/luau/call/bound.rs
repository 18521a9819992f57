//! Bound functions: `lib:func` and `ffi.fn` give a plain Luau function with its
//! prototype and address bound once, the fast path for repeated calls.

use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use crate::engine::Prototype;
use crate::luau::call::desc::FnDesc;
use crate::luau::call::invoke::{call_with, fast_call, Names};
use crate::luau::call::library::{check_name, lib_self, LibInner};
use crate::luau::call::signature::parse_sig;
use crate::luau::memory::objects::check_ptr;
use crate::luau::vm::frame::guarded;
use crate::luau::vm::raw::{get_ud, guard, push_ud, raise};
use crate::luau::vm::state::shared;
use crate::luau::vm::tags::{Tag, Ud};
use crate::memory::Ptr;
use crate::types::{CType, Prim};
use crate::vmlock::VmLock;

/// A prototype bound to an address: the upvalue of a `lib:func` / `ffi.fn` function.
pub struct BoundUd {
    proto: Rc<Prototype>,
    /// What is declared of its parameters and result.
    desc: FnDesc,
    func: usize,
    name: String,
    /// Keeps the library loaded while the function is reachable.
    _lib: Option<Rc<LibInner>>,
    vm_lock: &'static VmLock,
}

impl Ud for BoundUd {
    const KIND: Tag = Tag::Bound;
}

/// `lib:func(name, ret, args)` → a plain Luau function bound once.
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub(crate) unsafe extern "C-unwind" fn lib_func(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guarded(L, |f| {
            const F: &str = "lib:func";
            let lib = lib_self(L, F)?.lib.clone();
            let name = check_name(L, 2, F)?.to_string();
            // A variadic function binds its variadic types once, `{ fixed..., "...",
            // variadic... }`; lib:call keeps per-call types.
            let desc = parse_sig(f, Some(3), 4, F, 2, 3)?;
            let func = lib.lookup(&name).map_err(|e| format!("{}: {}", F, e))?;
            let proto = lib
                .sigs
                .prototype_for(&name, desc.signature())
                .map_err(|e| format!("{}: '{}': {}", F, name, e))?;
            push_bound(
                L,
                Bound {
                    proto,
                    desc,
                    func,
                    name,
                    lib: Some(lib),
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
        guarded(L, |f| {
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
            let desc = parse_sig(f, Some(2), 3, F, 2, 3)?;
            let proto =
                Rc::new(Prototype::host(desc.signature()).map_err(|e| format!("{}: {}", F, e))?);
            // What its errors call it: how it was made, and which function it calls.
            let name = format!("ffi.fn-bound function at 0x{:x}", p.addr);
            push_bound(
                L,
                Bound {
                    proto,
                    desc,
                    func: p.addr,
                    name,
                    lib: None,
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
pub(crate) unsafe fn finalizer_parts(
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
    pub desc: FnDesc,
    pub func: usize,
    pub name: String,
    pub lib: Option<Rc<LibInner>>,
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
                desc: b.desc,
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
        let b = crate::luau::vm::slots::upvalue_ud(L, BoundUd::TAG) as *const BoundUd;
        // SAFETY: the upvalue is the BoundUd this closure was created with (push_bound).
        if let Some(b) = b.as_ref() {
            if let Some(fast) = &b.proto.fast {
                match fast_call(L, fast, b.func, 1, b.desc.ret_pointee.as_ref(), b.vm_lock) {
                    Some(Ok(n)) => return n,
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
            for (i, p) in b.desc.params.iter().enumerate() {
                let idx = i as c_int + 1;
                let Some(cb) = &p.callback else { continue };
                if ffi::lua_type(L, idx) == ffi::LUA_TFUNCTION {
                    crate::luau::callback::push_callback(L, idx, cb.clone(), true)
                        .map_err(|e| format!("{}: argument #{}: {}", b.name, idx, e))?;
                    ffi::lua_replace(L, idx);
                    temps.push(idx);
                }
            }
            let r = call_with(
                L,
                &b.proto,
                b.func,
                1,
                &Names {
                    api: &b.name,
                    cfn: &b.name,
                    desc: Some(&b.desc),
                },
                b.vm_lock,
            );
            for idx in temps {
                crate::luau::callback::free_callback(L, idx);
            }
            r
        })
    }
}
