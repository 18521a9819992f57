//! The call trampoline (`asm/<abi>.S`) and what is saved right after it returns: `errno`
//! and, on Windows, `GetLastError()`.

use std::cell::Cell;

use super::error::EngineError;
use super::frame::CallFrame;

#[cfg(lune_ffi_engine)]
extern "C" {
    /// Loads the frame's registers and stack area, calls `frame.func`, stores the return
    /// registers (asm/<abi>.S).
    fn lune_ffi_call(frame: *mut CallFrame);
}

/// Runs the call `frame` describes.
///
/// # Safety
/// `frame` must be fully set up per a plan of the callee's real C type.
#[cfg(lune_ffi_engine)]
#[inline(always)]
pub(super) unsafe fn run(frame: *mut CallFrame) -> Result<(), EngineError> {
    // SAFETY: the frame is fully set up per the plan; the caller vouches for the callee.
    unsafe { lune_ffi_call(frame) };
    Ok(())
}

#[cfg(not(lune_ffi_engine))]
pub(super) unsafe fn run(_frame: *mut CallFrame) -> Result<(), EngineError> {
    Err(EngineError::CallsUnsupported)
}

thread_local! {
    static ERRNO: Cell<i32> = const { Cell::new(0) };
    static LAST_ERROR: Cell<u32> = const { Cell::new(0) };
}

/// `errno` as saved right after the last call on this thread.
pub fn saved_errno() -> i32 {
    ERRNO.with(|e| e.get())
}

/// Windows `GetLastError()` as saved right after the last call on this thread (0 elsewhere).
pub fn saved_last_error() -> u32 {
    LAST_ERROR.with(|e| e.get())
}

/// Runs `f` (a call the script did not make: a finalizer run by the collector) keeping
/// the `errno` and `GetLastError()` saved by the script's last call, so `ffi.errno()`
/// still reads what that call left.
pub fn keeping_saved_errors<R>(f: impl FnOnce() -> R) -> R {
    let (errno, last) = (saved_errno(), saved_last_error());
    let r = f();
    ERRNO.with(|e| e.set(errno));
    LAST_ERROR.with(|e| e.set(last));
    r
}

#[cfg(windows)]
#[link(name = "kernel32")]
extern "system" {
    fn GetLastError() -> u32;
}

/// Saves the thread's `errno` (and `GetLastError()`) as the call just made left them.
#[inline]
pub(super) fn save_errors() {
    #[cfg(windows)]
    {
        // SAFETY: GetLastError has no preconditions.
        let le = unsafe { GetLastError() };
        LAST_ERROR.with(|c| c.set(le));
        // On Windows last_os_error() is GetLastError; errno lives in the C runtime.
        extern "C" {
            fn _errno() -> *mut i32;
        }
        // SAFETY: _errno returns the calling thread's errno slot.
        let errno = unsafe { *_errno() };
        ERRNO.with(|c| c.set(errno));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        extern "C" {
            fn __errno_location() -> *mut i32;
        }
        // SAFETY: returns the calling thread's errno slot; reading it is always valid.
        let e = unsafe { *__errno_location() };
        ERRNO.with(|c| c.set(e));
    }
    #[cfg(not(any(windows, target_os = "linux", target_os = "android")))]
    {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        ERRNO.with(|c| c.set(e));
    }
}
