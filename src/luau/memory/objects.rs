//! The userdata kinds the module hands to scripts (pointers, views, arenas, struct types,
//! callbacks), the per-state data, and how any pointer-like argument (pointer, view,
//! callback, buffer) becomes a [`Ptr`].

use std::ffi::c_int;
use std::rc::Rc;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use crate::luau::values::convert::Site;
use std::ptr::NonNull;

use crate::luau::callback::kind::CallbackUd;
use crate::luau::vm::anchor::LuaAnchor;
use crate::luau::vm::raw::{describe, get_ud, push_str, push_ud, LResult};
use crate::luau::vm::state::{drain_releases, shared};
use crate::luau::vm::tags::{Tag, Ud};
use crate::memory::{ArenaInner, InlineAnchor, InlineRef, KeepAlive, Owner, Ptr};
use crate::types::{CType, Pointee, StructType};

/// Implements [`Ud`] for a userdata kind of `vm::tags`.
macro_rules! ud_kind {
    ($t:ty, $kind:ident) => {
        impl Ud for $t {
            const KIND: Tag = Tag::$kind;
        }
    };
}

pub struct RawPtrUd {
    pub ptr: Ptr,
}
ud_kind!(RawPtrUd, RawPointer);

pub struct TypedPtrUd {
    pub ptr: Ptr,
    pub elem: CType,
    /// Cached `elem.size()`, the stride of indexing and arithmetic.
    pub stride: usize,
    /// For elements that are pointers (`T **`): what they point to, when declared.
    pub pointee: Option<Pointee>,
}
ud_kind!(TypedPtrUd, TypedPointer);

pub struct ViewUd {
    pub ptr: Ptr,
    pub st: Arc<StructType>,
    /// For a struct value (`push_struct_value`): the keep table of its bytes, which
    /// follow in the same userdata. Empty (and allocation-free) for views of other memory.
    pub keep: KeepAlive,
}
ud_kind!(ViewUd, StructView);

// Every struct value is a GC allocation of this header plus its bytes, and the collector's
// work grows with the bytes allocated: keep the header from growing unnoticed.
const _: () = assert!(std::mem::size_of::<ViewUd>() <= 56);

pub struct ArenaUd {
    pub arena: Rc<ArenaInner>,
}
ud_kind!(ArenaUd, Arena);

pub struct StructTypeUd {
    pub st: Arc<StructType>,
}
ud_kind!(StructTypeUd, StructType);

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn push_rawptr(L: *mut lua_State, ptr: Ptr) {
    // SAFETY: `L` is a live state (the caller's contract); the RawPointer is its one push.
    unsafe {
        push_ud(L, RawPtrUd { ptr });
    }
}

/// Pushes a pointer returned by C: NULL becomes nil.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn push_foreign_ptr(L: *mut lua_State, addr: usize) {
    // SAFETY: `L` is a live state (the caller's contract); either branch pushes one value.
    unsafe {
        if addr == 0 {
            ffi::lua_pushnil(L);
        } else {
            push_rawptr(L, Ptr::foreign(addr));
        }
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn push_typed(L: *mut lua_State, ptr: Ptr, elem: CType) {
    // SAFETY: `L` is a live state (the caller's contract); the TypedPointer is its one push.
    unsafe {
        push_typed_to(L, ptr, elem, None);
    }
}

/// `push_typed` for elements that are pointers to `pointee`.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn push_typed_to(L: *mut lua_State, ptr: Ptr, elem: CType, pointee: Option<Pointee>) {
    let stride = elem.size();
    // SAFETY: `L` is a live state (the caller's contract); the TypedPointer is its one push.
    unsafe {
        push_ud(
            L,
            TypedPtrUd {
                ptr,
                elem,
                stride,
                pointee,
            },
        );
    }
}

/// Pushes the pointer `addr` read from memory (a field, an element) as a TypedPointer of
/// its declared pointee: nil for NULL, unbounded (it comes from C), and a RawPointer when
/// the pointee is a record that is incomplete or cannot be an element.
///
/// # Safety
/// `L` must be a live Luau state; may raise (allocation).
pub unsafe fn push_pointer_to(L: *mut lua_State, addr: usize, pointee: &Pointee) {
    // SAFETY: `L` is a live state with the module open (the caller's contract); every
    // branch pushes exactly one value.
    unsafe {
        if addr == 0 {
            ffi::lua_pushnil(L);
            return;
        }
        let ptr = Ptr::foreign(addr);
        match pointee {
            Pointee::Prim(p) => push_typed(L, ptr, CType::Prim(*p)),
            Pointee::Pointer { prim, inner } => {
                push_typed_to(L, ptr, CType::Prim(*prim), inner.as_deref().cloned())
            }
            Pointee::Record(id) => {
                let elem = shared(L).ctypes.ns.borrow().record_layout(*id);
                match elem {
                    Some(elem) => push_typed(L, ptr, elem),
                    None => push_rawptr(L, ptr),
                }
            }
        }
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
#[inline]
pub unsafe fn push_view(L: *mut lua_State, ptr: Ptr, st: Arc<StructType>) {
    // SAFETY: `L` is a live state (the caller's contract); the StructView is its one push.
    unsafe {
        push_ud(
            L,
            ViewUd {
                ptr,
                st,
                keep: KeepAlive::default(),
            },
        );
    }
}

/// Pushes a new struct value of type `st`, zeroed, as one GC allocation: the view, its
/// keep table and the bytes (the bytes follow the view, aligned). Returns the bytes'
/// address, for the caller to fill while the value is on the stack.
///
/// # Safety
/// `L` must be a live Luau state with a free stack slot; may raise (allocation) before
/// anything is written.
pub unsafe fn push_struct_value(L: *mut lua_State, st: &Arc<StructType>) -> *mut u8 {
    // Luau aligns userdata memory to 8; a stricter struct gets room to align within.
    const UD_ALIGN: usize = 8;
    let align = st.align.max(1);
    let extra = align.saturating_sub(UD_ALIGN);
    let header = std::mem::size_of::<ViewUd>();
    // SAFETY: a fresh userdata of `header + extra + size` bytes: the ViewUd at its start
    // (8-aligned, as `push_ud` requires), the bytes after it within the allocation; the
    // tag's destructor drops the ViewUd (and its keep table) once, when collected.
    unsafe {
        const _: () = assert!(std::mem::align_of::<ViewUd>() <= UD_ALIGN);
        let p = ffi::lua_newuserdatataggedwithmetatable(L, header + extra + st.size, ViewUd::TAG)
            as *mut ViewUd;
        // Layouts only have power-of-two alignments (`types::layout` checks every one),
        // so rounding up is a mask: `next_multiple_of` divides, a 10-40 cycle latency
        // in front of every write of every struct value made.
        debug_assert!(align.is_power_of_two());
        let data = (p as usize + header + (align - 1)) & !(align - 1);
        zero_small(data as *mut u8, st.size);
        let keep = NonNull::new_unchecked(std::ptr::addr_of_mut!((*p).keep));
        std::ptr::write(
            p,
            ViewUd {
                ptr: Ptr::bounded(data, st.size, Owner::Inline(InlineRef::new(keep))),
                st: st.clone(),
                keep: KeepAlive::default(),
            },
        );
        data as *mut u8
    }
}

/// Zeroes `size` bytes at `dst`: up to 32 with a few overlapping word stores, as most
/// struct values are small and a call to `memset` costs more than the stores.
///
/// # Safety
/// `dst` must be writable for `size` bytes.
#[inline(always)]
unsafe fn zero_small(dst: *mut u8, size: usize) {
    // SAFETY (every arm): each store lies within `dst..dst + size` (the caller's
    // contract): the 8-byte ones start at offsets from 0 to `size - 8`.
    unsafe {
        match size {
            8..=16 => {
                dst.cast::<u64>().write_unaligned(0);
                dst.add(size - 8).cast::<u64>().write_unaligned(0);
            }
            17..=32 => {
                dst.cast::<[u64; 2]>().write_unaligned([0; 2]);
                dst.add(size - 16)
                    .cast::<[u64; 2]>()
                    .write_unaligned([0; 2]);
            }
            _ => std::ptr::write_bytes(dst, 0, size),
        }
    }
}

/// The pointer of the view `ud` (at `idx`) as a value of its own. A struct value's
/// memory lives in the view's userdata: with `persist` the pointer anchors that
/// userdata (it may outlive the stack slot, be stored, or give a derived view); without,
/// it is bounds only, for use while the view is on the stack.
///
/// # Safety
/// `L` must be a live Luau state with the view at `idx`; may raise (allocation).
pub unsafe fn view_ptr(L: *mut lua_State, idx: c_int, ud: &ViewUd, persist: bool) -> Ptr {
    match &ud.ptr.owner {
        Owner::Inline(r) => {
            let owner = if persist {
                // SAFETY: the anchor references the userdata at `idx`, which holds the
                // keep table `r` points to.
                unsafe {
                    Owner::InlineAnchor(Rc::new(InlineAnchor::new(Box::new(lua_anchor(L, idx)), r)))
                }
            } else {
                Owner::Foreign
            };
            Ptr {
                addr: ud.ptr.addr,
                base: ud.ptr.base,
                len: ud.ptr.len,
                owner,
            }
        }
        _ => ud.ptr.clone(),
    }
}

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn push_struct_type(L: *mut lua_State, st: Arc<StructType>) {
    // SAFETY: `L` is a live state (the caller's contract); the StructType is its one push.
    unsafe {
        push_ud(L, StructTypeUd { st });
    }
}

/// Pushes a type as scripts see it: a canonical name, or a StructType.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn push_type(L: *mut lua_State, ty: &CType) {
    // SAFETY: `L` is a live state (the caller's contract); either branch pushes one value.
    unsafe {
        match ty {
            CType::Prim(p) => push_str(L, p.name()),
            CType::Struct(s) => push_struct_type(L, s.clone()),
        }
    }
}

/// A registry anchor for the value at `idx`, released (later, outside the collector)
/// when the last holder drops it.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn anchor(L: *mut lua_State, idx: c_int) -> Owner {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract), as
    // `lua_anchor` needs.
    unsafe { Owner::Anchor(Rc::new(Box::new(lua_anchor(L, idx)))) }
}

/// # Safety
/// As `anchor`.
pub(crate) unsafe fn lua_anchor(L: *mut lua_State, idx: c_int) -> LuaAnchor {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract); `lua_ref`
    // copies that value into the registry and leaves the stack as it was.
    unsafe {
        drain_releases(L);
        let registry_ref = ffi::lua_ref(L, idx);
        LuaAnchor {
            registry_ref,
            release_queue: shared(L).release_queue.clone(),
        }
    }
}

/// The thunk of the Callback at `idx`. With `persist`, the pointer keeps the Callback
/// alive. A freed Callback is an error, so C is never handed a released pointer.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn callback_ptr(L: *mut lua_State, idx: c_int, persist: bool) -> LResult<Ptr> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract), and the
    // Callback borrowed is not used past this call.
    match unsafe { get_ud::<CallbackUd>(L, idx) } {
        Some(c) if c.slot.get().is_some() => {
            // Bounded to nothing: the thunk is code, so reading or writing through the
            // pointer is an error, while C still gets its address.
            let mut p = Ptr::bounded(c.code, 0, Owner::Foreign);
            if persist {
                // SAFETY: the Callback to anchor is at `idx` on the live `L`'s stack.
                p.owner = unsafe { anchor(L, idx) };
            }
            Ok(p)
        }
        Some(_) => Err("the Callback has been freed (:free() was called); create a new one".into()),
        None => Err("Callback expected".into()),
    }
}

/// The pointer behind any pointer-like value: RawPointer, TypedPointer, StructView,
/// Callback or buffer. `Ok(None)` if the value is none of these. With `persist`, a buffer
/// or Callback gets a registry anchor so the returned pointer may outlive the stack slot
/// and keep its target alive.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn to_ptr(L: *mut lua_State, idx: c_int, persist: bool) -> LResult<Option<Ptr>> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    match unsafe { ffi::lua_type(L, idx) } {
        // SAFETY: a userdata at `idx`, read as the kind its tag names; the borrows end
        // before this returns.
        ffi::LUA_TUSERDATA => Ok(unsafe {
            match ffi::lua_userdatatag(L, idx) {
                RawPtrUd::TAG => get_ud::<RawPtrUd>(L, idx).map(|u| u.ptr.clone()),
                TypedPtrUd::TAG => get_ud::<TypedPtrUd>(L, idx).map(|u| u.ptr.clone()),
                ViewUd::TAG => get_ud::<ViewUd>(L, idx).map(|u| view_ptr(L, idx, u, persist)),
                CallbackUd::TAG => Some(callback_ptr(L, idx, persist)?),
                _ => None,
            }
        }),
        ffi::LUA_TBUFFER => {
            let mut len = 0usize;
            // SAFETY: a buffer at `idx` (its type read above).
            let data = unsafe { ffi::lua_tobuffer(L, idx, &mut len) } as usize;
            let owner = if persist {
                // SAFETY: the buffer to anchor is at `idx` on the live `L`'s stack.
                unsafe { anchor(L, idx) }
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

/// The one rule for a pointer value passed to C, stored into memory or returned from a
/// callback: nil is NULL; a RawPointer, TypedPointer, StructView, Callback or buffer gives
/// its address; a pointer into a freed arena or a freed Callback is an error. `Ok(None)`:
/// the value is not pointer-like (the caller may accept something else, e.g. a string).
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn pointer_value(
    L: *mut lua_State,
    idx: c_int,
    persist: bool,
    site: Site,
) -> LResult<Option<Ptr>> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    if unsafe { ffi::lua_type(L, idx) } == ffi::LUA_TNIL {
        return Ok(Some(Ptr::foreign(0)));
    }
    // SAFETY: `idx` is still on the stack of the live `L`, as `to_ptr` needs.
    match unsafe { to_ptr(L, idx, persist) } {
        Ok(Some(p)) if p.is_dead() => {
            Err(site.err("a live pointer", "a pointer into a freed arena".into()))
        }
        Ok(p) => Ok(p),
        // `to_ptr` fails only for a freed Callback.
        Err(_) => Err(site.err(
            "a live pointer",
            "a freed Callback (:free() was called; create a new one)".into(),
        )),
    }
}

/// A required pointer to memory for the `ffi.*` memory functions: as `check_ptr`, but a
/// Callback is refused: its pointer is code in a read-execute page, not memory to read
/// or write.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn check_mem(
    L: *mut lua_State,
    idx: c_int,
    persist: bool,
    func: &str,
    what: &str,
) -> LResult<Ptr> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract); the tag is
    // read only of a userdata.
    let callback = unsafe {
        ffi::lua_type(L, idx) == ffi::LUA_TUSERDATA
            && ffi::lua_userdatatag(L, idx) == CallbackUd::TAG
    };
    if callback {
        return Err(format!(
            "{}: {}: expected a pointer to memory (RawPointer, TypedPointer, StructView or buffer), got a Callback (its code cannot be read or written; pass it to C as a function pointer)",
            func, what
        ));
    }
    // SAFETY: `idx` is still on the stack of the live `L`, as `check_ptr` needs.
    unsafe { check_ptr(L, idx, persist, func, what) }
}

/// A required pointer-like argument (nil refused).
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn check_ptr(
    L: *mut lua_State,
    idx: c_int,
    persist: bool,
    func: &str,
    what: &str,
) -> LResult<Ptr> {
    // SAFETY: `idx` is on the stack of the live `L` (the caller's contract).
    match unsafe { to_ptr(L, idx, persist) } {
        Ok(Some(p)) => Ok(p),
        // `to_ptr` fails only for a freed Callback: name the function and argument.
        Err(_) => Err(format!(
            "{}: {}: expected a live pointer, got a freed Callback (:free() was called; create a new one)",
            func, what
        )),
        Ok(None) => Err(format!(
            "{}: {}: expected a pointer (RawPointer, TypedPointer, StructView or buffer), got {}",
            func,
            what,
            // SAFETY: `idx` is still on the stack; `describe` pops what it pushes.
            unsafe { describe(L, idx) }
        )),
    }
}
