//! System V AMD64 psABI §3.2.3 (Linux, macOS, the BSDs on x86-64).
//!
//! Arguments: six integer registers (rdi, rsi, rdx, rcx, r8, r9 = `Gpr(0..6)`) and eight
//! SSE registers (xmm0..xmm7 = `Fpr(0..8)`), consumed independently; everything else goes
//! to 8-byte stack slots in argument order. A struct of at most 16 bytes is split into
//! eightbytes, each classified INTEGER or SSE; if its eightbytes do not all fit in the
//! remaining registers, the whole struct goes to the stack, but later arguments still
//! take registers. Bigger structs are MEMORY: copied by value onto the stack.
//! Variadic arguments follow the same rules; %al carries the number of SSE registers used.

use super::{
    finish_stack, stack_pieces, Abi, AbiError, ArgClass, CallPlan, Loc, Piece, RetClass, Signature,
};
use crate::types::{round_up, CType, Prim, StructType};

const GPRS: u8 = 6;
const FPRS: u8 = 8;

/// The psABI classes our types can produce (no X87, SSEUP or COMPLEX_X87: there is no
/// long double, vector or complex type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    NoClass,
    Integer,
    Sse,
}

/// The psABI's merge rule for two classes meeting in one eightbyte (X87 and MEMORY cases
/// cannot arise).
fn merge(a: Kind, b: Kind) -> Kind {
    match (a, b) {
        (x, y) if x == y => x,
        (Kind::NoClass, x) | (x, Kind::NoClass) => x,
        (Kind::Integer, _) | (_, Kind::Integer) => Kind::Integer,
        _ => Kind::Sse,
    }
}

/// The class of each eightbyte of a struct passed in registers, or `None` for MEMORY.
fn eightbytes(s: &StructType) -> Option<Vec<Kind>> {
    // Checked before flattening so a huge array field is never expanded.
    if s.size > 16 {
        return None;
    }
    let mut classes = vec![Kind::NoClass; s.size.div_ceil(8)];
    for (off, p) in s.flatten() {
        // An unaligned field makes the whole struct MEMORY; it would also be the only way
        // for a leaf to straddle two eightbytes.
        if off % p.align() != 0 {
            return None;
        }
        let c = if p.is_float() {
            Kind::Sse
        } else {
            Kind::Integer
        };
        classes[off / 8] = merge(classes[off / 8], c);
    }
    Some(classes)
}

/// One piece per classified eightbyte, INTEGER ones into consecutive GPRs from `gpr`,
/// SSE ones into consecutive vector registers from `fpr`. A NO_CLASS eightbyte (only
/// padding) takes no register and carries nothing.
fn register_pieces(size: usize, classes: &[Kind], gpr: u8, fpr: u8) -> Vec<Piece> {
    let (mut g, mut f) = (gpr, fpr);
    let mut pieces = Vec::with_capacity(classes.len());
    for (i, c) in classes.iter().enumerate() {
        let dst = match c {
            Kind::NoClass => continue,
            Kind::Integer => {
                g += 1;
                Loc::Gpr(g - 1)
            }
            Kind::Sse => {
                f += 1;
                Loc::Fpr(f - 1)
            }
        };
        pieces.push(Piece {
            src: (i * 8) as u32,
            size: (size - i * 8).min(8) as u8,
            dst,
        });
    }
    pieces
}

fn count(classes: &[Kind], class: Kind) -> u8 {
    classes.iter().filter(|c| **c == class).count() as u8
}

/// Register and stack allocation state while walking the arguments.
struct Alloc {
    gpr: u8,
    fpr: u8,
    stack: usize,
}

impl Alloc {
    /// Reserves a stack slot: aligned to 8 (16 for a 16-aligned type) and a multiple of 8
    /// long. Checked here, not only in `finish_stack`, so a huge struct fails before it
    /// is cut into pieces.
    fn stack_slot(&mut self, size: usize, align: usize) -> Result<u32, AbiError> {
        // gcc aligns a stack argument to its own alignment (an aligned(32) record at a
        // 32-byte offset: found by the differential tests); the trampoline starts the
        // area 64-byte aligned, which covers every alignment up to 64.
        let off = round_up(self.stack, align.clamp(8, 64));
        let end = off + round_up(size, 8);
        finish_stack(end)?;
        self.stack = end;
        Ok(off as u32)
    }

    fn scalar(&mut self, p: Prim) -> Result<ArgClass, AbiError> {
        if p == Prim::Void {
            return Err(AbiError::VoidInClassifier);
        }
        let loc = if p.is_float() && self.fpr < FPRS {
            self.fpr += 1;
            Loc::Fpr(self.fpr - 1)
        } else if !p.is_float() && self.gpr < GPRS {
            self.gpr += 1;
            Loc::Gpr(self.gpr - 1)
        } else {
            Loc::Stack(self.stack_slot(8, 8)?)
        };
        Ok(ArgClass::Scalar(vec![loc]))
    }

    fn structure(&mut self, s: &StructType) -> Result<ArgClass, AbiError> {
        if let Some(classes) = eightbytes(s) {
            let need_g = count(&classes, Kind::Integer);
            let need_f = count(&classes, Kind::Sse);
            // All or nothing: a struct is never split between registers and the stack.
            if self.gpr + need_g <= GPRS && self.fpr + need_f <= FPRS {
                let pieces = register_pieces(s.size, &classes, self.gpr, self.fpr);
                self.gpr += need_g;
                self.fpr += need_f;
                return Ok(ArgClass::Pieces(pieces));
            }
        }
        let at = self.stack_slot(s.size, s.align)?;
        Ok(ArgClass::Pieces(stack_pieces(s.size, at)))
    }
}

pub fn classify(sig: &Signature) -> Result<CallPlan, AbiError> {
    let mut alloc = Alloc {
        gpr: 0,
        fpr: 0,
        stack: 0,
    };
    let ret = match &sig.ret {
        CType::Prim(Prim::Void) => RetClass::Void,
        CType::Prim(p) if p.is_float() => RetClass::Scalar(Loc::Fpr(0)),
        CType::Prim(_) => RetClass::Scalar(Loc::Gpr(0)),
        CType::Struct(s) => match eightbytes(s) {
            // Return registers are rax/rdx and xmm0/xmm1, numbered like the first
            // argument registers.
            Some(classes) => RetClass::Pieces(register_pieces(s.size, &classes, 0, 0)),
            None => {
                // The hidden pointer takes rdi, so the arguments start at rsi.
                alloc.gpr = 1;
                RetClass::Indirect(Loc::Gpr(0))
            }
        },
    };
    let args = sig
        .args()
        .map(|t| match t {
            CType::Prim(p) => alloc.scalar(*p),
            CType::Struct(s) => alloc.structure(s),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // §3.2.3: "on return %rax will contain the address that has been passed in by the
    // caller in %rdi".
    let indirect_echo = matches!(ret, RetClass::Indirect(_)).then_some(Loc::Gpr(0));
    Ok(CallPlan {
        abi: Abi::SysV64,
        indirect_echo,
        ret,
        args,
        stack_size: finish_stack(alloc.stack)?,
        vector_count: alloc.fpr,
    })
}

/// Machine code of a callback thunk: `endbr64`, then loads `record` into r10, a scratch
/// register that carries no argument (§3.2.3 reserves it for the static chain), and jumps
/// to `entry` through r11, the other scratch register. Win64 uses the same bytes: there
/// too r10 and r11 are volatile and never carry arguments.
///
/// C reaches a thunk only by an indirect call, so with CET indirect-branch tracking on,
/// its first instruction must be `endbr64` (Intel SDM vol. 1 §18.3.1); the jump to the
/// callback entry is indirect too and lands on the entry's own `endbr64`. On a CPU
/// without CET the instruction is a NOP (it sits in the reserved-NOP opcode space).
pub fn thunk_code(record: u64, entry: u64) -> [u8; super::THUNK_SIZE] {
    let mut c = [0xCCu8; super::THUNK_SIZE]; // int3 padding
    c[0..4].copy_from_slice(&ENDBR64);
    c[4] = 0x49; // movabs $record, %r10
    c[5] = 0xBA;
    c[6..14].copy_from_slice(&record.to_le_bytes());
    c[14] = 0x49; // movabs $entry, %r11
    c[15] = 0xBB;
    c[16..24].copy_from_slice(&entry.to_le_bytes());
    c[24] = 0x41; // jmp *%r11
    c[25] = 0xFF;
    c[26] = 0xE3;
    c
}

/// `endbr64` (Intel SDM vol. 2A, ENDBR64: F3 0F 1E FA).
const ENDBR64: [u8; 4] = [0xF3, 0x0F, 0x1E, 0xFA];

#[cfg(test)]
mod tests;

/// [`super::RegisterCall`] for SysV x86-64: rdi, rsi, rdx, rcx, r8, r9 and xmm0-7 (the
/// vector images as doubles, bits unchanged), through a variadic function type so that
/// %al holds the number of vector registers used (8), as a variadic callee needs (§3.5.7);
/// a non-variadic callee ignores it. The result is rax, or xmm0's low 8 bytes.
///
/// # Safety
/// `func` must be a function whose C type is that of a plan for which
/// `CallPlan::register_call` gave this function, with its arguments' images in `gpr`/`fpr`.
#[cfg(all(target_arch = "x86_64", unix))]
pub unsafe fn register_call(
    func: usize,
    gpr: &[u64; super::REGISTER_CALL_GPRS],
    fpr: &[u64; super::REGISTER_CALL_FPRS],
    float_ret: bool,
) -> u64 {
    type IntFn = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, ...) -> u64;
    type FloatFn = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, ...) -> f64;
    let (g, d) = (gpr, |i: usize| f64::from_bits(fpr[i]));
    macro_rules! call_as {
        ($ty:ty) => {
            std::mem::transmute::<usize, $ty>(func)(
                g[0],
                g[1],
                g[2],
                g[3],
                g[4],
                g[5],
                d(0),
                d(1),
                d(2),
                d(3),
                d(4),
                d(5),
                d(6),
                d(7),
            )
        };
    }
    // SAFETY: the caller's contract; `func` is a non-null code address of that type.
    unsafe {
        if float_ret {
            call_as!(FloatFn).to_bits()
        } else {
            call_as!(IntFn)
        }
    }
}
