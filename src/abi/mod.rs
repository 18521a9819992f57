//! Classifiers: a C signature becomes a [`CallPlan`] saying where every argument and the
//! return value live. One file per ABI; all of them compile on every host so each ABI's
//! rules are unit-tested everywhere. The engine only reads `CallPlan`s and never asks
//! which ABI produced one.
//!
//! Register numbering is positional within the ABI's argument registers:
//! - `Gpr(i)`: SysV x86-64 rdi, rsi, rdx, rcx, r8, r9 (0..6); Win64 rcx, rdx, r8, r9 (0..4);
//!   AArch64 x0..x7 (0..8) and x8, the indirect-result register, as `Gpr(8)`.
//! - `Fpr(i)`: SysV xmm0..xmm7; Win64 xmm0..xmm3; AArch64 v0..v7. Only the low 8 bytes
//!   of a vector register are ever used.
//! - Return registers: `Gpr(0)`/`Gpr(1)` are rax/rdx or x0/x1; `Fpr(0..4)` are
//!   xmm0/xmm1 or v0..v3.

pub mod aapcs64;
pub mod apple_arm64;
pub mod sysv_x64;
pub mod win64;

mod error;
pub use error::AbiError;

#[cfg(test)]
mod test_util;

use crate::types::CType;

/// Bytes per callback thunk.
pub const THUNK_SIZE: usize = 32;

/// Hard limit on the number of arguments of one call (fixed + variadic).
pub const MAX_ARGS: usize = 64;
/// Hard limit on the size of the outgoing stack-argument area, in bytes.
pub const MAX_STACK_BYTES: usize = 1 << 20;

/// The calling conventions the engine knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Abi {
    SysV64,
    Win64,
    Aapcs64,
    /// Apple's arm64 variant of AAPCS64 (macOS, iOS): packed stack arguments, variadic
    /// arguments on the stack.
    AppleArm64,
}

impl Abi {
    /// The ABI of the machine this crate was compiled for, if the engine supports it.
    pub fn host() -> Option<Abi> {
        // `LUNE_FFI_FORCE_ABI=apple_arm64` at build time (build.rs; aarch64 Linux only):
        // the macos-arm64 test lane runs Apple's convention against a C library compiled
        // with it, on Linux under QEMU.
        if cfg!(lune_ffi_force_apple_arm64) {
            Some(Abi::AppleArm64)
        } else if cfg!(all(target_arch = "x86_64", windows)) {
            Some(Abi::Win64)
        } else if cfg!(all(target_arch = "x86_64", unix)) {
            Some(Abi::SysV64)
        } else if cfg!(all(target_arch = "aarch64", target_os = "linux")) {
            Some(Abi::Aapcs64)
        } else if cfg!(all(target_arch = "aarch64", target_vendor = "apple")) {
            Some(Abi::AppleArm64)
        } else {
            None
        }
    }

    /// Machine code of a callback thunk that loads `record` into the ABI's scratch
    /// register and jumps to the callback entry of `asm/<abi>.S`.
    pub fn thunk_code(self, record: u64, entry: u64) -> [u8; THUNK_SIZE] {
        match self {
            Abi::SysV64 => sysv_x64::thunk_code(record, entry),
            Abi::Win64 => win64::thunk_code(record, entry),
            // Apple arm64 runs the same instructions: x16/x17 as scratch, x18 untouched.
            Abi::Aapcs64 | Abi::AppleArm64 => aapcs64::thunk_code(record, entry),
        }
    }

    pub fn classify(self, sig: &Signature) -> Result<CallPlan, AbiError> {
        check_signature(sig)?;
        match self {
            Abi::SysV64 => sysv_x64::classify(sig),
            Abi::Win64 => win64::classify(sig),
            Abi::Aapcs64 => aapcs64::classify(sig),
            Abi::AppleArm64 => apple_arm64::classify(sig),
        }
    }
}

/// A C function type: the return type, the fixed parameters and, for a variadic
/// function, the types of this call's variadic arguments (already promoted by the caller
/// of the classifier: f32 → f64, small integers → i32/u32).
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub ret: CType,
    pub fixed: Vec<CType>,
    /// `None` for a non-variadic function; `Some(types)` (possibly empty) for a variadic one.
    pub variadic: Option<Vec<CType>>,
}

impl Signature {
    pub fn is_variadic(&self) -> bool {
        self.variadic.is_some()
    }

    /// All arguments, fixed first.
    pub fn args(&self) -> impl Iterator<Item = &CType> {
        self.fixed.iter().chain(self.variadic.iter().flatten())
    }

    pub fn arg_count(&self) -> usize {
        self.fixed.len() + self.variadic.as_ref().map_or(0, |v| v.len())
    }
}

/// Where a value, or a piece of one, goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    Gpr(u8),
    Fpr(u8),
    /// Byte offset in the outgoing stack-argument area (the first stack argument is at 0).
    Stack(u32),
}

/// A copy of `size` bytes from offset `src` of a value's C representation to `dst`.
/// For a register the bytes land in its low bytes and the rest is zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub src: u32,
    pub size: u8,
    pub dst: Loc,
}

/// How one argument is passed.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgClass {
    /// A primitive, widened to 8 bytes (integers sign- or zero-extended to 64 bits, f32 in
    /// the low 4 bytes), placed at every listed location. Usually one location; Win64
    /// variadic floats go to both the XMM and the integer register of their slot.
    Scalar(Vec<Loc>),
    /// A value copied in pieces of its C representation into registers and/or the stack,
    /// each store exactly the piece's size: a struct, or a primitive that Apple arm64
    /// packs on the stack at its own size (one piece at `src` 0; the engine takes the low
    /// bytes of the primitive's 8-byte image).
    Pieces(Vec<Piece>),
    /// A struct the caller copies to memory it owns; the copy's address goes to the location.
    Indirect(Loc),
}

/// How the return value comes back.
#[derive(Clone, Debug, PartialEq)]
pub enum RetClass {
    Void,
    /// A primitive in the low bytes of this register (upper bits unspecified: the engine
    /// reads only the type's size and extends itself).
    Scalar(Loc),
    /// A struct assembled from registers: `Piece { src, size, dst }` here means
    /// "copy `size` bytes from the low bytes of register `dst` to offset `src` of the result".
    Pieces(Vec<Piece>),
    /// A struct written by the callee to memory the caller provides; the address is
    /// passed in this register (SysV rdi, Win64 rcx — shifting the arguments — or AArch64 x8).
    Indirect(Loc),
}

/// A classified signature. Compiled once per prototype and reused for every call.
#[derive(Clone, Debug, PartialEq)]
pub struct CallPlan {
    pub abi: Abi,
    pub ret: RetClass,
    /// One entry per argument, fixed then variadic.
    pub args: Vec<ArgClass>,
    /// Bytes of outgoing stack arguments, rounded up to 16.
    pub stack_size: u32,
    /// SysV: the value for %al (number of vector registers used); 0 elsewhere.
    pub vector_count: u8,
    /// For a result returned through memory: the register in which the callee must hand
    /// the hidden result pointer back (rax on SysV §3.2.3 and Win64; AAPCS64 has no such
    /// rule, x8 is not echoed). Callbacks follow it.
    pub indirect_echo: Option<Loc>,
}

fn check_signature(sig: &Signature) -> Result<(), AbiError> {
    if sig.arg_count() > MAX_ARGS {
        return Err(AbiError::TooManyArguments {
            count: sig.arg_count(),
            max: MAX_ARGS,
        });
    }
    for (i, t) in sig.args().enumerate() {
        if t.is_void() {
            return Err(AbiError::VoidArgument(i + 1));
        }
        if t.size() == 0 {
            return Err(AbiError::ZeroSizedArgument(i + 1));
        }
    }
    if let CType::Struct(s) = &sig.ret {
        if s.size == 0 {
            return Err(AbiError::ZeroSizedReturn);
        }
    }
    Ok(())
}

/// Rounds a stack size up to the 16 bytes every supported ABI keeps.
pub(crate) fn finish_stack(bytes: usize) -> Result<u32, AbiError> {
    let rounded = crate::types::round_up(bytes, 16);
    if rounded > MAX_STACK_BYTES {
        return Err(AbiError::StackTooLarge {
            bytes: rounded,
            max: MAX_STACK_BYTES,
        });
    }
    Ok(rounded as u32)
}

/// A whole struct copied to the stack at `at`, as 8-byte pieces (the last one trimmed to
/// the struct's end) so the engine copies it like register pieces, whatever its size.
pub(crate) fn stack_pieces(size: usize, at: u32) -> Vec<Piece> {
    (0..size)
        .step_by(8)
        .map(|off| Piece {
            src: off as u32,
            size: (size - off).min(8) as u8,
            dst: Loc::Stack(at + off as u32),
        })
        .collect()
}

/// Integer argument registers a register call passes (SysV's six, and room to spare).
pub const REGISTER_CALL_GPRS: usize = 8;
/// Vector argument registers a register call passes.
pub const REGISTER_CALL_FPRS: usize = 8;

/// Calls `func` with every integer and vector argument register of the host ABI set from
/// `gpr` and `fpr`, and returns the first integer (or, with `float_ret`, vector) return
/// register: see [`CallPlan::register_call`].
pub type RegisterCall = unsafe fn(
    func: usize,
    gpr: &[u64; REGISTER_CALL_GPRS],
    fpr: &[u64; REGISTER_CALL_FPRS],
    float_ret: bool,
) -> u64;

impl CallPlan {
    /// A call of this plan as an ordinary C call from Rust, without the trampoline: when
    /// every argument is one scalar in an argument register, nothing goes on the stack and
    /// the result is void or one scalar in the first return register. On SysV a callee
    /// reads the registers its type names and no others, so passing all of them (the
    /// unused ones 0, as the trampoline does) is the same call. Win64 assigns registers
    /// by position, so it has none. AAPCS64 (and Apple's) could, but a Rust call cannot
    /// zero x8, the indirect-result register the trampoline zeroes (so a callee wrongly
    /// declared as returning a scalar writes through NULL rather than through whatever
    /// x8 held): those keep the trampoline. Only for the ABI Rust itself calls with.
    pub fn register_call(&self) -> Option<RegisterCall> {
        let call = register_call_for(self.abi)?;
        let (gprs, fprs) = match self.abi {
            Abi::SysV64 => (6, 8),
            Abi::Aapcs64 | Abi::AppleArm64 | Abi::Win64 => return None,
        };
        if self.stack_size != 0 {
            return None;
        }
        let in_regs = |l: &Loc| match *l {
            Loc::Gpr(r) => (r as usize) < gprs,
            Loc::Fpr(r) => (r as usize) < fprs,
            Loc::Stack(_) => false,
        };
        let args_ok = self.args.iter().all(|a| match a {
            ArgClass::Scalar(locs) => locs.len() == 1 && in_regs(&locs[0]),
            _ => false,
        });
        let ret_ok = matches!(
            self.ret,
            RetClass::Void | RetClass::Scalar(Loc::Gpr(0)) | RetClass::Scalar(Loc::Fpr(0))
        );
        (args_ok && ret_ok).then_some(call)
    }
}

/// The register call of `abi`, if it is the ABI this crate was compiled to call with.
fn register_call_for(abi: Abi) -> Option<RegisterCall> {
    if Abi::host() != Some(abi) {
        return None;
    }
    #[cfg(all(target_arch = "x86_64", unix))]
    return Some(sysv_x64::register_call);
    #[allow(unreachable_code)]
    None
}
