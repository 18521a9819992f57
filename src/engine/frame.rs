//! The argument frame the assembly trampolines read and write. Its layout is the only
//! contract between Rust and `asm/*`: the offsets are defined once in `frame_layout.rs`,
//! which build.rs turns into the header every assembly file includes, and asserted here
//! against the struct.

use static_assertions::const_assert_eq;
use std::mem::offset_of;

/// Registers in, registers out. Built on the Rust stack for each call (no allocation).
///
/// The same layout serves every ABI: SysV uses `gpr[0..6]`/`fpr[0..8]`, Win64
/// `gpr[0..4]`/`fpr[0..4]`, AArch64 `gpr[0..8]`, `gpr[8]` (x8) and `fpr[0..8]`.
/// The callback entries spill incoming registers into the same layout.
#[repr(C)]
#[derive(Default)]
pub struct CallFrame {
    /// Integer argument registers (see `abi` for numbering).
    pub gpr: [u64; GPR_SLOTS],
    pub _pad: u64,
    /// Low 8 bytes of the vector argument registers.
    pub fpr: [u64; FPR_SLOTS],
    /// The function to call.
    pub func: usize,
    /// Start of the outgoing stack-argument bytes.
    pub stack: usize,
    /// Their length, a multiple of 16.
    pub stack_size: usize,
    /// SysV: the value for %al.
    pub vector_count: u64,
    /// rax/rdx or x0/x1 after the call.
    pub ret_gpr: [u64; RET_GPR_SLOTS],
    /// xmm0/xmm1 or d0..d3 after the call.
    pub ret_fpr: [u64; RET_FPR_SLOTS],
}

/// How many registers of each kind the frame carries: the bounds every plan location
/// must respect (the classifiers never use more; the fast path checks).
pub const GPR_SLOTS: usize = 9;
pub const FPR_SLOTS: usize = 8;
pub const RET_GPR_SLOTS: usize = 2;
pub const RET_FPR_SLOTS: usize = 4;

// The offsets live in one file that build.rs also renders for the assembly.
#[path = "frame_layout.rs"]
mod layout;
pub use layout::*;

const_assert_eq!(offset_of!(CallFrame, gpr), OFF_GPR);
const_assert_eq!(offset_of!(CallFrame, fpr), OFF_FPR);
const_assert_eq!(offset_of!(CallFrame, func), OFF_FUNC);
const_assert_eq!(offset_of!(CallFrame, stack), OFF_STACK);
const_assert_eq!(offset_of!(CallFrame, stack_size), OFF_STACK_SIZE);
const_assert_eq!(offset_of!(CallFrame, vector_count), OFF_VECTOR_COUNT);
const_assert_eq!(offset_of!(CallFrame, ret_gpr), OFF_RET_GPR);
const_assert_eq!(offset_of!(CallFrame, ret_fpr), OFF_RET_FPR);
const_assert_eq!(std::mem::size_of::<CallFrame>(), FRAME_SIZE);
const_assert_eq!(FRAME_SIZE % 16, 0);
