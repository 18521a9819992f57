//! The per-state data of the module, kept in the registry, and the collector pacing of
//! memory the module allocates outside Luau's heap.

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::rc::Rc;

use mlua::ffi::{self, lua_State};

use crate::luau::vm::raw::{get_ud, push_fn, push_ud};
use crate::luau::vm::reentry::has_pending;
use crate::luau::vm::tags::{Tag, Ud};
use crate::vmlock::VmLock;

/// Per-Lua-state data, kept in the registry.
pub struct Shared {
    pub release_queue: Rc<RefCell<Vec<i32>>>,
    pub warned_buffer: Cell<bool>,
    pub warned_open: Cell<bool>,
    /// Registry reference of the callback message handler, created once so a callback
    /// does not allocate a closure per call.
    pub traceback_ref: c_int,
    /// Registry reference of the protected callback body (`callback::invoker`).
    pub invoker_ref: c_int,
    /// The VM lock callbacks from other threads wait on.
    pub vm_lock: &'static VmLock,
    /// What `ffi.cdef` declared (one namespace per state).
    pub ctypes: crate::luau::values::ctypes::CTypes,
    /// Luau finalizers of `ffi.gc` waiting for a safe point.
    pub finalizers: Rc<crate::luau::vm::finalizers::FinQueue>,
}
impl Ud for Shared {
    const KIND: Tag = Tag::Shared;
}

impl Drop for Shared {
    // Runs when the Lua state closes.
    fn drop(&mut self) {
        self.vm_lock.close();
        self.finalizers.close();
    }
}

const SHARED_KEY: &std::ffi::CStr = c"lune_ffi.shared";

/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn init_shared(
    L: *mut lua_State,
    traceback: ffi::lua_CFunction,
    invoker: ffi::lua_CFunction,
) {
    // SAFETY: `L` is a live state (the caller's contract); each function pushed is
    // referenced and popped again before the next push.
    let (traceback_ref, invoker_ref) = unsafe {
        push_fn(L, traceback, c"traceback");
        let traceback_ref = ffi::lua_ref(L, -1);
        ffi::lua_pop(L, 1);
        push_fn(L, invoker, c"callback");
        let invoker_ref = ffi::lua_ref(L, -1);
        ffi::lua_pop(L, 1);
        (traceback_ref, invoker_ref)
    };
    let shared = Shared {
        release_queue: Rc::new(RefCell::new(Vec::new())),
        warned_buffer: Cell::new(false),
        warned_open: Cell::new(false),
        traceback_ref,
        invoker_ref,
        vm_lock: VmLock::new_held(),
        ctypes: Default::default(),
        finalizers: Default::default(),
    };
    // SAFETY: `L` is live; the userdata is the one value pushed and the registry store
    // pops it.
    unsafe {
        push_ud(L, shared);
        ffi::lua_rawsetfield(L, ffi::LUA_REGISTRYINDEX, SHARED_KEY.as_ptr());
    }
}

/// # Safety
/// `L` must be a live Luau state in which the module is open (else this panics); the
/// reference must not be kept past the state's life.
pub unsafe fn shared<'a>(L: *mut lua_State) -> &'a Shared {
    // SAFETY: set once by `init_shared` and kept in the registry for the state's life.
    unsafe { try_shared(L).expect("lune-ffi state initialised") }
}

/// The per-state data, if the module was opened in this state.
///
/// # Safety
/// `L` must be a valid Luau state.
pub unsafe fn try_shared<'a>(L: *mut lua_State) -> Option<&'a Shared> {
    // SAFETY: a registry read; the value stays referenced by the registry.
    unsafe {
        ffi::lua_rawgetfield(L, ffi::LUA_REGISTRYINDEX, SHARED_KEY.as_ptr());
        let s = get_ud::<Shared>(L, -1);
        ffi::lua_pop(L, 1);
        s
    }
}

/// Releases registry references of buffers and callbacks whose last holder was collected.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn drain_releases(L: *mut lua_State) {
    // SAFETY: `L` is a live state with the module open (the caller's contract).
    let q = unsafe { shared(L) }.release_queue.clone();
    let refs: Vec<i32> = q.borrow_mut().drain(..).collect();
    for r in refs {
        // SAFETY: `r` is a registry reference of `L` queued once by the holder collected.
        unsafe { ffi::lua_unref(L, r) };
    }
}

thread_local! {
    /// Bytes the module allocated on this thread since it last made the collector work.
    static GC_DEBT: Cell<usize> = const { Cell::new(0) };
}

/// Debt at which the collector is asked to work: small enough that a loop of large
/// allocations is reclaimed promptly, large enough that small ones stay cheap.
const GC_DEBT_STEP: usize = 256 * 1024;

/// Counts `bytes` of memory the module allocated outside Luau's heap toward the
/// collector's pacing. Luau cannot see that memory, so without this a loop that drops
/// 1 MiB arenas grows to gigabytes before the few bytes of their userdata trigger a
/// cycle. Once the debt passes a step, the collector does as much work as was allocated
/// (`LUA_GCSTEP` with that many KiB), which finishes a cycle quickly when the Luau heap
/// is small and stays proportional when it is large.
///
/// Must not be called while a `RefCell` that a destructor may borrow is borrowed: the
/// step runs destructors of collected userdata.
///
/// # Safety
/// `L` must be a live Luau state whose stack holds the indices passed; Luau
/// errors raised inside unwind through here (see `raw`).
pub unsafe fn note_alloc(L: *mut lua_State, bytes: usize) {
    // The debt is counted per OS thread, not per state: finding the state's data
    // costs a registry lookup, and a thread runs one state at a time.
    let debt = GC_DEBT.with(|d| d.get()).saturating_add(bytes);
    if debt < GC_DEBT_STEP {
        GC_DEBT.with(|d| d.set(debt));
        return;
    }
    GC_DEBT.with(|d| d.set(0));
    let kb = (debt / 1024).min(c_int::MAX as usize) as c_int;
    // SAFETY: `L` is a live state with the module open, and the caller holds no `RefCell`
    // borrow a destructor run by the step could take (its contract and the docs above).
    unsafe {
        ffi::lua_gc(L, ffi::LUA_GCSTEP, kb);
        drain_releases(L);
    }
}

/// A safe point: runs the jobs the collector queued for this state (`ffi.gc`'s Luau finalizers), each in a protected call
/// (an error is written to stderr: there is no caller to raise it to). Called before an
/// ffi call converts its arguments, by `ffi.gc`, and by the runtime between scheduler
/// steps.
///
/// # Safety
/// `L` must be a live Luau state where Luau may run (not inside the collector).
#[inline(always)]
pub unsafe fn safe_point(L: *mut lua_State) {
    if has_pending() {
        // SAFETY: `L` is live and outside the collector (the caller's contract), as
        // `run_finalizers` needs.
        unsafe { run_finalizers(L) }
    }
}

/// # Safety
/// As `safe_point`.
#[cold]
#[inline(never)]
unsafe fn run_finalizers(L: *mut lua_State) {
    // SAFETY: `L` is a live state where Luau may run (the caller's contract): a registry
    // read, then jobs that run Luau.
    unsafe {
        let Some(sh) = try_shared(L) else {
            return;
        };
        for job in sh.finalizers.take() {
            job(L);
        }
    }
}
