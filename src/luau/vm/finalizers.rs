//! Work the collector queues for the next safe point (the Luau finalizers of `ffi.gc`):
//! the collector must not run Luau, so it queues a job that `memory::gc::safe_point` runs.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;

use mlua::ffi::lua_State;

use crate::luau::vm::reentry::PENDING_JOBS;

/// A queued job, run with the state at a safe point (Luau may run, errors are its own).
pub type Job = Box<dyn FnOnce(*mut lua_State)>;

/// A state's queue of jobs (in its `Shared`).
#[derive(Default)]
pub struct FinQueue {
    list: RefCell<Vec<Job>>,
    /// The state is closing: nothing queued can run any more.
    closed: Cell<bool>,
}

impl FinQueue {
    /// The state closes: drops what is queued (the VM can no longer run it).
    pub fn close(&self) {
        self.closed.set(true);
        drop(self.take());
    }

    /// Queues a job; called inside the collector, so it neither runs Luau nor raises. A
    /// closing state, or a queue being taken, drops it.
    pub fn push(&self, job: Job) {
        if self.closed.get() {
            return;
        }
        if let Ok(mut q) = self.list.try_borrow_mut() {
            q.push(job);
            PENDING_JOBS.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Everything queued, in order, leaving the queue empty.
    pub fn take(&self) -> Vec<Job> {
        let list = std::mem::take(&mut *self.list.borrow_mut());
        PENDING_JOBS.fetch_sub(list.len(), Ordering::Relaxed);
        list
    }
}
