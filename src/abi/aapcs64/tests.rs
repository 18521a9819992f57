//! Expectations come from the AAPCS64 rules cited beside them (stage C numbered
//! C.1-C.15 as in the current edition) and were checked against `aarch64-linux-gnu-gcc -O2 -S` on small
//! C probes; "gcc:" notes what the probe showed.

use super::super::test_util::*;
use super::super::{Abi, ArgClass, CallPlan, Piece, RetClass, Signature, MAX_ARGS};
use crate::types::{CType, Prim};

fn plan(s: Signature) -> CallPlan {
    let plan = plan_of(Abi::Aapcs64, s);
    assert_eq!(plan.vector_count, 0);
    plan
}

/// One HFA member of `size` bytes per v register from `first`.
fn hfa_regs(n: u8, size: u8, first: u8) -> Vec<Piece> {
    (0..n)
        .map(|i| pc(u32::from(i) * u32::from(size), size, f(first + i)))
        .collect()
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
        .unwrap_err()
        .to_string();
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
    let err = super::classify(&sig(void(), vec![void()]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("void"), "{err}");
}

#[test]
fn unions_packed_structs_and_bitfields() {
    // Probe (aarch64-linux-gnu-gcc -O2 -S of call_all below, each argument loaded from a pointer and
    // passed to an extern):
    //   struct __attribute__((packed)) P5 { char c; int i; };
    //   union UFI { float f; int i; };            union UFD { float f[2]; double d; };
    //   union UF2 { float a; float b[2]; };       union UFd { float f; double d; };
    //   union UFF { float a; float b; };          struct B { int a:3; int b:5; float f; };
    //   union UDD { double a[2]; struct { double x, y; } s; };
    let one = |t: CType| plan(sig(void(), vec![t])).args.remove(0);
    // gcc: P5 in x0 (bytes assembled with orr): a small composite, whatever its packing.
    assert_eq!(
        one(packed(&[Prim::I8, Prim::I32])),
        pieces(&[pc(0, 5, g(0))])
    );
    // gcc: UFI in w0, UFD and UFd in x0: not homogeneous.
    assert_eq!(
        one(union_of(&[p(Prim::F32), p(Prim::I32)])),
        pieces(&[pc(0, 4, g(0))])
    );
    let f2 = arr(Prim::F32, 2);
    assert_eq!(
        one(union_of(&[f2.clone(), p(Prim::F64)])),
        pieces(&[pc(0, 8, g(0))])
    );
    assert_eq!(
        one(union_of(&[p(Prim::F32), p(Prim::F64)])),
        pieces(&[pc(0, 8, g(0))])
    );
    // gcc: UF2 in s0/s1 and UFF in s0: unions of one float type are HFAs of their
    // largest member; UDD in d0/d1.
    assert_eq!(
        one(union_of(&[p(Prim::F32), f2])),
        ArgClass::Pieces(hfa_regs(2, 4, 0))
    );
    assert_eq!(
        one(union_of(&[p(Prim::F32), p(Prim::F32)])),
        ArgClass::Pieces(hfa_regs(1, 4, 0))
    );
    assert_eq!(
        one(union_of(&[arr(Prim::F64, 2), st(&[Prim::F64, Prim::F64])])),
        ArgClass::Pieces(hfa_regs(2, 8, 0))
    );
    // gcc: B in x0: bitfields are integer data, so no HFA.
    assert_eq!(one(bits_then_float()), pieces(&[pc(0, 8, g(0))]));
}

#[test]
fn over_aligned_records_use_their_members_alignment() {
    use crate::types::{MemberSpec, RecordOptions, StructType};
    use std::sync::Arc;
    // aarch64-linux-gnu-gcc -O2 -S of
    //   struct __attribute__((aligned(16))) A16 { long a; };
    //   void take(int x, struct A16 s, int y);  take(1, *p, 2);
    // gives w0 = 1, s in x1/x2, w3 = 2: no rounding of NGRN to an even register.
    let a16 = StructType::with_options(
        vec![MemberSpec::new("a", p(Prim::I64), None)],
        &RecordOptions {
            align: Some(16),
            ..RecordOptions::default()
        },
    )
    .unwrap();
    assert_eq!((a16.size, a16.align), (16, 16));
    let pl = plan(sig(
        void(),
        vec![p(Prim::I32), CType::Struct(Arc::new(a16)), p(Prim::I32)],
    ));
    assert_eq!(
        pl.args,
        vec![
            sc(g(0)),
            pieces(&[pc(0, 8, g(1)), pc(8, 8, g(2))]),
            sc(g(3))
        ]
    );
}

#[test]
fn member_alignment_rounds_to_an_even_register_record_alignment_does_not() {
    use crate::types::{MemberSpec, RecordOptions, StructType};
    use std::sync::Arc;
    // aarch64-linux-gnu-gcc 12 -O2 -S, after an int:
    //   struct __attribute__((aligned(16))) R { long a; }   -> x1, x2 (record attribute ignored)
    //   struct F { __attribute__((aligned(16))) long a; }   -> x2, x3 (member attribute counts)
    let record = RecordOptions {
        align: Some(16),
        ..RecordOptions::default()
    };
    let r = CType::Struct(Arc::new(
        StructType::with_options(vec![MemberSpec::new("a", p(Prim::I64), None)], &record).unwrap(),
    ));
    let mut member = MemberSpec::new("a", p(Prim::I64), None);
    member.align = Some(16);
    let f = CType::Struct(Arc::new(
        StructType::with_options(vec![member], &RecordOptions::default()).unwrap(),
    ));
    let pl = plan(sig(void(), vec![p(Prim::I32), r]));
    assert_eq!(
        pl.args[1],
        ArgClass::Pieces(vec![pc(0, 8, g(1)), pc(8, 8, g(2))])
    );
    let pl = plan(sig(void(), vec![p(Prim::I32), f]));
    assert_eq!(
        pl.args[1],
        ArgClass::Pieces(vec![pc(0, 8, g(2)), pc(8, 8, g(3))])
    );
}
