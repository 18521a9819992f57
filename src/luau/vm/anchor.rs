//! Keeping a Luau value alive from Rust: a registry reference released when the last
//! holder is gone.

use std::cell::RefCell;
use std::rc::Rc;

/// Keeps a Luau value (a buffer, a Callback, a finalizer function) alive through a
/// registry reference. Dropping it queues the reference for release: destructors run
/// inside the garbage collector, where the registry must not be touched.
pub struct LuaAnchor {
    pub registry_ref: i32,
    pub release_queue: Rc<RefCell<Vec<i32>>>,
}

impl Drop for LuaAnchor {
    fn drop(&mut self) {
        if let Ok(mut q) = self.release_queue.try_borrow_mut() {
            q.push(self.registry_ref);
        }
    }
}
