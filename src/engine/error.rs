//! Why the engine cannot make a prototype, run a call or create a callback. The Luau
//! layer turns these into the text of a Luau error (`Display`, or `?` into its message
//! strings), prefixed with the function that was asked.

use std::fmt;

use crate::abi::AbiError;

#[derive(Debug)]
pub enum EngineError {
    /// The signature cannot be classified.
    Abi(AbiError),
    /// No call trampoline for this platform's ABI.
    CallsUnsupported,
    /// No callback entry for this platform's ABI.
    CallbacksUnsupported,
    /// A classifier produced a location outside the call frame (a bug in `abi`, caught
    /// before any call runs: see `place::fits_frame`).
    PlanOutsideFrame,
    /// A thread panicked while holding the callback pool's lock.
    PoolPoisoned,
    /// The callback pool grew and still had no free slot.
    NoFreeSlot,
    /// The system refused memory for a page of thunks.
    CallbackMemory(region::Error),
    /// The system refused to make a page of thunks executable.
    CallbackProtect(region::Error),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Abi(e) => e.fmt(f),
            EngineError::CallsUnsupported => {
                f.write_str("calls are not supported on this platform (no trampoline for its ABI)")
            }
            EngineError::CallbacksUnsupported => {
                f.write_str("callbacks are not supported on this platform (no entry for its ABI)")
            }
            EngineError::PlanOutsideFrame => {
                f.write_str("internal error: the call plan does not fit the call frame")
            }
            EngineError::PoolPoisoned => f.write_str("callback pool poisoned"),
            EngineError::NoFreeSlot => f.write_str("no free callback slot"),
            EngineError::CallbackMemory(e) => write!(f, "cannot allocate callback memory: {e}"),
            EngineError::CallbackProtect(e) => {
                write!(f, "cannot make callback memory executable: {e}")
            }
        }
    }
}

impl std::error::Error for EngineError {}

impl From<AbiError> for EngineError {
    fn from(e: AbiError) -> EngineError {
        EngineError::Abi(e)
    }
}

/// The Luau layer's errors are message strings: `?` turns an engine error into its
/// message there.
impl From<EngineError> for String {
    fn from(e: EngineError) -> String {
        e.to_string()
    }
}
