//! The VM lock of one Lua state: whichever OS thread runs Luau on the state holds it.
//!
//! While callbacks exist, an ffi call releases it for the duration of the C code, so a
//! callback that a library calls from its own worker thread can take it, run, and give it
//! back: the hand-over Deno and Python's ctypes do (ctypes releases the GIL the same way).
//! A worker-thread callback therefore waits until the owning thread is inside an ffi call.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::engine::thunk;

/// Callbacks alive in the process. While there are none, ffi calls skip the VM lock.
static LIVE_CALLBACKS: AtomicUsize = AtomicUsize::new(0);

pub fn callback_created() {
    LIVE_CALLBACKS.fetch_add(1, Ordering::Relaxed);
}

pub fn callback_freed() {
    LIVE_CALLBACKS.fetch_sub(1, Ordering::Relaxed);
}

/// `VmLock::holder` of a closed state.
const CLOSED: usize = usize::MAX;

/// Leaked, one per state (a word), so a waiting worker can never see it freed.
pub struct VmLock {
    /// `thread_token()` of the holder, 0 when free.
    holder: AtomicUsize,
    /// `thread_token()` of the thread that owns the state (created its module).
    pub owner: usize,
}

impl VmLock {
    /// A lock held by the calling thread, the one creating the Lua state's module.
    pub fn new_held() -> &'static VmLock {
        let me = thunk::thread_token();
        Box::leak(Box::new(VmLock {
            holder: AtomicUsize::new(me),
            owner: me,
        }))
    }

    /// Releases the lock around an ffi call, if callbacks exist and this thread holds
    /// it. Returns this thread's token if it did (0 if not), to pass to `reacquire`.
    #[inline(always)]
    pub fn release_for_call(&self) -> usize {
        if LIVE_CALLBACKS.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let me = thunk::thread_token();
        if self.holder.load(Ordering::Relaxed) != me {
            return 0;
        }
        self.holder.store(0, Ordering::Release);
        me
    }

    /// Releases the lock if this thread holds it, callbacks or not (the runtime is about to
    /// wait); the token for `reacquire`.
    pub fn release_if_held(&self) -> usize {
        let me = thunk::thread_token();
        if self.holder.load(Ordering::Relaxed) != me {
            return 0;
        }
        self.holder.store(0, Ordering::Release);
        me
    }

    #[inline(always)]
    pub fn reacquire(&self, released_by: usize) {
        if released_by != 0 {
            // Only the thread running Luau can close the state, so this always succeeds.
            self.acquire(released_by);
        }
    }

    pub fn held_by(&self, me: usize) -> bool {
        self.holder.load(Ordering::Acquire) == me
    }

    /// Takes the lock; false if the Lua state has been closed meanwhile.
    pub fn acquire(&self, me: usize) -> bool {
        let mut spins = 0u32;
        loop {
            match self
                .holder
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(CLOSED) => return false,
                Err(_) => {}
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else if spins < 1024 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
    }

    pub fn release(&self) {
        self.holder.store(0, Ordering::Release);
    }

    /// Marks the state closed: a worker thread waiting for the lock, or arriving later
    /// through a stale pointer, gives up instead of waiting forever.
    pub fn close(&self) {
        self.holder.store(CLOSED, Ordering::Release);
    }
}
