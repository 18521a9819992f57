//! What crosses C frames: which Luau thread is inside an ffi call on this OS thread, the
//! errors callbacks raised while C was running (raised again when the ffi call returns),
//! and how deep callbacks are nested.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use mlua::ffi::lua_State;

use crate::engine::thunk;
use crate::vmlock::VmLock;
use std::sync::atomic::AtomicUsize;

thread_local! {
    /// The error a callback raised during the current ffi call.
    static PENDING: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether PENDING holds an error: a destructor-free flag, so the check every ffi call
    /// makes stays a plain thread-local load.
    static HAS_PENDING: Cell<bool> = const { Cell::new(false) };
    /// The Lua thread of the innermost ffi call in progress on this OS thread.
    static ACTIVE: Cell<*mut lua_State> = const { Cell::new(std::ptr::null_mut()) };
    /// Callbacks running on this OS thread, nested inside each other.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// A C finalizer (`ffi.gc`) is running on this OS thread, inside the collector.
    static IN_FINALIZER: Cell<bool> = const { Cell::new(false) };
    /// On a `lib:async` worker running its job: where the first error of a callback C made
    /// outside any ffi call goes (null when no job runs here). It belongs to the task that
    /// waits on this job, not to the owning thread's next ffi call. A raw pointer to the
    /// job's own slot: a thread-local with a destructor would need glibc to register one,
    /// which aborts the process when memory is short.
    static JOB_ERROR: Cell<*const RefCell<Option<String>>> = const { Cell::new(std::ptr::null()) };
}

/// Runs an async job's C call on this worker thread; the first error a callback raised
/// meanwhile (outside any nested ffi call, which reports its own).
pub fn in_async_job<R>(f: impl FnOnce() -> R) -> (R, Option<String>) {
    let slot = RefCell::new(None);
    let prev = JOB_ERROR.with(|j| j.replace(&slot));
    let r = f();
    JOB_ERROR.with(|j| j.set(prev));
    (r, slot.into_inner())
}

/// Keeps a callback's error for the async job running on this thread; gives it back when
/// no job runs here.
pub fn park_job_error(msg: String) -> Result<(), String> {
    let slot = JOB_ERROR.with(|j| j.get());
    if slot.is_null() {
        return Err(msg);
    }
    // SAFETY: set by `in_async_job` on this thread to a slot that outlives the job, and
    // reset before that slot goes away.
    let mut slot = unsafe { &*slot }.borrow_mut();
    // The first error: later ones are usually its consequences.
    if slot.is_none() {
        *slot = Some(msg);
    }
    Ok(())
}

/// Errors from calls on foreign threads, with the token of the thread that owns the
/// callback: the next ffi call on that thread reports them.
static FOREIGN_ERRORS: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
static HAS_FOREIGN_ERRORS: AtomicBool = AtomicBool::new(false);

/// How deep C → Luau → C nesting may go. Each level costs Luau one C call (the callback's
/// Luau function), against Luau's limit of 200 (`LUAI_MAXCCALLS`); the margin leaves room
/// for the script's own pcall and metamethod calls, so the limit is ours to report.
pub const MAX_DEPTH: u32 = 180;

/// The bracket around every ffi call: marks the Luau thread as inside a call, releases
/// the VM lock just while foreign code runs, and afterwards reports the first error a
/// callback raised meanwhile. The engine saves errno and GetLastError right after the
/// foreign code returns.
pub struct Bracket {
    prev: *mut lua_State,
    lock: &'static VmLock,
    released: Cell<usize>,
}

impl Bracket {
    #[inline(always)]
    pub fn enter(L: *mut lua_State, lock: &'static VmLock) -> Bracket {
        Bracket {
            prev: ACTIVE.with(|a| a.replace(L)),
            lock,
            released: Cell::new(0),
        }
    }

    /// Just before the foreign code runs, once every argument has been read.
    #[inline(always)]
    pub fn release(&self) {
        self.released.set(self.lock.release_for_call());
    }

    /// Right after the foreign code returns.
    #[inline(always)]
    pub fn reacquire(&self) {
        self.lock.reacquire(self.released.replace(0));
    }

    /// The engine's `around` hook: `release` just before the foreign code, `reacquire`
    /// right after.
    #[inline(always)]
    pub fn around(&self) -> impl Fn(bool) + '_ {
        move |before| {
            if before {
                self.release()
            } else {
                self.reacquire()
            }
        }
    }

    /// Leaves the call; the error a callback raised during it, if any.
    #[inline(always)]
    pub fn finish(self) -> Result<(), String> {
        ACTIVE.with(|a| a.set(self.prev));
        match take_pending_error() {
            None => Ok(()),
            Some(e) => {
                crate::luau::vm::raw::mark_callback_error(&e);
                Err(e)
            }
        }
    }

    /// Leaves a call that never reached foreign code (the fast path declined).
    #[inline(always)]
    pub fn abandon(self) {
        ACTIVE.with(|a| a.set(self.prev));
    }

    /// The whole bracket around `call`.
    #[inline(always)]
    pub fn run<R>(
        L: *mut lua_State,
        lock: &'static VmLock,
        call: impl FnOnce() -> R,
    ) -> Result<R, String> {
        let b = Bracket::enter(L, lock);
        b.release();
        let r = call();
        b.reacquire();
        b.finish().map(|()| r)
    }
}

/// Whether C may be using memory the module owns right now: an ffi call is in progress
/// on this thread (a callback of it is running) or an async call is in flight. Then
/// `arena:free()` defers the release (see `ArenaInner::free`).
pub fn c_may_use_memory() -> bool {
    !active().is_null() || crate::memory::in_flight()
}

/// The Luau thread of the innermost ffi call on this OS thread (null if none).
#[inline]
pub fn active() -> *mut lua_State {
    ACTIVE.with(|a| a.get())
}

/// Runs `f` as a call that is not inside any ffi call of this thread (a worker thread's
/// handed-over callback).
pub fn outside_calls<R>(f: impl FnOnce() -> R) -> R {
    let prev = ACTIVE.with(|a| a.replace(std::ptr::null_mut()));
    let r = f();
    ACTIVE.with(|a| a.set(prev));
    r
}

/// Native stack a callback needs below it: the Luau call, our frames and whatever C code
/// the callback calls.
const STACK_RESERVE: usize = 64 * 1024;

/// Counts one more nested callback; Err with a message if that goes beyond [`MAX_DEPTH`]
/// or the thread's native stack is running out. Pair with [`leave_callback`] when it
/// returned Ok.
#[inline]
pub fn enter_callback() -> Result<(), String> {
    let d = DEPTH.with(|d| d.get()) + 1;
    if d > MAX_DEPTH {
        return Err(format!(
            "callbacks nested too deep: {} levels of C calling Luau calling C (the limit is {})",
            d, MAX_DEPTH
        ));
    }
    if let Some(left) = stack::remaining() {
        if left < STACK_RESERVE {
            return Err(format!(
                "callbacks nested too deep: {} levels of C calling Luau calling C leave {} KiB of this thread's native stack",
                d,
                left / 1024
            ));
        }
    }
    DEPTH.with(|c| c.set(d));
    Ok(())
}

/// The calling thread's native stack bounds, so deep nesting fails with an error instead
/// of overflowing the stack (a crash).
mod stack {
    use std::cell::Cell;

    thread_local! {
        /// Lowest usable address of this thread's stack; 0 unknown, 1 not yet queried.
        static LOW: Cell<usize> = const { Cell::new(1) };
    }

    /// Bytes of stack left below the caller, if the platform says where the stack ends.
    #[inline]
    pub fn remaining() -> Option<usize> {
        let here = 0u8;
        let sp = &here as *const u8 as usize;
        let mut low = LOW.with(|l| l.get());
        if low == 1 {
            low = first_query();
        }
        (low != 0).then(|| sp.saturating_sub(low))
    }

    /// Asks the platform once per thread.
    #[cold]
    #[inline(never)]
    fn first_query() -> usize {
        let low = query_low().unwrap_or(0);
        LOW.with(|l| l.set(low));
        low
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn query_low() -> Option<usize> {
        use std::ffi::{c_int, c_void};
        extern "C" {
            fn pthread_self() -> usize;
            fn pthread_getattr_np(thread: usize, attr: *mut c_void) -> c_int;
            fn pthread_attr_getstack(
                attr: *const c_void,
                addr: *mut *mut c_void,
                size: *mut usize,
            ) -> c_int;
            fn pthread_attr_destroy(attr: *mut c_void) -> c_int;
        }
        // pthread_attr_t is 56 bytes on 64-bit glibc; 128 leaves room.
        let mut attr = [0u64; 16];
        let a = attr.as_mut_ptr() as *mut c_void;
        let mut addr: *mut c_void = std::ptr::null_mut();
        let mut size = 0usize;
        // SAFETY: glibc fills `attr` (large enough) for the calling thread, we read the
        // stack bounds from it and destroy it once.
        unsafe {
            if pthread_getattr_np(pthread_self(), a) != 0 {
                return None;
            }
            let ok = pthread_attr_getstack(a, &mut addr, &mut size) == 0;
            pthread_attr_destroy(a);
            // The lowest page is the guard page.
            ok.then_some(addr as usize + 4096)
        }
    }

    #[cfg(target_vendor = "apple")]
    fn query_low() -> Option<usize> {
        use std::ffi::c_void;
        extern "C" {
            fn pthread_self() -> usize;
            fn pthread_get_stackaddr_np(thread: usize) -> *mut c_void;
            fn pthread_get_stacksize_np(thread: usize) -> usize;
        }
        // SAFETY: both query the calling thread and have no preconditions.
        unsafe {
            let t = pthread_self();
            let top = pthread_get_stackaddr_np(t) as usize;
            Some(top - pthread_get_stacksize_np(t) + 16384)
        }
    }

    #[cfg(windows)]
    fn query_low() -> Option<usize> {
        #[link(name = "kernel32")]
        extern "system" {
            fn GetCurrentThreadStackLimits(low: *mut usize, high: *mut usize);
        }
        let (mut low, mut high) = (0usize, 0usize);
        // SAFETY: fills two integers for the calling thread.
        unsafe { GetCurrentThreadStackLimits(&mut low, &mut high) };
        // The guard pages sit at the bottom.
        (low != 0).then_some(low + 16 * 1024)
    }

    #[cfg(not(any(
        all(target_os = "linux", target_env = "gnu"),
        target_vendor = "apple",
        windows
    )))]
    fn query_low() -> Option<usize> {
        None
    }
}

#[inline]
pub fn leave_callback() {
    DEPTH.with(|d| d.set(d.get() - 1));
}

/// The error a callback raised during the ffi call that just returned, if any, or one
/// parked by a callback that was called where it could not run.
#[inline(always)]
pub fn take_pending_error() -> Option<String> {
    // Two flag loads when nothing is pending: every ffi call makes this check.
    if !HAS_PENDING.with(|h| h.get()) && !HAS_FOREIGN_ERRORS.load(Ordering::Relaxed) {
        return None;
    }
    take_parked_error()
}

#[inline(never)]
fn take_parked_error() -> Option<String> {
    if HAS_PENDING.with(|h| h.replace(false)) {
        if let Some(e) = PENDING.with(|p| p.borrow_mut().take()) {
            return Some(e);
        }
    }
    if HAS_FOREIGN_ERRORS.load(Ordering::Relaxed) {
        if let Ok(mut v) = FOREIGN_ERRORS.lock() {
            let me = thunk::thread_token();
            let mine: Vec<String> = v
                .iter()
                .filter(|(t, _)| *t == me)
                .map(|(_, m)| m.clone())
                .collect();
            v.retain(|(t, _)| *t != me);
            HAS_FOREIGN_ERRORS.store(!v.is_empty(), Ordering::Relaxed);
            if !mine.is_empty() {
                return Some(mine.join("\n"));
            }
        }
    }
    None
}

/// Runs `f`, a C finalizer the collector runs (`ffi.gc`): a callback C makes meanwhile on
/// this thread does not run, since Luau cannot run inside its own collector.
pub fn in_gc_finalizer<R>(f: impl FnOnce() -> R) -> R {
    let prev = IN_FINALIZER.with(|c| c.replace(true));
    let r = f();
    IN_FINALIZER.with(|c| c.set(prev));
    r
}

/// Whether a C finalizer runs on this thread (see [`in_gc_finalizer`]).
pub fn is_in_gc_finalizer() -> bool {
    IN_FINALIZER.with(|c| c.get())
}

/// Keeps a callback's error for the ffi call it happened in.
pub fn park_error(msg: String) {
    if active().is_null() {
        // No call to raise it from: stderr is all there is. (`eprintln!` would panic on a
        // closed stderr, and this runs under a C frame.)
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "[lune-ffi] error in a callback called outside any ffi call: {}",
            msg
        );
        return;
    }
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        // Keep the first error: later ones are usually its consequences.
        if p.is_none() {
            *p = Some(msg);
        }
        HAS_PENDING.with(|h| h.set(true));
    });
}

/// Keeps the error of a call on a foreign thread for the owning thread's next ffi call.
pub fn park_foreign(owner: usize, msg: String) {
    if let Ok(mut v) = FOREIGN_ERRORS.lock() {
        if v.len() < 64 {
            v.push((owner, msg));
        }
        HAS_FOREIGN_ERRORS.store(true, Ordering::Relaxed);
    }
}

/// Jobs the collector queued for the next safe point (`vm::finalizers`) and not run yet,
/// over all states of the process: the one load an ffi call makes while it is zero.
pub static PENDING_JOBS: AtomicUsize = AtomicUsize::new(0);

/// Whether jobs wait for a safe point (in any state of the process); the ffi calls then
/// run them (`vm::state::safe_point`) before converting their arguments.
#[inline(always)]
pub fn has_pending() -> bool {
    PENDING_JOBS.load(Ordering::Relaxed) != 0
}
