//! `ffi.gc(p, finalizer)`: a C resource tied to the lifetime of the pointer objects that
//! hold it (LuaJIT's name and contract).
//!
//! The pointer's owner becomes an [`Owner::Gc`] token, shared by every pointer derived
//! from it (arithmetic, casts and views clone the owner) and kept by module memory it is
//! stored into, as any owner. When the last holder is collected the token's finalizer
//! runs, once:
//! - a C function (a declared or bound function taking one pointer, or a function pointer
//!   called as `void f(void *)`) is called right there, inside the collector: it is C
//!   code that does not touch the Luau VM (a callback it makes does not run, see
//!   `reentry::in_gc_finalizer`);
//! - a Luau function cannot run inside the collector: it is queued and runs at the next
//!   safe point, the next ffi call on the state or the next scheduler step (`safe_point`).

use std::cell::RefCell;
use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use crate::abi::Signature;
use crate::engine::{Buffers, Call, Prototype};
use crate::luau::callback::kind::CallbackUd;
use crate::luau::memory::objects::{
    lua_anchor, push_rawptr, push_typed_to, push_view, RawPtrUd, TypedPtrUd, ViewUd,
};
use crate::luau::vm::anchor::LuaAnchor;
use crate::luau::vm::frame::Frame;
use crate::luau::vm::raw::{describe, get_ud, guard, LResult};
use crate::luau::vm::state::{safe_point, shared};
use crate::luau::vm::tags::Ud;
use crate::memory::{GcToken, Owner, Ptr};
use crate::types::{CType, Pointee, Prim, StructType};

/// A Luau finalizer whose pointer was collected: the function and what to call it with.
pub struct PendingFin {
    func: LuaAnchor,
    ptr: Ptr,
    shape: Shape,
}

/// The kind of object `ffi.gc` was given, re-made for the Luau finalizer's argument.
enum Shape {
    Raw,
    Typed {
        elem: CType,
        pointee: Option<Pointee>,
    },
    View(Arc<StructType>),
}

/// A C function run as a finalizer.
struct CFin {
    proto: Rc<Prototype>,
    func: usize,
    /// Keeps the library of a declared or bound function loaded until it has run.
    _lib: Option<Rc<dyn std::any::Any>>,
}

impl CFin {
    /// Calls the function with `addr`, inside the collector (or as the state closes):
    /// no Luau, no raise, no panic; the script's saved `errno` is kept.
    fn run(&self, addr: usize) {
        crate::luau::vm::reentry::in_gc_finalizer(|| {
            crate::engine::keeping_saved_errors(|| {
                let mut bufs = MaybeUninit::<Buffers>::uninit();
                let mut call = Call::new(&self.proto, &mut bufs);
                call.set_scalar(0, addr as u64);
                let mut ret = [0u64; 4];
                // SAFETY: the prototype takes one pointer and returns a scalar or nothing
                // (checked in `c_finalizer`): the declared signature of a declared or bound
                // function, or `void f(void *)` for a function pointer, which ffi.gc's
                // contract makes the caller vouch for. Its scalar result, if any, is
                // ignored; `ret` is room for one anyway.
                let _ = unsafe { call.invoke(self.func, ret.as_mut_ptr() as *mut u8) };
            })
        })
    }
}

/// `void f(void *)`: how a finalizer given as a bare function pointer is called (an `int`
/// or pointer result, as `sqlite3_close`'s, comes back in a register and is ignored).
fn pointer_fn_proto() -> Result<Rc<Prototype>, String> {
    thread_local! {
        static PROTO: RefCell<Option<Rc<Prototype>>> = const { RefCell::new(None) };
    }
    PROTO.with(|p| {
        if let Some(p) = &*p.borrow() {
            return Ok(p.clone());
        }
        let proto = Rc::new(Prototype::host(Signature {
            ret: CType::Prim(Prim::Void),
            fixed: vec![CType::Prim(Prim::Pointer)],
            variadic: None,
        })?);
        *p.borrow_mut() = Some(proto.clone());
        Ok(proto)
    })
}

/// The finalizer at `idx` when it is C: a declared or bound function (checked to take one
/// pointer and return a scalar or nothing) or a function pointer. `Ok(None)`: a Luau
/// function (or any other callable), queued.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
unsafe fn c_finalizer(L: *mut lua_State, idx: c_int, F: &str) -> LResult<Option<CFin>> {
    // SAFETY: `idx` holds a value of the live `L` (the caller's contract); the upvalue
    // `lua_getupvalue` pushes is popped again.
    unsafe {
        match ffi::lua_type(L, idx) {
            ffi::LUA_TFUNCTION => {
                if ffi::lua_iscfunction(L, idx) == 0 {
                    return Ok(None);
                }
                if ffi::lua_getupvalue(L, idx, 1).is_null() {
                    return Ok(None);
                }
                let bound = crate::luau::call::bound::finalizer_parts(L, -1);
                ffi::lua_pop(L, 1);
                match bound {
                    None => Ok(None),
                    Some(Ok((proto, func, lib))) => Ok(Some(CFin {
                        proto,
                        func,
                        _lib: lib,
                    })),
                    Some(Err(e)) => Err(format!("{}: argument #2 (finalizer): {}", F, e)),
                }
            }
            ffi::LUA_TUSERDATA if get_ud::<RawPtrUd>(L, idx).is_some() => {
                let addr = get_ud::<RawPtrUd>(L, idx).map_or(0, |u| u.ptr.addr);
                if addr == 0 {
                    return Err(format!(
                        "{}: argument #2 (finalizer): expected a function, got a NULL pointer (pass nil to remove the finalizer)",
                        F
                    ));
                }
                let proto = pointer_fn_proto().map_err(|e| format!("{}: {}", F, e))?;
                Ok(Some(CFin {
                    proto,
                    func: addr,
                    _lib: None,
                }))
            }
            ffi::LUA_TUSERDATA if ffi::lua_userdatatag(L, idx) == CallbackUd::TAG => Err(format!(
                "{}: argument #2 (finalizer): expected a function, got a Callback (pass its Luau function: it runs at the next safe point, not inside the collector)",
                F
            )),
            _ => Err(format!(
                "{}: argument #2 (finalizer): expected a function (a Luau function, a declared or bound C function), a function pointer (RawPointer) or nil, got {}",
                F,
                describe(L, idx)
            )),
        }
    }
}

/// `ffi.gc(p, finalizer)` → p; `ffi.gc(p, nil)` removes the finalizer; `ffi.gc(nil, f)`
/// is nil (a NULL result from C has nothing to finalize).
///
/// # Safety
/// Only Luau calls it, as a C function (`lua_CFunction`) of the running state `L`.
pub unsafe extern "C-unwind" fn ffi_gc(L: *mut lua_State) -> c_int {
    // SAFETY: called by Luau as a C function of `L`, with its arguments on the stack.
    unsafe {
        guard(L, || {
            const F: &str = "ffi.gc";
            safe_point(L);
            if ffi::lua_isnil(L, 1) != 0 {
                ffi::lua_pushnil(L);
                return Ok(1);
            }
            let wrong = || {
                format!(
                    "{}: argument #1 (p): expected a pointer from C (RawPointer, TypedPointer or StructView), got {}",
                    F,
                    describe(L, 1)
                )
            };
            if ffi::lua_type(L, 1) != ffi::LUA_TUSERDATA {
                return Err(wrong());
            }
            // The object's own pointer, changed in place: ffi.gc returns the same object.
            let (slot, shape): (*mut Ptr, Shape) = match ffi::lua_userdatatag(L, 1) {
                RawPtrUd::TAG => {
                    let u = ffi::lua_touserdatatagged(L, 1, RawPtrUd::TAG) as *mut RawPtrUd;
                    (std::ptr::addr_of_mut!((*u).ptr), Shape::Raw)
                }
                TypedPtrUd::TAG => {
                    let u = ffi::lua_touserdatatagged(L, 1, TypedPtrUd::TAG) as *mut TypedPtrUd;
                    let shape = Shape::Typed {
                        elem: (*u).elem.clone(),
                        pointee: (*u).pointee.clone(),
                    };
                    (std::ptr::addr_of_mut!((*u).ptr), shape)
                }
                ViewUd::TAG => {
                    let u = ffi::lua_touserdatatagged(L, 1, ViewUd::TAG) as *mut ViewUd;
                    (
                        std::ptr::addr_of_mut!((*u).ptr),
                        Shape::View((*u).st.clone()),
                    )
                }
                _ => return Err(wrong()),
            };
            {
                // SAFETY: the userdata at 1 holds this Ptr while it is on the stack; no
                // other reference to it is alive in this function.
                let ptr = &*slot;
                if ptr.addr == 0 || ptr.is_null_derived() {
                    return Err(format!(
                        "{}: argument #1 (p): a NULL pointer has nothing to finalize",
                        F
                    ));
                }
                if !matches!(ptr.owner, Owner::Foreign | Owner::Gc(_)) {
                    return Err(format!(
                        "{}: argument #1 (p): expected a pointer from C; this memory is the module's (an arena, a buffer, a struct value), freed by its owner",
                        F
                    ));
                }
            }
            let fin: Option<Box<dyn FnOnce()>> = if ffi::lua_isnoneornil(L, 2) != 0 {
                None
            } else {
                let addr = (*slot).addr;
                match c_finalizer(L, 2, F)? {
                    Some(c) => Some(Box::new(move || c.run(addr))),
                    None => {
                        let func = lua_anchor(L, 2);
                        let queue = shared(L).finalizers.clone();
                        let ptr = Ptr {
                            owner: Owner::Foreign,
                            ..(*slot).clone()
                        };
                        Some(Box::new(move || {
                            // Runs in the collector: only queue it (no Luau, no raise).
                            let fin = PendingFin { func, ptr, shape };
                            // SAFETY: queued jobs run only at a safe point, with a live
                            // state where Luau may run.
                            queue.push(Box::new(move |L| run_one(L, fin)));
                        }))
                    }
                }
            };
            // SAFETY: the userdata at 1 still holds this Ptr (it stays on the stack), and the
            // values made meanwhile are not this Ptr, so no other reference to it is alive.
            let ptr = &mut *slot;
            match (&ptr.owner, fin) {
                (Owner::Gc(t), fin) => t.set(fin),
                (_, Some(fin)) => ptr.owner = Owner::Gc(GcToken::new(fin)),
                (_, None) => {}
            }
            ffi::lua_pushvalue(L, 1);
            Ok(1)
        })
    }
}

/// # Safety
/// As `safe_point`.
unsafe fn run_one(L: *mut lua_State, f: PendingFin) {
    // SAFETY: the caller's contract; the call is protected, so nothing raises past here
    // but an allocation failure pushing the argument.
    unsafe {
        if ffi::lua_checkstack(L, 3) == 0 {
            return;
        }
        ffi::lua_rawgeti_(L, ffi::LUA_REGISTRYINDEX, f.func.registry_ref as _);
        match f.shape {
            Shape::Raw => push_rawptr(L, f.ptr),
            Shape::Typed { elem, pointee } => push_typed_to(L, f.ptr, elem, pointee),
            Shape::View(st) => push_view(L, f.ptr, st),
        }
        if ffi::lua_pcall(L, 1, 0, 0) != 0 {
            let msg = match Frame::new(L).str(-1) {
                Some(s) => String::from_utf8_lossy(s).into_owned(),
                None => describe(L, -1),
            };
            ffi::lua_pop(L, 1);
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "[lune-ffi] error in an ffi.gc finalizer: {}",
                msg
            );
        }
        // The function's registry reference is released with the anchor.
        drop(f.func);
    }
}
