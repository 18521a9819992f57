//! Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64), as used on Linux.
//! Apple's variant (packed stack arguments, different variadics) is not this file.
//!
//! Arguments: x0..x7 (`Gpr(0..8)`, counted by NGRN) and v0..v7 (`Fpr(0..8)`, counted by
//! NSRN), then 8-byte stack slots (NSAA). An HFA (1-4 members of one float type) takes
//! one v register per member; other composites up to 16 bytes take one or two x
//! registers; larger ones are copied by the caller and passed by address. Unlike SysV,
//! once a composite misses its registers that register file is closed (NGRN or NSRN set
//! to 8) for the rest of the call. Results larger than 16 bytes (and not HFAs) go to
//! memory whose address the caller passes in x8 (`Gpr(8)`), which shifts nothing.
//! Variadic arguments follow the fixed rules on Linux.

use super::{finish_stack, stack_pieces, Abi, ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::types::{round_up, CType, Prim, StructType};

const GPRS: u8 = 8;
const FPRS: u8 = 8;
/// x8, the indirect result location register.
const XR: u8 = 8;

/// The members of a homogeneous floating-point aggregate: (offset, size) of each.
fn hfa(s: &StructType) -> Option<Vec<(usize, usize)>> {
    // Four doubles at most; checked before flattening so a huge array is never expanded.
    if s.size > 32 {
        return None;
    }
    let leaves = s.flatten();
    let base = leaves.first()?.1;
    if !base.is_float() || leaves.len() > 4 || leaves.iter().any(|(_, p)| *p != base) {
        return None;
    }
    Some(leaves.iter().map(|(off, p)| (*off, p.size())).collect())
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

/// Register and stack allocation state: the standard's NGRN, NSRN and NSAA.
struct Alloc {
    ngrn: u8,
    nsrn: u8,
    nsaa: usize,
}

impl Alloc {
    /// Reserves stack space for an argument: rules C.4/C.12 align NSAA to 8 (16 for a
    /// 16-aligned type) and stage B (composites), C.3 (HFAs) and C.14 (scalars) round
    /// the size up to 8.
    fn stack_slot(&mut self, size: usize, align: usize) -> Result<u32, String> {
        let off = round_up(self.nsaa, if align >= 16 { 16 } else { 8 });
        let end = off + round_up(size, 8);
        finish_stack(end)?;
        self.nsaa = end;
        Ok(off as u32)
    }

    fn gpr_or_stack(&mut self) -> Result<Loc, String> {
        if self.ngrn < GPRS {
            self.ngrn += 1;
            Ok(Loc::Gpr(self.ngrn - 1))
        } else {
            Ok(Loc::Stack(self.stack_slot(8, 8)?))
        }
    }

    fn scalar(&mut self, p: Prim) -> Result<ArgClass, String> {
        // C.1/C.5-C.6 for floats, C.7/C.14-C.15 for integers and pointers.
        if p == Prim::Void {
            return Err("an argument cannot have type void".into());
        }
        let loc = if !p.is_float() {
            self.gpr_or_stack()?
        } else if self.nsrn < FPRS {
            self.nsrn += 1;
            Loc::Fpr(self.nsrn - 1)
        } else {
            Loc::Stack(self.stack_slot(8, 8)?)
        };
        Ok(ArgClass::Scalar(vec![loc]))
    }

    fn structure(&mut self, s: &StructType) -> Result<ArgClass, String> {
        if let Some(members) = hfa(s) {
            // C.2: all members in registers or none.
            if usize::from(self.nsrn) + members.len() <= usize::from(FPRS) {
                let pieces = hfa_pieces(&members, self.nsrn);
                self.nsrn += members.len() as u8;
                return Ok(ArgClass::Pieces(pieces));
            }
            // C.3: no later float argument may use a register either.
            self.nsrn = FPRS;
            let at = self.stack_slot(s.size, s.align)?;
            return Ok(ArgClass::Pieces(stack_pieces(s.size, at)));
        }
        if s.size > 16 {
            // Stage B: a composite over 16 bytes is replaced by the address of a caller-owned
            // copy, then passed like a pointer argument.
            return Ok(ArgClass::Indirect(self.gpr_or_stack()?));
        }
        // C.8: a 16-aligned composite starts at an even register. Unreachable with our
        // types (alignment is at most 8), kept so the rule is not forgotten.
        if s.align >= 16 {
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
        let at = self.stack_slot(s.size, s.align)?;
        Ok(ArgClass::Pieces(stack_pieces(s.size, at)))
    }
}

pub fn classify(sig: &Signature) -> Result<CallPlan, String> {
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
    let args = sig
        .args()
        .map(|t| match t {
            CType::Prim(p) => alloc.scalar(*p),
            CType::Struct(s) => alloc.structure(s),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CallPlan {
        abi: Abi::Aapcs64,
        ret,
        args,
        stack_size: finish_stack(alloc.nsaa)?,
        vector_count: 0,
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
mod tests {
    //! Expectations come from the AAPCS64 rules cited beside them (stage C numbered
    //! C.1-C.15 as in the current edition) and were checked against `aarch64-linux-gnu-gcc -O2 -S` on small
    //! C probes; "gcc:" notes what the probe showed.

    use super::super::test_util::*;
    use super::super::{Abi, ArgClass, CallPlan, Piece, RetClass, Signature, MAX_ARGS};
    use crate::types::{CType, Prim};

    fn plan(s: Signature) -> CallPlan {
        let plan = Abi::Aapcs64.classify(&s).unwrap();
        assert_eq!(plan.abi, Abi::Aapcs64);
        assert_eq!(plan.vector_count, 0);
        plan
    }

    /// One HFA member of `size` bytes per v register from `first`.
    fn hfa_regs(n: u8, size: u8, first: u8) -> Vec<Piece> {
        (0..n)
            .map(|i| pc(u32::from(i) * u32::from(size), size, f(first + i)))
            .collect()
    }

    fn longs(n: usize) -> Vec<CType> {
        vec![p(Prim::I64); n]
    }

    fn doubles(n: usize) -> Vec<CType> {
        vec![p(Prim::F64); n]
    }

    #[test]
    fn every_integer_primitive_in_x0() {
        // C.7 / result in x0.
        for x in INT_PRIMS {
            let pl = plan(sig(p(x), vec![p(x)]));
            assert_eq!(pl.ret, RetClass::Scalar(g(0)), "{x:?}");
            assert_eq!(pl.args, vec![sc(g(0))], "{x:?}");
            assert_eq!(pl.stack_size, 0);
        }
    }

    #[test]
    fn floats_in_v0() {
        // C.1 / result in v0.
        for x in [Prim::F32, Prim::F64] {
            let pl = plan(sig(p(x), vec![p(x)]));
            assert_eq!(pl.ret, RetClass::Scalar(f(0)));
            assert_eq!(pl.args, vec![sc(f(0))]);
        }
    }

    #[test]
    fn void_return_and_no_args() {
        let pl = plan(sig(void(), vec![]));
        assert_eq!(pl.ret, RetClass::Void);
        assert!(pl.args.is_empty());
        assert_eq!(pl.stack_size, 0);
    }

    #[test]
    fn mixed_ints_and_doubles_spill_in_argument_order() {
        // (int, double) x 10: eight of each kind in registers; the last two pairs take
        // stack slots in argument order.
        let mut args = Vec::new();
        for _ in 0..10 {
            args.push(p(Prim::I32));
            args.push(p(Prim::F64));
        }
        let pl = plan(sig(p(Prim::I32), args));
        let mut want = Vec::new();
        for k in 0..8 {
            want.push(sc(g(k)));
            want.push(sc(f(k)));
        }
        want.extend([sc(s(0)), sc(s(8)), sc(s(16)), sc(s(24))]);
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn twenty_floats() {
        // v0..v7, then twelve 8-byte slots (C.5: a float's slot is 8 bytes on Linux).
        let pl = plan(sig(p(Prim::F32), vec![p(Prim::F32); 20]));
        let mut want: Vec<_> = (0..8).map(|i| sc(f(i))).collect();
        want.extend((0..12).map(|k| sc(s(8 * k))));
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 96);
    }

    #[test]
    fn ten_pointers() {
        let pl = plan(sig(p(Prim::Pointer), vec![p(Prim::Pointer); 10]));
        let mut want: Vec<_> = (0..8).map(|i| sc(g(i))).collect();
        want.extend([sc(s(0)), sc(s(8))]);
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn nine_ints_round_the_stack_to_16() {
        let pl = plan(sig(void(), longs(9)));
        assert_eq!(pl.args[8], sc(s(0)));
        assert_eq!(pl.stack_size, 16);
    }

    /// (name, struct, argument class when first, return class).
    fn struct_table() -> Vec<(&'static str, CType, ArgClass, RetClass)> {
        let inner2f = st(&[Prim::F32, Prim::F32]);
        let inner_u64_u8 = st(&[Prim::U64, Prim::U8]);
        let gp = |v: &[Piece]| (pieces(v), rpieces(v));
        let hf = |n, size| {
            (
                pieces(&hfa_regs(n, size, 0)),
                rpieces(&hfa_regs(n, size, 0)),
            )
        };
        let big = (ArgClass::Indirect(g(0)), RetClass::Indirect(g(8)));
        let rows: Vec<(&'static str, CType, (ArgClass, RetClass))> = vec![
            // C.10: composites <= 16 bytes in consecutive x registers, the last piece
            // trimmed to the struct's size.
            ("{u8}", st(&[Prim::U8]), gp(&[pc(0, 1, g(0))])),
            ("{u8,u8,u8}", st(&[Prim::U8; 3]), gp(&[pc(0, 3, g(0))])),
            (
                "{u16,u8}",
                st(&[Prim::U16, Prim::U8]),
                gp(&[pc(0, 4, g(0))]),
            ),
            ("{u8[5]}", arr(Prim::U8, 5), gp(&[pc(0, 5, g(0))])),
            ("{u8 x7}", st(&[Prim::U8; 7]), gp(&[pc(0, 7, g(0))])),
            (
                "{int,int}",
                st(&[Prim::I32, Prim::I32]),
                gp(&[pc(0, 8, g(0))]),
            ),
            // HFAs: one member per v register (C.2), results in v0..v3.
            ("{float}", st(&[Prim::F32]), hf(1, 4)),
            ("{double}", st(&[Prim::F64]), hf(1, 8)),
            ("{float,float}", st(&[Prim::F32, Prim::F32]), hf(2, 4)),
            // gcc r_f3: s0, s1, s2.
            ("{float,float,float}", st(&[Prim::F32; 3]), hf(3, 4)),
            ("{float x4}", st(&[Prim::F32; 4]), hf(4, 4)),
            ("{float a[4]}", arr(Prim::F32, 4), hf(4, 4)),
            // Five members: not an HFA, 20 bytes > 16: a copy by address (gcc c3: x0).
            ("{float x5}", st(&[Prim::F32; 5]), big.clone()),
            ("{double,double}", st(&[Prim::F64, Prim::F64]), hf(2, 8)),
            // gcc r_da4: 32-byte HFA in d0..d3.
            ("{double x4}", st(&[Prim::F64; 4]), hf(4, 8)),
            ("24-byte HFA", st(&[Prim::F64; 3]), hf(3, 8)),
            (
                "{int,float}",
                st(&[Prim::I32, Prim::F32]),
                gp(&[pc(0, 8, g(0))]),
            ),
            // Mixed float types are not homogeneous: gcc r_fd returns in x0, x1.
            (
                "{float,double}",
                st(&[Prim::F32, Prim::F64]),
                gp(&[pc(0, 8, g(0)), pc(8, 8, g(1))]),
            ),
            (
                "{double,int}",
                st(&[Prim::F64, Prim::I32]),
                gp(&[pc(0, 8, g(0)), pc(8, 8, g(1))]),
            ),
            (
                "{int,double}",
                st(&[Prim::I32, Prim::F64]),
                gp(&[pc(0, 8, g(0)), pc(8, 8, g(1))]),
            ),
            // gcc r_ifc: x0 = 0x40000000_00000001, w1 = 3.
            (
                "{int,float,i8}",
                st(&[Prim::I32, Prim::F32, Prim::I8]),
                gp(&[pc(0, 8, g(0)), pc(8, 4, g(1))]),
            ),
            (
                "{u8;double;u32}",
                st(&[Prim::U8, Prim::F64, Prim::U32]),
                big.clone(),
            ),
            // HFA through nesting: gcc r_nest returns in s0, s1, s2.
            (
                "{float,{float,float}}",
                st_n(&[(p(Prim::F32), None), (inner2f, None)]),
                hf(3, 4),
            ),
            (
                "{u8;{u64;u8};u32}",
                st_n(&[
                    (p(Prim::U8), None),
                    (inner_u64_u8, None),
                    (p(Prim::U32), None),
                ]),
                big.clone(),
            ),
            // gcc r_b24: written through x8.
            ("24 bytes", st(&[Prim::I64; 3]), big.clone()),
            // Eight doubles: too many members for an HFA.
            ("64 bytes", arr(Prim::F64, 8), big.clone()),
            ("108 bytes", arr(Prim::I32, 27), big),
        ];
        rows.into_iter()
            .map(|(n, t, (a, r))| (n, t, a, r))
            .collect()
    }

    #[test]
    fn structs_as_single_argument() {
        for (name, t, want, _) in struct_table() {
            let pl = plan(sig(void(), vec![t]));
            assert_eq!(pl.args, vec![want], "{name}");
            assert_eq!(pl.stack_size, 0, "{name}");
        }
    }

    #[test]
    fn structs_as_return() {
        for (name, t, _, want) in struct_table() {
            let pl = plan(sig(t, vec![p(Prim::I32), p(Prim::F64)]));
            assert_eq!(pl.ret, want, "{name}");
            // x8 is separate from x0..x7: nothing shifts (gcc c4: x8 = buffer, w0 = 1,
            // d0 = 2.5).
            assert_eq!(pl.args, vec![sc(g(0)), sc(f(0))], "{name}");
        }
    }

    #[test]
    fn indirect_return_leaves_all_eight_gprs_to_arguments() {
        let pl = plan(sig(st(&[Prim::I64; 3]), longs(8)));
        assert_eq!(pl.ret, RetClass::Indirect(g(8)));
        assert_eq!(pl.args, (0..8).map(|i| sc(g(i))).collect::<Vec<_>>());
        assert_eq!(pl.stack_size, 0);
    }

    #[test]
    fn ten_int_pairs() {
        let ii = st(&[Prim::I32, Prim::I32]);
        let pl = plan(sig(void(), vec![ii; 10]));
        let mut want: Vec<_> = (0..8).map(|i| pieces(&[pc(0, 8, g(i))])).collect();
        want.extend([pieces(&[pc(0, 8, s(0))]), pieces(&[pc(0, 8, s(8))])]);
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn hfa_that_does_not_fit_closes_the_vector_registers() {
        // gcc c1: e1(six doubles, {double x3}, 7.5, {float x3}): the HFA needs v6..v8, so
        // it is stored at sp+0..24, and 7.5 goes to sp+24 although v6 is free (C.3 sets
        // NSRN to 8); the float HFA follows at sp+32 (8 bytes) and sp+40 (4 bytes).
        let mut args = doubles(6);
        args.extend([st(&[Prim::F64; 3]), p(Prim::F64), st(&[Prim::F32; 3])]);
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[6], on_stack(24, 0));
        assert_eq!(pl.args[7], sc(s(24)));
        assert_eq!(pl.args[8], on_stack(12, 32));
        assert_eq!(pl.stack_size, 48);
    }

    #[test]
    fn hfa_that_fits_exactly() {
        // NSRN 5 + 3 members = 8: v5, v6, v7.
        let mut args = doubles(5);
        args.push(st(&[Prim::F32; 3]));
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[5], pieces(&hfa_regs(3, 4, 5)));
        assert_eq!(pl.stack_size, 0);
    }

    #[test]
    fn spilled_hfa_leaves_gprs_open() {
        // C.3 closes only the vector registers.
        let mut args = doubles(7);
        args.extend([st(&[Prim::F64, Prim::F64]), p(Prim::I32), p(Prim::F32)]);
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[7], on_stack(16, 0));
        assert_eq!(pl.args[8], sc(g(0)));
        assert_eq!(pl.args[9], sc(s(16)));
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn composite_that_does_not_fit_closes_the_gprs() {
        // gcc c2: e2(1..7, (struct{long;long}){100,200}, 8, 9.5): the struct is stored
        // at sp+0/sp+8, 8 goes to sp+16 although x7 is free (C.11), 9.5 is in d0.
        let mut args = longs(7);
        args.extend([st(&[Prim::I64, Prim::I64]), p(Prim::I64), p(Prim::F64)]);
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[7], on_stack(16, 0));
        assert_eq!(pl.args[8], sc(s(16)));
        assert_eq!(pl.args[9], sc(f(0)));
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn int_double_struct_is_never_split_between_register_files() {
        // {i64,double} is not an HFA: it needs two x registers, never an x and a v one.
        // With one x register left it goes to the stack and closes the GPRs; a later
        // double still takes v0.
        let mut args = longs(7);
        args.extend([st(&[Prim::I64, Prim::F64]), p(Prim::F64), p(Prim::I64)]);
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[7], on_stack(16, 0));
        assert_eq!(pl.args[8], sc(f(0)));
        assert_eq!(pl.args[9], sc(s(16)));
        // With two left it takes x6 and x7.
        let mut args = longs(6);
        args.push(st(&[Prim::I64, Prim::F64]));
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[6], pieces(&[pc(0, 8, g(6)), pc(8, 8, g(7))]));
    }

    #[test]
    fn small_composite_on_the_stack_keeps_its_size_and_an_hfa_still_gets_registers() {
        // gcc c6: e6(1..8, {u8,u8,u8}, {float x3}, 9): the 3-byte struct is stored at
        // sp+0 (strh + strb), the HFA in s0..s2, 9 at sp+8.
        let mut args = longs(8);
        args.extend([st(&[Prim::U8; 3]), st(&[Prim::F32; 3]), p(Prim::I64)]);
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[8], pieces(&[pc(0, 3, s(0))]));
        assert_eq!(pl.args[9], pieces(&hfa_regs(3, 4, 0)));
        assert_eq!(pl.args[10], sc(s(8)));
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn large_composites_go_by_address() {
        // gcc c3: e3({float x5}, 24-byte struct, 3): x0 = &copy, x1 = &copy, w2 = 3.
        let args = vec![st(&[Prim::F32; 5]), arr(Prim::U8, 24), p(Prim::I32)];
        let pl = plan(sig(void(), args));
        assert_eq!(
            pl.args,
            vec![ArgClass::Indirect(g(0)), ArgClass::Indirect(g(1)), sc(g(2))]
        );
        // Once x0..x7 are taken the address goes in a stack slot (C.14-C.15).
        let mut args = longs(8);
        args.extend([arr(Prim::I32, 27), arr(Prim::F64, 8)]);
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[8], ArgClass::Indirect(s(0)));
        assert_eq!(pl.args[9], ArgClass::Indirect(s(8)));
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn padded_struct_by_address() {
        // {u8;double;u32} is 24 bytes: by address (stage B).
        let pad = st(&[Prim::U8, Prim::F64, Prim::U32]);
        let pl = plan(sig(void(), vec![p(Prim::I32), pad, p(Prim::I32)]));
        assert_eq!(pl.args, vec![sc(g(0)), ArgClass::Indirect(g(1)), sc(g(2))]);
    }

    #[test]
    fn variadic_arguments_are_classified_like_fixed_ones() {
        // gcc c5: printf("%f %d", 1.5, 2): x0 = format, d0 = 1.5, w1 = 2.
        let pl = plan(vsig(
            p(Prim::I32),
            vec![p(Prim::String)],
            vec![p(Prim::F64), p(Prim::I32)],
        ));
        assert_eq!(pl.args, vec![sc(g(0)), sc(f(0)), sc(g(1))]);
        // Variadic HFAs and composites too.
        let pl = plan(vsig(
            void(),
            vec![p(Prim::String)],
            vec![st(&[Prim::F64, Prim::F64]), st(&[Prim::I32, Prim::F32])],
        ));
        assert_eq!(
            pl.args,
            vec![
                sc(g(0)),
                pieces(&hfa_regs(2, 8, 0)),
                pieces(&[pc(0, 8, g(1))])
            ]
        );
        // Ten variadic doubles: v0..v7 then two stack slots.
        let pl = plan(vsig(void(), vec![p(Prim::String)], doubles(10)));
        assert_eq!(pl.args[8], sc(f(7)));
        assert_eq!(pl.args[9], sc(s(0)));
        assert_eq!(pl.args[10], sc(s(8)));
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn too_many_arguments() {
        let err = Abi::Aapcs64
            .classify(&sig(void(), longs(MAX_ARGS + 1)))
            .unwrap_err();
        assert!(err.contains("too many arguments"), "{err}");
    }

    #[test]
    fn stack_area_stays_within_the_limit() {
        // The biggest by-value stack argument is a 32-byte HFA, so MAX_ARGS of them
        // (two in registers, 62 on the stack) need 1984 bytes, under MAX_STACK_BYTES.
        let pl = plan(sig(void(), vec![st(&[Prim::F64; 4]); MAX_ARGS]));
        assert_eq!(pl.args[2], on_stack(32, 0));
        assert_eq!(pl.args[63], on_stack(32, 61 * 32));
        assert_eq!(pl.stack_size, 1984);
        // 16-byte composites: four pairs of registers, 60 on the stack.
        let pl = plan(sig(void(), vec![st(&[Prim::I64, Prim::I64]); MAX_ARGS]));
        assert_eq!(pl.stack_size, 960);
    }

    #[test]
    fn huge_struct_is_passed_by_address_without_being_expanded() {
        let huge = arr(Prim::F32, 1 << 38);
        let pl = plan(sig(huge.clone(), vec![huge]));
        assert_eq!(pl.ret, RetClass::Indirect(g(8)));
        assert_eq!(pl.args, vec![ArgClass::Indirect(g(0))]);
    }

    #[test]
    fn void_argument_is_an_error_even_without_the_signature_check() {
        let err = super::classify(&sig(void(), vec![void()])).unwrap_err();
        assert!(err.contains("void"), "{err}");
    }
}
