//! The userdata kinds the module hands to scripts, how they are pushed, and how any
//! pointer-like argument (pointer, view, callback, buffer) becomes a [`Ptr`].

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::rc::Rc;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use super::raw::*;
use crate::memory::{ArenaInner, BufferAnchor, Owner, Ptr};
use crate::types::{CType, Prim, StructType};

pub struct RawPtrUd {
    pub ptr: Ptr,
}

pub struct TypedPtrUd {
    pub ptr: Ptr,
    pub elem: CType,
    /// Cached `elem.size()`, the stride of indexing and arithmetic.
    pub stride: usize,
}

pub struct ViewUd {
    pub ptr: Ptr,
    pub st: Arc<StructType>,
}

pub struct ArenaUd {
    pub arena: Rc<ArenaInner>,
}

pub struct StructTypeUd {
    pub st: Arc<StructType>,
}

/// Per-Lua-state data, kept in the registry.
pub struct Shared {
    pub release_queue: Rc<RefCell<Vec<i32>>>,
    pub warned_buffer: Cell<bool>,
    pub warned_open: Cell<bool>,
    /// Registry reference of the callback message handler, created once so a callback
    /// does not allocate a closure per call.
    pub traceback_ref: c_int,
    /// The VM lock callbacks from other threads wait on.
    pub gil: &'static super::callback::Gil,
}

impl Drop for Shared {
    // Runs when the Lua state closes.
    fn drop(&mut self) {
        self.gil.close();
    }
}

const SHARED_KEY: &std::ffi::CStr = c"lune_ffi.shared";

pub unsafe fn init_shared(L: *mut lua_State) {
    push_fn(L, super::callback::traceback, c"traceback");
    let traceback_ref = ffi::lua_ref(L, -1);
    ffi::lua_pop(L, 1);
    push_ud(
        L,
        TAG_SHARED,
        Shared {
            release_queue: Rc::new(RefCell::new(Vec::new())),
            warned_buffer: Cell::new(false),
            warned_open: Cell::new(false),
            traceback_ref,
            gil: super::callback::Gil::new_held(),
        },
    );
    ffi::lua_rawsetfield(L, ffi::LUA_REGISTRYINDEX, SHARED_KEY.as_ptr());
}

pub unsafe fn shared<'a>(L: *mut lua_State) -> &'a Shared {
    ffi::lua_rawgetfield(L, ffi::LUA_REGISTRYINDEX, SHARED_KEY.as_ptr());
    let s = get_ud::<Shared>(L, -1, TAG_SHARED);
    ffi::lua_pop(L, 1);
    // SAFETY: set once by `init_shared` and kept in the registry for the state's life.
    s.expect("lune-ffi state initialised")
}

/// Releases registry references of buffers whose last pointer was collected.
pub unsafe fn drain_releases(L: *mut lua_State) {
    let q = shared(L).release_queue.clone();
    let refs: Vec<i32> = q.borrow_mut().drain(..).collect();
    for r in refs {
        ffi::lua_unref(L, r);
    }
}

#[inline]
pub unsafe fn push_rawptr(L: *mut lua_State, ptr: Ptr) {
    push_ud(L, TAG_RAWPTR, RawPtrUd { ptr });
}

/// Pushes a pointer returned by C: NULL becomes nil.
#[inline]
pub unsafe fn push_foreign_ptr(L: *mut lua_State, addr: usize) {
    if addr == 0 {
        ffi::lua_pushnil(L);
    } else {
        push_rawptr(L, Ptr::foreign(addr));
    }
}

#[inline]
pub unsafe fn push_typed(L: *mut lua_State, ptr: Ptr, elem: CType) {
    let stride = elem.size();
    push_ud(L, TAG_TYPEDPTR, TypedPtrUd { ptr, elem, stride });
}

#[inline]
pub unsafe fn push_view(L: *mut lua_State, ptr: Ptr, st: Arc<StructType>) {
    push_ud(L, TAG_VIEW, ViewUd { ptr, st });
}

pub unsafe fn push_struct_type(L: *mut lua_State, st: Arc<StructType>) {
    push_ud(L, TAG_STRUCTTYPE, StructTypeUd { st });
}

/// Pushes a type as scripts see it: a canonical name, or a StructType.
pub unsafe fn push_type(L: *mut lua_State, ty: &CType) {
    match ty {
        CType::Prim(p) => push_str(L, p.name()),
        CType::Struct(s) => push_struct_type(L, s.clone()),
    }
}

/// Parses a type argument: a type name or alias (which is also what `ffi.types` holds),
/// or a StructType.
pub unsafe fn check_type(L: *mut lua_State, idx: c_int, func: &str, what: &str) -> LResult<CType> {
    if let Some(s) = get_str(L, idx) {
        let name = std::str::from_utf8(s).unwrap_or("");
        return match Prim::from_name(name) {
            Some(p) => Ok(CType::Prim(p)),
            None => Err(format!(
                "{}: {}: unknown type '{}' (expected a type name such as \"i32\", \"f64\", \"pointer\", or a StructType)",
                func,
                what,
                String::from_utf8_lossy(s)
            )),
        };
    }
    if let Some(st) = get_ud::<StructTypeUd>(L, idx, TAG_STRUCTTYPE) {
        return Ok(CType::Struct(st.st.clone()));
    }
    Err(format!(
        "{}: {}: expected a type name or a StructType, got {}",
        func,
        what,
        describe(L, idx)
    ))
}

/// Like `check_type` but refuses `void` (every use except a return type).
pub unsafe fn check_value_type(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<CType> {
    let t = check_type(L, idx, func, what)?;
    if t.is_void() {
        return Err(format!(
            "{}: {}: void is only valid as a return type",
            func, what
        ));
    }
    Ok(t)
}

/// The pointer behind any pointer-like value: RawPointer, TypedPointer, StructView,
/// Callback or buffer. `Ok(None)` if the value is none of these. With `persist`, a
/// buffer gets a registry anchor so the returned pointer may outlive the stack slot.
pub unsafe fn to_ptr(L: *mut lua_State, idx: c_int, persist: bool) -> LResult<Option<Ptr>> {
    match ffi::lua_type(L, idx) {
        ffi::LUA_TUSERDATA => {
            let tag = ffi::lua_userdatatag(L, idx);
            Ok(match tag {
                TAG_RAWPTR => get_ud::<RawPtrUd>(L, idx, tag).map(|u| u.ptr.clone()),
                TAG_TYPEDPTR => get_ud::<TypedPtrUd>(L, idx, tag).map(|u| u.ptr.clone()),
                TAG_VIEW => get_ud::<ViewUd>(L, idx, tag).map(|u| u.ptr.clone()),
                TAG_CALLBACK => Some(super::callback::callback_ptr(L, idx)?),
                _ => None,
            })
        }
        ffi::LUA_TBUFFER => {
            let mut len = 0usize;
            let data = ffi::lua_tobuffer(L, idx, &mut len) as usize;
            let owner = if persist {
                drain_releases(L);
                let registry_ref = ffi::lua_ref(L, idx);
                Owner::Buffer(Rc::new(BufferAnchor {
                    registry_ref,
                    release_queue: shared(L).release_queue.clone(),
                }))
            } else {
                Owner::Foreign
            };
            // A zero-length buffer may have a dangling data pointer; bounds make any
            // access an error anyway.
            Ok(Some(Ptr::bounded(data, len, owner)))
        }
        _ => Ok(None),
    }
}

/// A required pointer-like argument (nil refused).
pub unsafe fn check_ptr(
    L: *mut lua_State,
    idx: c_int,
    persist: bool,
    func: &str,
    what: &str,
) -> LResult<Ptr> {
    match to_ptr(L, idx, persist)? {
        Some(p) => Ok(p),
        None => Err(format!(
            "{}: {}: expected a pointer (RawPointer, TypedPointer, StructView or buffer), got {}",
            func,
            what,
            describe(L, idx)
        )),
    }
}
