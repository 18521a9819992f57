//! Runs a [`CallPlan`](crate::abi::CallPlan): fills the argument frame the assembly
//! trampoline reads, calls, and hands back the return registers; and, for callbacks, the
//! reverse. Knows nothing about Luau.
//!
//! - `mod.rs`: [`Prototype`], a signature compiled once (its plan, checked to fit the
//!   frame, and its fast plan).
//! - `place.rs`: the one placement primitive, a piece of a value moved to or from a frame
//!   location, used by every path below.
//! - `call.rs`: the general call ([`Call`]): any signature, struct values marshalled
//!   into scratch memory first.
//! - `fast.rs`: the fast path ([`FastPlan`]): scalars and structs copied from the
//!   caller's memory, no scratch, no allocation; bound calls take it.
//! - `trampoline.rs`: the call trampoline, and the `errno` saved after it.
//! - `thunk.rs`: callback thunks and the incoming side of a plan.
//! - `frame.rs`, `frame_layout.rs`: the frame, the one contract with `asm/*`.
//! - `error.rs`: [`EngineError`].

// Every unsafe operation in its own block with its reason, also in unsafe fns.
#![deny(unsafe_op_in_unsafe_fn)]

mod call;
mod error;
mod fast;
pub mod frame;
mod place;
pub mod thunk;
mod trampoline;

#[cfg(test)]
mod tests;

pub use call::{Buffers, Call};
pub use error::EngineError;
pub use fast::{ArgSource, FastPlan, RegPlan};
pub use trampoline::{keeping_saved_errors, saved_errno, saved_last_error};

use crate::abi::{Abi, CallPlan, Signature};
use crate::types::{round_up, CType, Prim};

/// A prototype compiled once: the plan plus what the engine needs per argument. Made
/// only by [`Prototype::new`], which checks that every location of the plan lies in the
/// frame: the placement code relies on it.
pub struct Prototype {
    pub sig: Signature,
    /// The fast path (scalars, and structs copied from caller memory), when the
    /// signature allows it.
    pub fast: Option<FastPlan>,
    pub plan: CallPlan,
    /// Bytes of scratch memory for struct arguments (their marshalled values, and the
    /// caller-owned copies of those passed by reference).
    pub scratch: usize,
    /// Offset of each struct argument's scratch slot (unused for scalars).
    pub slots: Vec<usize>,
}

impl Prototype {
    pub fn new(abi: Abi, sig: Signature) -> Result<Prototype, EngineError> {
        let plan = abi.classify(&sig)?;
        if !place::fits_frame(&sig, &plan) {
            return Err(EngineError::PlanOutsideFrame);
        }
        let mut scratch = 0;
        let mut slots = Vec::with_capacity(sig.arg_count());
        for t in sig.args() {
            slots.push(scratch);
            if let CType::Struct(s) = t {
                scratch = round_up(scratch + s.size, 16);
            }
        }
        let mut proto = Prototype {
            sig,
            fast: None,
            plan,
            scratch,
            slots,
        };
        if !proto.sig.is_variadic() {
            proto.fast = FastPlan::new(&proto);
        }
        Ok(proto)
    }

    pub fn host(sig: Signature) -> Result<Prototype, EngineError> {
        let abi = Abi::host().ok_or(EngineError::CallsUnsupported)?;
        Prototype::new(abi, sig)
    }
}

/// Applies C's default argument promotions to a variadic argument's type.
pub fn promote_variadic(t: &CType) -> CType {
    match t {
        CType::Prim(Prim::F32) => CType::Prim(Prim::F64),
        CType::Prim(Prim::Bool | Prim::I8 | Prim::U8 | Prim::I16 | Prim::U16) => {
            CType::Prim(Prim::I32)
        }
        other => other.clone(),
    }
}
