//! lune-ffi: the foreign function interface for Lune, the standalone Luau runtime.
//!
//! No libffi: calls go through hand-written trampolines per ABI (`asm/`), a Rust
//! classifier maps each signature onto registers and stack slots (`abi`), and the
//! engine runs the resulting plan (`engine`).

#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod bindgen;
pub mod cdecl;
pub mod engine;
mod lib_search;
mod luau;
mod vmlock;

pub use lib_search::candidates as library_candidates;
pub mod memory;
pub mod types;

use mlua::prelude::*;

/// Creates the `@lune/ffi` module table for `lua`.
pub fn module(lua: Lua) -> LuaResult<LuaTable> {
    // SAFETY: `open` uses only the raw API on the state mlua hands us, inside mlua's
    // protected call, and leaves exactly the module table on the stack.
    unsafe { lua.exec_raw::<LuaTable>((), |state| luau::open(state)) }
}

/// What `tostring` gives for a lune-ffi object (`RawPointer(0x…)`, `StructType(…)`…), or
/// None for any other value.
///
/// Lune's value formatter (`print`, `stdio.format`) reads metatables through mlua, which
/// only knows the userdata mlua itself created, so it shows every lune-ffi object as
/// `<userdata>`. A runtime maps values through this first (the `lune-ffi` binary's
/// `print` does); Lune's formatter could call it, or fall back to the raw metatable's
/// `__tostring` the same way, for userdata mlua does not know.
pub fn display_value(lua: &Lua, value: &LuaValue) -> Option<String> {
    let LuaValue::UserData(_) = value else {
        return None;
    };
    // SAFETY: the value is pushed by mlua at index 1; `luau::display` only reads it and
    // pushes one string or nil.
    unsafe { lua.exec_raw::<Option<String>>(value, |state| luau::display(state)) }
        .ok()
        .flatten()
}

/// Lets callbacks that libraries call from their own threads run while the runtime is
/// idle: between two runs of Luau code, when the scheduler sleeps or waits for I/O.
///
/// Such a callback needs the state's VM lock, which the thread running Luau holds except
/// inside ffi calls. A runtime that waits without Luau running should release it for the
/// wait: [`IdleGuard::new`] releases it and dropping the guard takes it back (waiting for
/// a callback that is running to finish). The `lune-ffi` binary does this around every
/// wait of its scheduler (see `src/cli/runtime.rs`); Lune would do the same around
/// `mlua_luau_scheduler::Scheduler::run`'s waits. Without it a handed-over callback runs
/// only during the owning thread's next ffi call.
pub struct IdleGuard {
    lock: Option<&'static vmlock::VmLock>,
    token: usize,
}

impl IdleGuard {
    /// Releases `lua`'s VM lock if this thread holds it (a no-op when `@lune/ffi` was not
    /// created in `lua`). No Luau code may run on `lua` until the guard is dropped.
    pub fn new(lua: &Lua) -> IdleGuard {
        // SAFETY: reads the module's per-state data from the registry, if present.
        let lock = unsafe {
            lua.exec_raw::<Option<LuaLightUserData>>((), |state| luau::vm_lock_of(state))
        }
        .ok()
        .flatten()
        // SAFETY: VM locks are leaked: `&'static` is their real lifetime.
        .map(|p| unsafe { &*(p.0 as *const vmlock::VmLock) });
        let token = lock.map_or(0, |l| l.release_if_held());
        IdleGuard { lock, token }
    }
}

impl Drop for IdleGuard {
    fn drop(&mut self) {
        if let Some(l) = self.lock {
            l.reacquire(self.token);
        }
    }
}

/// A safe point for `ffi.gc`'s Luau finalizers: runs those the collector queued for `lua`
/// (they cannot run inside the collector). ffi calls make one before converting their
/// arguments; a runtime calls this between scheduler steps, so a script that waits (in
/// `task.wait`, an async call) gets its finalizers run too. Cheap when nothing is queued.
/// Errors in a finalizer are written to stderr.
pub fn run_pending_finalizers(lua: &Lua) {
    if !luau::vm::reentry::has_pending() {
        return;
    }
    // SAFETY: a protected call on `lua`'s main thread, where Luau may run (the caller
    // holds the VM and is not inside the collector).
    let _ = unsafe {
        lua.exec_raw::<()>((), |state| {
            luau::vm::state::safe_point(state);
        })
    };
}

/// The table (weak keys) where a runtime marks each coroutine while it resumes it by hand
/// (its `coroutine.resume` / `coroutine.wrap`, as opposed to its scheduler): a `lib:async`
/// function called in such a coroutine raises its "call it from a task" error instead of
/// yielding it. The `lune-ffi` binary's `coroutine.resume` does this (`src/cli/runtime.rs`).
pub fn resumed_by_hand(lua: &Lua) -> LuaResult<LuaTable> {
    luau::call::asynccall::resumed_by_hand(lua)
}

/// The Luau type definitions of the module (`types.d.luau`).
pub fn typedefs() -> String {
    include_str!("../types.d.luau").to_string()
}
