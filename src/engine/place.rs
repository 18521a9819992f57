//! The one placement primitive: a value, or a piece of one, moved between its bytes and
//! a location of a frame.
//!
//! A [`CallPlan`] is already a move list: every argument and result is a list of moves
//! `Piece { src, size, dst }` ("`size` bytes at offset `src` of the value go to location
//! `dst`"), a scalar is one move of its 8-byte image, and executing a plan is a loop over
//! moves with no decision about types left in it (issue 20 names libffi's move-list
//! plan as the model). The list is made once per prototype, not per call.
//! The moves run in both directions and on both sides of a frame: [`put`] takes a
//! value's bytes to a location (a call's arguments, a callback's struct result), [`get`]
//! brings a location's bytes into a value (a call's struct result, a callback's
//! arguments). The general call (`call.rs`), the fast path (`fast.rs`) and the callback
//! side (`thunk.rs`) all place through these, so a store size or a zero extension is
//! decided here only.
//!
//! Register and stack accesses are unchecked: `Prototype::new` refuses any plan with a
//! location outside the frame or a piece outside its value ([`fits_frame`]), and every
//! placement runs a prototype's plan.

use super::frame::{self, CallFrame};
use crate::abi::{ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::types::CType;

/// The locations a plan names on one side of a frame: the argument registers and the
/// stack area (a call's outgoing arguments, a callback's incoming ones), or the return
/// registers (no stack). Addresses only: making one reads and writes nothing.
#[derive(Clone, Copy)]
pub(super) struct Locs {
    gpr: *mut u64,
    fpr: *mut u64,
    stack: *mut u8,
}

impl Locs {
    /// The argument registers of the frame at `f`, and the stack area at `stack`.
    #[inline(always)]
    pub(super) fn args(f: *mut CallFrame, stack: *mut u8) -> Locs {
        let base = f.cast::<u8>();
        Locs {
            gpr: base.wrapping_add(frame::OFF_GPR).cast(),
            fpr: base.wrapping_add(frame::OFF_FPR).cast(),
            stack,
        }
    }

    /// The arguments of a callback's frame, read only: its registers and the caller's
    /// stack arguments, where the callback entry points `frame.stack`.
    #[inline(always)]
    pub(super) fn incoming(f: &CallFrame) -> Locs {
        Locs::args(f as *const CallFrame as *mut CallFrame, f.stack as *mut u8)
    }

    /// The return registers of the frame at `f`.
    #[inline(always)]
    pub(super) fn rets(f: *mut CallFrame) -> Locs {
        let base = f.cast::<u8>();
        Locs {
            gpr: base.wrapping_add(frame::OFF_RET_GPR).cast(),
            fpr: base.wrapping_add(frame::OFF_RET_FPR).cast(),
            stack: std::ptr::null_mut(),
        }
    }

    /// Return registers copied out of a frame into the caller's arrays.
    #[inline(always)]
    pub(super) fn ret_copy(
        gpr: &mut [u64; frame::RET_GPR_SLOTS],
        fpr: &mut [u64; frame::RET_FPR_SLOTS],
    ) -> Locs {
        Locs {
            gpr: gpr.as_mut_ptr(),
            fpr: fpr.as_mut_ptr(),
            stack: std::ptr::null_mut(),
        }
    }

    /// Stores the image `bits` at `loc`: the whole register, or its low `width` bytes
    /// (1..=8) at a stack offset.
    ///
    /// # Safety
    /// `loc` lies in this view (a register of its side of the frame, `off + width` inside
    /// its stack area) and the view's memory is writable.
    #[inline(always)]
    pub(super) unsafe fn store(self, loc: Loc, bits: u64, width: u8) {
        match loc {
            // SAFETY: the register is in the view (the caller's contract).
            Loc::Gpr(r) => unsafe { self.gpr.add(usize::from(r)).write(bits) },
            // SAFETY: the register is in the view (the caller's contract).
            Loc::Fpr(r) => unsafe { self.fpr.add(usize::from(r)).write(bits) },
            // SAFETY: `off + width` lies in the view's stack area (the caller's contract).
            Loc::Stack(off) => unsafe {
                store_low_bytes(self.stack.add(off as usize), bits, width)
            },
        }
    }

    /// The image at `loc`: the whole register (upper bits as the register holds them),
    /// or `width` bytes (1..=8) at a stack offset, zero-extended.
    ///
    /// # Safety
    /// `loc` lies in this view, whose memory is readable.
    #[inline(always)]
    pub(super) unsafe fn load(self, loc: Loc, width: u8) -> u64 {
        match loc {
            // SAFETY: the register is in the view (the caller's contract).
            Loc::Gpr(r) => unsafe { self.gpr.add(usize::from(r)).read() },
            // SAFETY: the register is in the view (the caller's contract).
            Loc::Fpr(r) => unsafe { self.fpr.add(usize::from(r)).read() },
            // SAFETY: `off + width` lies in the view's stack area (the caller's contract).
            Loc::Stack(off) => unsafe { load_low_bytes(self.stack.add(off as usize), width) },
        }
    }
}

/// Moves piece `p` of the value at `value` to its location: into the low bytes of a
/// register, the rest zero, or exactly its own bytes of the stack area.
///
/// # Safety
/// `value` is readable for `p.src + p.size` bytes, `p.size` is 1..=8 and `p.dst` lies in
/// `locs` ([`fits_frame`] holds for the plan it comes from), whose memory is writable.
#[inline(always)]
pub(super) unsafe fn put(locs: Locs, value: *const u8, p: &Piece) {
    // SAFETY: the piece's `p.size` bytes at `value + p.src` are readable and `p.dst` lies
    // in the writable `locs` (the caller's contract).
    unsafe {
        let bits = load_low_bytes(value.add(p.src as usize), p.size);
        locs.store(p.dst, bits, p.size);
    }
}

/// Moves piece `p` from its location into the value at `value`: the low `p.size` bytes
/// of the register, or its own bytes of the stack area.
///
/// # Safety
/// `value` is writable for `p.src + p.size` bytes, `p.size` is 1..=8 and `p.dst` lies in
/// `locs`, whose memory is readable.
#[inline(always)]
pub(super) unsafe fn get(locs: Locs, p: &Piece, value: *mut u8) {
    // SAFETY: the piece's `p.size` bytes at `value + p.src` are writable and `p.dst` lies
    // in the readable `locs` (the caller's contract).
    unsafe {
        let bits = locs.load(p.dst, p.size);
        store_low_bytes(value.add(p.src as usize), bits, p.size);
    }
}

/// Reads `width` bytes (1..=8) at `src` as the low bytes of a little-endian image, the
/// rest zero.
///
/// # Safety
/// `src` must be valid for `width` bytes of reads.
#[inline(always)]
pub(super) unsafe fn load_low_bytes(src: *const u8, width: u8) -> u64 {
    // SAFETY (every arm): `src` is readable for `width` bytes (the caller's contract).
    unsafe {
        match width {
            8 => u64::from_le(src.cast::<u64>().read_unaligned()),
            4 => u64::from(u32::from_le(src.cast::<u32>().read_unaligned())),
            2 => u64::from(u16::from_le(src.cast::<u16>().read_unaligned())),
            1 => u64::from(src.read()),
            n => {
                let mut b = [0u8; 8];
                std::ptr::copy_nonoverlapping(src, b.as_mut_ptr(), usize::from(n).min(8));
                u64::from_le_bytes(b)
            }
        }
    }
}

/// Writes the low `width` bytes (1..=8) of `bits` to `dst`, little-endian.
///
/// # Safety
/// `dst` must be valid for `width` bytes of writes.
#[inline(always)]
pub(super) unsafe fn store_low_bytes(dst: *mut u8, bits: u64, width: u8) {
    // SAFETY (every arm): `dst` is writable for `width` bytes (the caller's contract).
    unsafe {
        match width {
            8 => dst.cast::<u64>().write_unaligned(bits.to_le()),
            4 => dst.cast::<u32>().write_unaligned((bits as u32).to_le()),
            2 => dst.cast::<u16>().write_unaligned((bits as u16).to_le()),
            1 => dst.write(bits as u8),
            n => std::ptr::copy_nonoverlapping(
                bits.to_le_bytes().as_ptr(),
                dst,
                usize::from(n).min(8),
            ),
        }
    }
}

/// Whether every location of `plan` lies in the frame and every piece in its value:
/// argument registers within the frame's arrays, stack bytes within `stack_size`, result
/// registers within the return arrays, every piece 1 to 8 bytes (one register's worth)
/// inside its struct (or a primitive's 8-byte image). The classifiers keep to this;
/// `Prototype::new` checks it once so that placing needs no bounds checks.
pub(super) fn fits_frame(sig: &Signature, plan: &CallPlan) -> bool {
    let stack_size = plan.stack_size as usize;
    let arg = |loc: Loc, width: u8| match loc {
        Loc::Gpr(r) => usize::from(r) < frame::GPR_SLOTS,
        Loc::Fpr(r) => usize::from(r) < frame::FPR_SLOTS,
        Loc::Stack(off) => off as usize + usize::from(width) <= stack_size,
    };
    let ret = |loc: Loc| match loc {
        Loc::Gpr(r) => usize::from(r) < frame::RET_GPR_SLOTS,
        Loc::Fpr(r) => usize::from(r) < frame::RET_FPR_SLOTS,
        Loc::Stack(_) => false,
    };
    // A struct's size, or the 8-byte image of a primitive.
    let value_size = |t: &CType| match t {
        CType::Struct(s) => s.size,
        CType::Prim(_) => 8,
    };
    let piece = |p: &Piece, size: usize| {
        (1..=8).contains(&p.size) && p.src as usize + usize::from(p.size) <= size
    };
    let args = plan.args.len() == sig.arg_count()
        && plan
            .args
            .iter()
            .zip(sig.args())
            .all(|(class, t)| match class {
                ArgClass::Scalar(locs) => locs.iter().all(|l| arg(*l, 8)),
                ArgClass::Pieces(pieces) => pieces
                    .iter()
                    .all(|p| piece(p, value_size(t)) && arg(p.dst, p.size)),
                ArgClass::Indirect(l) => arg(*l, 8),
            });
    let result = match &plan.ret {
        RetClass::Void => true,
        RetClass::Scalar(l) => ret(*l),
        RetClass::Pieces(pieces) => pieces
            .iter()
            .all(|p| piece(p, value_size(&sig.ret)) && ret(p.dst)),
        // The address goes in an argument register (or slot) and may come back in a
        // return register (`indirect_echo`).
        RetClass::Indirect(l) => arg(*l, 8),
    };
    let echo = match plan.indirect_echo {
        None => true,
        Some(Loc::Gpr(r)) => usize::from(r) < frame::RET_GPR_SLOTS,
        Some(_) => false,
    };
    args && result && echo
}
