//! The userdata kinds the module hands to scripts (pointers, views, arenas, struct types,
//! callbacks), the per-state data, and how any pointer-like argument (pointer, view,
//! callback, buffer) becomes a [`Ptr`].

use std::ffi::c_int;
use std::rc::Rc;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};

use crate::luau::values::convert::{Site, StrArg};
use crate::luau::values::ctypes::Resolved;
use std::ptr::NonNull;

use crate::cdecl::ErrorKind;
use crate::luau::callback::kind::CallbackUd;
use crate::luau::values::ctypes::TypeNameError;
use crate::luau::vm::anchor::LuaAnchor;
use crate::luau::vm::raw::{describe, get_str, get_ud, push_str, push_ud, LResult};
use crate::luau::vm::state::{drain_releases, shared};
use crate::luau::vm::tags::{Tag, Ud};
use crate::memory::{ArenaInner, InlineAnchor, InlineRef, KeepAlive, Owner, Ptr};
use crate::types::{CType, Pointee, Prim, StructType};

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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let stride = elem.size();
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
        let data = (p as usize + header).next_multiple_of(align);
        std::ptr::write_bytes(data as *mut u8, 0, st.size);
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        match ty {
            CType::Prim(p) => push_str(L, p.name()),
            CType::Struct(s) => push_struct_type(L, s.clone()),
        }
    }
}

/// Resolves a type argument: a short name or alias (which is also what `ffi.types`
/// holds), a C type name (`size_t`, `const char *`, `struct timespec *`, `int[4]`, a
/// typedef), or a StructType.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn resolve_type(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<Resolved> {
    // SAFETY: see above.
    unsafe {
        if let Some(s) = get_str(L, idx) {
            if let Some(p) = Prim::from_bytes(s) {
                return Ok(Resolved {
                    ty: CType::Prim(p),
                    count: None,
                    size: p.size(),
                    align: p.align(),
                    str_arg: StrArg::Copy,
                    elem_pointee: None,
                });
            }
            return shared(L)
                .ctypes
                .resolve(s)
                .map_err(|e| type_error(func, what, &String::from_utf8_lossy(s), &e));
        }
        if let Some(st) = get_ud::<StructTypeUd>(L, idx) {
            return Ok(Resolved {
                ty: CType::Struct(st.st.clone()),
                count: None,
                size: st.st.size,
                align: st.st.align,
                str_arg: StrArg::Copy,
                elem_pointee: None,
            });
        }
        Err(format!(
            "{}: {}: expected a type name or a StructType, got {}",
            func,
            what,
            describe(L, idx)
        ))
    }
}

/// Size and alignment of a type argument (see [`resolve_type`]), for `ffi.sizeof` and
/// `ffi.alignof`: also of records that no call can pass (`long double` fields, empty).
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn resolve_size(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<(usize, usize)> {
    // SAFETY: see above.
    unsafe {
        if let Some(s) = get_str(L, idx) {
            if Prim::from_bytes(s).is_none() {
                return shared(L)
                    .ctypes
                    .size_align(s)
                    .map_err(|e| type_error(func, what, &String::from_utf8_lossy(s), &e));
            }
        }
        resolve_type(L, idx, func, what).map(|r| (r.size, r.align))
    }
}

/// The message for a type name that does not resolve. A single unknown word reads as
/// before C names existed, with the nearest short or declared name suggested.
fn type_error(func: &str, what: &str, name: &str, e: &TypeNameError) -> String {
    let shown = &shown_name(name);
    // A parse error means the text is not a type at all, except for C this FFI refuses
    // (nested too deeply, or declined in a type name).
    if let TypeNameError::Parse(p) = e {
        if !matches!(p.kind, ErrorKind::TooDeep | ErrorKind::Unsupported) {
            // Bounded work: a million-character name is no typo of a short name.
            let short =
                crate::cdecl::nearest(name, crate::types::TYPE_NAMES.iter().map(|(n, _)| *n), 2);
            let declared = match &p.kind {
                ErrorKind::UnknownType { suggestion } => suggestion.as_deref(),
                _ => None,
            };
            let hint = match short.or(declared) {
                Some(n) => format!(" (did you mean '{}'?)", n),
                None => " (expected a type name such as \"i32\", \"f64\", \"pointer\", a C type such as \"size_t\" or \"const char *\", or a StructType)".into(),
            };
            return format!("{}: {}: unknown type '{}'{}", func, what, shown, hint);
        }
    }
    format!("{}: {}: type '{}': {}", func, what, shown, e)
}

/// A type name as an error message shows it: a long one (a generated or hostile name)
/// by its start and length.
fn shown_name(name: &str) -> std::borrow::Cow<'_, str> {
    const SHOWN: usize = 60;
    if name.len() <= SHOWN {
        return name.into();
    }
    let mut end = SHOWN;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &name[..end], name.len()).into()
}

/// Parses a type argument (see [`resolve_type`]); an array type is refused here.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn check_type(L: *mut lua_State, idx: c_int, func: &str, what: &str) -> LResult<CType> {
    // SAFETY: see above.
    unsafe { check_param_type(L, idx, func, what) }.map(|(t, _)| t)
}

/// `check_type`, with what a Luau string passed for a parameter of the type becomes.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn check_param_type(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<(CType, StrArg)> {
    // SAFETY: see above.
    unsafe { check_param(L, idx, func, what) }.map(|r| (r.ty, r.str_arg))
}

/// A parameter or result type (see [`resolve_type`]), all that is known of it; an array
/// type is refused.
///
/// # Safety
/// `L` must be a live Luau state with a value at `idx`.
pub unsafe fn check_param(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<Resolved> {
    // SAFETY: see above.
    let r = unsafe { resolve_type(L, idx, func, what)? };
    if r.count.is_some() {
        return Err(format!(
            "{}: {}: an array type is only valid for a struct field or ffi.sizeof (use a pointer, or a count)",
            func, what
        ));
    }
    Ok(r)
}

/// Like `check_type` but refuses `void` (every use except a return type), with the
/// declared pointee of a pointer type (`struct node *`), for the elements of a
/// TypedPointer of that type.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn check_elem_type(
    L: *mut lua_State,
    idx: c_int,
    func: &str,
    what: &str,
) -> LResult<(CType, Option<Pointee>)> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        let r = resolve_type(L, idx, func, what)?;
        if r.count.is_some() {
            return Err(format!(
                "{}: {}: an array type is only valid for a struct field or ffi.sizeof (use a pointer, or a count)",
                func, what
            ));
        }
        let t = (r.ty, r.elem_pointee);
        if t.0.is_void() {
            return Err(format!(
                "{}: {}: void is only valid as a return type",
                func, what
            ));
        }
        Ok(t)
    }
}

/// A registry anchor for the value at `idx`, released (later, outside the collector)
/// when the last holder drops it.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
unsafe fn anchor(L: *mut lua_State, idx: c_int) -> Owner {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe { Owner::Anchor(Rc::new(Box::new(lua_anchor(L, idx)))) }
}

/// # Safety
/// As `anchor`.
pub(crate) unsafe fn lua_anchor(L: *mut lua_State, idx: c_int) -> LuaAnchor {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        match get_ud::<CallbackUd>(L, idx) {
            Some(c) if c.slot.get().is_some() => {
                // Bounded to nothing: the thunk is code, so reading or writing through the
                // pointer is an error, while C still gets its address.
                let mut p = Ptr::bounded(c.code, 0, Owner::Foreign);
                if persist {
                    p.owner = anchor(L, idx);
                }
                Ok(p)
            }
            Some(_) => {
                Err("the Callback has been freed (:free() was called); create a new one".into())
            }
            None => Err("Callback expected".into()),
        }
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        match ffi::lua_type(L, idx) {
            ffi::LUA_TUSERDATA => Ok(match ffi::lua_userdatatag(L, idx) {
                RawPtrUd::TAG => get_ud::<RawPtrUd>(L, idx).map(|u| u.ptr.clone()),
                TypedPtrUd::TAG => get_ud::<TypedPtrUd>(L, idx).map(|u| u.ptr.clone()),
                ViewUd::TAG => get_ud::<ViewUd>(L, idx).map(|u| view_ptr(L, idx, u, persist)),
                CallbackUd::TAG => Some(callback_ptr(L, idx, persist)?),
                _ => None,
            }),
            ffi::LUA_TBUFFER => {
                let mut len = 0usize;
                let data = ffi::lua_tobuffer(L, idx, &mut len) as usize;
                let owner = if persist {
                    anchor(L, idx)
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        if ffi::lua_type(L, idx) == ffi::LUA_TNIL {
            return Ok(Some(Ptr::foreign(0)));
        }
        match to_ptr(L, idx, persist) {
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        if ffi::lua_type(L, idx) == ffi::LUA_TUSERDATA
            && ffi::lua_userdatatag(L, idx) == CallbackUd::TAG
        {
            return Err(format!(
                "{}: {}: expected a pointer to memory (RawPointer, TypedPointer, StructView or buffer), got a Callback (its code cannot be read or written; pass it to C as a function pointer)",
                func, what
            ));
        }
        check_ptr(L, idx, persist, func, what)
    }
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
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        match to_ptr(L, idx, persist) {
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
            describe(L, idx)
        )),
        }
    }
}
