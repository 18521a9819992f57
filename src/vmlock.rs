//! The VM lock of one Lua state: whichever OS thread runs Luau on the state holds it.
//!
//! While callbacks exist, an ffi call releases it for the duration of the C code, so a
//! callback that a library calls from its own worker thread can take it, run, and give it
//! back: the hand-over Deno and Python's ctypes do (ctypes releases the GIL the same way).
//! A worker-thread callback therefore waits until the owning thread is inside an ffi call.
//!
//! The owning thread makes every ffi call, so its side must be cheap; worker threads are
//! rare. The lock is two words: `owner_in`, written only by the owning thread (it runs
//! Luau), and `worker`, the worker thread that runs Luau (taken with a compare-exchange
//! among workers). Each side writes its own word and then reads the other's: a store
//! followed by a load, which needs a full fence between them on one side or the other. On
//! Linux the worker pays it for both, with `membarrier` (a barrier on every running
//! thread of the process, the asymmetric fence of liburcu and Folly), and on Windows with
//! `FlushProcessWriteBuffers`, so the owner's side is plain loads and stores. Elsewhere
//! (macOS), if the kernel refuses membarrier, or under Wine (whose
//! `FlushProcessWriteBuffers` may be an empty stub), both sides fence.

use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicU8, AtomicUsize, Ordering};

use crate::engine::thunk;

/// Callbacks alive in the process. While there are none, ffi calls skip the VM lock.
static LIVE_CALLBACKS: AtomicUsize = AtomicUsize::new(0);

/// Whether a callback was ever created in the process (libraries then stay loaded).
static EVER_CALLBACKS: AtomicBool = AtomicBool::new(false);

pub fn callback_created() {
    LIVE_CALLBACKS.fetch_add(1, Ordering::Relaxed);
    EVER_CALLBACKS.store(true, Ordering::Relaxed);
}

pub fn callbacks_ever_created() -> bool {
    EVER_CALLBACKS.load(Ordering::Relaxed)
}

pub fn callback_freed() {
    LIVE_CALLBACKS.fetch_sub(1, Ordering::Relaxed);
}

/// `VmLock::worker` of a closed state.
const CLOSED: usize = usize::MAX;

/// What `release_for_call` gave up, for `reacquire`: nothing, the owning thread's hold,
/// or (any other value) the token of the worker thread that held the lock. Thread tokens
/// are addresses, never 0 or 1.
const NOTHING: usize = 0;
const OWNER: usize = 1;

/// Leaked, one per state (two words), so a waiting worker can never see it freed.
pub struct VmLock {
    /// Whether the owning thread runs Luau (holds the lock). Written by it alone.
    owner_in: AtomicBool,
    /// `thread_token()` of the worker thread running Luau, 0 if none, CLOSED once the
    /// state is closed.
    worker: AtomicUsize,
    /// `thread_token()` of the thread that owns the state (created its module).
    pub owner: usize,
}

impl VmLock {
    /// A lock held by the calling thread, the one creating the Lua state's module.
    pub fn new_held() -> &'static VmLock {
        barrier::init();
        Box::leak(Box::new(VmLock {
            owner_in: AtomicBool::new(true),
            worker: AtomicUsize::new(0),
            owner: thunk::thread_token(),
        }))
    }

    /// Releases the lock around an ffi call, if callbacks exist and this thread holds
    /// it; what it released, to pass to `reacquire`.
    #[inline(always)]
    pub fn release_for_call(&self) -> usize {
        if LIVE_CALLBACKS.load(Ordering::Relaxed) == 0 {
            return NOTHING;
        }
        self.release_if_held()
    }

    /// Releases the lock if this thread holds it, callbacks or not (the runtime is about to
    /// wait); what it released, for `reacquire`.
    #[inline(always)]
    pub fn release_if_held(&self) -> usize {
        let me = thunk::thread_token();
        if me == self.owner {
            if !self.owner_in.load(Ordering::Relaxed) {
                return NOTHING;
            }
            // Publishes the owner's Luau state to the worker that sees `false`.
            self.owner_in.store(false, Ordering::Release);
            return OWNER;
        }
        if self.worker.load(Ordering::Relaxed) != me {
            return NOTHING;
        }
        self.worker.store(0, Ordering::Release);
        me
    }

    /// Takes back what `release_if_held` / `release_for_call` released.
    #[inline(always)]
    pub fn reacquire(&self, released: usize) {
        match released {
            NOTHING => {}
            OWNER => self.owner_enter(),
            // Only the thread running Luau can close the state, so this always succeeds.
            me => {
                self.worker_acquire(me);
            }
        }
    }

    /// The owning thread takes the lock: announce itself, then wait for any worker
    /// inside to leave (a worker that arrives later sees `owner_in` and backs off).
    #[inline(always)]
    fn owner_enter(&self) {
        self.owner_in.store(true, Ordering::Relaxed);
        barrier::light();
        if !matches!(self.worker.load(Ordering::Acquire), 0 | CLOSED) {
            self.wait_for_worker();
        }
    }

    /// The owner's wait for a worker inside to leave: rare, out of line.
    #[cold]
    #[inline(never)]
    fn wait_for_worker(&self) {
        loop {
            match self.worker.load(Ordering::Acquire) {
                0 | CLOSED => return,
                _ => wait_a_little(&mut 0),
            }
        }
    }

    /// A worker thread takes the lock; false if the Lua state has been closed meanwhile.
    /// Cold and out of line: every ffi call of the owning thread has this branch, and
    /// inlined, its loop made the owner's bracket save and restore six registers.
    #[cold]
    #[inline(never)]
    fn worker_acquire(&self, me: usize) -> bool {
        let mut spins = 0u32;
        loop {
            match self
                .worker
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => {
                    // Pairs with the owner's `light` barrier: from here either the owner
                    // sees this worker, or this worker sees the owner inside.
                    barrier::heavy();
                    if !self.owner_in.load(Ordering::Acquire) {
                        return true;
                    }
                    // Back off, unless the state was closed meanwhile: a plain store
                    // would erase CLOSED and leave later callers waiting forever.
                    let _ =
                        self.worker
                            .compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed);
                }
                Err(CLOSED) => return false,
                Err(_) => {}
            }
            wait_a_little(&mut spins);
        }
    }

    /// Takes the lock for a callback about to run on this thread, unless this thread
    /// holds it already. None if the Lua state has been closed.
    #[inline]
    pub fn take_for_callback(&self) -> Option<Taken> {
        let me = thunk::thread_token();
        if me == self.owner {
            if self.owner_in.load(Ordering::Relaxed) {
                return Some(Taken::Already);
            }
            self.owner_enter();
            return Some(Taken::Owner);
        }
        if self.worker.load(Ordering::Relaxed) == me {
            return Some(Taken::Already);
        }
        self.worker_acquire(me).then_some(Taken::Worker)
    }

    /// Gives back what `take_for_callback` took.
    #[inline]
    pub fn give_back(&self, taken: Taken) {
        match taken {
            Taken::Already => {}
            Taken::Owner => self.owner_in.store(false, Ordering::Release),
            Taken::Worker => self.worker.store(0, Ordering::Release),
        }
    }

    /// Marks the state closed: a worker thread waiting for the lock, or arriving later
    /// through a stale pointer, gives up instead of waiting forever.
    pub fn close(&self) {
        self.worker.store(CLOSED, Ordering::Release);
    }
}

/// What `take_for_callback` took.
pub enum Taken {
    /// This thread held the lock already (a callback during its own Luau code or a nested
    /// call of its own).
    Already,
    Owner,
    Worker,
}

fn wait_a_little(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else if *spins < 1024 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
}

/// The two halves of the store-then-load fence (see the module comment).
mod barrier {
    use super::*;

    const UNKNOWN: u8 = 0;
    const ASYMMETRIC: u8 = 1;
    const SYMMETRIC: u8 = 2;
    static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// Chooses the mode once per process, before any lock exists.
    pub fn init() {
        if MODE.load(Ordering::Acquire) == UNKNOWN {
            let mode = if register_membarrier() {
                ASYMMETRIC
            } else {
                SYMMETRIC
            };
            // Concurrent first calls all compute the same answer.
            MODE.store(mode, Ordering::Release);
        }
    }

    /// The owner's side: between its store and its load.
    #[inline(always)]
    pub fn light() {
        if MODE.load(Ordering::Relaxed) == ASYMMETRIC {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// A worker's side.
    pub fn heavy() {
        if MODE.load(Ordering::Relaxed) == ASYMMETRIC {
            // The owner relies on it: a fence here alone would not do. After a
            // successful registration the kernel documents no failure but ENOMEM-like
            // transients, so retry.
            while !membarrier_now() {
                std::thread::yield_now();
            }
        } else {
            fence(Ordering::SeqCst);
        }
    }

    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    mod sys {
        use std::ffi::c_long;
        extern "C" {
            fn syscall(number: c_long, ...) -> c_long;
        }
        #[cfg(target_arch = "x86_64")]
        const SYS_MEMBARRIER: c_long = 324;
        #[cfg(target_arch = "aarch64")]
        const SYS_MEMBARRIER: c_long = 283;
        const MEMBARRIER_CMD_PRIVATE_EXPEDITED: c_long = 1 << 3;
        const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: c_long = 1 << 4;

        pub fn register() -> bool {
            // SAFETY: membarrier(2) takes two integers and has no memory arguments.
            unsafe {
                syscall(
                    SYS_MEMBARRIER,
                    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                    0 as c_long,
                ) == 0
                    // A registered process can issue it: check once.
                    && syscall(SYS_MEMBARRIER, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0 as c_long) == 0
            }
        }

        pub fn now() -> bool {
            // SAFETY: membarrier(2) takes two integers and has no memory arguments.
            unsafe {
                syscall(
                    SYS_MEMBARRIER,
                    MEMBARRIER_CMD_PRIVATE_EXPEDITED,
                    0 as c_long,
                ) == 0
            }
        }
    }

    /// Windows' own asymmetric barrier (the one Folly's `asymmetricHeavyBarrier` and
    /// .NET's collector use there): it flushes the write queue of every processor running
    /// a thread of this process. Available since Vista; it cannot fail.
    #[cfg(windows)]
    mod sys {
        use std::ffi::{c_char, c_void};

        #[link(name = "kernel32")]
        extern "system" {
            fn FlushProcessWriteBuffers();
            fn GetModuleHandleA(name: *const c_char) -> *mut c_void;
            fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *mut c_void;
        }

        /// True except under Wine: Wine 8.0 (Debian 12's, the Windows lanes') implements
        /// `FlushProcessWriteBuffers` as an empty stub (`fixme:virtual:
        /// NtFlushProcessWriteBuffers stub`), and a Wine build's version does not tell
        /// whether it carries a real one, so any Wine gets the symmetric fences.
        pub fn register() -> bool {
            !under_wine()
        }

        /// Wine's ntdll exports `wine_get_version`; Windows' does not.
        pub fn under_wine() -> bool {
            // SAFETY: both only look up names, given as NUL-terminated literals.
            unsafe {
                let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr());
                !ntdll.is_null() && !GetProcAddress(ntdll, c"wine_get_version".as_ptr()).is_null()
            }
        }

        pub fn now() -> bool {
            // SAFETY: takes nothing, returns nothing, has no preconditions.
            unsafe { FlushProcessWriteBuffers() };
            true
        }
    }

    #[cfg(not(any(
        windows,
        all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        )
    )))]
    mod sys {
        pub fn register() -> bool {
            false
        }
        pub fn now() -> bool {
            false
        }
    }

    fn register_membarrier() -> bool {
        sys::register()
    }

    fn membarrier_now() -> bool {
        sys::now()
    }

    /// Whether the owner's side is plain loads and stores here (for tests and notes).
    #[cfg_attr(not(all(windows, test)), allow(dead_code))]
    pub fn asymmetric() -> bool {
        MODE.load(Ordering::Relaxed) == ASYMMETRIC
    }

    #[cfg(all(windows, test))]
    pub use sys::under_wine;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The owning thread and three worker threads take turns through the real protocol
    /// (whichever barrier mode this machine gives); every holder checks that nobody else
    /// is inside and does a non-atomic read-modify-write of a shared counter.
    #[test]
    fn owner_and_workers_exclude_each_other() {
        let lock = VmLock::new_held();
        static INSIDE: AtomicBool = AtomicBool::new(false);
        // Recorded, not asserted on the spot: a thread panicking while it holds the lock
        // would leave the others waiting forever.
        static OVERLAP: AtomicBool = AtomicBool::new(false);
        struct Shared(std::cell::UnsafeCell<u64>);
        // SAFETY: only touched under the lock, which is what the test checks.
        unsafe impl Sync for Shared {}
        static COUNT: Shared = Shared(std::cell::UnsafeCell::new(0));
        fn critical() {
            if INSIDE.swap(true, Ordering::Relaxed) {
                OVERLAP.store(true, Ordering::Relaxed);
            }
            // SAFETY: under the lock (asserted above).
            unsafe {
                let v = std::ptr::read_volatile(COUNT.0.get());
                // Long enough for another thread to try to get in meanwhile.
                for _ in 0..200 {
                    std::hint::spin_loop();
                }
                std::ptr::write_volatile(COUNT.0.get(), v + 1);
            }
            INSIDE.store(false, Ordering::Relaxed);
        }
        const ROUNDS: u64 = 50;
        let workers: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        let t = lock.take_for_callback().expect("open");
                        assert!(matches!(t, Taken::Worker));
                        critical();
                        lock.give_back(t);
                    }
                })
            })
            .collect();
        let mut owner_rounds = 0u64;
        // Until every worker is done (or has failed: its join below reports it).
        while !workers.iter().all(|w| w.is_finished()) {
            critical();
            owner_rounds += 1;
            let r = lock.release_if_held();
            assert_eq!(r, OWNER);
            // The window an ffi call leaves (short, so that workers also meet an owner
            // coming back while they try to get in).
            for _ in 0..50 {
                std::hint::spin_loop();
            }
            lock.reacquire(r);
        }
        for w in workers {
            w.join().unwrap();
        }
        critical();
        owner_rounds += 1;
        assert!(!OVERLAP.load(Ordering::Relaxed), "two holders at once");
        // SAFETY: the workers have finished.
        assert_eq!(unsafe { *COUNT.0.get() }, 3 * ROUNDS + owner_rounds);
        // A closed lock turns workers away.
        lock.close();
        let w = std::thread::spawn(move || lock.take_for_callback().is_none());
        assert!(w.join().unwrap());
    }

    /// On Windows the test above ran the owner's plain stores against
    /// FlushProcessWriteBuffers; under Wine, whose FlushProcessWriteBuffers may do
    /// nothing, it ran fences on both sides. The Windows lanes run under Wine (and set
    /// WINEPREFIX, which Wine passes on): there the detection must see it.
    #[cfg(windows)]
    #[test]
    fn windows_uses_the_asymmetric_barrier_except_under_wine() {
        let _ = VmLock::new_held();
        if std::env::var_os("WINEPREFIX").is_some() {
            assert!(
                barrier::under_wine(),
                "WINEPREFIX is set but Wine was not detected"
            );
        }
        assert_eq!(barrier::asymmetric(), !barrier::under_wine());
    }
}
