//! Direct reads of a C function's argument slots, for the hot paths (bound calls,
//! callback results): the type tag and a number or boolean read straight from Luau's
//! stack instead of through `lua_gettop`, `lua_type` and `lua_tonumberx`, three calls
//! into the VM per argument that cost more than the conversion itself.
//!
//! The layout read here is Luau's (`lobject.h`: `TValue` is an 8-byte value, one int of
//! extra and an int tag; `lstate.h`: `lua_State` starts with an 8-byte header, then
//! `top` and `base`). It is not part of Luau's API, so it is checked once per process
//! against the API itself ([`check_layout`], run by `kinds::register`): if any probe
//! disagrees, every reader here returns None and callers use the API as before. Only
//! numbers and booleans are read this way (plain values in the slot, no GC object).

use std::ffi::c_int;
use std::sync::atomic::{AtomicU8, Ordering};

use mlua::ffi::{self, lua_State};

/// Luau's `TValue`.
#[repr(C)]
pub(crate) struct TValue {
    /// `double n`, `int b`, or a GC pointer.
    value: u64,
    extra: c_int,
    tt: c_int,
}

/// The start of Luau's `lua_State`.
#[repr(C)]
pub(crate) struct StateHead {
    /// CommonHeader (tt, marked, memcat), status, activememcat, isactive, singlestep.
    _header: [u8; 8],
    /// First free slot.
    top: *const TValue,
    /// Slot of argument 1 of the running C function.
    base: *const TValue,
    _global: *const u8,
    /// The running function's CallInfo, whose `top` bounds what it may push.
    pub(crate) ci: *const CallInfoHead,
}

/// The start of Luau's `CallInfo`.
#[repr(C)]
pub(crate) struct CallInfoHead {
    _base: *const TValue,
    /// The running function's slot.
    pub(crate) func: *const TValue,
    /// The end of the running function's stack frame: a C function may push up to here
    /// (Luau sets it LUA_MINSTACK slots above the arguments).
    pub(crate) top: *const TValue,
}

/// The start of a C function's Luau `Closure`, up to its first upvalue.
#[repr(C)]
struct CClosureHead {
    /// CommonHeader (tt, marked, memcat), isC, nupvalues, stacksize, preload.
    _tt: u8,
    _marked: u8,
    _memcat: u8,
    is_c: u8,
    nupvalues: u8,
    _stacksize: u8,
    _preload: u8,
    _gclist: *const u8,
    _env: *const u8,
    _f: *const u8,
    _cont: *const u8,
    _debugname: *const u8,
    upval0: TValue,
}

/// The start of Luau's `Udata`, up to its data.
#[repr(C)]
struct UdataHead {
    _tt: u8,
    _marked: u8,
    _memcat: u8,
    tag: u8,
    _len: c_int,
    _metatable: *const u8,
}

/// The start of Luau's `TString`, up to its bytes (NUL-terminated, `len` long).
#[repr(C)]
struct TStringHead {
    _tt: u8,
    _marked: u8,
    _memcat: u8,
    _atom: i16,
    _next: *const u8,
    _hash: u32,
    len: u32,
}

pub(crate) const UNCHECKED: u8 = 0;
pub(crate) const AGREES: u8 = 1;
pub(crate) const DIFFERS: u8 = 2;

/// Whether the layout above agrees with the VM this crate is linked with.
pub(crate) static LAYOUT: AtomicU8 = AtomicU8::new(UNCHECKED);

#[inline(always)]
fn usable() -> bool {
    LAYOUT.load(Ordering::Relaxed) == AGREES
}

/// `L->base` and `L->top`, read fresh (the VM moves them as the stack changes).
///
/// # Safety
/// `L` must be a live state and the layout checked.
#[inline(always)]
pub(crate) unsafe fn bounds(L: *mut lua_State) -> (*const TValue, *const TValue) {
    let h = L as *const StateHead;
    // SAFETY: the caller's contract; plain reads of two pointer fields.
    unsafe {
        (
            std::ptr::addr_of!((*h).base).read(),
            std::ptr::addr_of!((*h).top).read(),
        )
    }
}

/// The number of arguments of the running C function (`lua_gettop`).
///
/// # Safety
/// `L` must be the live state of the running C function.
#[inline(always)]
pub unsafe fn count(L: *mut lua_State) -> c_int {
    if usable() {
        // SAFETY: checked layout; `top` and `base` point into the same stack.
        unsafe {
            let (base, top) = bounds(L);
            top.offset_from(base) as c_int
        }
    } else {
        // SAFETY: `L` is a live state (the caller's contract), all `lua_gettop` needs.
        unsafe { ffi::lua_gettop(L) }
    }
}

/// The running C function's arguments, with `L->base` and `L->top` read once ([`args`]).
#[derive(Clone, Copy)]
pub struct Args {
    base: *const TValue,
    count: usize,
}

/// The running C function's arguments, or None when the direct reads are off (then read
/// them with [`get`], which falls back to the API).
///
/// # Safety
/// `L` must be the live state of the running C function.
#[inline(always)]
pub unsafe fn args(L: *mut lua_State) -> Option<Args> {
    if !usable() {
        return None;
    }
    // SAFETY: checked layout; `top` and `base` point into the same stack, `top >= base`.
    unsafe {
        let (base, top) = bounds(L);
        Some(Args {
            base,
            count: top.offset_from(base) as usize,
        })
    }
}

impl Args {
    /// Number of arguments (`lua_gettop`).
    #[inline(always)]
    pub fn count(&self) -> usize {
        self.count
    }

    /// Argument `i`'s number, if it is one: the common case of a hot path, read without
    /// decoding the other kinds.
    ///
    /// # Safety
    /// As [`Args::get`].
    #[inline(always)]
    pub unsafe fn number(&self, i: usize) -> Option<f64> {
        if i >= self.count {
            return None;
        }
        // SAFETY: slot `i` is below `top`, in the unchanged stack (the caller's contract),
        // so its fields are readable.
        let (tt, value) = unsafe {
            let v = self.base.add(i);
            (
                std::ptr::addr_of!((*v).tt).read(),
                std::ptr::addr_of!((*v).value).read(),
            )
        };
        (tt == ffi::LUA_TNUMBER).then(|| f64::from_bits(value))
    }

    /// Argument `i` (0-based); nil past the last.
    ///
    /// # Safety
    /// The state has not changed since [`args`] (no push, no call): the slots are where
    /// they were.
    #[inline(always)]
    pub unsafe fn get(&self, i: usize) -> Plain {
        if i >= self.count {
            return Plain::Nil;
        }
        // SAFETY: slot `i` is below `top`, in the unchanged stack (the caller's contract).
        unsafe { decode(self.base.add(i)) }
    }
}

/// A value read from its slot: only what needs no GC object.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Plain {
    Number(f64),
    Bool(bool),
    Nil,
    /// Anything else: read it through the API.
    Other(c_int),
}

/// The value at stack index `idx` (1-based, a positive index) of the running C function.
///
/// # Safety
/// `L` must be the live state of the running C function; `idx >= 1`.
#[inline(always)]
pub unsafe fn get(L: *mut lua_State, idx: c_int) -> Plain {
    if usable() {
        // SAFETY: checked layout; the slot is below `top`, so it is on the stack.
        unsafe {
            let (base, top) = bounds(L);
            if idx as isize > top.offset_from(base) {
                return Plain::Nil;
            }
            decode(base.add(idx as usize - 1))
        }
    } else {
        // SAFETY: `idx >= 1` is an acceptable index of the running function's live `L` (the
        // caller's contract), as `via_api` needs.
        unsafe { via_api(L, idx) }
    }
}

/// The value on top of the stack (index -1), which must exist.
///
/// # Safety
/// `L` must be a live state with at least one value above the running function's base.
#[inline(always)]
pub unsafe fn top(L: *mut lua_State) -> Plain {
    if usable() {
        // SAFETY: checked layout; the caller guarantees a value below `top`.
        unsafe { decode(bounds(L).1.sub(1)) }
    } else {
        // SAFETY: `L` holds a value above its base (the caller's contract), so -1 is a
        // valid index.
        unsafe { via_api(L, -1) }
    }
}

/// # Safety
/// `v` must point to a live stack slot.
#[inline(always)]
pub(crate) unsafe fn decode(v: *const TValue) -> Plain {
    // SAFETY: `v` points to a live stack slot (the caller's contract), so its fields are
    // readable.
    let (tt, value) = unsafe {
        (
            std::ptr::addr_of!((*v).tt).read(),
            std::ptr::addr_of!((*v).value).read(),
        )
    };
    match tt {
        ffi::LUA_TNUMBER => Plain::Number(f64::from_bits(value)),
        ffi::LUA_TBOOLEAN => Plain::Bool(value as u32 != 0),
        ffi::LUA_TNIL => Plain::Nil,
        t => Plain::Other(t),
    }
}

/// # Safety
/// `L` must be a live state and `idx` a valid index.
pub(crate) unsafe fn via_api(L: *mut lua_State, idx: c_int) -> Plain {
    // SAFETY: `idx` is a valid index of the live `L` (the caller's contract), all the type
    // check and the readers need.
    unsafe {
        match ffi::lua_type(L, idx) {
            ffi::LUA_TNUMBER => Plain::Number(ffi::lua_tonumberx(L, idx, std::ptr::null_mut())),
            ffi::LUA_TBOOLEAN => Plain::Bool(ffi::lua_toboolean(L, idx) != 0),
            ffi::LUA_TNIL | ffi::LUA_TNONE => Plain::Nil,
            t => Plain::Other(t),
        }
    }
}

/// The data of the running C function's first upvalue, if it is a userdata with `tag`
/// (`lua_touserdatatagged(L, lua_upvalueindex(1), tag)`), else null.
///
/// # Safety
/// `L` must be the live state of a running C function (a closure).
#[inline(always)]
pub unsafe fn upvalue_ud(L: *mut lua_State, tag: c_int) -> *mut std::ffi::c_void {
    // SAFETY: `L` is a running C closure's live state (the caller's contract), and the
    // direct read runs only once the probe found the layout agrees.
    unsafe {
        if usable() {
            read_upvalue_ud(L, tag)
        } else {
            ffi::lua_touserdatatagged(L, ffi::lua_upvalueindex(1), tag)
        }
    }
}

/// # Safety
/// As `upvalue_ud`, with the layout as declared here.
#[inline(always)]
pub(crate) unsafe fn read_upvalue_ud(L: *mut lua_State, tag: c_int) -> *mut std::ffi::c_void {
    // SAFETY: the running function's slot holds a function; each object is checked
    // (C closure with an upvalue, userdata, tag) before the next read goes through it.
    unsafe {
        // The function's slot is just below its first argument (Luau's precall sets
        // `ci->base = func + 1` and `L->base = ci->base` for every call, and the probe
        // checks it). Read from `base` rather than `L->ci->func`: two loads fewer on the
        // chain every bound call waits on.
        let func = bounds(L).0.sub(1);
        if std::ptr::addr_of!((*func).tt).read() != ffi::LUA_TFUNCTION {
            return std::ptr::null_mut();
        }
        let cl = std::ptr::addr_of!((*func).value).read() as *const CClosureHead;
        if (*cl).is_c == 0 || (*cl).nupvalues == 0 {
            return std::ptr::null_mut();
        }
        udata_of(std::ptr::addr_of!((*cl).upval0), tag)
    }
}

/// The running C closure's upvalue `n` (1-based), if it has one; None also when the
/// direct reads are off (then use `lua_upvalueindex(n)` through the API).
///
/// # Safety
/// `L` must be the live state of a running C function (a closure); the slot must not be
/// kept past that call.
#[inline(always)]
unsafe fn upvalue_slot(L: *mut lua_State, n: usize) -> Option<*const TValue> {
    if !usable() || n == 0 {
        return None;
    }
    // SAFETY: checked layout; the function's slot is just below `base` (see
    // `read_upvalue_ud`), and the closure is checked to be C with `n` upvalues before the
    // upvalue array is indexed.
    unsafe {
        let func = bounds(L).0.sub(1);
        if std::ptr::addr_of!((*func).tt).read() != ffi::LUA_TFUNCTION {
            return None;
        }
        let cl = std::ptr::addr_of!((*func).value).read() as *const CClosureHead;
        if (*cl).is_c == 0 || usize::from((*cl).nupvalues) < n {
            return None;
        }
        Some(std::ptr::addr_of!((*cl).upval0).add(n - 1))
    }
}

/// The bytes of the running C closure's upvalue `n` (1-based), if it is a string; None
/// for anything else or when the direct reads are off.
///
/// # Safety
/// As `upvalue_slot`; the slice must not be kept past the call, nor past a change of the
/// upvalue.
#[inline(always)]
pub unsafe fn upvalue_string<'a>(L: *mut lua_State, n: usize) -> Option<&'a [u8]> {
    // SAFETY: a live upvalue of the running closure (the caller's contract).
    unsafe { string_of(upvalue_slot(L, n)?) }
}

/// Pushes a copy of the running C closure's upvalue `n` (1-based), as
/// `lua_pushvalue(L, lua_upvalueindex(n))`; false, having pushed nothing, if it has none
/// or the direct reads are off.
///
/// # Safety
/// As `upvalue_slot`; `L` must have room for one value (no barrier is needed: the copy
/// goes onto the stack, which the collector scans).
#[inline(always)]
pub unsafe fn push_upvalue(L: *mut lua_State, n: usize) -> bool {
    // SAFETY: a live upvalue of the running closure, copied into a free slot of the frame
    // that `pusher` checked.
    unsafe {
        let (Some(v), Some(mut p)) = (upvalue_slot(L, n), pusher(L, 1)) else {
            return false;
        };
        std::ptr::copy_nonoverlapping(v, p.next, 1);
        p.next = p.next.add(1);
        p.finish(L);
        true
    }
}

/// The data of the userdata at stack index `idx` (1-based) if it has `tag`
/// (`lua_touserdatatagged(L, idx, tag)`), else null.
///
/// # Safety
/// `L` must be the live state of the running C function; `idx >= 1`.
#[inline(always)]
pub unsafe fn userdata(L: *mut lua_State, idx: c_int, tag: c_int) -> *mut std::ffi::c_void {
    // SAFETY: the slot `idx >= 1` (the caller's contract) is below `top`, checked here, and
    // the direct read runs only once the probe found the layout agrees.
    unsafe {
        if usable() {
            let (base, top) = bounds(L);
            if idx as isize > top.offset_from(base) {
                return std::ptr::null_mut();
            }
            udata_of(base.add(idx as usize - 1), tag)
        } else {
            ffi::lua_touserdatatagged(L, idx, tag)
        }
    }
}

/// # Safety
/// `v` must be a live stack slot or upvalue, with the layout as declared here.
#[inline(always)]
pub(crate) unsafe fn udata_of(v: *const TValue, tag: c_int) -> *mut std::ffi::c_void {
    // SAFETY: the object is a userdata (its tag says so) before its header is read.
    unsafe {
        if std::ptr::addr_of!((*v).tt).read() != ffi::LUA_TUSERDATA {
            return std::ptr::null_mut();
        }
        let u = std::ptr::addr_of!((*v).value).read() as *mut UdataHead;
        if c_int::from((*u).tag) != tag {
            return std::ptr::null_mut();
        }
        u.add(1) as *mut std::ffi::c_void
    }
}

/// The bytes of the string at stack index `idx` (1-based), if it is a string.
///
/// # Safety
/// `L` must be the live state of the running C function; `idx >= 1`; the slice must not
/// be kept past the value's life on the stack.
#[inline(always)]
pub unsafe fn string<'a>(L: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    // SAFETY: the slot `idx >= 1` (the caller's contract) is below `top`, checked here, and
    // the direct read runs only once the probe found the layout agrees.
    unsafe {
        if usable() {
            let (base, top) = bounds(L);
            if idx as isize > top.offset_from(base) {
                return None;
            }
            string_of(base.add(idx as usize - 1))
        } else {
            crate::luau::vm::raw::get_str(L, idx)
        }
    }
}

/// # Safety
/// `v` must be a live stack slot, with the layout as declared here.
#[inline(always)]
unsafe fn string_of<'a>(v: *const TValue) -> Option<&'a [u8]> {
    // SAFETY: the object is a string (its tag says so) before its header is read; its
    // bytes follow the header.
    unsafe {
        if std::ptr::addr_of!((*v).tt).read() != ffi::LUA_TSTRING {
            return None;
        }
        let t = std::ptr::addr_of!((*v).value).read() as *const TStringHead;
        let len = std::ptr::addr_of!((*t).len).read() as usize;
        let data = (t as *const u8).add(std::mem::size_of::<TStringHead>());
        Some(std::slice::from_raw_parts(data, len))
    }
}

/// Pushes a number, as `lua_pushnumber` does.
///
/// # Safety
/// `L` must be the live state of the running C function, with a free slot (as for
/// `lua_pushnumber`).
#[inline(always)]
pub unsafe fn push_number(L: *mut lua_State, n: f64) {
    // SAFETY: `L` is the running function's live state with a free slot (the caller's
    // contract), as `push_plain` needs.
    unsafe {
        push_plain(L, n.to_bits(), ffi::LUA_TNUMBER, |L| {
            ffi::lua_pushnumber(L, n)
        })
    }
}

/// Pushes a boolean, as `lua_pushboolean` does.
///
/// # Safety
/// As `push_number`.
#[inline(always)]
pub unsafe fn push_bool(L: *mut lua_State, b: bool) {
    // SAFETY: `L` is the running function's live state with a free slot (the caller's
    // contract), as `push_plain` needs.
    unsafe {
        push_plain(L, b as u64, ffi::LUA_TBOOLEAN, |L| {
            ffi::lua_pushboolean(L, b as c_int)
        })
    }
}

/// # Safety
/// As `push_number`.
#[inline(always)]
unsafe fn push_plain(L: *mut lua_State, value: u64, tt: c_int, api: impl FnOnce(*mut lua_State)) {
    // SAFETY: the caller's contract; one value in the one slot `pusher` found room for.
    unsafe {
        match pusher(L, 1) {
            Some(mut p) => {
                p.write(value, tt);
                p.finish(L);
            }
            None => api(L),
        }
    }
}

/// Free slots above a thread's top, written one after another and published with one
/// store of `top` ([`Pusher::finish`]): a callback pushes its handler, function and
/// arguments with one frame check instead of one per value.
pub struct Pusher {
    next: *mut TValue,
}

/// A [`Pusher`] for `n` values on `L`, if the layout is checked and the running
/// function's frame (`ci->top`) has `n` free slots above the top; else None (push with
/// the API).
///
/// # Safety
/// `L` must be a live thread under the VM lock; nothing may run on `L` until the pusher
/// is finished (the values above `top` are not yet part of the stack).
#[inline(always)]
pub unsafe fn pusher(L: *mut lua_State, n: usize) -> Option<Pusher> {
    // SAFETY: `L` is a live thread left alone until the pusher finishes (the caller's
    // contract), and `reserve` runs only once the probe found the layout agrees.
    unsafe {
        if usable() {
            reserve(L, n)
        } else {
            None
        }
    }
}

/// `pusher` without the layout check (the layout probe uses it before the check is in).
///
/// # Safety
/// As `pusher`, with the layout as declared here.
#[inline(always)]
pub(crate) unsafe fn reserve(L: *mut lua_State, n: usize) -> Option<Pusher> {
    let h = L as *const StateHead;
    // SAFETY: the caller's contract; plain reads of the state and its CallInfo.
    unsafe {
        let top = std::ptr::addr_of!((*h).top).read();
        let ci = std::ptr::addr_of!((*h).ci).read();
        let limit = std::ptr::addr_of!((*ci).top).read();
        (limit.offset_from(top) >= n as isize).then_some(Pusher {
            next: top as *mut TValue,
        })
    }
}

impl Pusher {
    /// # Safety
    /// At most the `n` values `pusher` was asked for, in total.
    #[inline(always)]
    pub(crate) unsafe fn write(&mut self, value: u64, tt: c_int) {
        // SAFETY: within the free slots `pusher` checked.
        unsafe {
            self.next.write(TValue {
                value,
                extra: 0,
                tt,
            });
            self.next = self.next.add(1);
        }
    }

    /// # Safety
    /// As `write`.
    #[inline(always)]
    pub unsafe fn boolean(&mut self, b: bool) {
        // SAFETY: this is one of the values `pusher` made room for (the caller's contract).
        unsafe { self.write(b as u64, ffi::LUA_TBOOLEAN) }
    }

    /// A copy of the value at stack index `idx` (1-based) of `from`, as [`xpush`].
    ///
    /// # Safety
    /// As `write`, and `xpush`'s contract for `from` and the value.
    #[inline(always)]
    pub unsafe fn copy(&mut self, from: *mut lua_State, idx: c_int) {
        // SAFETY: the caller's contract; `from` holds a value at `idx`.
        unsafe {
            let (base, _) = bounds(from);
            std::ptr::copy_nonoverlapping(base.add(idx as usize - 1), self.next, 1);
            self.next = self.next.add(1);
        }
    }

    /// One value pushed by `api`, which pushes exactly one without allocating (what the
    /// layout here does not describe, such as a Luau integer).
    ///
    /// # Safety
    /// As `write`; `L` is the pusher's thread.
    #[inline(always)]
    pub unsafe fn via_api(&mut self, L: *mut lua_State, api: impl FnOnce(*mut lua_State)) {
        // SAFETY: the slots below `next` hold whole values; the API pushes at `top`, inside
        // the checked frame, and we continue above what it pushed.
        unsafe {
            let top = std::ptr::addr_of_mut!((*(L as *mut StateHead)).top);
            top.write(self.next);
            api(L);
            self.next = top.read() as *mut TValue;
        }
    }

    /// Publishes the values: `L`'s top moves past them.
    ///
    /// # Safety
    /// `L` is the pusher's thread.
    #[inline(always)]
    pub unsafe fn finish(self, L: *mut lua_State) {
        // SAFETY: every slot below `next` holds a whole value.
        unsafe { std::ptr::addr_of_mut!((*(L as *mut StateHead)).top).write(self.next) }
    }
}

/// A callback's numbers and booleans go straight into the reserved slots.
impl PlainSink for Pusher {
    #[inline(always)]
    unsafe fn number(&mut self, n: f64) {
        // SAFETY: `PlainSink`'s contract: one of the values `pusher` made room for.
        unsafe { self.write(n.to_bits(), ffi::LUA_TNUMBER) }
    }

    #[inline(always)]
    unsafe fn boolean(&mut self, b: bool) {
        // SAFETY: `PlainSink`'s contract: one of the values `pusher` made room for.
        unsafe { Pusher::boolean(self, b) }
    }
}

/// Drops the values above the first `n` of the running function (`lua_settop(L, n)` for
/// an `n` at or below the current count).
///
/// # Safety
/// `L` must be a live state with at least `n` values above its base.
#[inline(always)]
pub unsafe fn truncate(L: *mut lua_State, n: c_int) {
    // SAFETY: checked layout; lowering `top` within the stack is what lua_settop does
    // for such an `n`.
    unsafe {
        if usable() {
            lower_top(L, n)
        } else {
            ffi::lua_settop(L, n);
        }
    }
}

/// # Safety
/// As `truncate`, with the layout as declared here.
#[inline(always)]
pub(crate) unsafe fn lower_top(L: *mut lua_State, n: c_int) {
    // SAFETY: `L` has at least `n` values above its base (the caller's contract), so the
    // new top is within the stack, at or below the old one.
    unsafe {
        let (base, top) = bounds(L);
        debug_assert!(n as isize <= top.offset_from(base));
        std::ptr::addr_of_mut!((*(L as *mut StateHead)).top).write(base.add(n as usize));
    }
}

/// Pushes onto `to` a copy of the value at stack index `idx` (1-based) of `from`, as
/// `lua_xpush` does, without the API's per-call checks (which, as Luau is built here,
/// include reading back the slot just written).
///
/// # Safety
/// `from` and `to` must be live threads of one state; `from` must hold a value at `idx`;
/// `to` must have a free slot, as for `lua_xpush`; the value must stay reachable from `from` (so copying it needs no GC
/// barrier) while it is on `to`'s stack.
#[inline(always)]
pub unsafe fn xpush(from: *mut lua_State, to: *mut lua_State, idx: c_int) {
    // SAFETY: checked layout and the caller's contract; the slot is within `to`'s
    // running frame, and `top` moves past it only once it holds the whole value.
    unsafe {
        match pusher(to, 1) {
            Some(mut p) => {
                p.copy(from, idx);
                p.finish(to);
            }
            None => ffi::lua_xpush(from, to, idx),
        }
    }
}

/// Whether the direct reads are in use (for tests).
/// Where `emit_bits` puts a number or boolean: the stack through `slots`, or a callback's
/// `slots::Pusher`.
///
/// # Safety
/// Callers of either method guarantee the sink has room for one more value (a free stack
/// slot, or a value the pusher was made for).
pub trait PlainSink {
    unsafe fn number(&mut self, n: f64);
    unsafe fn boolean(&mut self, b: bool);
}

#[cfg(test)]
fn in_use() -> bool {
    usable()
}

/// Turns the direct reads off or on (tests of the API fallback).
#[cfg(test)]
fn force(agrees: bool) {
    LAYOUT.store(if agrees { AGREES } else { DIFFERS }, Ordering::Relaxed);
}

#[cfg(test)]
#[path = "slots_tests.rs"]
mod tests;
