//! Runs a [`CallPlan`]: fills the argument frame the assembly trampoline reads, calls,
//! and hands back the return registers. Knows nothing about Luau.

pub mod frame;
pub mod thunk;

use std::cell::Cell;
use std::mem::MaybeUninit;

use crate::abi::{Abi, ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::types::{round_up, CType, Prim, StructType};
use frame::CallFrame;
use std::sync::Arc;

#[cfg(lune_ffi_engine)]
extern "C" {
    /// Loads the frame's registers and stack area, calls `frame.func`, stores the return
    /// registers (asm/<abi>.S).
    fn lune_ffi_call(frame: *mut CallFrame);
}

/// A prototype compiled once: the plan plus what the engine needs per argument.
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
    pub fn new(abi: Abi, sig: Signature) -> Result<Prototype, String> {
        let plan = abi.classify(&sig)?;
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

    pub fn host(sig: Signature) -> Result<Prototype, String> {
        let abi = Abi::host().ok_or_else(|| {
            "calls are not supported on this platform (no trampoline for its ABI)".to_string()
        })?;
        Prototype::new(abi, sig)
    }
}

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
    frame: CallFrame,
    stack: *mut u8,
    scratch: *mut u8,
    // Heap areas for large signatures; `stack`/`scratch` point into them.
    _big_stack: Vec<u64>,
    _big_scratch: Vec<u128>,
}

thread_local! {
    static ERRNO: Cell<i32> = const { Cell::new(0) };
    static LAST_ERROR: Cell<u32> = const { Cell::new(0) };
}

/// `errno` as saved right after the last call on this thread.
pub fn saved_errno() -> i32 {
    ERRNO.with(|e| e.get())
}

/// Windows `GetLastError()` as saved right after the last call on this thread (0 elsewhere).
pub fn saved_last_error() -> u32 {
    LAST_ERROR.with(|e| e.get())
}

/// Runs `f` (a call the script did not make: a finalizer run by the collector) keeping
/// the `errno` and `GetLastError()` saved by the script's last call, so `ffi.errno()`
/// still reads what that call left.
pub fn keeping_saved_errors<R>(f: impl FnOnce() -> R) -> R {
    let (errno, last) = (saved_errno(), saved_last_error());
    let r = f();
    ERRNO.with(|e| e.set(errno));
    LAST_ERROR.with(|e| e.set(last));
    r
}

#[cfg(windows)]
#[link(name = "kernel32")]
extern "system" {
    fn GetLastError() -> u32;
}

#[inline]
fn save_errors() {
    #[cfg(windows)]
    {
        // SAFETY: GetLastError has no preconditions.
        let le = unsafe { GetLastError() };
        LAST_ERROR.with(|c| c.set(le));
        // On Windows last_os_error() is GetLastError; errno lives in the C runtime.
        extern "C" {
            fn _errno() -> *mut i32;
        }
        // SAFETY: _errno returns the calling thread's errno slot.
        let errno = unsafe { *_errno() };
        ERRNO.with(|c| c.set(errno));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        extern "C" {
            fn __errno_location() -> *mut i32;
        }
        // SAFETY: returns the calling thread's errno slot; reading it is always valid.
        let e = unsafe { *__errno_location() };
        ERRNO.with(|c| c.set(e));
    }
    #[cfg(not(any(windows, target_os = "linux", target_os = "android")))]
    {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        ERRNO.with(|c| c.set(e));
    }
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

    #[inline]
    fn put(&mut self, loc: Loc, bits: u64) {
        match loc {
            Loc::Gpr(i) => self.frame.gpr[i as usize] = bits,
            Loc::Fpr(i) => self.frame.fpr[i as usize] = bits,
            Loc::Stack(off) => {
                let base = self.stack;
                // SAFETY: the classifier keeps every stack slot inside `stack_size`, which
                // the stack area (inline or heap) covers.
                unsafe { (base.add(off as usize) as *mut u64).write_unaligned(bits) }
            }
        }
    }

    /// Sets scalar argument `i` from its 8-byte register image.
    #[inline]
    pub fn set_scalar(&mut self, i: usize, bits: u64) {
        let proto = self.proto;
        match &proto.plan.args[i] {
            ArgClass::Scalar(locs) => {
                for &l in locs {
                    self.put(l, bits);
                }
            }
            // A primitive stored at its own size (Apple arm64 stack arguments): its C
            // representation is the low bytes of the little-endian image.
            ArgClass::Pieces(pieces) => {
                let image = bits.to_le_bytes();
                for p in pieces {
                    self.place_piece(image.as_ptr(), p);
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
    fn place_struct(&mut self, i: usize) {
        let proto = self.proto;
        let src = self.struct_slot(i);
        match &proto.plan.args[i] {
            ArgClass::Pieces(pieces) => {
                for p in pieces {
                    self.place_piece(src, p);
                }
            }
            // The slot is memory this call owns, so the callee may modify it as the
            // by-reference conventions allow.
            ArgClass::Indirect(loc) => self.put(*loc, src as u64),
            ArgClass::Scalar(_) => {}
        }
    }

    /// Copies one piece of the value at `src` (a struct's slot, or a primitive's 8-byte
    /// image: the classifier keeps `p.src + p.size` within the value's size).
    fn place_piece(&mut self, src: *const u8, p: &Piece) {
        let size = p.size as usize;
        match p.dst {
            Loc::Stack(off) => {
                let base = self.stack;
                // SAFETY: piece lies within the value (src) and the stack area (dst).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        src.add(p.src as usize),
                        base.add(off as usize),
                        size,
                    )
                }
            }
            reg => {
                let mut b = [0u8; 8];
                // SAFETY: pieces bound for registers are at most 8 bytes inside the value.
                unsafe {
                    std::ptr::copy_nonoverlapping(src.add(p.src as usize), b.as_mut_ptr(), size)
                };
                self.put(reg, u64::from_le_bytes(b));
            }
        }
    }

    /// Calls `func`. For a struct return, `ret_buf` is memory of the struct's size that
    /// receives the value.
    ///
    /// # Safety
    /// `func` must be a function whose C type matches the prototype's signature.
    #[inline]
    pub unsafe fn invoke(&mut self, func: usize, ret_buf: *mut u8) -> Result<(), String> {
        // SAFETY: this function's own `# Safety` contract, which every caller upholds.
        unsafe {
            let proto = self.proto;
            for (i, t) in proto.sig.args().enumerate() {
                if matches!(t, CType::Struct(_)) {
                    self.place_struct(i);
                }
            }
            if let RetClass::Indirect(loc) = &proto.plan.ret {
                self.put(*loc, ret_buf as u64);
            }
            self.frame.func = func;
            self.frame.stack = self.stack as usize;
            run(&mut self.frame)?;
            save_errors();
            if let RetClass::Pieces(pieces) = &proto.plan.ret {
                for p in pieces {
                    let bits = match p.dst {
                        Loc::Gpr(r) => self.frame.ret_gpr[r as usize],
                        Loc::Fpr(r) => self.frame.ret_fpr[r as usize],
                        Loc::Stack(_) => 0,
                    };
                    let bytes = bits.to_le_bytes();
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        ret_buf.add(p.src as usize),
                        p.size as usize,
                    );
                }
            }
            Ok(())
        }
    }

    /// The raw register image of a scalar return (upper bits unspecified).
    #[inline]
    pub fn ret_bits(&self) -> u64 {
        match &self.proto.plan.ret {
            RetClass::Scalar(Loc::Fpr(r)) => self.frame.ret_fpr[*r as usize],
            RetClass::Scalar(Loc::Gpr(r)) => self.frame.ret_gpr[*r as usize],
            _ => 0,
        }
    }
}

/// # Safety
/// `frame` must be fully set up per a plan of the callee's real C type.
#[cfg(lune_ffi_engine)]
#[inline(always)]
unsafe fn run(frame: *mut CallFrame) -> Result<(), String> {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        // SAFETY: the frame is fully set up per the plan; the caller vouches for the callee.
        lune_ffi_call(frame);
        Ok(())
    }
}

#[cfg(not(lune_ffi_engine))]
unsafe fn run(_frame: *mut CallFrame) -> Result<(), String> {
    Err("calls are not supported on this platform (no trampoline for its ABI)".into())
}

/// Writes the low `width` bytes (1..=8) of `bits` to `dst`, little-endian.
///
/// # Safety
/// `dst` must be valid for `width` bytes of writes.
#[inline(always)]
unsafe fn store_low_bytes(dst: *mut u8, bits: u64, width: u8) {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        match width {
            8 => dst.cast::<u64>().write_unaligned(bits),
            4 => dst.cast::<u32>().write_unaligned(bits as u32),
            2 => dst.cast::<u16>().write_unaligned(bits as u16),
            1 => dst.write(bits as u8),
            n => std::ptr::copy_nonoverlapping(
                bits.to_le_bytes().as_ptr(),
                dst,
                usize::from(n).min(8),
            ),
        }
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
    args: Vec<FastScalar>,
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

/// A scalar argument: its index, type, location and store size (8, or a packed stack
/// argument's own size).
#[derive(Clone, Copy, Debug, PartialEq)]
struct FastScalar {
    index: usize,
    prim: Prim,
    loc: Loc,
    width: u8,
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
    /// size (as `Call::place_piece`).
    Pieces(Vec<Piece>),
    /// By reference: a copy at byte `copy` of the fast stack buffer, past the outgoing
    /// area the trampoline copies, and its address at `loc`. The copy is the caller's,
    /// as the by-reference conventions require (the callee may modify it); the source
    /// memory is never handed over.
    Indirect { loc: Loc, copy: usize },
}

const FAST_STACK_WORDS: usize = 32;
const FAST_STACK_BYTES: usize = FAST_STACK_WORDS * 8;

/// The fast path's stack buffer: the outgoing stack area (its first `stack_size` bytes,
/// which the trampoline copies), then the caller-owned copies of structs passed by
/// reference. 16-aligned so that each copy has its struct's alignment (`FastPlan::new`
/// takes no by-reference struct aligned to more).
#[repr(C, align(16))]
struct FastStack([u64; FAST_STACK_WORDS]);

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

/// Reads `width` bytes (1..=8) at `src` as the low bytes of a little-endian image, the
/// rest zero: a struct piece as it goes into a register (as `Call::place_piece`).
///
/// # Safety
/// `src` must be valid for `width` bytes of reads.
#[inline(always)]
unsafe fn load_low_bytes(src: *const u8, width: u8) -> u64 {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
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

/// Writes an argument image to its location: a whole register, or the low `width` bytes
/// at a stack offset.
///
/// # Safety
/// `f` must point to a CallFrame and `stack` to the fast stack buffer; the register index
/// must be inside the frame's arrays and `off + width` inside the buffer (`FastPlan::new`
/// checked every location it stores).
#[inline(always)]
unsafe fn put_fast(f: *mut CallFrame, stack: *mut u8, loc: Loc, bits: u64, width: u8) {
    // SAFETY: this function's own `# Safety` contract, which every caller upholds.
    unsafe {
        match loc {
            Loc::Gpr(r) => std::ptr::addr_of_mut!((*f).gpr[r as usize]).write(bits),
            Loc::Fpr(r) => std::ptr::addr_of_mut!((*f).fpr[r as usize]).write(bits),
            Loc::Stack(off) => store_low_bytes(stack.add(off as usize), bits, width),
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
    pub fn new(proto: &Prototype) -> Option<FastPlan> {
        let plan = &proto.plan;
        let stack_size = plan.stack_size as usize;
        if stack_size > FAST_STACK_BYTES {
            return None;
        }
        // A register of the frame, or `width` bytes inside the outgoing stack area.
        let fits = |loc: Loc, width: usize| match loc {
            Loc::Gpr(i) => (i as usize) < frame::GPR_SLOTS,
            Loc::Fpr(i) => (i as usize) < frame::FPR_SLOTS,
            Loc::Stack(off) => (off as usize) + width <= stack_size,
        };
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
                    if !fits(loc, usize::from(width)) {
                        return None;
                    }
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
                // Every piece one register's worth at most, inside the struct and the
                // frame: `fill` loads and stores it without further checks.
                ArgClass::Pieces(pieces)
                    if pieces.iter().all(|p| {
                        let size = usize::from(p.size);
                        (1..=8).contains(&size)
                            && p.src as usize + size <= st.size
                            && fits(p.dst, size)
                    }) =>
                {
                    FastPass::Pieces(pieces.clone())
                }
                ArgClass::Indirect(loc) if st.align <= 16 && fits(*loc, 8) => {
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
        let in_ret_regs = |l: &Loc| match *l {
            Loc::Gpr(r) => (r as usize) < frame::RET_GPR_SLOTS,
            Loc::Fpr(r) => (r as usize) < frame::RET_FPR_SLOTS,
            Loc::Stack(_) => false,
        };
        let ret_struct = match (&proto.sig.ret, &plan.ret) {
            (CType::Struct(st), RetClass::Pieces(pieces))
                if pieces.iter().all(|p| in_ret_regs(&p.dst)) =>
            {
                Some((st.clone(), plan.ret.clone()))
            }
            (CType::Struct(st), RetClass::Indirect(l @ Loc::Gpr(r)))
                if (*r as usize) < frame::GPR_SLOTS
                    && !args.iter().any(|a| a.loc == *l)
                    && !structs.iter().any(|s| s.uses(*l)) =>
            {
                Some((st.clone(), plan.ret.clone()))
            }
            (CType::Struct(_), _) => return None,
            _ => None,
        };
        let (ret, ret_loc) = match (&proto.sig.ret, &plan.ret) {
            (CType::Struct(_), _) => (Prim::Void, None),
            (CType::Prim(p), RetClass::Void) => (*p, None),
            (CType::Prim(p), RetClass::Scalar(l @ Loc::Gpr(r)))
                if (*r as usize) < frame::RET_GPR_SLOTS =>
            {
                (*p, Some(*l))
            }
            (CType::Prim(p), RetClass::Scalar(l @ Loc::Fpr(r)))
                if (*r as usize) < frame::RET_FPR_SLOTS =>
            {
                (*p, Some(*l))
            }
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
        // SAFETY: the caller's contract.
        let (gpr, fpr) = unsafe { self.run_frame(func, arg, struct_src, around, hidden)? };
        if let RetClass::Pieces(pieces) = class {
            for p in pieces {
                let bits = match p.dst {
                    Loc::Gpr(r) => gpr[r as usize],
                    Loc::Fpr(r) => fpr[r as usize],
                    Loc::Stack(_) => 0,
                };
                // SAFETY: the piece lies within the struct (`dst` holds its size).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bits.to_le_bytes().as_ptr(),
                        dst.add(p.src as usize),
                        p.size as usize,
                    )
                };
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
            // SAFETY: the caller's contract.
            return unsafe { self.call_registers(call, func, arg, around) };
        }
        // SAFETY: the caller's contract.
        let (gpr, fpr) = unsafe { self.run_frame(func, arg, struct_src, around, None)? };
        Some(match self.ret_loc {
            Some(Loc::Gpr(r)) => gpr[r as usize],
            Some(Loc::Fpr(r)) => fpr[r as usize],
            _ => 0,
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
        use crate::abi::{REGISTER_CALL_FPRS, REGISTER_CALL_GPRS};
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
    /// As `call`.
    #[inline(always)]
    unsafe fn run_frame(
        &self,
        func: usize,
        arg: impl ArgSource,
        struct_src: impl FnMut(usize, &Arc<StructType>) -> Option<*const u8>,
        around: impl Fn(bool),
        hidden: Option<(Loc, u64)>,
    ) -> Option<([u64; frame::RET_GPR_SLOTS], [u64; frame::RET_FPR_SLOTS])> {
        // SAFETY: this function's own `# Safety` contract, which every caller upholds.
        unsafe {
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
            clear_registers_and_stack(f, st, self.stack_size);
            self.fill(f, st, arg, struct_src)?;
            if let Some((Loc::Gpr(r), addr)) = hidden {
                // `new` checked the register and that no argument uses it.
                std::ptr::addr_of_mut!((*f).gpr[r as usize]).write(addr);
            }
            std::ptr::addr_of_mut!((*f).func).write(func);
            std::ptr::addr_of_mut!((*f).stack).write(st as usize);
            std::ptr::addr_of_mut!((*f).stack_size).write(self.stack_size);
            std::ptr::addr_of_mut!((*f).vector_count).write(self.vector_count);
            // `around(true)` just before the foreign code runs and `around(false)` right
            // after, once every argument has been read.
            around(true);
            let ran = run(f);
            if ran.is_ok() {
                save_errors();
            }
            around(false);
            ran.ok()?;
            // One 8-byte load per register, as the trampoline stored them: a wider load
            // spanning two of those stores is not forwarded from them and stalls until
            // they reach the cache (measured: the hottest spot of a struct-returning call).
            let g = std::ptr::addr_of!((*f).ret_gpr) as *const u64;
            let v = std::ptr::addr_of!((*f).ret_fpr) as *const u64;
            let mut gpr = [0u64; frame::RET_GPR_SLOTS];
            let mut fpr = [0u64; frame::RET_FPR_SLOTS];
            for (i, r) in gpr.iter_mut().enumerate() {
                *r = g.add(i).read_volatile();
            }
            for (i, r) in fpr.iter_mut().enumerate() {
                *r = v.add(i).read_volatile();
            }
            Some((gpr, fpr))
        }
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
    unsafe fn fill(
        &self,
        f: *mut CallFrame,
        stack: *mut u8,
        mut arg: impl ArgSource,
        mut struct_src: impl FnMut(usize, &Arc<StructType>) -> Option<*const u8>,
    ) -> Option<()> {
        // SAFETY: this function's own `# Safety` contract; `new` checked every register
        // index, every stack offset plus store size against the outgoing area, every
        // piece against its struct's size, and every copy against the buffer.
        unsafe {
            for a in &self.args {
                let bits = arg.arg(a.index, a.prim)?;
                put_fast(f, stack, a.loc, bits, a.width);
            }
            for s in &self.structs {
                let src = struct_src(s.index, &s.st)?;
                match &s.pass {
                    FastPass::Pieces(pieces) => {
                        for p in pieces {
                            let bits = load_low_bytes(src.add(p.src as usize), p.size);
                            put_fast(f, stack, p.dst, bits, p.size);
                        }
                    }
                    FastPass::Indirect { loc, copy } => {
                        let dst = stack.add(*copy);
                        // The source is the caller's memory, the copy this frame's.
                        std::ptr::copy_nonoverlapping(src, dst, s.st.size);
                        put_fast(f, stack, *loc, dst as u64, 8);
                    }
                }
            }
            Some(())
        }
    }
}

#[cfg(test)]
mod tests {
    //! Stack stores of the arguments' own size (Apple arm64) against 8-byte slots (every
    //! other ABI), for calls (`Call::set_scalar`, `FastPlan`) and callbacks (`arg_bits`).
    //! The stack area starts filled with 0xEE so that any store or read wider than its
    //! argument shows. Runs on every host: nothing is called.
    use super::*;
    use crate::abi::Signature;

    /// f(8 longs, 8 doubles, i8, i16, u8, i32, f32, i64): Apple packs the last six at 0,
    /// 2, 4, 8, 12 and 16 (see apple_arm64.rs, probes p_ints and p_floats); AAPCS64 gives
    /// each an 8-byte slot.
    fn sig() -> Signature {
        let mut fixed = vec![CType::Prim(Prim::I64); 8];
        fixed.extend(vec![CType::Prim(Prim::F64); 8]);
        fixed.extend(
            [
                Prim::I8,
                Prim::I16,
                Prim::U8,
                Prim::I32,
                Prim::F32,
                Prim::I64,
            ]
            .map(CType::Prim),
        );
        Signature {
            ret: CType::Prim(Prim::Void),
            fixed,
            variadic: None,
        }
    }

    /// The engine's 8-byte images of -2, -32767, 200, -5, 1.5f and 0x0102030405060708.
    const IMAGES: [u64; 6] = [
        (-2i64) as u64,
        (-32767i64) as u64,
        200,
        (-5i64) as u64,
        0x3FC0_0000,
        0x0102_0304_0506_0708,
    ];

    const EE: u8 = 0xEE;
    /// Index of the first stack argument.
    const FIRST: usize = 16;

    #[rustfmt::skip]
    const APPLE_BYTES: [u8; 32] = [
        0xFE, EE, 0x01, 0x80, 200, EE, EE, EE, // i8 at 0, i16 at 2, u8 at 4
        0xFB, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC0, 0x3F, // i32 at 8, f32 at 12
        8, 7, 6, 5, 4, 3, 2, 1, // i64 at 16
        EE, EE, EE, EE, EE, EE, EE, EE, // padding to 16
    ];

    fn stack_after_set_scalar(abi: Abi) -> Vec<u8> {
        let proto = Prototype::new(abi, sig()).unwrap();
        let mut bufs = MaybeUninit::<Buffers>::uninit();
        let mut call = Call::new(&proto, &mut bufs);
        let size = proto.plan.stack_size as usize;
        // SAFETY: the stack area covers stack_size bytes.
        unsafe { std::ptr::write_bytes(call.stack, EE, size) };
        for (k, bits) in IMAGES.iter().enumerate() {
            call.set_scalar(FIRST + k, *bits);
        }
        // SAFETY: as above; every byte was written.
        unsafe { std::slice::from_raw_parts(call.stack, size) }.to_vec()
    }

    #[test]
    fn apple_calls_store_each_stack_argument_at_its_own_size() {
        assert_eq!(stack_after_set_scalar(Abi::AppleArm64), APPLE_BYTES);
    }

    #[test]
    fn other_abis_still_store_8_byte_slots() {
        let mut want = Vec::new();
        for bits in IMAGES {
            want.extend(bits.to_le_bytes());
        }
        assert_eq!(stack_after_set_scalar(Abi::Aapcs64), want);
    }

    #[test]
    fn fast_plan_keeps_the_store_sizes() {
        let proto = Prototype::new(Abi::AppleArm64, sig()).unwrap();
        let fast = proto.fast.as_ref().expect("all scalars: fast path");
        let stores: Vec<_> = fast.args[FIRST..]
            .iter()
            .map(|a| (a.loc, a.width))
            .collect();
        assert_eq!(
            stores,
            [(0, 1), (2, 2), (4, 1), (8, 4), (12, 4), (16, 8)].map(|(o, w)| (Loc::Stack(o), w))
        );
        // The bytes it writes are those of `store_low_bytes`.
        let mut area = [EE; 32];
        for (a, bits) in fast.args[FIRST..].iter().zip(IMAGES) {
            let Loc::Stack(off) = a.loc else {
                unreachable!()
            };
            // SAFETY: off + width <= 32, checked by FastPlan::new against stack_size.
            unsafe { store_low_bytes(area.as_mut_ptr().add(off as usize), bits, a.width) };
        }
        assert_eq!(area, APPLE_BYTES);
        let linux = Prototype::new(Abi::Aapcs64, sig()).unwrap();
        let widths: Vec<_> = linux
            .fast
            .as_ref()
            .unwrap()
            .args
            .iter()
            .map(|a| a.width)
            .collect();
        assert_eq!(widths, vec![8; FIRST + 6]);
    }

    #[test]
    fn callbacks_read_each_stack_argument_at_its_own_size() {
        let plan = Abi::AppleArm64.classify(&sig()).unwrap();
        let stack = APPLE_BYTES;
        let frame = frame::CallFrame {
            stack: stack.as_ptr() as usize,
            ..Default::default()
        };
        let got: Vec<u64> = (FIRST..FIRST + 6)
            .map(|i| thunk::arg_bits(&plan, &frame, i))
            .collect();
        // Zero-extended images of exactly the argument's bytes: the 0xEE neighbours
        // never leak in (the Luau layer sign-extends from the type's size).
        assert_eq!(
            got,
            vec![
                0xFE,
                0x8001,
                200,
                0xFFFF_FFFB,
                0x3FC0_0000,
                0x0102_0304_0506_0708
            ]
        );
    }

    // ---------------------------------------------------------------- struct arguments
    //
    // The fast path copies struct arguments straight from the caller's memory
    // (`FastPlan::fill`); the general path marshals them into a scratch slot and places
    // them from there (`Call::place_struct`). Both must leave the same registers and the
    // same stack bytes, every store exactly its piece's size: the stack area starts
    // filled with 0xEE on both sides, so a wider store shows.

    use crate::types::FieldSpec;

    fn rec(fields: &[(Prim, Option<usize>)]) -> Arc<StructType> {
        let specs = fields
            .iter()
            .enumerate()
            .map(|(i, (p, count))| FieldSpec {
                name: format!("f{i}"),
                ty: CType::Prim(*p),
                count: *count,
            })
            .collect();
        Arc::new(StructType::new(specs).unwrap())
    }

    /// The conformance library's records (tests/clib/conformance.h).
    fn fff() -> Arc<StructType> {
        rec(&[(Prim::F32, None), (Prim::F32, None), (Prim::F32, None)])
    }
    fn s_id() -> Arc<StructType> {
        rec(&[(Prim::I32, None), (Prim::F64, None)])
    }
    fn s_if() -> Arc<StructType> {
        rec(&[(Prim::I32, None), (Prim::F32, None)])
    }
    fn u8x3() -> Arc<StructType> {
        rec(&[(Prim::U8, None), (Prim::U8, None), (Prim::U8, None)])
    }
    /// S_packed7: 7 bytes, alignment 1.
    fn packed7() -> Arc<StructType> {
        rec(&[(Prim::U8, None), (Prim::U8, Some(4)), (Prim::U8, Some(2))])
    }
    fn u16u8() -> Arc<StructType> {
        rec(&[(Prim::U16, None), (Prim::U8, None)])
    }
    fn s_ll() -> Arc<StructType> {
        rec(&[(Prim::I64, None), (Prim::I64, None)])
    }
    /// S_108: 108 bytes, alignment 4.
    fn s108() -> Arc<StructType> {
        rec(&[
            (Prim::U8, None),
            (Prim::I32, Some(13)),
            (Prim::F32, Some(13)),
        ])
    }

    /// An argument: a scalar's 8-byte image, or a struct's bytes (padding included).
    #[derive(Clone)]
    pub(super) enum Val {
        Scalar(u64),
        Bytes(Vec<u8>),
    }

    /// `n` distinct bytes from `first`, so any piece copied from the wrong offset shows.
    fn bytes(first: u8, n: usize) -> Val {
        Val::Bytes((0..n).map(|k| first.wrapping_add(k as u8)).collect())
    }

    fn floats(v: &[f32]) -> Val {
        Val::Bytes(v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    fn proto_of(abi: Abi, ret: CType, args: &[CType]) -> Prototype {
        Prototype::new(
            abi,
            Signature {
                ret,
                fixed: args.to_vec(),
                variadic: None,
            },
        )
        .unwrap()
    }

    /// Registers and stack bytes after the arguments are in place. Each by-reference
    /// struct's address is checked (it points to a copy of the bytes, not to the source)
    /// and then replaced by 0, since the two paths keep their copies in different places.
    #[derive(Debug, PartialEq)]
    pub(super) struct Placed {
        pub(super) gpr: [u64; frame::GPR_SLOTS],
        pub(super) fpr: [u64; frame::FPR_SLOTS],
        pub(super) stack: Vec<u8>,
    }

    fn take_indirect(
        proto: &Prototype,
        vals: &[Val],
        placed: &mut Placed,
        bounds: std::ops::Range<usize>,
    ) {
        for (i, class) in proto.plan.args.iter().enumerate() {
            let (ArgClass::Indirect(loc), Val::Bytes(b)) = (class, &vals[i]) else {
                continue;
            };
            let addr = match *loc {
                Loc::Gpr(r) => std::mem::take(&mut placed.gpr[r as usize]),
                Loc::Fpr(r) => std::mem::take(&mut placed.fpr[r as usize]),
                Loc::Stack(off) => {
                    let slot = &mut placed.stack[off as usize..off as usize + 8];
                    let a = u64::from_le_bytes(slot.try_into().unwrap());
                    slot.fill(0);
                    a
                }
            } as usize;
            assert_ne!(addr, b.as_ptr() as usize, "argument {i}: the source itself");
            assert!(
                bounds.contains(&addr) && bounds.contains(&(addr + b.len() - 1)),
                "argument {i}: copy outside this call's memory"
            );
            assert_eq!(addr % 16, 0, "argument {i}: copy alignment");
            // SAFETY: inside the memory of the call that placed it (checked above).
            let copy = unsafe { std::slice::from_raw_parts(addr as *const u8, b.len()) };
            assert_eq!(copy, &b[..], "argument {i}: copy");
        }
    }

    pub(super) fn placed_by_general(proto: &Prototype, vals: &[Val]) -> Placed {
        let mut bufs = MaybeUninit::<Buffers>::uninit();
        let mut call = Call::new(proto, &mut bufs);
        let size = proto.plan.stack_size as usize;
        // SAFETY: the stack area covers stack_size bytes.
        unsafe { std::ptr::write_bytes(call.stack, EE, size) };
        for (i, v) in vals.iter().enumerate() {
            match v {
                Val::Scalar(bits) => call.set_scalar(i, *bits),
                Val::Bytes(b) => {
                    let slot = call.struct_slot(i);
                    // SAFETY: the slot holds the struct's size, which is b.len().
                    unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), slot, b.len()) };
                    call.place_struct(i);
                }
            }
        }
        let mut placed = Placed {
            gpr: call.frame.gpr,
            fpr: call.frame.fpr,
            // SAFETY: as above.
            stack: unsafe { std::slice::from_raw_parts(call.stack, size) }.to_vec(),
        };
        let scratch = call.scratch as usize;
        take_indirect(proto, vals, &mut placed, scratch..scratch + proto.scratch);
        placed
    }

    /// What `FastPlan::fill` leaves, with the bytes of the fast stack buffer past the
    /// outgoing area (where by-reference copies go).
    fn placed_by_fast(proto: &Prototype, vals: &[Val]) -> (Placed, Vec<u8>) {
        let fast = proto.fast.as_ref().expect("a fast plan");
        let mut frame = CallFrame::default();
        let mut buf = FastStack([u64::from_ne_bytes([EE; 8]); FAST_STACK_WORDS]);
        let base = buf.0.as_mut_ptr() as *mut u8;
        // SAFETY: a CallFrame and a 16-aligned buffer of FAST_STACK_BYTES bytes; every
        // source is a Vec of its struct's size (asserted).
        let done = unsafe {
            fast.fill(
                &mut frame,
                base,
                |i, _| match &vals[i] {
                    Val::Scalar(bits) => Some(*bits),
                    Val::Bytes(_) => panic!("argument {i} is a struct"),
                },
                |i, st| match &vals[i] {
                    Val::Bytes(b) => {
                        assert_eq!(b.len(), st.size, "argument {i}");
                        Some(b.as_ptr())
                    }
                    Val::Scalar(_) => panic!("argument {i} is a scalar"),
                },
            )
        };
        assert_eq!(done, Some(()));
        let size = proto.plan.stack_size as usize;
        // SAFETY: the buffer is FAST_STACK_BYTES long; nothing else refers to it now.
        let all = unsafe { std::slice::from_raw_parts(base, FAST_STACK_BYTES) }.to_vec();
        let mut placed = Placed {
            gpr: frame.gpr,
            fpr: frame.fpr,
            stack: all[..size].to_vec(),
        };
        take_indirect(
            proto,
            vals,
            &mut placed,
            base as usize + size..base as usize + FAST_STACK_BYTES,
        );
        (placed, all[size..].to_vec())
    }

    const ABIS: [Abi; 4] = [Abi::SysV64, Abi::Win64, Abi::Aapcs64, Abi::AppleArm64];

    /// `Vec3 f(Vec3, float, S_id, S_if, S_u8x3, S_packed7)`: every struct in registers
    /// where the ABI allows (mixed int/float eightbytes, an HFA, odd sizes).
    pub(super) fn regs(abi: Abi) -> (Prototype, Vec<Val>) {
        let proto = proto_of(
            abi,
            CType::Struct(fff()),
            &[
                CType::Struct(fff()),
                CType::Prim(Prim::F32),
                CType::Struct(s_id()),
                CType::Struct(s_if()),
                CType::Struct(u8x3()),
                CType::Struct(packed7()),
            ],
        );
        let vals = vec![
            floats(&[1.5, -2.0, 0.25]),
            Val::Scalar(u64::from(2.5f32.to_bits())),
            bytes(0x10, 16),
            bytes(0x20, 8),
            bytes(0x30, 3),
            bytes(0x40, 7),
        ];
        (proto, vals)
    }

    /// `void f(8 x i64, 8 x double, S_u8x3, S_u16u8, S_ll, Vec3, i8)`: the registers run
    /// out, so the structs go on the stack (or by reference, Win64).
    pub(super) fn spill(abi: Abi) -> (Prototype, Vec<Val>) {
        let mut args = vec![CType::Prim(Prim::I64); 8];
        args.extend(vec![CType::Prim(Prim::F64); 8]);
        args.extend([
            CType::Struct(u8x3()),
            CType::Struct(u16u8()),
            CType::Struct(s_ll()),
            CType::Struct(fff()),
            CType::Prim(Prim::I8),
        ]);
        let proto = proto_of(abi, CType::Prim(Prim::Void), &args);
        let mut vals: Vec<Val> = (0..8).map(|k| Val::Scalar(0x0100 + k)).collect();
        vals.extend((0..8).map(|k| Val::Scalar((k as f64 + 0.5).to_bits())));
        vals.extend([
            bytes(0x11, 3),
            bytes(0x21, 4),
            bytes(0x31, 16),
            floats(&[1.0, 2.0, 3.0]),
            Val::Scalar((-2i64) as u64),
        ]);
        (proto, vals)
    }

    /// `int f(S_108, int)`: a big struct, on the stack (SysV) or by reference.
    pub(super) fn big(abi: Abi) -> (Prototype, Vec<Val>) {
        let proto = proto_of(
            abi,
            CType::Prim(Prim::I32),
            &[CType::Struct(s108()), CType::Prim(Prim::I32)],
        );
        (proto, vec![bytes(0x80, 108), Val::Scalar(7)])
    }

    #[test]
    fn fast_struct_arguments_are_placed_as_the_general_path_places_them() {
        for abi in ABIS {
            for (name, (proto, vals)) in [
                ("regs", regs(abi)),
                ("spill", spill(abi)),
                ("big", big(abi)),
            ] {
                let general = placed_by_general(&proto, &vals);
                let (fast, _) = placed_by_fast(&proto, &vals);
                assert_eq!(fast, general, "{abi:?} {name}");
            }
        }
    }

    fn le(v: &[u8]) -> u64 {
        let mut b = [0u8; 8];
        b[..v.len()].copy_from_slice(v);
        u64::from_le_bytes(b)
    }

    pub(super) fn struct_bytes(v: &Val) -> &[u8] {
        match v {
            Val::Bytes(b) => b,
            Val::Scalar(_) => unreachable!(),
        }
    }

    /// Each argument's struct bytes, empty for a scalar (indexable by argument number).
    fn bytes_of(vals: &[Val]) -> Vec<&[u8]> {
        vals.iter()
            .map(|v| match v {
                Val::Bytes(b) => &b[..],
                Val::Scalar(_) => &[][..],
            })
            .collect()
    }

    #[test]
    fn sysv_struct_arguments_exact_stores() {
        // Registers (x86-64 psABI 3.2.3: each eightbyte classified; gcc -O2 -S of
        // conformance.c's take_fff/take_id/take_if/take_u8x3/take_packed7 reads them
        // from these registers).
        let (proto, vals) = regs(Abi::SysV64);
        let (p, _) = placed_by_fast(&proto, &vals);
        let b = bytes_of(&vals);
        let mut gpr = [0u64; frame::GPR_SLOTS];
        let mut fpr = [0u64; frame::FPR_SLOTS];
        fpr[0] = le(&b[0][..8]); // Vec3 x, y: one SSE eightbyte
        fpr[1] = le(&b[0][8..12]); // Vec3 z: 4 bytes, the rest zero
        fpr[2] = u64::from(2.5f32.to_bits());
        gpr[0] = le(&b[2][..8]); // S_id: INTEGER (i32 and its padding), then SSE
        fpr[3] = le(&b[2][8..]);
        gpr[1] = le(b[3]); // S_if: one INTEGER eightbyte
        gpr[2] = le(b[4]); // 3 bytes
        gpr[3] = le(b[5]); // 7 bytes
        assert_eq!((p.gpr, p.fpr), (gpr, fpr));
        assert!(p.stack.is_empty());

        // The stack: 8-byte aligned slots, each struct copied piece by piece, padding
        // up to the slot untouched (0xEE here).
        let (proto, vals) = spill(Abi::SysV64);
        let (p, _) = placed_by_fast(&proto, &vals);
        let mut want = Vec::new();
        want.extend(0x0106u64.to_le_bytes()); // 7th and 8th i64
        want.extend(0x0107u64.to_le_bytes());
        want.extend([0x11, 0x12, 0x13, EE, EE, EE, EE, EE]); // S_u8x3
        want.extend([0x21, 0x22, 0x23, 0x24, EE, EE, EE, EE]); // S_u16u8
        want.extend(struct_bytes(&vals[18])); // S_ll
        want.extend(struct_bytes(&vals[19])); // Vec3
        want.extend([EE; 4]);
        want.extend((-2i64).to_le_bytes()); // i8, an 8-byte slot
        want.extend([EE; 8]); // to 16
        assert_eq!(p.stack, want);

        // S_108 (MEMORY class) on the stack, all 108 bytes, then 4 untouched.
        let (proto, vals) = big(Abi::SysV64);
        let (p, _) = placed_by_fast(&proto, &vals);
        let mut want = struct_bytes(&vals[0]).to_vec();
        want.extend([EE; 4]);
        assert_eq!(p.stack, want);
        assert_eq!(p.gpr[0], 7);
    }

    #[test]
    fn aapcs64_struct_arguments_exact_stores() {
        for abi in [Abi::Aapcs64, Abi::AppleArm64] {
            // AAPCS64 C.2 (HFA: one member per v register), C.10 (composites of at most
            // 16 bytes in consecutive x registers); the same on Apple.
            let (proto, vals) = regs(abi);
            let (p, _) = placed_by_fast(&proto, &vals);
            let b = bytes_of(&vals);
            let mut gpr = [0u64; frame::GPR_SLOTS];
            let mut fpr = [0u64; frame::FPR_SLOTS];
            fpr[0] = le(&b[0][0..4]);
            fpr[1] = le(&b[0][4..8]);
            fpr[2] = le(&b[0][8..12]);
            fpr[3] = u64::from(2.5f32.to_bits());
            gpr[0] = le(&b[2][..8]);
            gpr[1] = le(&b[2][8..]);
            gpr[2] = le(b[3]);
            gpr[3] = le(b[4]);
            gpr[4] = le(b[5]);
            assert_eq!((p.gpr, p.fpr), (gpr, fpr), "{abi:?}");

            // S_108 (over 16 bytes, stage B) goes by reference: x0 points to the copy.
            let (proto, vals) = big(abi);
            let (p, copies) = placed_by_fast(&proto, &vals);
            assert_eq!(p.gpr[0], 0, "{abi:?}: taken out by take_indirect");
            assert_eq!(p.gpr[1], 7);
            assert_eq!(&copies[..108], struct_bytes(&vals[0]));
            assert_eq!(&copies[108..112], [EE; 4], "{abi:?}: nothing past the copy");
        }
        // Stack: C.11 closes the x registers, C.12/C.4 give each composite an 8-byte
        // aligned slot rounded to 8 (Linux); C.3 the same for the HFA.
        let (proto, vals) = spill(Abi::Aapcs64);
        let (p, _) = placed_by_fast(&proto, &vals);
        let mut want = Vec::new();
        want.extend([0x11, 0x12, 0x13, EE, EE, EE, EE, EE]);
        want.extend([0x21, 0x22, 0x23, 0x24, EE, EE, EE, EE]);
        want.extend(struct_bytes(&vals[18]));
        want.extend(struct_bytes(&vals[19]));
        want.extend([EE; 4]);
        want.extend((-2i64).to_le_bytes());
        want.extend([EE; 8]);
        assert_eq!(p.stack, want);
        // Apple: the HFA at its members' alignment (4), the i8 packed at its own size
        // right after it (apple_arm64.rs, probes p_ints and p_hfa).
        let (proto, vals) = spill(Abi::AppleArm64);
        let (p, _) = placed_by_fast(&proto, &vals);
        let mut want = Vec::new();
        want.extend([0x11, 0x12, 0x13, EE, EE, EE, EE, EE]);
        want.extend([0x21, 0x22, 0x23, 0x24, EE, EE, EE, EE]);
        want.extend(struct_bytes(&vals[18]));
        want.extend(struct_bytes(&vals[19]));
        want.push(0xFE);
        want.extend([EE; 3]);
        assert_eq!(p.stack, want);
    }

    #[test]
    fn win64_struct_arguments_exact_stores() {
        // Microsoft x64: a struct of 1, 2, 4 or 8 bytes goes as an integer of its size;
        // any other by reference to a caller-owned copy (x64 calling convention,
        // "Parameter passing").
        let (proto, vals) = regs(Abi::Win64);
        let (p, copies) = placed_by_fast(&proto, &vals);
        let mut fpr = [0u64; frame::FPR_SLOTS];
        fpr[2] = u64::from(2.5f32.to_bits());
        // rcx is the hidden result pointer (run_frame puts it, not fill); rdx holds the
        // Vec3 copy's address and r9 the S_id copy's (both checked and taken out by
        // take_indirect).
        assert_eq!((p.gpr, p.fpr), ([0u64; frame::GPR_SLOTS], fpr));
        let mut want = struct_bytes(&vals[3]).to_vec(); // S_if: 8 bytes, slot 4
        want.extend([0; 8]); // slot 5: S_u8x3's address (taken out)
        want.extend([0; 8]); // slot 6: S_packed7's address (taken out)
        want.extend([EE; 8]); // to 16
        assert_eq!(p.stack, want);
        // The copies, 16 bytes apart in the order of the arguments: Vec3, S_id, S_u8x3,
        // S_packed7.
        assert_eq!(&copies[0..12], struct_bytes(&vals[0]));
        assert_eq!(&copies[16..32], struct_bytes(&vals[2]));
        assert_eq!(&copies[32..35], struct_bytes(&vals[4]));
        assert_eq!(&copies[48..55], struct_bytes(&vals[5]));
        assert_eq!(copies[55], EE);

        // On the stack: S_u16u8 as a 4-byte integer in its 8-byte slot, the others by
        // reference.
        let (proto, vals) = spill(Abi::Win64);
        let (p, _) = placed_by_fast(&proto, &vals);
        let mut want = Vec::new();
        for k in 4..8u64 {
            want.extend((0x0100 + k).to_le_bytes());
        }
        for k in 0..8 {
            want.extend((k as f64 + 0.5).to_le_bytes());
        }
        want.extend([0; 8]); // S_u8x3's address
        want.extend([0x21, 0x22, 0x23, 0x24, EE, EE, EE, EE]);
        want.extend([0; 8]); // S_ll's address
        want.extend([0; 8]); // Vec3's address
        want.extend((-2i64).to_le_bytes());
        want.extend([EE; 8]);
        assert_eq!(p.stack, want);
    }

    #[test]
    fn fast_plan_declines_what_it_cannot_copy() {
        // A by-reference struct aligned to more than 16: the general path.
        let a32 = Arc::new(
            StructType::with_options(
                vec![crate::types::MemberSpec::new(
                    "a",
                    CType::Prim(Prim::F64),
                    Some(8),
                )],
                &crate::types::RecordOptions {
                    align: Some(32),
                    ..Default::default()
                },
            )
            .unwrap(),
        );
        let proto = proto_of(Abi::Aapcs64, CType::Prim(Prim::Void), &[CType::Struct(a32)]);
        assert!(matches!(proto.plan.args[0], ArgClass::Indirect(_)));
        assert!(proto.fast.is_none());
        // Copies that do not fit the fast stack buffer: two S_108 by reference fit
        // (2 x 112 bytes), three do not.
        let two = proto_of(
            Abi::Win64,
            CType::Prim(Prim::Void),
            &vec![CType::Struct(s108()); 2],
        );
        assert!(two.fast.is_some());
        let three = proto_of(
            Abi::Win64,
            CType::Prim(Prim::Void),
            &vec![CType::Struct(s108()); 3],
        );
        assert!(three.fast.is_none());
        // A struct source that declines stops the fill with None.
        let (proto, vals) = regs(Abi::SysV64);
        let fast = proto.fast.as_ref().unwrap();
        let mut frame = CallFrame::default();
        let mut buf = FastStack([0; FAST_STACK_WORDS]);
        // SAFETY: as in placed_by_fast.
        let r = unsafe {
            fast.fill(
                &mut frame,
                buf.0.as_mut_ptr() as *mut u8,
                |i, _| match &vals[i] {
                    Val::Scalar(b) => Some(*b),
                    Val::Bytes(_) => None,
                },
                |i, _| (i != 3).then(|| struct_bytes(&vals[i]).as_ptr()),
            )
        };
        assert_eq!(r, None);
    }
}
