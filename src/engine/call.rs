//! The general call: any signature (variadic, large, struct values converted by the
//! caller), its struct arguments marshalled into scratch memory and placed from there.

use std::mem::MaybeUninit;

use super::error::EngineError;
use super::frame::CallFrame;
use super::place::{self, Locs};
use super::trampoline::{run, save_errors};
use super::Prototype;
use crate::abi::{ArgClass, Loc, RetClass};
use crate::types::CType;

const INLINE_STACK: usize = 1024;
const INLINE_SCRATCH: usize = 1024;

#[repr(C, align(16))]
struct Inline<const N: usize>([MaybeUninit<u8>; N]);

/// Inline memory for one call: the outgoing stack area and the struct scratch space.
/// Declared uninitialised by the caller (`MaybeUninit`), so nothing is zeroed or moved.
pub struct Buffers {
    stack: Inline<INLINE_STACK>,
    scratch: Inline<INLINE_SCRATCH>,
}

/// One call in preparation. Lives on the Rust stack; heap memory is used only when a
/// signature needs more than the inline stack area or scratch space.
pub struct Call<'p> {
    proto: &'p Prototype,
    pub(super) frame: CallFrame,
    pub(super) stack: *mut u8,
    pub(super) scratch: *mut u8,
    // Heap areas for large signatures; `stack`/`scratch` point into them.
    _big_stack: Vec<u64>,
    _big_scratch: Vec<u128>,
}

impl<'p> Call<'p> {
    #[inline(always)]
    pub fn new(proto: &'p Prototype, bufs: &'p mut MaybeUninit<Buffers>) -> Call<'p> {
        let b = bufs.as_mut_ptr();
        // SAFETY: only addresses are taken; the stack bytes are zeroed below before the
        // asm copies them, the scratch bytes written before anything reads them.
        let (stack, scratch) = unsafe {
            (
                std::ptr::addr_of_mut!((*b).stack) as *mut u8,
                std::ptr::addr_of_mut!((*b).scratch) as *mut u8,
            )
        };
        let ss = proto.plan.stack_size as usize;
        let mut big_stack = Vec::new();
        let mut big_scratch = Vec::new();
        let (mut stack, mut scratch) = (stack, scratch);
        if ss > INLINE_STACK {
            big_stack = vec![0u64; ss / 8];
            stack = big_stack.as_mut_ptr() as *mut u8;
        } else {
            // The asm copies all `ss` bytes, padding included: zero them so no callee
            // is handed stack bytes of an earlier call.
            // SAFETY: `ss <= INLINE_STACK`, the size of the inline area.
            unsafe { std::ptr::write_bytes(stack, 0, ss) };
        }
        if proto.scratch > INLINE_SCRATCH {
            big_scratch = vec![0u128; proto.scratch.div_ceil(16)];
            scratch = big_scratch.as_mut_ptr() as *mut u8;
        }
        // Built as one literal so it is constructed in place (a mutable local returned
        // by value was copied, 300 bytes per call). Every register slot starts at 0: the
        // trampoline loads them all, and the ones the plan leaves unused must not carry
        // anything.
        Call {
            proto,
            frame: CallFrame {
                vector_count: proto.plan.vector_count as u64,
                stack_size: ss,
                ..CallFrame::default()
            },
            stack,
            scratch,
            _big_stack: big_stack,
            _big_scratch: big_scratch,
        }
    }

    /// The argument side of this call's frame: its registers and its stack area, which
    /// covers the plan's `stack_size`.
    #[inline(always)]
    fn args(&mut self) -> Locs {
        Locs::args(&mut self.frame, self.stack)
    }

    /// Sets scalar argument `i` from its 8-byte register image.
    #[inline]
    pub fn set_scalar(&mut self, i: usize, bits: u64) {
        let proto = self.proto;
        let locs = self.args();
        match &proto.plan.args[i] {
            ArgClass::Scalar(at) => {
                for &l in at {
                    // SAFETY: the prototype's plan fits the frame (`Prototype::new`).
                    unsafe { locs.store(l, bits, 8) };
                }
            }
            // A primitive stored at its own size (Apple arm64 stack arguments): its C
            // representation is the low bytes of the little-endian image.
            ArgClass::Pieces(pieces) => {
                let image = bits.to_le_bytes();
                for p in pieces {
                    // SAFETY: the plan fits the frame, and the piece of a primitive lies
                    // within its 8-byte image.
                    unsafe { place::put(locs, image.as_ptr(), p) };
                }
            }
            ArgClass::Indirect(_) => {}
        }
    }

    /// Where the Luau layer writes struct argument `i`'s value (`size` bytes, 16-aligned).
    #[inline]
    pub fn struct_slot(&mut self, i: usize) -> *mut u8 {
        let off = self.proto.slots[i];
        // SAFETY: `slots[i] + size <= scratch`, which the scratch area covers.
        unsafe { self.scratch.add(off) }
    }

    /// Places struct argument `i` (already written to its slot) per the plan.
    pub(super) fn place_struct(&mut self, i: usize) {
        let proto = self.proto;
        let src = self.struct_slot(i);
        let locs = self.args();
        match &proto.plan.args[i] {
            ArgClass::Pieces(pieces) => {
                for p in pieces {
                    // SAFETY: the plan fits the frame and its pieces lie within the
                    // struct, whose slot holds its size.
                    unsafe { place::put(locs, src, p) };
                }
            }
            // The slot is memory this call owns, so the callee may modify it as the
            // by-reference conventions allow.
            // SAFETY: the plan fits the frame.
            ArgClass::Indirect(loc) => unsafe { locs.store(*loc, src as u64, 8) },
            ArgClass::Scalar(_) => {}
        }
    }

    /// Calls `func`. For a struct return, `ret_buf` is memory of the struct's size that
    /// receives the value.
    ///
    /// # Safety
    /// `func` must be a function whose C type matches the prototype's signature.
    #[inline]
    pub unsafe fn invoke(&mut self, func: usize, ret_buf: *mut u8) -> Result<(), EngineError> {
        let proto = self.proto;
        for (i, t) in proto.sig.args().enumerate() {
            if matches!(t, CType::Struct(_)) {
                self.place_struct(i);
            }
        }
        if let RetClass::Indirect(loc) = &proto.plan.ret {
            let locs = self.args();
            // SAFETY: the plan fits the frame.
            unsafe { locs.store(*loc, ret_buf as u64, 8) };
        }
        self.frame.func = func;
        self.frame.stack = self.stack as usize;
        // SAFETY: every argument is in place per the plan; the caller vouches for `func`.
        unsafe { run(&mut self.frame)? };
        save_errors();
        if let RetClass::Pieces(pieces) = &proto.plan.ret {
            let rets = Locs::rets(&mut self.frame);
            for p in pieces {
                // SAFETY: the plan's result pieces are return registers and lie within
                // the struct, which `ret_buf` holds (the caller's contract).
                unsafe { place::get(rets, p, ret_buf) };
            }
        }
        Ok(())
    }

    /// The raw register image of a scalar return (upper bits unspecified).
    #[inline]
    pub fn ret_bits(&self) -> u64 {
        match self.proto.plan.ret {
            RetClass::Scalar(loc @ (Loc::Gpr(_) | Loc::Fpr(_))) => {
                // Read only: the view's pointers are never written through here.
                let rets = Locs::rets(&self.frame as *const CallFrame as *mut CallFrame);
                // SAFETY: the plan fits the frame: `loc` is a return register.
                unsafe { rets.load(loc, 8) }
            }
            _ => 0,
        }
    }
}
