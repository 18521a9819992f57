//! Runs a [`CallPlan`]: fills the argument frame the assembly trampoline reads, calls,
//! and hands back the return registers. Knows nothing about Luau.

pub mod frame;
pub mod thunk;

use std::cell::Cell;
use std::mem::MaybeUninit;

use crate::abi::{Abi, ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::types::{round_up, CType, Prim};
use frame::CallFrame;

#[cfg(lune_ffi_engine)]
extern "C" {
    /// Loads the frame's registers and stack area, calls `frame.func`, stores the return
    /// registers (asm/<abi>.S).
    fn lune_ffi_call(frame: *mut CallFrame);
}

/// A prototype compiled once: the plan plus what the engine needs per argument.
pub struct Prototype {
    pub sig: Signature,
    /// The all-scalar fast path, when the signature allows it.
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

/// A prototype whose arguments and result are all scalars in single locations and whose
/// stack area is small: the common case, run without scratch space or struct handling.
pub struct FastPlan {
    /// Each argument's type, location and store size (8, or a packed stack argument's
    /// own size).
    args: Vec<(Prim, Loc, u8)>,
    ret: Prim,
    ret_loc: Option<Loc>,
    /// A struct result: its type and where it comes back (pieces of the return
    /// registers, or memory whose address goes in a register).
    ret_struct: Option<(std::sync::Arc<crate::types::StructType>, RetClass)>,
    stack_size: usize,
    vector_count: u64,
    /// The plan's register call (no trampoline), when it has one: see
    /// `CallPlan::register_call`.
    register_call: Option<crate::abi::RegisterCall>,
}

const FAST_STACK_WORDS: usize = 32;

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

impl FastPlan {
    pub fn new(proto: &Prototype) -> Option<FastPlan> {
        let plan = &proto.plan;
        if plan.stack_size as usize > FAST_STACK_WORDS * 8 {
            return None;
        }
        let mut args = Vec::with_capacity(plan.args.len());
        for (t, class) in proto.sig.args().zip(&plan.args) {
            let CType::Prim(p) = t else {
                return None;
            };
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
            let ok = match loc {
                Loc::Gpr(i) => (i as usize) < frame::GPR_SLOTS,
                Loc::Fpr(i) => (i as usize) < frame::FPR_SLOTS,
                Loc::Stack(off) => (off as usize) + usize::from(width) <= plan.stack_size as usize,
            };
            if !ok {
                return None;
            }
            args.push((*p, loc, width));
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
                if (*r as usize) < frame::GPR_SLOTS && !args.iter().any(|(_, a, _)| a == l) =>
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
        let register_call = match ret_struct {
            None => plan.register_call(),
            Some(_) => None,
        };
        Some(FastPlan {
            args,
            ret,
            ret_loc,
            ret_struct,
            stack_size: plan.stack_size as usize,
            vector_count: plan.vector_count as u64,
            register_call,
        })
    }

    pub fn ret(&self) -> Prim {
        self.ret
    }

    pub fn arg_count(&self) -> usize {
        self.args.len()
    }

    /// The struct type of a struct result (then call with [`FastPlan::call_struct`]).
    pub fn struct_ret(&self) -> Option<&std::sync::Arc<crate::types::StructType>> {
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
        arg: impl FnMut(usize, Prim) -> Option<u64>,
        around: impl Fn(bool),
        dst: *mut u8,
    ) -> Option<()> {
        let (_, class) = self.ret_struct.as_ref()?;
        let hidden = match class {
            RetClass::Indirect(loc) => Some((*loc, dst as u64)),
            _ => None,
        };
        // SAFETY: the caller's contract.
        let (gpr, fpr) = unsafe { self.run_frame(func, arg, around, hidden)? };
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

    /// Calls `func` with the argument images `arg(i, prim)` yields. If `arg` yields None
    /// for any argument, nothing is called and None is returned (the caller takes the
    /// general path, which reports the error). Returns the raw result register.
    ///
    /// # Safety
    /// `func` must be a function whose C type matches the plan's prototype.
    #[inline(always)]
    pub unsafe fn call(
        &self,
        func: usize,
        arg: impl FnMut(usize, Prim) -> Option<u64>,
        around: impl Fn(bool),
    ) -> Option<u64> {
        if let Some(call) = self.register_call {
            // SAFETY: the caller's contract.
            return unsafe { self.call_registers(call, func, arg, around) };
        }
        // SAFETY: the caller's contract.
        let (gpr, fpr) = unsafe { self.run_frame(func, arg, around, None)? };
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
        mut arg: impl FnMut(usize, Prim) -> Option<u64>,
        around: impl Fn(bool),
    ) -> Option<u64> {
        use crate::abi::{REGISTER_CALL_FPRS, REGISTER_CALL_GPRS};
        // Unused registers are 0, as with the trampoline.
        let mut gpr = [0u64; REGISTER_CALL_GPRS];
        let mut fpr = [0u64; REGISTER_CALL_FPRS];
        for (i, &(p, loc, _)) in self.args.iter().enumerate() {
            let bits = arg(i, p)?;
            // `register_call` admits only register locations within these arrays.
            match loc {
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
        mut arg: impl FnMut(usize, Prim) -> Option<u64>,
        around: impl Fn(bool),
        hidden: Option<(Loc, u64)>,
    ) -> Option<([u64; frame::RET_GPR_SLOTS], [u64; frame::RET_FPR_SLOTS])> {
        // SAFETY: this function's own `# Safety` contract, which every caller upholds.
        unsafe {
            let mut frame = MaybeUninit::<CallFrame>::uninit();
            let mut stack = MaybeUninit::<[u64; FAST_STACK_WORDS]>::uninit();
            let f = frame.as_mut_ptr();
            let st = stack.as_mut_ptr() as *mut u64;
            // The trampoline loads every argument register and copies `stack_size` bytes.
            // Whatever no argument fills is zeroed first: a callee that reads past what it
            // was given (a misdeclared prototype, va_arg past the end) sees 0, never a value
            // left on this stack by an earlier call. LuaJIT clears its unused registers for
            // the same reason.
            // A separate, non-inlined helper: the debug frame of the bound-call path, nested
            // once per callback reentrancy level, stays small.
            // SAFETY: `frame` is a CallFrame and `stack` has room for `stack_size` bytes
            // (`new` checked it against FAST_STACK_WORDS).
            clear_registers_and_stack(f, st as *mut u8, self.stack_size);
            for (i, &(p, loc, width)) in self.args.iter().enumerate() {
                let bits = arg(i, p)?;
                // SAFETY: `new` checked every register index, and every stack offset plus
                // store size, against the frame's arrays and the stack buffer.
                match loc {
                    Loc::Gpr(r) => std::ptr::addr_of_mut!((*f).gpr[r as usize]).write(bits),
                    Loc::Fpr(r) => std::ptr::addr_of_mut!((*f).fpr[r as usize]).write(bits),
                    Loc::Stack(off) => {
                        store_low_bytes((st as *mut u8).add(off as usize), bits, width)
                    }
                }
            }
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
            Some((
                std::ptr::addr_of!((*f).ret_gpr).read(),
                std::ptr::addr_of!((*f).ret_fpr).read(),
            ))
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
        let stores: Vec<_> = fast.args[FIRST..].iter().map(|a| (a.1, a.2)).collect();
        assert_eq!(
            stores,
            [(0, 1), (2, 2), (4, 1), (8, 4), (12, 4), (16, 8)].map(|(o, w)| (Loc::Stack(o), w))
        );
        // The bytes it writes are those of `store_low_bytes`.
        let mut area = [EE; 32];
        for ((_, loc, width), bits) in fast.args[FIRST..].iter().zip(IMAGES) {
            let Loc::Stack(off) = *loc else {
                unreachable!()
            };
            // SAFETY: off + width <= 32, checked by FastPlan::new against stack_size.
            unsafe { store_low_bytes(area.as_mut_ptr().add(off as usize), bits, *width) };
        }
        assert_eq!(area, APPLE_BYTES);
        let linux = Prototype::new(Abi::Aapcs64, sig()).unwrap();
        let widths: Vec<_> = linux
            .fast
            .as_ref()
            .unwrap()
            .args
            .iter()
            .map(|a| a.2)
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
}
