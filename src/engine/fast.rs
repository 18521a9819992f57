//! The fast path: a prototype whose scalars sit in single locations, whose struct
//! arguments are copied straight from memory the caller names and whose stack area is
//! small, run with no scratch buffers, no conversion of struct values and no allocation.
//! Bound calls take it; anything it declines goes through the general call.

use std::mem::MaybeUninit;
use std::sync::Arc;

use super::frame::{self, CallFrame};
use super::place::{self, Locs};
use super::thunk::{self, Bank};
use super::trampoline::{run, save_errors};
use super::Prototype;
use crate::abi::{ArgClass, Loc, Piece, RetClass, REGISTER_CALL_FPRS, REGISTER_CALL_GPRS};
use crate::types::{round_up, CType, Prim, StructType};

/// Where the fast path's scalar argument images come from: `arg(i, prim)` is argument
/// `i`'s image, or None to decline. A trait rather than a closure so that a source can mark
/// its read `#[inline(always)]` and it lands in the per-argument loop; closures implement
/// it too.
pub trait ArgSource {
    fn arg(&mut self, i: usize, p: Prim) -> Option<u64>;
}

impl<F: FnMut(usize, Prim) -> Option<u64>> ArgSource for F {
    #[inline(always)]
    fn arg(&mut self, i: usize, p: Prim) -> Option<u64> {
        self(i, p)
    }
}

/// A prototype whose scalars sit in single locations, whose struct arguments are copied
/// from memory the caller names (see [`FastStruct`]) and whose stack area is small: the
/// common case, run without scratch buffers, conversions of struct values or allocation.
pub struct FastPlan {
    /// The scalar arguments.
    pub(super) args: Vec<FastScalar>,
    /// The struct arguments passed by value.
    structs: Vec<FastStruct>,
    /// Number of arguments, scalars and structs.
    nargs: usize,
    ret: Prim,
    ret_loc: Option<Loc>,
    /// A struct result: its type and where it comes back (pieces of the return
    /// registers, or memory whose address goes in a register).
    ret_struct: Option<(Arc<StructType>, RetClass)>,
    stack_size: usize,
    vector_count: u64,
    /// The plan's register call (no trampoline), when it has one: see
    /// `CallPlan::register_call`.
    register_call: Option<crate::abi::RegisterCall>,
}

/// The register-call form of a [`FastPlan`] ([`FastPlan::register_form`]): every argument
/// a scalar in an argument register, the result void or one scalar register. Flat and
/// `Copy`, so a bound function holds it inline and its call reads the argument list
/// without following a pointer from the function to a plan to a vector: those dependent
/// loads were the longest chain of a bound call.
#[derive(Clone, Copy)]
pub struct RegPlan {
    call: crate::abi::RegisterCall,
    nargs: u8,
    args: [RegArg; REG_PLAN_ARGS],
    /// Every argument `i32` in integer register `i`, or `f64` in vector register `i`: that
    /// type, converted by a loop that knows it (`add`, `fma`).
    run: Option<Prim>,
    ret: Prim,
    float_ret: bool,
}

/// One argument of a [`RegPlan`]: its type and register, as `bank * 8 + register`
/// (bank 0 the integer registers, 1 the vector registers).
#[derive(Clone, Copy)]
struct RegArg {
    prim: Prim,
    slot: u8,
}

/// Every argument register a register call passes.
const REG_PLAN_ARGS: usize = REGISTER_CALL_GPRS + REGISTER_CALL_FPRS;

/// A scalar argument: its index, type, location and store size (8, or a packed stack
/// argument's own size).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct FastScalar {
    index: usize,
    prim: Prim,
    pub(super) loc: Loc,
    pub(super) width: u8,
}

/// A struct argument: its bytes are copied straight from the memory the caller gives
/// (`struct_src`), with no scratch slot in between.
struct FastStruct {
    index: usize,
    st: Arc<StructType>,
    pass: FastPass,
}

#[derive(Debug, PartialEq)]
enum FastPass {
    /// The plan's pieces, into registers and stack slots, each store exactly the piece's
    /// size (`place::put`, as the general call).
    Pieces(Vec<Piece>),
    /// By reference: a copy at byte `copy` of the fast stack buffer, past the outgoing
    /// area the trampoline copies, and its address at `loc`. The copy is the caller's,
    /// as the by-reference conventions require (the callee may modify it); the source
    /// memory is never handed over.
    Indirect { loc: Loc, copy: usize },
}

pub(super) const FAST_STACK_WORDS: usize = 32;
pub(super) const FAST_STACK_BYTES: usize = FAST_STACK_WORDS * 8;

/// The fast path's stack buffer: the outgoing stack area (its first `stack_size` bytes,
/// which the trampoline copies), then the caller-owned copies of structs passed by
/// reference. 16-aligned so that each copy has its struct's alignment (`FastPlan::new`
/// takes no by-reference struct aligned to more).
#[repr(C, align(16))]
pub(super) struct FastStack(pub(super) [u64; FAST_STACK_WORDS]);

/// Zeroes the argument registers of frame `f` (gpr, its padding and fpr: the first
/// `OFF_FUNC` bytes) and the first `stack_size` bytes of `stack`. The trampoline loads
/// every argument register and copies all `stack_size` bytes, so whatever no argument
/// fills must be 0: a callee that reads past what it was given (a misdeclared
/// prototype, va_arg past the end) then sees 0, never a value left on this stack by an
/// earlier call. LuaJIT clears its unused registers for the same reason.
///
/// Not inlined, unlike the fast path around it: that path is nested once per level of
/// callback reentrancy, and in debug builds every inlined temporary grows its frame.
///
/// # Safety
/// `frame` must point to a CallFrame and `stack` to at least `stack_size` writable bytes.
#[inline(never)]
unsafe fn clear_registers_and_stack(f: *mut CallFrame, stack: *mut u8, stack_size: usize) {
    // SAFETY: the caller's contract; OFF_FUNC < size_of::<CallFrame>() (frame.rs).
    unsafe {
        // A constant size: a few vector stores, no call. The stack area is usually empty.
        std::ptr::write_bytes(f as *mut u8, 0, frame::OFF_FUNC);
        if stack_size != 0 {
            std::ptr::write_bytes(stack, 0, stack_size);
        }
    }
}

impl FastStruct {
    /// Whether any of its stores goes to `loc`.
    fn uses(&self, loc: Loc) -> bool {
        match &self.pass {
            FastPass::Pieces(pieces) => pieces.iter().any(|p| p.dst == loc),
            FastPass::Indirect { loc: l, .. } => *l == loc,
        }
    }
}

impl FastPlan {
    /// The fast plan of `proto`, if it has one. Every location of a prototype's plan lies
    /// in the frame and every piece in its value (`Prototype::new` checked): what is left
    /// to decide is what this path can do.
    pub fn new(proto: &Prototype) -> Option<FastPlan> {
        let plan = &proto.plan;
        let stack_size = plan.stack_size as usize;
        if stack_size > FAST_STACK_BYTES {
            return None;
        }
        let mut args = Vec::with_capacity(plan.args.len());
        let mut structs = Vec::new();
        // Copies of by-reference structs go after the outgoing area, 16 bytes apart.
        let mut copies = round_up(stack_size, 16);
        for (index, (t, class)) in proto.sig.args().zip(&plan.args).enumerate() {
            let st = match t {
                CType::Prim(p) => {
                    let (loc, width) = match class {
                        ArgClass::Scalar(locs) => match locs.as_slice() {
                            [loc] => (*loc, 8),
                            _ => return None,
                        },
                        // A primitive packed on the stack at its own size.
                        ArgClass::Pieces(pieces) => match pieces.as_slice() {
                            [Piece {
                                src: 0,
                                size,
                                dst: dst @ Loc::Stack(_),
                            }] if usize::from(*size) == p.size() => (*dst, *size),
                            _ => return None,
                        },
                        ArgClass::Indirect(_) => return None,
                    };
                    args.push(FastScalar {
                        index,
                        prim: *p,
                        loc,
                        width,
                    });
                    continue;
                }
                CType::Struct(st) => st,
            };
            let pass = match class {
                ArgClass::Pieces(pieces) => FastPass::Pieces(pieces.clone()),
                ArgClass::Indirect(loc) if st.align <= 16 => {
                    let copy = copies;
                    copies = round_up(copy + st.size, 16);
                    if copies > FAST_STACK_BYTES {
                        return None;
                    }
                    FastPass::Indirect { loc: *loc, copy }
                }
                _ => return None,
            };
            structs.push(FastStruct {
                index,
                st: st.clone(),
                pass,
            });
        }
        let ret_struct = match (&proto.sig.ret, &plan.ret) {
            (CType::Struct(st), RetClass::Pieces(_)) => Some((st.clone(), plan.ret.clone())),
            // The result address goes in a register no argument uses.
            (CType::Struct(st), RetClass::Indirect(l @ Loc::Gpr(_)))
                if !args.iter().any(|a| a.loc == *l) && !structs.iter().any(|s| s.uses(*l)) =>
            {
                Some((st.clone(), plan.ret.clone()))
            }
            (CType::Struct(_), _) => return None,
            _ => None,
        };
        let (ret, ret_loc) = match (&proto.sig.ret, &plan.ret) {
            (CType::Struct(_), _) => (Prim::Void, None),
            (CType::Prim(p), RetClass::Void) => (*p, None),
            (CType::Prim(p), RetClass::Scalar(l)) => (*p, Some(*l)),
            _ => return None,
        };
        // Only all-scalar plans have one (`CallPlan::register_call`); a struct argument
        // needs `fill`, so it keeps the trampoline whatever the plan says.
        let register_call = match ret_struct {
            None if structs.is_empty() => plan.register_call(),
            _ => None,
        };
        Some(FastPlan {
            args,
            structs,
            nargs: plan.args.len(),
            ret,
            ret_loc,
            ret_struct,
            stack_size,
            vector_count: plan.vector_count as u64,
            register_call,
        })
    }

    pub fn ret(&self) -> Prim {
        self.ret
    }

    pub fn arg_count(&self) -> usize {
        self.nargs
    }

    /// The plan as a [`RegPlan`], when it has a register call.
    pub fn register_form(&self) -> Option<RegPlan> {
        let call = self.register_call?;
        // The two banks are arrays of eight: `RegPlan::call` indexes them by `slot`.
        const _: () = assert!(REGISTER_CALL_GPRS == 8 && REGISTER_CALL_FPRS == 8);
        let mut args = [RegArg {
            prim: Prim::Void,
            slot: 0,
        }; REG_PLAN_ARGS];
        if self.args.len() > REG_PLAN_ARGS || self.nargs != self.args.len() {
            return None;
        }
        for (i, a) in self.args.iter().enumerate() {
            // Scalars only, in argument order (a register plan has no struct argument).
            if a.index != i {
                return None;
            }
            let slot = match a.loc {
                Loc::Gpr(r) if (r as usize) < REGISTER_CALL_GPRS => r,
                Loc::Fpr(r) if (r as usize) < REGISTER_CALL_FPRS => 8 + r,
                _ => return None,
            };
            args[i] = RegArg { prim: a.prim, slot };
        }
        let nargs = self.args.len();
        // A run of i32 in integer registers, or of f64 in vector registers.
        let run = thunk::run_bank(self.args.iter().map(|a| Some(a.loc)))
            .map(|bank| match bank {
                Bank::Gpr => Prim::I32,
                Bank::Fpr => Prim::F64,
            })
            .filter(|&p| self.args.iter().all(|a| a.prim == p));
        Some(RegPlan {
            call,
            nargs: nargs as u8,
            args,
            run,
            ret: self.ret,
            float_ret: matches!(self.ret_loc, Some(Loc::Fpr(_))),
        })
    }

    /// The struct type of a struct result (then call with [`FastPlan::call_struct`]).
    pub fn struct_ret(&self) -> Option<&Arc<StructType>> {
        self.ret_struct.as_ref().map(|(st, _)| st)
    }

    /// [`FastPlan::call`] for a struct result: the value lands at `dst` (its size).
    ///
    /// # Safety
    /// As `call`; `dst` must hold the struct's size and stay valid during the call.
    #[inline(always)]
    pub unsafe fn call_struct(
        &self,
        func: usize,
        arg: impl ArgSource,
        struct_src: impl FnMut(usize, &Arc<StructType>) -> Option<*const u8>,
        around: impl Fn(bool),
        dst: *mut u8,
    ) -> Option<()> {
        let (_, class) = self.ret_struct.as_ref()?;
        let hidden = match class {
            RetClass::Indirect(loc) => Some((*loc, dst as u64)),
            _ => None,
        };
        // SAFETY: `dst` holds the struct's size for the whole call, and `func` and the
        // struct sources are as `call` needs (the caller's contract).
        let (mut gpr, mut fpr) = unsafe { self.run_frame(func, arg, struct_src, around, hidden)? };
        if let RetClass::Pieces(pieces) = class {
            let rets = Locs::ret_copy(&mut gpr, &mut fpr);
            for p in pieces {
                // SAFETY: the pieces are return registers and lie within the struct
                // (`Prototype::new` checked), which `dst` holds.
                unsafe { place::get(rets, p, dst) };
            }
        }
        Some(())
    }

    /// Calls `func` with the scalar argument images `arg(i, prim)` yields and the struct
    /// arguments whose bytes `struct_src(i, type)` points to (the struct's size, valid
    /// until the call starts: they are copied before it). If either yields None for any
    /// argument, nothing is called and None is returned (the caller takes the general
    /// path, which reports the error). Returns the raw result register.
    ///
    /// # Safety
    /// `func` must be a function whose C type matches the plan's prototype, and every
    /// address `struct_src` gives must be readable for its struct's size.
    #[inline(always)]
    pub unsafe fn call(
        &self,
        func: usize,
        arg: impl ArgSource,
        struct_src: impl FnMut(usize, &Arc<StructType>) -> Option<*const u8>,
        around: impl Fn(bool),
    ) -> Option<u64> {
        if let Some(call) = self.register_call {
            // SAFETY: `func` has the plan's C type (the caller's contract), and `call` is
            // this plan's own register call.
            return unsafe { self.call_registers(call, func, arg, around) };
        }
        // SAFETY: `func` has the plan's C type and each `struct_src` address is readable
        // for its struct (the caller's contract); no hidden result address is passed.
        let (mut gpr, mut fpr) = unsafe { self.run_frame(func, arg, struct_src, around, None)? };
        Some(match self.ret_loc {
            // SAFETY: a scalar result is in a return register (`Prototype::new` checked).
            Some(loc) => unsafe { Locs::ret_copy(&mut gpr, &mut fpr).load(loc, 8) },
            None => 0,
        })
    }

    /// `call` through the plan's register call: the argument images straight into
    /// registers, no frame and no trampoline.
    ///
    /// # Safety
    /// As `call`; `call` is this plan's register call.
    #[inline(always)]
    unsafe fn call_registers(
        &self,
        call: crate::abi::RegisterCall,
        func: usize,
        mut arg: impl ArgSource,
        around: impl Fn(bool),
    ) -> Option<u64> {
        // Unused registers are 0, as with the trampoline.
        let mut gpr = [0u64; REGISTER_CALL_GPRS];
        let mut fpr = [0u64; REGISTER_CALL_FPRS];
        for a in &self.args {
            let bits = arg.arg(a.index, a.prim)?;
            // `register_call` admits only register locations within these arrays.
            match a.loc {
                Loc::Gpr(r) => *gpr.get_mut(r as usize)? = bits,
                Loc::Fpr(r) => *fpr.get_mut(r as usize)? = bits,
                Loc::Stack(_) => return None,
            }
        }
        let float_ret = matches!(self.ret_loc, Some(Loc::Fpr(_)));
        around(true);
        // SAFETY: the caller's contract: `func` has the plan's C type, whose arguments
        // are exactly these register images.
        let r = unsafe { call(func, &gpr, &fpr, float_ret) };
        save_errors();
        around(false);
        Some(r)
    }

    /// Fills the frame (and `hidden`, a result address, into its register), calls, and
    /// gives back the return registers.
    ///
    /// # Safety
    /// As `call`; a `hidden` address must be writable for the struct result's size until
    /// the call returns.
    #[inline(always)]
    unsafe fn run_frame(
        &self,
        func: usize,
        arg: impl ArgSource,
        struct_src: impl FnMut(usize, &Arc<StructType>) -> Option<*const u8>,
        around: impl Fn(bool),
        hidden: Option<(Loc, u64)>,
    ) -> Option<([u64; frame::RET_GPR_SLOTS], [u64; frame::RET_FPR_SLOTS])> {
        let mut frame = MaybeUninit::<CallFrame>::uninit();
        let mut stack = MaybeUninit::<FastStack>::uninit();
        let f = frame.as_mut_ptr();
        let st = stack.as_mut_ptr() as *mut u8;
        // The trampoline loads every argument register and copies `stack_size` bytes.
        // Whatever no argument fills is zeroed first: a callee that reads past what it
        // was given (a misdeclared prototype, va_arg past the end) sees 0, never a value
        // left on this stack by an earlier call. LuaJIT clears its unused registers for
        // the same reason.
        // A separate, non-inlined helper: the debug frame of the bound-call path, nested
        // once per callback reentrancy level, stays small.
        // SAFETY: `frame` is a CallFrame and `stack` has room for `stack_size` bytes
        // (`new` checked it against FAST_STACK_BYTES).
        unsafe { clear_registers_and_stack(f, st, self.stack_size) };
        // SAFETY: the frame and a FAST_STACK_BYTES buffer; the caller vouches for the
        // struct sources.
        unsafe { self.fill(f, st, arg, struct_src)? };
        let locs = Locs::args(f, st);
        if let Some((loc, addr)) = hidden {
            // SAFETY: an argument register (`new` checked that no argument uses it).
            unsafe { locs.store(loc, addr, 8) };
        }
        // SAFETY: `f` points to this function's frame; the four words are plain data.
        unsafe {
            std::ptr::addr_of_mut!((*f).func).write(func);
            std::ptr::addr_of_mut!((*f).stack).write(st as usize);
            std::ptr::addr_of_mut!((*f).stack_size).write(self.stack_size);
            std::ptr::addr_of_mut!((*f).vector_count).write(self.vector_count);
        }
        // `around(true)` just before the foreign code runs and `around(false)` right
        // after, once every argument has been read.
        around(true);
        // SAFETY: the frame is complete; the caller vouches for `func`.
        let ran = unsafe { run(f) };
        if ran.is_ok() {
            save_errors();
        }
        around(false);
        ran.ok()?;
        // One 8-byte load per register, as the trampoline stored them: a wider load
        // spanning two of those stores is not forwarded from them and stalls until
        // they reach the cache (measured: the hottest spot of a struct-returning call).
        let g = f
            .cast::<u8>()
            .wrapping_add(frame::OFF_RET_GPR)
            .cast::<u64>();
        let v = f
            .cast::<u8>()
            .wrapping_add(frame::OFF_RET_FPR)
            .cast::<u64>();
        let mut gpr = [0u64; frame::RET_GPR_SLOTS];
        let mut fpr = [0u64; frame::RET_FPR_SLOTS];
        for (i, r) in gpr.iter_mut().enumerate() {
            // SAFETY: within the frame's return registers, which the trampoline wrote.
            *r = unsafe { g.add(i).read_volatile() };
        }
        for (i, r) in fpr.iter_mut().enumerate() {
            // SAFETY: within the frame's return registers, which the trampoline wrote.
            *r = unsafe { v.add(i).read_volatile() };
        }
        Some((gpr, fpr))
    }

    /// Stores every argument into the frame's registers and the stack buffer: scalars
    /// from `arg`, structs copied from `struct_src`'s memory. None, with nothing else
    /// to undo, as soon as one of them declines.
    ///
    /// # Safety
    /// `f` must point to a CallFrame and `stack` to a 16-aligned buffer of
    /// FAST_STACK_BYTES bytes; every address `struct_src` gives must be readable for its
    /// struct's size.
    #[inline(always)]
    pub(super) unsafe fn fill(
        &self,
        f: *mut CallFrame,
        stack: *mut u8,
        mut arg: impl ArgSource,
        mut struct_src: impl FnMut(usize, &Arc<StructType>) -> Option<*const u8>,
    ) -> Option<()> {
        // Every location lies in the frame and every piece in its struct (`Prototype::new`
        // checked); `new` checked every by-reference copy against the buffer.
        let locs = Locs::args(f, stack);
        for a in &self.args {
            let bits = arg.arg(a.index, a.prim)?;
            // SAFETY: `Prototype::new` checked that every location lies in the frame.
            unsafe { locs.store(a.loc, bits, a.width) };
        }
        for s in &self.structs {
            let src = struct_src(s.index, &s.st)?;
            match &s.pass {
                FastPass::Pieces(pieces) => {
                    for p in pieces {
                        // SAFETY: `src` holds the struct (the caller's contract) and `p` lies in it and
                        // in the frame (`Prototype::new` checked).
                        unsafe { place::put(locs, src, p) };
                    }
                }
                FastPass::Indirect { loc, copy } => {
                    // The source is the caller's memory, the copy this frame's.
                    // SAFETY: `copy + size` lies in the buffer (`new`), `src` holds the
                    // struct (the caller's contract), `loc` is in the frame (as above).
                    unsafe {
                        let dst = stack.add(*copy);
                        std::ptr::copy_nonoverlapping(src, dst, s.st.size);
                        locs.store(*loc, dst as u64, 8);
                    }
                }
            }
        }
        Some(())
    }
}

impl RegPlan {
    /// Number of arguments.
    #[inline(always)]
    pub fn arg_count(&self) -> usize {
        self.nargs as usize
    }

    pub fn ret(&self) -> Prim {
        self.ret
    }

    /// Calls `func` with the argument images `arg(i, prim)` yields, straight into the
    /// argument registers (the unused ones 0, as with the trampoline); None, having
    /// called nothing, as soon as one declines. The raw result register.
    ///
    /// # Safety
    /// `func` must be a function whose C type matches the plan's prototype.
    #[inline(always)]
    pub unsafe fn call(
        &self,
        func: usize,
        mut arg: impl ArgSource,
        around: impl Fn(bool),
    ) -> Option<u64> {
        let mut regs = [[0u64; 8]; 2];
        let n = self.nargs as usize;
        // Masked indices: no bounds checks, and `register_form` made every slot < 16 (and
        // a run's arguments fill registers 0..n of one bank).
        match self.run {
            // The type known to the loop: its conversion is inlined without a match.
            Some(Prim::I32) => {
                for i in 0..n {
                    regs[0][i & 7] = arg.arg(i, Prim::I32)?;
                }
            }
            Some(Prim::F64) => {
                for i in 0..n {
                    regs[1][i & 7] = arg.arg(i, Prim::F64)?;
                }
            }
            _ => {
                for (i, a) in self.args.iter().take(n).enumerate() {
                    let bits = arg.arg(i, a.prim)?;
                    regs[usize::from(a.slot >> 3) & 1][usize::from(a.slot) & 7] = bits;
                }
            }
        }
        around(true);
        // SAFETY: `func` has the plan's C type (the caller's contract), whose arguments are
        // exactly these register images, and `self.call` is that plan's register call.
        let r = unsafe { (self.call)(func, &regs[0], &regs[1], self.float_ret) };
        save_errors();
        around(false);
        Some(r)
    }
}
