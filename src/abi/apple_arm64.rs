//! Apple's arm64 calling convention (macOS, iOS): AAPCS64 with Apple's changes, as
//! described in "Writing ARM64 code for Apple platforms" and as clang implements them
//! (`clang --target=arm64-apple-macos11`; where a document and clang disagree, clang
//! wins, because clang built the libraries we call).
//!
//! The register rules are AAPCS64's, shared with `aapcs64.rs`: x0..x7, v0..v7, HFAs in
//! consecutive v registers, composites over 16 bytes by address, results in x0/x1,
//! v0..v3 or through x8, and a register file that a composite misses stays closed. What
//! differs is the stack, given here as [`StackRules`]:
//! - a fixed primitive that misses its registers takes its own size at its natural
//!   alignment (a `char` takes one byte), so it is one [`Piece`] of its own size, not an
//!   8-byte scalar slot;
//! - an HFA that misses the v registers keeps its member alignment and its size;
//! - any other composite of at most 16 bytes on the stack is 8-aligned and takes its size
//!   rounded up to 8;
//! - every variadic argument goes to the stack, in 8-byte slots, even while registers are
//!   free; a composite over 16 bytes by address, unless it is an HFA (clang passes a
//!   24- or 32-byte HFA by value, in its memory image);
//! - the caller extends integer arguments narrower than 32 bits, and the callee extends
//!   such results; each side relies on the other (probe ext_callee: `add w0, w1, w0`
//!   with no extension; probe ret_ext_s: no `sxtb` after `blr`, where Linux clang has one).
//!   The engine widens every register scalar, argument or callback result, to 64 bits by
//!   its signedness, which covers both; the conformance library's `call_cb_ret_i8`, built
//!   with Apple's convention, checks the callback side in the macos-arm64 lane.
//!
//! x18 is the platform register on Apple and must never be touched: the trampoline and
//! the thunks of `aapcs64` use x16/x17 and the argument registers only.

use super::aapcs64::{classify_with, hfa, Alloc, StackRules};
use super::{stack_pieces, Abi, AbiError, ArgClass, CallPlan, Loc, Piece, Signature};
use crate::types::{round_up, CType, Prim, StructType};

/// Apple's stack rules.
struct Apple;

impl StackRules for Apple {
    fn prim(alloc: &mut Alloc, p: Prim) -> Result<ArgClass, AbiError> {
        let at = alloc.stack_slot(p.size(), p.align())?;
        Ok(ArgClass::Pieces(vec![Piece {
            src: 0,
            size: p.size() as u8,
            dst: Loc::Stack(at),
        }]))
    }

    fn composite_slot(s: &StructType, member: Option<usize>) -> (usize, usize) {
        match member {
            Some(m) => (s.size, m),
            None => (round_up(s.size, 8), 8),
        }
    }

    fn variadic(alloc: &mut Alloc, t: &CType) -> Option<Result<ArgClass, AbiError>> {
        Some(variadic(alloc, t))
    }

    fn pair_align(s: &StructType) -> usize {
        super::aapcs64::type_align(s)
    }
}

fn variadic(alloc: &mut Alloc, t: &CType) -> Result<ArgClass, AbiError> {
    Ok(match t {
        // Already promoted: an int, a long, a pointer or a double, each in its slot.
        CType::Prim(_) => ArgClass::Scalar(vec![Loc::Stack(alloc.stack_slot(8, 8)?)]),
        CType::Struct(s) if s.size > 16 && hfa(s).is_none() => {
            ArgClass::Indirect(Loc::Stack(alloc.stack_slot(8, 8)?))
        }
        CType::Struct(s) => {
            let at = alloc.stack_slot(round_up(s.size, 8), 8)?;
            ArgClass::Pieces(stack_pieces(s.size, at))
        }
    })
}

pub fn classify(sig: &Signature) -> Result<CallPlan, AbiError> {
    classify_with::<Apple>(sig, Abi::AppleArm64)
}

#[cfg(test)]
mod tests {
    //! Every expectation comes from `ci/probes/apple_arm64.c` compiled with
    //! `clang --target=arm64-apple-macos11 -O2 -S` (clang 14.0.6; add `-fno-inline` to see
    //! the callers' stores): "probe:" names the C function and quotes the instructions
    //! that showed where each argument lives.

    use super::super::test_util::*;
    use super::super::{Abi, ArgClass, CallPlan, RetClass, Signature};
    use crate::types::Prim;

    fn plan(s: Signature) -> CallPlan {
        let plan = plan_of(Abi::AppleArm64, s);
        assert_eq!(plan.vector_count, 0);
        plan
    }

    /// A primitive on the stack at its own size.
    fn packed(off: u32, size: u8) -> ArgClass {
        pieces(&[pc(0, size, s(off))])
    }

    #[test]
    fn registers_are_aapcs64s() {
        // Register assignment and results are shared with aapcs64.rs: the same plans as
        // Linux whenever nothing reaches the stack. probe r_c3: w0 = 0x030201; r_f3: s0,
        // s1, s2; r_ld: x0 = 1, x1 = 2.5; r_b24: stores through x8, x0..x7 are arguments.
        let c3 = st(&[Prim::U8; 3]);
        let f3 = st(&[Prim::F32; 3]);
        let ld = st(&[Prim::I64, Prim::F64]);
        let b24 = st(&[Prim::I64; 3]);
        let mut args = vec![
            p(Prim::I8),
            p(Prim::F32),
            c3.clone(),
            f3.clone(),
            ld.clone(),
        ];
        args.push(b24.clone());
        for ret in [c3, f3, ld, b24, p(Prim::I8), p(Prim::F64), void()] {
            let s = sig(ret, args.clone());
            let linux = Abi::Aapcs64.classify(&s).unwrap();
            let apple = plan(s);
            assert_eq!(apple.ret, linux.ret);
            assert_eq!(apple.args, linux.args);
            assert_eq!(apple.stack_size, 0);
        }
        let pl = plan(sig(st(&[Prim::I64; 3]), longs(8)));
        assert_eq!(pl.ret, RetClass::Indirect(g(8)));
        assert_eq!(pl.args, (0..8).map(|i| sc(g(i))).collect::<Vec<_>>());
    }

    #[test]
    fn small_integers_are_packed_at_their_size() {
        // probe p_ints(8 longs, char c8, char c9, short s10, int i11, long l12, _Bool b13,
        // int i14): ldrsb [sp], ldrsb [sp, #1], ldrsh [sp, #2], ldrsw [sp, #4],
        // ldr x [sp, #8], ldrb [sp, #16], ldrsw [sp, #20]; the caller stores one 8-byte
        // word 0x0000000b_000a_09_08 at sp (c8..i11 packed), strb [sp, #16], str w [sp, #20].
        let mut args = longs(8);
        args.extend(
            [
                Prim::I8,
                Prim::I8,
                Prim::I16,
                Prim::I32,
                Prim::I64,
                Prim::Bool,
                Prim::I32,
            ]
            .map(p),
        );
        let pl = plan(sig(void(), args));
        assert_eq!(
            &pl.args[8..],
            &[
                packed(0, 1),
                packed(1, 1),
                packed(2, 2),
                packed(4, 4),
                packed(8, 8),
                packed(16, 1),
                packed(20, 4)
            ]
        );
        assert_eq!(pl.stack_size, 32);
        // probe p_unsigned(8 longs, uchar c8, ushort s9, uchar c10, uint u11): ldrb [sp],
        // ldrh [sp, #2], ldrb [sp, #4], ldr w [sp, #8] (strb/strh/strb/str w in the caller).
        let mut args = longs(8);
        args.extend([Prim::U8, Prim::U16, Prim::U8, Prim::U32].map(p));
        let pl = plan(sig(void(), args));
        assert_eq!(
            &pl.args[8..],
            &[packed(0, 1), packed(2, 2), packed(4, 1), packed(8, 4)]
        );
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn floats_are_packed_at_their_size() {
        // probe p_floats(8 doubles, float f8, float f9, double d10, float f11):
        // ldp s3, s2, [sp] (f8 at 0, f9 at 4), ldr d1, [sp, #8], ldr s0, [sp, #16].
        let mut args = doubles(8);
        args.extend([Prim::F32, Prim::F32, Prim::F64, Prim::F32].map(p));
        let pl = plan(sig(void(), args));
        assert_eq!(
            &pl.args[8..],
            &[packed(0, 4), packed(4, 4), packed(8, 8), packed(16, 4)]
        );
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn mixed_spill_in_argument_order() {
        // probe p_mixed((int, float) x 9, char c9, float f9, long l10): after w0..w7 and
        // s0..s7, ldrsw [sp] (i8), ldr s [sp, #4] (f8), ldrsb [sp, #8] (c9),
        // ldr s [sp, #12] (f9), ldr x [sp, #16] (l10).
        let mut args = Vec::new();
        for _ in 0..9 {
            args.extend([p(Prim::I32), p(Prim::F32)]);
        }
        args.extend([p(Prim::I8), p(Prim::F32), p(Prim::I64)]);
        let pl = plan(sig(void(), args));
        for k in 0..8u8 {
            assert_eq!(pl.args[2 * k as usize], sc(g(k)));
            assert_eq!(pl.args[2 * k as usize + 1], sc(f(k)));
        }
        assert_eq!(
            &pl.args[16..],
            &[
                packed(0, 4),
                packed(4, 4),
                packed(8, 1),
                packed(12, 4),
                packed(16, 8)
            ]
        );
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn spilled_hfa_keeps_member_alignment_and_closes_the_v_registers() {
        // probe p_hfa_spill(6 doubles, {float x3} h, float after, 8 longs, char c):
        // ldp s3, s2, [sp] and ldp s1, s0, [sp, #8]: h at sp+0..12, `after` at sp+12
        // although v6 is free (the register file is closed), c at ldrsb [sp, #16].
        let mut args = doubles(6);
        args.extend([st(&[Prim::F32; 3]), p(Prim::F32)]);
        args.extend(longs(8));
        args.push(p(Prim::I8));
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[6], on_stack(12, 0));
        assert_eq!(pl.args[7], packed(12, 4));
        assert_eq!(pl.args[16], packed(16, 1));
        assert_eq!(pl.stack_size, 32);
        // probe p_hfa_spill_c(8 longs, 7 doubles, char c, {float,float} h, char c2):
        // ldrsb [sp], ldp s1, s0, [sp, #4] (4-aligned, not 8), ldrsb [sp, #12].
        let mut args = longs(8);
        args.extend(doubles(7));
        args.extend([p(Prim::I8), st(&[Prim::F32; 2]), p(Prim::I8)]);
        let pl = plan(sig(void(), args));
        assert_eq!(
            &pl.args[15..],
            &[packed(0, 1), on_stack(8, 4), packed(12, 1)]
        );
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn spilled_double_hfas_are_8_aligned() {
        // probe p_dhfa_spill(7 doubles, 8 longs, char c, {double,double} h, double after):
        // ldrsb [sp], ldr d2, [sp, #8] and ldp d1, d0, [sp, #16]: h at 8..24, after at 24.
        let mut args = doubles(7);
        args.extend(longs(8));
        args.extend([p(Prim::I8), st(&[Prim::F64; 2]), p(Prim::F64)]);
        let pl = plan(sig(void(), args));
        assert_eq!(
            &pl.args[15..],
            &[packed(0, 1), on_stack(16, 8), packed(24, 8)]
        );
        assert_eq!(pl.stack_size, 32);
        // probe p_hfa4_spill(5 doubles, char, 8 longs, char c, {double x4} h, float f):
        // the 8th long at [sp], ldrsb [sp, #8], h at 16..48 (ldr d2, [sp, #16],
        // ldr d1, [sp, #40]), f at ldr s0, [sp, #48].
        let mut args = doubles(5);
        args.push(p(Prim::I8));
        args.extend(longs(8));
        args.extend([p(Prim::I8), st(&[Prim::F64; 4]), p(Prim::F32)]);
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[5], sc(g(0)));
        assert_eq!(
            &pl.args[13..],
            &[packed(0, 8), packed(8, 1), on_stack(32, 16), packed(48, 4)]
        );
        assert_eq!(pl.stack_size, 64);
    }

    #[test]
    fn small_composites_on_the_stack_are_8_aligned_and_rounded_to_8() {
        // probe p_small_composites(8 longs, char c, {char x3} s, char d, {short} t, char e,
        // {int,int} u, char g, {char;double} v, char h): c ldrsb [sp], s ldr x [sp, #8],
        // d [sp, #16], t ldrsh [sp, #24], e [sp, #32], u.b ldrsw [sp, #44], g [sp, #48],
        // v.c [sp, #56] and v.d [sp, #64], h [sp, #72]. (libffi 3.4 packs s at sp+1.)
        let c = p(Prim::I8);
        let mut args = longs(8);
        args.extend([
            c.clone(),
            st(&[Prim::I8; 3]),
            c.clone(),
            st(&[Prim::I16]),
            c.clone(),
            st(&[Prim::I32, Prim::I32]),
            c.clone(),
            st(&[Prim::I8, Prim::F64]),
            c,
        ]);
        let pl = plan(sig(void(), args));
        assert_eq!(
            &pl.args[8..],
            &[
                packed(0, 1),
                pieces(&[pc(0, 3, s(8))]),
                packed(16, 1),
                pieces(&[pc(0, 2, s(24))]),
                packed(32, 1),
                pieces(&[pc(0, 8, s(40))]),
                packed(48, 1),
                on_stack(16, 56),
                packed(72, 1)
            ]
        );
        assert_eq!(pl.stack_size, 80);
    }

    #[test]
    fn composite_that_misses_the_x_registers_closes_them() {
        // probe p_gpr_close(7 longs, {long,long} s, int after, double d): ldp x10, x9, [sp]
        // (s), ldrsw [sp, #16] although x7 is free, d in d0.
        let mut args = longs(7);
        args.extend([st(&[Prim::I64, Prim::I64]), p(Prim::I32), p(Prim::F64)]);
        let pl = plan(sig(void(), args));
        assert_eq!(&pl.args[7..], &[on_stack(16, 0), packed(16, 4), sc(f(0))]);
        assert_eq!(pl.stack_size, 32);
        // probe p_ld_split(7 longs, {long;double} s, double d, int i): never split between
        // x7 and a v register: s at ldp [sp], d in d0, i at ldrsw [sp, #16].
        let mut args = longs(7);
        args.extend([st(&[Prim::I64, Prim::F64]), p(Prim::F64), p(Prim::I32)]);
        let pl = plan(sig(void(), args));
        assert_eq!(&pl.args[7..], &[on_stack(16, 0), sc(f(0)), packed(16, 4)]);
    }

    #[test]
    fn large_composite_address_takes_an_8_aligned_slot() {
        // probe p_big(8 longs, char c, {long x3} b, char d): ldrsb [sp], the copy's address
        // at ldr x9, [sp, #8] (then ldr [x9, #16]), ldrsb [sp, #16].
        let mut args = longs(8);
        args.extend([p(Prim::I8), st(&[Prim::I64; 3]), p(Prim::I8)]);
        let pl = plan(sig(void(), args));
        assert_eq!(
            &pl.args[8..],
            &[packed(0, 1), ArgClass::Indirect(s(8)), packed(16, 1)]
        );
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn variadic_scalars_go_to_8_byte_stack_slots_even_with_registers_free() {
        // probe call_v_scalars: v_fn("x", 1, 2.5, (char)3, 4L, 5.5f): x0 = the format;
        // str x9 (1), [sp]; 2.5 at [sp, #8]; 3 at [sp, #16]; 4 at [sp, #24]; 5.5 promoted
        // to a double at [sp, #32]. The engine promotes before classifying.
        let pl = plan(vsig(
            p(Prim::I32),
            vec![p(Prim::String)],
            [Prim::I32, Prim::F64, Prim::I32, Prim::I64, Prim::F64]
                .map(p)
                .to_vec(),
        ));
        assert_eq!(
            pl.args,
            vec![
                sc(g(0)),
                sc(s(0)),
                sc(s(8)),
                sc(s(16)),
                sc(s(24)),
                sc(s(32))
            ]
        );
        assert_eq!(pl.stack_size, 48);
        // No variadic argument: nothing on the stack (probe call_v_few_fixed: b _v_fn).
        let pl = plan(vsig(p(Prim::I32), vec![p(Prim::String)], vec![]));
        assert_eq!(pl.args, vec![sc(g(0))]);
        assert_eq!(pl.stack_size, 0);
    }

    #[test]
    fn variadic_composites() {
        // probe call_v_structs: v_fn("s", {int,int} u, {float,float} h, {double,double} hd,
        // {char x3} s, {long x3} b, {double x4} h4): stp x9, x8, [sp] (u, then h as one
        // word: HFAs lose their v registers), hd at [sp, #16] and [sp, #24], s at
        // [sp, #32], b's copy address at [sp, #40], h4 by value at [sp, #48..80] (an HFA
        // over 16 bytes is not passed by address).
        let pl = plan(vsig(
            p(Prim::I32),
            vec![p(Prim::String)],
            vec![
                st(&[Prim::I32, Prim::I32]),
                st(&[Prim::F32; 2]),
                st(&[Prim::F64; 2]),
                st(&[Prim::I8; 3]),
                st(&[Prim::I64; 3]),
                st(&[Prim::F64; 4]),
            ],
        ));
        assert_eq!(
            &pl.args[1..],
            &[
                on_stack(8, 0),
                on_stack(8, 8),
                on_stack(16, 16),
                pieces(&[pc(0, 3, s(32))]),
                ArgClass::Indirect(s(40)),
                on_stack(32, 48)
            ]
        );
        assert_eq!(pl.stack_size, 80);
        // probe call_v_hfa3: v_fn("h", {float x3} h, 7): h's memory image at [sp] (str x8)
        // and [sp, #8] (str w8), rounded up to 16; 7 at [sp, #16].
        let pl = plan(vsig(
            p(Prim::I32),
            vec![p(Prim::String)],
            vec![st(&[Prim::F32; 3]), p(Prim::I32)],
        ));
        assert_eq!(&pl.args[1..], &[on_stack(12, 0), sc(s(16))]);
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn variadic_arguments_follow_packed_fixed_ones_at_an_8_byte_boundary() {
        // probe call_v_after_stack: v_fn_many(8 longs, char c, ...) with (9, 10.5): c at
        // [sp] (str w8), 9 at [sp, #8], 10.5 at [sp, #16].
        let mut fixed = longs(8);
        fixed.push(p(Prim::I8));
        let pl = plan(vsig(p(Prim::I32), fixed, vec![p(Prim::I32), p(Prim::F64)]));
        assert_eq!(&pl.args[8..], &[packed(0, 1), sc(s(8)), sc(s(16))]);
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn stack_area_stays_within_the_limit() {
        // 64 chars: 8 in registers, 56 packed bytes on the stack.
        let pl = plan(sig(void(), vec![p(Prim::I8); 64]));
        assert_eq!(pl.args[63], packed(55, 1));
        assert_eq!(pl.stack_size, 64);
        // 64 variadic 32-byte HFAs by value: 2048 bytes, under MAX_STACK_BYTES.
        let pl = plan(vsig(void(), vec![], vec![st(&[Prim::F64; 4]); 64]));
        assert_eq!(pl.args[63], on_stack(32, 63 * 32));
        assert_eq!(pl.stack_size, 2048);
    }

    #[test]
    fn host_is_apple_arm64_only_on_apple_or_when_forced() {
        let apple = cfg!(lune_ffi_force_apple_arm64)
            || cfg!(all(target_arch = "aarch64", target_vendor = "apple"));
        assert_eq!(Abi::host() == Some(Abi::AppleArm64), apple);
    }

    /// Only in the macos-arm64 lane, which checks that this test ran: the proof that its
    /// calls and callbacks went through this classifier.
    #[cfg(lune_ffi_force_apple_arm64)]
    #[test]
    fn forced_lane_runs_the_apple_classifier() {
        assert_eq!(Abi::host(), Some(Abi::AppleArm64));
        assert!(cfg!(all(target_arch = "aarch64", target_os = "linux")));
    }

    #[test]
    fn thunks_and_icache_are_aapcs64s() {
        // Same instruction set, same scratch registers (x16/x17, never x18).
        assert_eq!(
            Abi::AppleArm64.thunk_code(0x1122, 0x3344),
            Abi::Aapcs64.thunk_code(0x1122, 0x3344)
        );
    }
}
