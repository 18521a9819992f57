//! Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64), as used on Linux.
//!
//! Arguments: x0..x7 (`Gpr(0..8)`, counted by NGRN) and v0..v7 (`Fpr(0..8)`, counted by
//! NSRN), then 8-byte stack slots (NSAA). An HFA (1-4 members of one float type) takes
//! one v register per member; other composites up to 16 bytes take one or two x
//! registers; larger ones are copied by the caller and passed by address. Unlike SysV,
//! once a composite misses its registers that register file is closed (NGRN or NSRN set
//! to 8) for the rest of the call. Results larger than 16 bytes (and not HFAs) go to
//! memory whose address the caller passes in x8 (`Gpr(8)`), which shifts nothing.
//! Variadic arguments follow the fixed rules on Linux. Apple's variant (`apple_arm64.rs`)
//! reuses the register rules here and supplies its own [`StackRules`].

use super::{
    finish_stack, stack_pieces, Abi, AbiError, ArgClass, CallPlan, Loc, Piece, RetClass, Signature,
};
use crate::types::{round_up, CType, Prim, StructType};

const GPRS: u8 = 8;
const FPRS: u8 = 8;
/// x8, the indirect result location register.
const XR: u8 = 8;

/// The members of a homogeneous floating-point aggregate: (offset, size) of each.
///
/// AAPCS64 §5.9.5: every fundamental member has the same floating type, at most four of
/// them. Union members overlap, so the HFA's members are the distinct slots its floats
/// occupy, and they must tile the whole aggregate with no padding (gcc's
/// `aapcs_vfp_sub_candidate`: a union counts as its largest member, and the count times
/// the element size must equal the type's size). Probes (aarch64-linux-gnu-gcc -O2 -S):
/// `union { float a; float b[2]; }` goes in s0/s1, `union { float a; float b; }` in s0,
/// `union { double a[2]; struct { double x, y; } s; }` in d0/d1, and
/// `union { float f; double d; }` in x0.
pub(super) fn hfa(s: &StructType) -> Option<Vec<(usize, usize)>> {
    // Four doubles at most; checked before flattening so a huge array is never expanded.
    if s.size > 32 {
        return None;
    }
    let leaves = s.flatten();
    let base = leaves.first()?.1;
    if !base.is_float() || leaves.iter().any(|(_, p)| *p != base) {
        return None;
    }
    let n = base.size();
    if !s.size.is_multiple_of(n) || s.size / n > 4 {
        return None;
    }
    let mut covered = [false; 4];
    for (off, _) in &leaves {
        if off % n != 0 {
            return None;
        }
        covered[off / n] = true;
    }
    if !covered[..s.size / n].iter().all(|c| *c) {
        return None;
    }
    Some((0..s.size / n).map(|i| (i * n, n)).collect())
}

/// A composite's alignment for argument passing: the largest alignment of its members
/// (gcc's `aarch64_function_arg_alignment` takes each field's DECL_ALIGN), ignoring
/// `aligned` on the record itself. Probes (aarch64-linux-gnu-gcc 12 -O2 -S), after an
/// `int`: `struct __attribute__((aligned(16))) { long a; }` goes in x1/x2, but
/// `struct { __attribute__((aligned(16))) long a; }` in x2/x3 (the differential tests
/// found the second).
/// The members' types' alignment alone (no `aligned` attribute anywhere): what Apple's
/// clang rounds the register pair by (the differential tests: a union with an
/// `aligned(16)` member goes in the next register, not the next even one, on Darwin).
pub(super) fn type_align(s: &StructType) -> usize {
    s.fields
        .iter()
        .map(|f| match &f.ty {
            CType::Prim(p) => p.align(),
            CType::Struct(inner) => type_align(inner),
        })
        .max()
        .unwrap_or(1)
}

pub(super) fn natural_align(s: &StructType) -> usize {
    s.fields
        .iter()
        .map(|f| match &f.ty {
            CType::Prim(p) => f.align.max(p.align()),
            CType::Struct(_) => f.align,
        })
        .max()
        .unwrap_or(1)
}

/// A composite of at most 16 bytes as doublewords in consecutive x registers from
/// `first`, the last one trimmed to the struct's end.
fn doubleword_pieces(size: usize, first: u8) -> Vec<Piece> {
    (0..size)
        .step_by(8)
        .enumerate()
        .map(|(i, off)| Piece {
            src: off as u32,
            size: (size - off).min(8) as u8,
            dst: Loc::Gpr(first + i as u8),
        })
        .collect()
}

/// One HFA member per vector register from `first`.
fn hfa_pieces(members: &[(usize, usize)], first: u8) -> Vec<Piece> {
    members
        .iter()
        .enumerate()
        .map(|(i, (off, size))| Piece {
            src: *off as u32,
            size: *size as u8,
            dst: Loc::Fpr(first + i as u8),
        })
        .collect()
}

/// Where the AArch64 conventions differ: what an argument that misses its registers
/// takes on the stack, and how variadic arguments go. The register rules (stage C's
/// NGRN/NSRN bookkeeping, HFAs, the closing of a register file) are this file's and
/// shared; `Linux` below is AAPCS64 itself, `apple_arm64::Apple` Apple's variant.
pub(super) trait StackRules {
    /// A fixed primitive that found no register left.
    fn prim(alloc: &mut Alloc, p: Prim) -> Result<ArgClass, AbiError>;
    /// (size, alignment) reserved for a composite of at most 16 bytes (or an HFA, then
    /// `member` is its member size) that found no registers left.
    fn composite_slot(s: &StructType, member: Option<usize>) -> (usize, usize);
    /// How a variadic argument is passed, or None where it follows the fixed rules.
    fn variadic(alloc: &mut Alloc, t: &CType) -> Option<Result<ArgClass, AbiError>>;
    /// The alignment C.8 (the even register pair) looks at.
    fn pair_align(s: &StructType) -> usize {
        natural_align(s)
    }
}

/// AAPCS64 as on Linux: 8-byte stack slots, variadic arguments like fixed ones.
struct Linux;

impl StackRules for Linux {
    fn prim(alloc: &mut Alloc, _p: Prim) -> Result<ArgClass, AbiError> {
        // C.5 (floats) and C.15 (integers, pointers): an 8-byte slot.
        Ok(ArgClass::Scalar(vec![Loc::Stack(alloc.stack_slot(8, 8)?)]))
    }

    fn composite_slot(s: &StructType, _member: Option<usize>) -> (usize, usize) {
        // C.4/C.12 align NSAA to 8 (16 for a 16-aligned type, by its members' natural
        // alignment as for C.8); stage B (composites) and C.3 (HFAs) round the size up
        // to 8.
        let align = if natural_align(s) >= 16 { 16 } else { 8 };
        (round_up(s.size, 8), align)
    }

    fn variadic(_alloc: &mut Alloc, _t: &CType) -> Option<Result<ArgClass, AbiError>> {
        None
    }
}

/// Register and stack allocation state: the standard's NGRN, NSRN and NSAA.
pub(super) struct Alloc {
    ngrn: u8,
    nsrn: u8,
    nsaa: usize,
}

impl Alloc {
    /// Reserves `size` bytes of stack at the next multiple of `align`.
    pub(super) fn stack_slot(&mut self, size: usize, align: usize) -> Result<u32, AbiError> {
        let off = round_up(self.nsaa, align);
        let end = off + size;
        finish_stack(end)?;
        self.nsaa = end;
        Ok(off as u32)
    }

    /// A pointer-sized integer in the next x register, else an 8-byte slot (the same on
    /// both conventions: a pointer's natural size and alignment are 8).
    fn gpr_or_stack(&mut self) -> Result<Loc, AbiError> {
        if self.ngrn < GPRS {
            self.ngrn += 1;
            Ok(Loc::Gpr(self.ngrn - 1))
        } else {
            Ok(Loc::Stack(self.stack_slot(8, 8)?))
        }
    }

    fn scalar<R: StackRules>(&mut self, p: Prim) -> Result<ArgClass, AbiError> {
        // C.1/C.5-C.6 for floats, C.7/C.14-C.15 for integers and pointers.
        if p == Prim::Void {
            return Err(AbiError::VoidInClassifier);
        }
        let loc = if !p.is_float() && self.ngrn < GPRS {
            self.ngrn += 1;
            Loc::Gpr(self.ngrn - 1)
        } else if p.is_float() && self.nsrn < FPRS {
            self.nsrn += 1;
            Loc::Fpr(self.nsrn - 1)
        } else {
            return R::prim(self, p);
        };
        Ok(ArgClass::Scalar(vec![loc]))
    }

    fn structure<R: StackRules>(&mut self, s: &StructType) -> Result<ArgClass, AbiError> {
        if let Some(members) = hfa(s) {
            // C.2: all members in registers or none.
            if usize::from(self.nsrn) + members.len() <= usize::from(FPRS) {
                let pieces = hfa_pieces(&members, self.nsrn);
                self.nsrn += members.len() as u8;
                return Ok(ArgClass::Pieces(pieces));
            }
            // C.3: no later float argument may use a register either.
            self.nsrn = FPRS;
            let (size, align) = R::composite_slot(s, Some(members[0].1));
            let at = self.stack_slot(size, align)?;
            return Ok(ArgClass::Pieces(stack_pieces(s.size, at)));
        }
        if s.size > 16 {
            // Stage B: a composite over 16 bytes is replaced by the address of a caller-owned
            // copy, then passed like a pointer argument.
            return Ok(ArgClass::Indirect(self.gpr_or_stack()?));
        }
        // C.8: a 16-aligned composite starts at an even register. The alignment that
        // counts is the members' natural one: gcc ignores `aligned` on the record
        // itself (aarch64-linux-gnu-gcc -O2 -S: `struct __attribute__((aligned(16)))
        // { long a; }` after an int goes in x1/x2).
        let align = R::pair_align(s);
        if align >= 16 {
            self.ngrn = round_up(usize::from(self.ngrn), 2) as u8;
        }
        let dwords = s.size.div_ceil(8) as u8;
        // C.10 when it fits; otherwise C.11 closes the GPRs for the rest of the call.
        if self.ngrn + dwords <= GPRS {
            let pieces = doubleword_pieces(s.size, self.ngrn);
            self.ngrn += dwords;
            return Ok(ArgClass::Pieces(pieces));
        }
        self.ngrn = GPRS;
        let (size, align) = R::composite_slot(s, None);
        let at = self.stack_slot(size, align)?;
        Ok(ArgClass::Pieces(stack_pieces(s.size, at)))
    }
}

pub fn classify(sig: &Signature) -> Result<CallPlan, AbiError> {
    classify_with::<Linux>(sig, Abi::Aapcs64)
}

/// Stage C over the signature, with `R`'s stack and variadic rules.
pub(super) fn classify_with<R: StackRules>(
    sig: &Signature,
    abi: Abi,
) -> Result<CallPlan, AbiError> {
    let ret = match &sig.ret {
        CType::Prim(Prim::Void) => RetClass::Void,
        CType::Prim(p) if p.is_float() => RetClass::Scalar(Loc::Fpr(0)),
        CType::Prim(_) => RetClass::Scalar(Loc::Gpr(0)),
        CType::Struct(s) => match hfa(s) {
            Some(members) => RetClass::Pieces(hfa_pieces(&members, 0)),
            None if s.size <= 16 => RetClass::Pieces(doubleword_pieces(s.size, 0)),
            None => RetClass::Indirect(Loc::Gpr(XR)),
        },
    };
    let mut alloc = Alloc {
        ngrn: 0,
        nsrn: 0,
        nsaa: 0,
    };
    let fixed = sig.fixed.len();
    let args = sig
        .args()
        .enumerate()
        .map(|(i, t)| {
            if i >= fixed {
                if let Some(class) = R::variadic(&mut alloc, t) {
                    return class;
                }
            }
            match t {
                CType::Prim(p) => alloc.scalar::<R>(*p),
                CType::Struct(s) => alloc.structure::<R>(s),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CallPlan {
        abi,
        ret,
        args,
        stack_size: finish_stack(alloc.nsaa)?,
        vector_count: 0,
        indirect_echo: None,
    })
}

/// Callback thunk: loads `record` into x16 and `entry` into x17 from a literal pool and
/// branches. x16/x17 (IP0/IP1) are the intra-procedure-call scratch registers, which
/// AAPCS64 §6.1.1 lets veneers clobber, so they never carry an argument.
pub fn thunk_code(record: u64, entry: u64) -> [u8; super::THUNK_SIZE] {
    let mut c = [0u8; super::THUNK_SIZE];
    let insns: [u32; 4] = [
        0x5800_0090, // ldr x16, #16 (literal at offset 16)
        0x5800_00B1, // ldr x17, #20 (literal at offset 24)
        0xD61F_0220, // br x17
        0xD503_201F, // nop (keeps the literals 8-byte aligned)
    ];
    for (i, w) in insns.iter().enumerate() {
        c[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    c[16..24].copy_from_slice(&record.to_le_bytes());
    c[24..32].copy_from_slice(&entry.to_le_bytes());
    c
}

#[cfg(test)]
mod tests;
