//! Memory the module owns (arenas, GC-owned copies) and pointer provenance and bounds.
//!
//! Every pointer carries an [`Owner`] that keeps its memory alive and knows whether it is
//! still valid, plus the bounds of the allocation it points into when those are known.
//! Access checks happen here, before any byte is touched.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::rc::{Rc, Weak};

use crate::types::MAX_OBJECT_SIZE;

mod error;
pub use error::MemoryError;

/// A group of allocations freed together, when the arena and every pointer into it are
/// collected, or at once by `arena:free()`.
#[derive(Default)]
pub struct ArenaInner {
    blocks: RefCell<Vec<(usize, Layout)>>,
    freed: Cell<bool>,
    /// Owners of the pointers stored in this arena's memory (see [`KeepAlive`]).
    keep: KeepAlive,
}

/// What a block of module-owned memory keeps alive: the owner of each pointer stored in
/// it, by slot address. Storing another pointer (or NULL) at the slot replaces the entry,
/// so overwriting one slot never accumulates owners; freeing the memory drops them all.
///
/// Owners are reference-counted: two arenas that store pointers into each other keep each
/// other alive until one is freed or the slot is overwritten (the README says so).
///
/// The table is made on the first store: most struct values and arena blocks never hold a
/// pointer, and an empty table costs a struct value 8 bytes of its GC allocation instead of
/// a map's 40 (GC work grows with the bytes allocated). It is a `Cell`: each operation
/// takes the map out and puts it back before any owner is dropped, so no code runs while
/// it is out.
#[derive(Default)]
pub struct KeepAlive(Cell<Option<Box<KeepMap>>>);

type KeepMap = HashMap<usize, Owner, FixedHasher>;

/// Keys are addresses inside our own memory: no attacker picks them, and a fixed hasher
/// keeps the table cheap to create.
type FixedHasher = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

impl KeepAlive {
    fn set(&self, slot: usize, owner: Owner) {
        let mut map = self.0.take();
        let old = match owner {
            Owner::Foreign => map.as_mut().and_then(|m| m.remove(&slot)),
            o => map.get_or_insert_with(Default::default).insert(slot, o),
        };
        self.0.set(map);
        // Dropped only now, with the map back in place: its drop may free other memory.
        drop(old);
    }

    fn clear(&self) {
        drop(self.0.take());
    }

    /// Number of slots holding an owner (for tests).
    pub fn len(&self) -> usize {
        let map = self.0.take();
        let n = map.as_ref().map_or(0, |m| m.len());
        self.0.set(map);
        n
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ArenaInner {
    /// Zeroed memory of `size` bytes aligned to `align`. `size == 0` still gets a unique
    /// (1-byte) block so the pointer is never NULL.
    pub fn alloc(&self, size: usize, align: usize) -> Result<usize, MemoryError> {
        if self.freed.get() {
            return Err(MemoryError::ArenaFreed);
        }
        let (block, layout, addr) = zeroed_block(size, align)?;
        self.blocks.borrow_mut().push((block, layout));
        Ok(addr)
    }

    pub fn is_freed(&self) -> bool {
        self.freed.get()
    }

    /// `arena:free()`: pointers into the arena see `is_freed()` from now on. `busy` says
    /// whether C may be using the memory right now (an ffi call in progress on this
    /// thread, whose callback is freeing the arena, or an async call in flight): then the
    /// blocks are released only once no call is in progress ([`release_deferred`]) or the
    /// arena is collected, never under C's feet.
    pub fn free(self: &Rc<Self>, busy: bool) {
        if !busy {
            self.free_all();
            return;
        }
        self.freed.set(true);
        self.keep.clear();
        DEFERRED.with(|d| d.borrow_mut().push(Rc::downgrade(self)));
    }

    /// Releases every block now; pointers into the arena see `is_freed()` from then on.
    pub fn free_all(&self) {
        self.freed.set(true);
        self.keep.clear();
        for (p, layout) in self.blocks.borrow_mut().drain(..) {
            // SAFETY: each block was allocated by `alloc` with exactly this layout and is
            // removed from the list as it is freed, so it is freed once.
            unsafe { dealloc(p as *mut u8, layout) };
        }
    }
}

impl Drop for ArenaInner {
    fn drop(&mut self) {
        self.free_all();
    }
}

thread_local! {
    /// Arenas freed while C could still be using their memory, released by
    /// [`release_deferred`]. Weak: an arena collected meanwhile releases its own blocks.
    static DEFERRED: RefCell<Vec<Weak<ArenaInner>>> = const { RefCell::new(Vec::new()) };
    /// Async calls in flight on this thread's Lua state: C may be using their arguments'
    /// memory on a worker thread.
    static IN_FLIGHT: Cell<usize> = const { Cell::new(0) };
}

/// Releases the arenas `arena:free()` deferred. Call only when no ffi call is in progress
/// on this thread and no async call is in flight ([`in_flight`]).
pub fn release_deferred() {
    let list = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    for a in list.iter().filter_map(Weak::upgrade) {
        a.free_all();
    }
}

/// Whether async calls of this thread are in flight.
pub fn in_flight() -> bool {
    IN_FLIGHT.with(|n| n.get()) > 0
}

/// Marks an async call in flight for as long as it lives (see [`ArenaInner::free`]).
pub struct InFlight(());

impl InFlight {
    #[allow(clippy::new_without_default)]
    pub fn new() -> InFlight {
        IN_FLIGHT.with(|n| n.set(n.get() + 1));
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.with(|n| n.set(n.get() - 1));
    }
}

/// Alignment the system allocator's zeroed allocation (`calloc`) guarantees: 16 on the
/// 64-bit targets Lune ships (glibc, macOS, Windows' heap).
const CALLOC_ALIGN: usize = 16;

/// Zeroed memory of `size` bytes (at least 1, so the address is unique and never NULL)
/// aligned to `align`: (block to free, its layout, the aligned address).
///
/// A stricter alignment than `calloc`'s is not asked of the allocator: Rust's system
/// allocator serves it with an aligned allocation followed by a memset, which touches
/// every page (`alloc(2^32, 32)` was 4.2 GB resident). Instead the block is `calloc`'d
/// `align` bytes larger and the address rounded up inside it, so large blocks stay lazily
/// zeroed pages from the OS.
fn zeroed_block(size: usize, align: usize) -> Result<(usize, Layout, usize), MemoryError> {
    if size > MAX_OBJECT_SIZE {
        return Err(MemoryError::TooLarge(size));
    }
    let bad = || MemoryError::BadLayout { size, align };
    if !align.is_power_of_two() {
        return Err(bad());
    }
    let (layout, slack) = if align <= CALLOC_ALIGN {
        (
            Layout::from_size_align(size.max(1), align).map_err(|_| bad())?,
            0,
        )
    } else {
        let total = size
            .max(1)
            .checked_add(align - CALLOC_ALIGN)
            .ok_or_else(bad)?;
        (
            Layout::from_size_align(total, CALLOC_ALIGN).map_err(|_| bad())?,
            align,
        )
    };
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc_zeroed(layout) } as usize;
    if p == 0 {
        return Err(MemoryError::OutOfMemory(size));
    }
    let addr = if slack == 0 {
        p
    } else {
        p.next_multiple_of(slack)
    };
    Ok((p, layout, addr))
}

/// One block owned by the garbage collector (struct return values, `ffi.buffer`).
pub struct OwnedBlock {
    /// What `zeroed_block` allocated (freed on drop) and the aligned address inside it.
    block: usize,
    addr: usize,
    layout: Layout,
    keep: KeepAlive,
}

impl OwnedBlock {
    pub fn new(size: usize, align: usize) -> Result<Rc<OwnedBlock>, MemoryError> {
        let (block, layout, addr) = zeroed_block(size, align.max(1))?;
        Ok(Rc::new(OwnedBlock {
            block,
            addr,
            layout,
            keep: KeepAlive::default(),
        }))
    }

    pub fn addr(&self) -> usize {
        self.addr
    }
}

impl Drop for OwnedBlock {
    fn drop(&mut self) {
        // SAFETY: `block` came from `zeroed_block` with this layout; dropped once.
        unsafe { dealloc(self.block as *mut u8, self.layout) };
    }
}

/// A value of the embedding layer (a Luau buffer or Callback) kept alive while a pointer
/// into it lives. This module only holds and drops it: what it is stays the embedder's.
pub type Anchor = Box<dyn std::any::Any>;

/// What keeps a pointer's memory alive and tells whether it is still usable.
#[derive(Clone, Default)]
pub enum Owner {
    /// A bare address (from C, `ffi.ptr`, a library symbol): nothing to keep alive and
    /// no bounds known.
    #[default]
    Foreign,
    Arena(Rc<ArenaInner>),
    Owned(Rc<OwnedBlock>),
    /// A Luau buffer or Callback, kept alive through the registry.
    Anchor(Rc<Anchor>),
    /// Memory inside the Luau userdata whose view holds this pointer: a struct value (a
    /// struct return, a callback's struct argument) is one GC allocation holding the view,
    /// its keep table and its bytes. Only that view holds this owner; a pointer derived
    /// from it that may outlive the stack slot gets an [`Owner::InlineAnchor`] instead
    /// (`objects::view_ptr`).
    Inline(InlineRef),
    /// A pointer derived from a struct value's memory: keeps the userdata alive through
    /// the registry, and with it the keep table.
    InlineAnchor(Rc<InlineAnchor>),
    /// Memory from C with a finalizer (`ffi.gc`): no bounds or liveness of its own, as
    /// [`Owner::Foreign`]; every pointer derived from it shares the token, which runs the
    /// finalizer when the last of them is dropped.
    Gc(Rc<GcToken>),
}

/// A finalizer `ffi.gc` tied to a pointer from C, shared (through [`Owner::Gc`]) by every
/// pointer derived from it: arithmetic, casts and views clone the owner, and storing one
/// into module memory keeps the token as any owner. When the last holder drops it (in
/// the collector, or when the Lua state closes), the finalizer runs, once.
///
/// The finalizer runs inside the collector: it must not touch the Luau VM, raise or
/// panic (the Luau layer gives a C function called directly, or a closure that queues a
/// Luau function for the next safe point).
pub struct GcToken {
    fin: Cell<Option<Box<dyn FnOnce()>>>,
}

impl GcToken {
    pub fn new(fin: Box<dyn FnOnce()>) -> Rc<GcToken> {
        Rc::new(GcToken {
            fin: Cell::new(Some(fin)),
        })
    }

    /// Replaces the finalizer (`None` removes it: `ffi.gc(p, nil)`); the old one is
    /// dropped without running.
    pub fn set(&self, fin: Option<Box<dyn FnOnce()>>) {
        drop(self.fin.replace(fin));
    }

    /// Whether a finalizer is still to run.
    pub fn is_armed(&self) -> bool {
        let f = self.fin.take();
        let armed = f.is_some();
        self.fin.set(f);
        armed
    }
}

impl Drop for GcToken {
    fn drop(&mut self) {
        if let Some(f) = self.fin.take() {
            f();
        }
    }
}

/// The keep table inside a struct value's userdata.
#[derive(Clone)]
pub struct InlineRef(NonNull<KeepAlive>);

impl InlineRef {
    /// # Safety
    /// `keep` must be the keep table inside the userdata whose view will hold this owner
    /// (it lives exactly as long as that view).
    pub unsafe fn new(keep: NonNull<KeepAlive>) -> InlineRef {
        InlineRef(keep)
    }
}

/// What keeps a struct value's memory alive from outside its view.
pub struct InlineAnchor {
    pub anchor: Anchor,
    keep: NonNull<KeepAlive>,
}

impl InlineAnchor {
    /// # Safety
    /// `anchor` must keep alive the userdata that holds the keep table `r` points to.
    pub unsafe fn new(anchor: Anchor, r: &InlineRef) -> InlineAnchor {
        InlineAnchor { anchor, keep: r.0 }
    }
}

impl Owner {
    /// The keep-alive table of memory the module owns (arenas, GC-owned blocks); None for
    /// memory it does not own (from C, Luau buffers), which cannot keep anything alive.
    fn keep_table(&self) -> Option<&KeepAlive> {
        match self {
            Owner::Arena(a) => Some(&a.keep),
            Owner::Owned(b) => Some(&b.keep),
            // SAFETY: an Inline owner lives only in the view inside the userdata that holds
            // the table, and an anchor keeps that userdata alive.
            Owner::Inline(r) => Some(unsafe { r.0.as_ref() }),
            // SAFETY: the anchor keeps the userdata that holds the table alive.
            Owner::InlineAnchor(a) => Some(unsafe { a.keep.as_ref() }),
            _ => None,
        }
    }

    /// Whether storing a pointer into this memory keeps the pointer's owner alive.
    pub fn keeps_alive(&self) -> bool {
        self.keep_table().is_some()
    }

    fn same(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::Arena(a), Owner::Arena(b)) => Rc::ptr_eq(a, b),
            (Owner::Owned(a), Owner::Owned(b)) => Rc::ptr_eq(a, b),
            (Owner::Anchor(a), Owner::Anchor(b)) => Rc::ptr_eq(a, b),
            (Owner::Gc(a), Owner::Gc(b)) => Rc::ptr_eq(a, b),
            // One struct value's memory, seen from its view or through any anchor.
            (
                Owner::Inline(_) | Owner::InlineAnchor(_),
                Owner::Inline(_) | Owner::InlineAnchor(_),
            ) => self.inline_keep() == other.inline_keep(),
            _ => false,
        }
    }

    fn inline_keep(&self) -> Option<NonNull<KeepAlive>> {
        match self {
            Owner::Inline(r) => Some(r.0),
            Owner::InlineAnchor(a) => Some(a.keep),
            _ => None,
        }
    }

    /// Records that the pointer-sized slot at `slot` (inside this owner's memory) now
    /// holds a pointer owned by `value`: this memory keeps `value` alive until the slot is
    /// overwritten or the memory freed. A pointer into the same memory needs no entry
    /// (and must not get one: it would keep itself alive).
    pub fn keep(&self, slot: usize, value: &Owner) {
        if let Some(k) = self.keep_table() {
            if self.same(value) {
                k.set(slot, Owner::Foreign);
            } else {
                k.set(slot, value.clone());
            }
        }
    }

    /// Owners kept alive by this memory (for tests).
    pub fn kept_count(&self) -> usize {
        self.keep_table().map_or(0, |k| k.len())
    }
}

/// A pointer with provenance: `addr` may move freely; `[base, base + len)` is the
/// allocation it belongs to, when bounded (`len` is [`Ptr::UNBOUNDED`] when not: no
/// allocation reaches that size, and a struct value's header stays 8 bytes smaller than
/// with a flag).
#[derive(Clone)]
pub struct Ptr {
    pub addr: usize,
    pub base: usize,
    pub len: usize,
    pub owner: Owner,
}

impl Default for Ptr {
    fn default() -> Ptr {
        Ptr::foreign(0)
    }
}

impl Ptr {
    /// `len` of a pointer whose allocation is unknown.
    pub const UNBOUNDED: usize = usize::MAX;

    pub fn foreign(addr: usize) -> Ptr {
        Ptr {
            addr,
            base: 0,
            len: Ptr::UNBOUNDED,
            owner: Owner::Foreign,
        }
    }

    pub fn bounded(addr: usize, len: usize, owner: Owner) -> Ptr {
        debug_assert!(len != Ptr::UNBOUNDED);
        Ptr {
            addr,
            base: addr,
            len,
            owner,
        }
    }

    /// Whether the allocation is known, so accesses are bounds-checked.
    #[inline(always)]
    pub fn is_bounded(&self) -> bool {
        self.len != Ptr::UNBOUNDED
    }

    /// The same allocation, another address (pointer arithmetic never fails; access does).
    /// A pointer moved away from NULL stays as unusable as NULL: it is bounded to the empty
    /// allocation at address 0 ([`Ptr::is_null_derived`]), so `ffi.null + 16` is refused
    /// like `ffi.null` instead of reading address 16.
    pub fn with_addr(&self, addr: usize) -> Ptr {
        if self.addr == 0 && !self.is_bounded() {
            return Ptr {
                addr,
                base: 0,
                len: 0,
                owner: self.owner.clone(),
            };
        }
        Ptr {
            addr,
            ..self.clone()
        }
    }

    /// Whether this pointer was derived from NULL by arithmetic (see `with_addr`): no real
    /// allocation starts at address 0.
    pub fn is_null_derived(&self) -> bool {
        self.base == 0 && self.len == 0
    }

    pub fn is_null(&self) -> bool {
        self.addr == 0
    }

    /// Whether the memory behind the pointer has been released.
    pub fn is_dead(&self) -> bool {
        match &self.owner {
            Owner::Arena(a) => a.is_freed(),
            _ => false,
        }
    }

    /// Bytes from `addr` to the end of the allocation, when bounded.
    pub fn remaining(&self) -> Option<usize> {
        if !self.is_bounded() {
            return None;
        }
        let end = self.base + self.len;
        if self.addr < self.base || self.addr > end {
            Some(0)
        } else {
            Some(end - self.addr)
        }
    }

    /// `check` without the message: the address if the access is allowed. The hot paths
    /// use this and call `check` only to explain a refusal.
    #[inline(always)]
    pub fn try_at(&self, offset: isize, size: usize) -> Option<usize> {
        if self.addr == 0 {
            return None;
        }
        if let Owner::Arena(a) = &self.owner {
            if a.is_freed() {
                return None;
            }
        }
        let at = (self.addr as isize).wrapping_add(offset) as usize;
        if self.is_bounded() {
            let end = self.base + self.len;
            (at >= self.base && at <= end && size <= end - at).then_some(at)
        } else {
            (at != 0).then_some(at)
        }
    }

    /// Checks that `size` bytes at `addr + offset` may be accessed and returns their address.
    #[inline]
    pub fn check(&self, offset: isize, size: usize) -> Result<usize, MemoryError> {
        if self.addr == 0 {
            return Err(MemoryError::Null);
        }
        if let Owner::Arena(a) = &self.owner {
            if a.is_freed() {
                return Err(MemoryError::FreedArena);
            }
        }
        let at = (self.addr as isize).wrapping_add(offset) as usize;
        if self.is_bounded() {
            let end = self.base + self.len;
            let ok = at >= self.base && at <= end && size <= end - at;
            if !ok && self.is_null_derived() {
                return Err(MemoryError::NullDerived { at });
            }
            if !ok {
                return Err(MemoryError::OutOfBounds {
                    size,
                    offset: at as isize - self.base as isize,
                    len: self.len,
                });
            }
        } else if at == 0 {
            return Err(MemoryError::Null);
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests;
