//! Engine tests that call nothing (they run on every host, whatever its ABI): what the
//! general call, the fast path and the callback side leave in a frame, byte for byte,
//! for every ABI. The thunk tests (`thunk/tests.rs`) run real calls on the host.

mod plans;
mod stores;
mod structs;

pub(crate) use structs::{big, placed_by_general, regs, spill, Val};

/// What the stack area holds before anything is placed: a store or read wider than its
/// argument shows as a changed or leaked 0xEE.
const EE: u8 = 0xEE;
