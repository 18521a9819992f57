//! Expectations come from the psABI rules quoted beside them and were checked against
//! `gcc -O2 -S` (x86-64 Linux) on small C probes calling an extern function with
//! constants or returning struct literals; "gcc:" notes what the probe showed.

use super::super::test_util::*;
use super::super::{Abi, ArgClass, CallPlan, Loc, RetClass, Signature};
use super::{merge, Kind};
use crate::types::{CType, Prim};

fn plan(s: Signature) -> CallPlan {
    let plan = Abi::SysV64.classify(&s).unwrap();
    assert_eq!(plan.abi, Abi::SysV64);
    plan
}

#[test]
fn thunk_bytes() {
    // GNU as 2.40 assembling `endbr64; movabs $0x1122334455667788,%r10;
    // movabs $0x99aabbccddeeff00,%r11; jmp *%r11` gives exactly these 27 bytes; the
    // rest of the 32-byte slot is int3.
    let code = super::thunk_code(0x1122_3344_5566_7788, 0x99AA_BBCC_DDEE_FF00);
    let mut want = vec![0xF3, 0x0F, 0x1E, 0xFA, 0x49, 0xBA];
    want.extend_from_slice(&[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    want.extend_from_slice(&[0x49, 0xBB]);
    want.extend_from_slice(&[0x00, 0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99]);
    want.extend_from_slice(&[0x41, 0xFF, 0xE3]);
    want.resize(32, 0xCC);
    assert_eq!(code.as_slice(), want.as_slice());
}

fn ints(n: usize) -> Vec<CType> {
    vec![p(Prim::I64); n]
}

#[test]
fn merge_rule() {
    // psABI §3.2.3 post-merger rules (a)-(f) restricted to our classes: equal classes
    // stay, NO_CLASS yields to the other, INTEGER beats SSE.
    use Kind::*;
    assert_eq!(merge(NoClass, NoClass), NoClass);
    assert_eq!(merge(NoClass, Sse), Sse);
    assert_eq!(merge(Sse, NoClass), Sse);
    assert_eq!(merge(NoClass, Integer), Integer);
    assert_eq!(merge(Sse, Sse), Sse);
    assert_eq!(merge(Sse, Integer), Integer);
    assert_eq!(merge(Integer, Sse), Integer);
    assert_eq!(merge(Integer, Integer), Integer);
}

#[test]
fn every_integer_primitive_in_rdi_and_rax() {
    // psABI: _Bool, char, short, int, long, pointers are INTEGER: first arg in rdi,
    // returned in rax.
    for x in INT_PRIMS {
        let pl = plan(sig(p(x), vec![p(x)]));
        assert_eq!(pl.ret, RetClass::Scalar(g(0)), "{x:?}");
        assert_eq!(pl.args, vec![sc(g(0))], "{x:?}");
        assert_eq!(pl.stack_size, 0);
        assert_eq!(pl.vector_count, 0);
    }
}

#[test]
fn floats_in_xmm0() {
    // psABI: float and double are SSE: first arg in xmm0, returned in xmm0.
    for x in [Prim::F32, Prim::F64] {
        let pl = plan(sig(p(x), vec![p(x)]));
        assert_eq!(pl.ret, RetClass::Scalar(f(0)));
        assert_eq!(pl.args, vec![sc(f(0))]);
        assert_eq!(pl.vector_count, 1);
    }
}

#[test]
fn void_return_and_no_args() {
    let pl = plan(sig(void(), vec![]));
    assert_eq!(pl.ret, RetClass::Void);
    assert!(pl.args.is_empty());
    assert_eq!((pl.stack_size, pl.vector_count), (0, 0));
}

#[test]
fn integer_registers_in_order() {
    // psABI: rdi, rsi, rdx, rcx, r8, r9, whatever the width.
    let args = vec![
        p(Prim::I8),
        p(Prim::U16),
        p(Prim::I32),
        p(Prim::U64),
        p(Prim::Pointer),
        p(Prim::Bool),
    ];
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args, (0..6).map(|i| sc(g(i))).collect::<Vec<_>>());
    assert_eq!(pl.stack_size, 0);
}

#[test]
fn mixed_ints_and_doubles_spill_in_argument_order() {
    // (int, double) x 9: GPRs and SSE registers are counted independently; int 6
    // (argument 12) is the first stack argument, then int 7, int 8 and the ninth
    // double, each in the next 8-byte slot.
    let mut args = Vec::new();
    for _ in 0..9 {
        args.push(p(Prim::I32));
        args.push(p(Prim::F64));
    }
    let pl = plan(sig(p(Prim::I32), args));
    let mut want = Vec::new();
    for k in 0..6 {
        want.push(sc(g(k)));
        want.push(sc(f(k)));
    }
    want.extend([sc(s(0)), sc(f(6)), sc(s(8)), sc(f(7)), sc(s(16)), sc(s(24))]);
    assert_eq!(pl.args, want);
    assert_eq!(pl.stack_size, 32);
    assert_eq!(pl.vector_count, 8);
}

#[test]
fn twenty_floats() {
    // Eight in xmm0-7, the other twelve in consecutive 8-byte slots (a float takes
    // a whole slot); 96 bytes is already a multiple of 16.
    let pl = plan(sig(p(Prim::F32), vec![p(Prim::F32); 20]));
    let mut want: Vec<_> = (0..8).map(|i| sc(f(i))).collect();
    want.extend((0..12).map(|k| sc(s(8 * k))));
    assert_eq!(pl.args, want);
    assert_eq!(pl.stack_size, 96);
    assert_eq!(pl.vector_count, 8);
}

#[test]
fn ten_pointers() {
    // Six in registers, four on the stack: 32 bytes.
    let pl = plan(sig(p(Prim::Pointer), vec![p(Prim::Pointer); 10]));
    let mut want: Vec<_> = (0..6).map(|i| sc(g(i))).collect();
    want.extend((0..4).map(|k| sc(s(8 * k))));
    assert_eq!(pl.args, want);
    assert_eq!(pl.stack_size, 32);
    assert_eq!(pl.vector_count, 0);
}

#[test]
fn odd_number_of_stack_slots_rounds_to_16() {
    // Seven integers: one 8-byte stack slot, the area is padded to 16.
    let pl = plan(sig(void(), ints(7)));
    assert_eq!(pl.args[6], sc(s(0)));
    assert_eq!(pl.stack_size, 16);
}

/// Single-argument and return classification of small and large structs, as
/// (struct, expected argument pieces from the first registers, expected return).
fn struct_table() -> Vec<(&'static str, CType, ArgClass, RetClass)> {
    let inner2f = st(&[Prim::F32, Prim::F32]);
    let inner_u64_u8 = st(&[Prim::U64, Prim::U8]);
    vec![
        // One INTEGER eightbyte, trimmed to the struct size (gcc: edi / eax).
        (
            "{u8}",
            st(&[Prim::U8]),
            pieces(&[pc(0, 1, g(0))]),
            rpieces(&[pc(0, 1, g(0))]),
        ),
        (
            "{bool}",
            st(&[Prim::Bool]),
            pieces(&[pc(0, 1, g(0))]),
            rpieces(&[pc(0, 1, g(0))]),
        ),
        // gcc: U3 returned in eax (0x030201), passed in edx masked to 24 bits.
        (
            "{u8,u8,u8}",
            st(&[Prim::U8, Prim::U8, Prim::U8]),
            pieces(&[pc(0, 3, g(0))]),
            rpieces(&[pc(0, 3, g(0))]),
        ),
        // Size 4 (one byte of tail padding); gcc returns it in eax.
        (
            "{u16,u8}",
            st(&[Prim::U16, Prim::U8]),
            pieces(&[pc(0, 4, g(0))]),
            rpieces(&[pc(0, 4, g(0))]),
        ),
        // gcc: returned in rax.
        (
            "{u8[5]}",
            arr(Prim::U8, 5),
            pieces(&[pc(0, 5, g(0))]),
            rpieces(&[pc(0, 5, g(0))]),
        ),
        (
            "{u8 x7}",
            st(&[Prim::U8; 7]),
            pieces(&[pc(0, 7, g(0))]),
            rpieces(&[pc(0, 7, g(0))]),
        ),
        (
            "{int,int}",
            st(&[Prim::I32, Prim::I32]),
            pieces(&[pc(0, 8, g(0))]),
            rpieces(&[pc(0, 8, g(0))]),
        ),
        // All-SSE eightbytes go to vector registers (gcc: r_f1/r_d1 in xmm0).
        (
            "{float}",
            st(&[Prim::F32]),
            pieces(&[pc(0, 4, f(0))]),
            rpieces(&[pc(0, 4, f(0))]),
        ),
        (
            "{double}",
            st(&[Prim::F64]),
            pieces(&[pc(0, 8, f(0))]),
            rpieces(&[pc(0, 8, f(0))]),
        ),
        (
            "{float,float}",
            st(&[Prim::F32, Prim::F32]),
            pieces(&[pc(0, 8, f(0))]),
            rpieces(&[pc(0, 8, f(0))]),
        ),
        // gcc r_f3: two floats packed in xmm0, the third in xmm1.
        (
            "{float,float,float}",
            st(&[Prim::F32; 3]),
            pieces(&[pc(0, 8, f(0)), pc(8, 4, f(1))]),
            rpieces(&[pc(0, 8, f(0)), pc(8, 4, f(1))]),
        ),
        (
            "{float x4}",
            st(&[Prim::F32; 4]),
            pieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
            rpieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
        ),
        // gcc r_fa4: xmm0 and xmm1, like the four separate fields.
        (
            "{float a[4]}",
            arr(Prim::F32, 4),
            pieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
            rpieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
        ),
        // 20 bytes > 16: MEMORY (gcc r_f5 writes through rdi).
        (
            "{float x5}",
            st(&[Prim::F32; 5]),
            on_stack(20, 0),
            RetClass::Indirect(g(0)),
        ),
        // gcc r_dd: xmm0, xmm1.
        (
            "{double,double}",
            st(&[Prim::F64, Prim::F64]),
            pieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
            rpieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
        ),
        // int and float share an eightbyte: INTEGER wins.
        (
            "{int,float}",
            st(&[Prim::I32, Prim::F32]),
            pieces(&[pc(0, 8, g(0))]),
            rpieces(&[pc(0, 8, g(0))]),
        ),
        // gcc r_fd: float in xmm0, double in xmm1. The first piece carries the
        // float's padding too: the whole eightbyte.
        (
            "{float,double}",
            st(&[Prim::F32, Prim::F64]),
            pieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
            rpieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))]),
        ),
        // gcc r_di: double in xmm0, int in eax.
        (
            "{double,int}",
            st(&[Prim::F64, Prim::I32]),
            pieces(&[pc(0, 8, f(0)), pc(8, 8, g(0))]),
            rpieces(&[pc(0, 8, f(0)), pc(8, 8, g(0))]),
        ),
        // gcc r_id: int in eax, double in xmm0.
        (
            "{int,double}",
            st(&[Prim::I32, Prim::F64]),
            pieces(&[pc(0, 8, g(0)), pc(8, 8, f(0))]),
            rpieces(&[pc(0, 8, g(0)), pc(8, 8, f(0))]),
        ),
        // 12 bytes; eightbyte 0 = int+float (INTEGER), eightbyte 1 = i8 (INTEGER).
        // gcc r_ifc: rax = 0x40000000_00000001, edx = 3.
        (
            "{int,float,i8}",
            st(&[Prim::I32, Prim::F32, Prim::I8]),
            pieces(&[pc(0, 8, g(0)), pc(8, 4, g(1))]),
            rpieces(&[pc(0, 8, g(0)), pc(8, 4, g(1))]),
        ),
        // 24 bytes: MEMORY (gcc r_pad stores through rdi and returns it in rax).
        (
            "{u8;double;u32}",
            st(&[Prim::U8, Prim::F64, Prim::U32]),
            on_stack(24, 0),
            RetClass::Indirect(g(0)),
        ),
        // Nesting is flattened: same as {float,float,float} (gcc r_nest).
        (
            "{float,{float,float}}",
            st_n(&[(p(Prim::F32), None), (inner2f, None)]),
            pieces(&[pc(0, 8, f(0)), pc(8, 4, f(1))]),
            rpieces(&[pc(0, 8, f(0)), pc(8, 4, f(1))]),
        ),
        // u8 @0, {u64 @8, u8 @16} (16 bytes), u32 @24: 32 bytes, MEMORY.
        (
            "{u8;{u64;u8};u32}",
            st_n(&[
                (p(Prim::U8), None),
                (inner_u64_u8, None),
                (p(Prim::U32), None),
            ]),
            on_stack(32, 0),
            RetClass::Indirect(g(0)),
        ),
        // gcc r_b24: MEMORY.
        (
            "24 bytes",
            st(&[Prim::I64; 3]),
            on_stack(24, 0),
            RetClass::Indirect(g(0)),
        ),
        // All-SSE but > 16 bytes: still MEMORY (no SSEUP without vector types).
        (
            "64 bytes",
            arr(Prim::F64, 8),
            on_stack(64, 0),
            RetClass::Indirect(g(0)),
        ),
        // 108 bytes, 4-aligned: 13 full pieces and a 4-byte tail in a 112-byte slot.
        (
            "108 bytes",
            arr(Prim::I32, 27),
            on_stack(108, 0),
            RetClass::Indirect(g(0)),
        ),
    ]
}

#[test]
fn structs_as_single_argument() {
    for (name, t, want, _) in struct_table() {
        let pl = plan(sig(void(), vec![t.clone()]));
        assert_eq!(pl.args, vec![want.clone()], "{name}");
        let sse = match &want {
            ArgClass::Pieces(v) => v.iter().filter(|p| matches!(p.dst, Loc::Fpr(_))).count(),
            _ => unreachable!(),
        };
        assert_eq!(pl.vector_count as usize, sse, "{name}");
        let stack = if matches!(&want, ArgClass::Pieces(v) if matches!(v[0].dst, Loc::Stack(_))) {
            t.size().div_ceil(16) * 16
        } else {
            0
        };
        assert_eq!(pl.stack_size as usize, stack, "{name}");
    }
}

#[test]
fn structs_as_return() {
    for (name, t, _, want) in struct_table() {
        let pl = plan(sig(t.clone(), vec![p(Prim::I32), p(Prim::F64)]));
        assert_eq!(pl.ret, want, "{name}");
        // The hidden pointer of a MEMORY return takes rdi; the int moves to rsi.
        let first = if want == RetClass::Indirect(g(0)) {
            g(1)
        } else {
            g(0)
        };
        assert_eq!(pl.args, vec![sc(first), sc(f(0))], "{name}");
        // Return registers never count towards %al.
        assert_eq!(pl.vector_count, 1, "{name}");
    }
}

#[test]
fn memory_return_shifts_arguments_by_one_register() {
    // rdi carries the result address, so six ints leave the last one on the stack.
    let big = st(&[Prim::I64; 3]);
    let pl = plan(sig(big, ints(6)));
    assert_eq!(pl.ret, RetClass::Indirect(g(0)));
    let mut want: Vec<_> = (1..6).map(|i| sc(g(i))).collect();
    want.push(sc(s(0)));
    assert_eq!(pl.args, want);
    assert_eq!(pl.stack_size, 16);
}

#[test]
fn ten_int_pairs() {
    // gcc c_ii: {int,int} x 10: rdi..r9 hold the first six, the rest are pushed in
    // slots 0, 8, 16, 24.
    let ii = st(&[Prim::I32, Prim::I32]);
    let pl = plan(sig(void(), vec![ii; 10]));
    let mut want: Vec<_> = (0..6).map(|i| pieces(&[pc(0, 8, g(i))])).collect();
    want.extend((0..4).map(|k| pieces(&[pc(0, 8, s(8 * k))])));
    assert_eq!(pl.args, want);
    assert_eq!(pl.stack_size, 32);
}

#[test]
fn struct_split_between_gpr_and_sse() {
    // gcc c_ld: f(1,2,3,4,5, (struct{long;double}){100,1.5}, 6, 2.5): 100 in r9,
    // 1.5 in xmm0, 6 pushed on the stack, 2.5 in xmm1.
    let ld = st(&[Prim::I64, Prim::F64]);
    let mut args = ints(5);
    args.extend([ld, p(Prim::I64), p(Prim::F64)]);
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[5], pieces(&[pc(0, 8, g(5)), pc(8, 8, f(0))]));
    assert_eq!(pl.args[6], sc(s(0)));
    assert_eq!(pl.args[7], sc(f(1)));
    assert_eq!(pl.stack_size, 16);
    assert_eq!(pl.vector_count, 2);
}

#[test]
fn int_struct_that_no_longer_fits_leaves_the_last_gpr_to_later_args() {
    // gcc c_ll: f(1,2,3,4,5, (struct{long;long}){100,200}, 6): the struct is pushed
    // whole (100 at 0, 200 at 8) and 6 still goes to r9.
    let ll = st(&[Prim::I64, Prim::I64]);
    let mut args = ints(5);
    args.extend([ll, p(Prim::I64), p(Prim::F64)]);
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[5], pieces(&[pc(0, 8, s(0)), pc(8, 8, s(8))]));
    assert_eq!(pl.args[6], sc(g(5)));
    assert_eq!(pl.args[7], sc(f(0)));
    assert_eq!(pl.stack_size, 16);
}

#[test]
fn sse_struct_that_no_longer_fits_leaves_the_last_xmm_to_later_args() {
    // gcc c_dd: seven doubles, (struct{double;double}), 8.5: the struct is pushed
    // whole and 8.5 still goes to xmm7.
    let dd = st(&[Prim::F64, Prim::F64]);
    let mut args = doubles(7);
    args.extend([dd, p(Prim::F64), p(Prim::I32)]);
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[7], pieces(&[pc(0, 8, s(0)), pc(8, 8, s(8))]));
    assert_eq!(pl.args[8], sc(f(7)));
    assert_eq!(pl.args[9], sc(g(0)));
    assert_eq!(pl.vector_count, 8);
    assert_eq!(pl.stack_size, 16);
}

#[test]
fn twelve_byte_sse_struct_on_the_stack_keeps_its_exact_size() {
    // gcc c_f3stack: {float,float,float} after seven doubles is stored at 0 (8 bytes)
    // and 8 (4 bytes); the next double is in xmm7; the slot is 16 bytes.
    let f3 = st(&[Prim::F32; 3]);
    let mut args = doubles(7);
    args.extend([f3, p(Prim::F64), p(Prim::F32)]);
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[7], pieces(&[pc(0, 8, s(0)), pc(8, 4, s(8))]));
    assert_eq!(pl.args[8], sc(f(7)));
    assert_eq!(pl.args[9], sc(s(16)));
    assert_eq!(pl.stack_size, 32);
}

#[test]
fn two_gpr_struct_fits_exactly_in_the_last_two() {
    let ll = st(&[Prim::I64, Prim::I64]);
    let mut args = ints(4);
    args.push(ll);
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[4], pieces(&[pc(0, 8, g(4)), pc(8, 8, g(5))]));
    assert_eq!(pl.stack_size, 0);
}

#[test]
fn mixed_struct_needs_both_register_kinds() {
    // {double,int} with xmm registers exhausted goes to the stack even though GPRs
    // remain, and does not consume a GPR.
    let di = st(&[Prim::F64, Prim::I32]);
    let mut args = doubles(8);
    args.extend([di, p(Prim::I32)]);
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[8], pieces(&[pc(0, 8, s(0)), pc(8, 8, s(8))]));
    assert_eq!(pl.args[9], sc(g(0)));
}

#[test]
fn several_small_structs() {
    // gcc c_ifc: ({int,float,i8}, {float,float,float}, {u8,u8,u8}): rdi + esi,
    // xmm0 + xmm1, edx.
    let args = vec![
        st(&[Prim::I32, Prim::F32, Prim::I8]),
        st(&[Prim::F32; 3]),
        st(&[Prim::U8; 3]),
    ];
    let pl = plan(sig(void(), args));
    assert_eq!(
        pl.args,
        vec![
            pieces(&[pc(0, 8, g(0)), pc(8, 4, g(1))]),
            pieces(&[pc(0, 8, f(0)), pc(8, 4, f(1))]),
            pieces(&[pc(0, 3, g(2))]),
        ]
    );
    assert_eq!(pl.vector_count, 2);
}

#[test]
fn memory_struct_between_ints() {
    // gcc c_pad: f(1, (struct{u8;double;u32}){9,1.5,10}, 2): the struct occupies stack
    // bytes 0..24, 1 and 2 are in edi and esi.
    let pad = st(&[Prim::U8, Prim::F64, Prim::U32]);
    let pl = plan(sig(void(), vec![p(Prim::I32), pad, p(Prim::I32)]));
    assert_eq!(pl.args, vec![sc(g(0)), on_stack(24, 0), sc(g(1))]);
    assert_eq!(pl.stack_size, 32);
    assert_eq!(pl.vector_count, 0);
}

#[test]
fn large_structs_as_arguments_follow_each_other_on_the_stack() {
    // 24, 64 and 108 bytes, then a stack-spilled int: 0..24, 24..88, 88..196 (slot
    // 200), 200..208 => 208 bytes.
    let mut args = vec![st(&[Prim::I64; 3]), arr(Prim::F64, 8), arr(Prim::I32, 27)];
    args.extend(ints(7));
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[0], on_stack(24, 0));
    assert_eq!(pl.args[1], on_stack(64, 24));
    assert_eq!(pl.args[2], on_stack(108, 88));
    assert_eq!(pl.args[9], sc(s(200)));
    assert_eq!(pl.stack_size, 208);
    assert_eq!(pl.vector_count, 0);
}

#[test]
fn variadic_sets_al_to_the_number_of_sse_registers() {
    // gcc c_var: printf("%d %f %f", 1, 2.0, 3.0) sets eax = 2.
    let pl = plan(vsig(
        p(Prim::I32),
        vec![p(Prim::String)],
        vec![p(Prim::I32), p(Prim::F64), p(Prim::F64)],
    ));
    assert_eq!(pl.args, vec![sc(g(0)), sc(g(1)), sc(f(0)), sc(f(1))]);
    assert_eq!(pl.vector_count, 2);
    assert_eq!(pl.stack_size, 0);
}

#[test]
fn variadic_without_variadic_arguments() {
    let pl = plan(vsig(p(Prim::I32), vec![p(Prim::String)], vec![]));
    assert_eq!(pl.args, vec![sc(g(0))]);
    assert_eq!(pl.vector_count, 0);
}

#[test]
fn variadic_arguments_spill_like_fixed_ones() {
    // Ten variadic doubles: eight in xmm0-7 (%al = 8), two on the stack; variadic
    // structs are classified as fixed ones.
    let mut var = doubles(10);
    var.push(st(&[Prim::F32, Prim::F32]));
    var.push(st(&[Prim::I32, Prim::I32]));
    let pl = plan(vsig(void(), vec![p(Prim::String)], var));
    let mut want = vec![sc(g(0))];
    want.extend((0..8).map(|i| sc(f(i))));
    want.extend([sc(s(0)), sc(s(8))]);
    want.push(pieces(&[pc(0, 8, s(16))]));
    want.push(pieces(&[pc(0, 8, g(1))]));
    assert_eq!(pl.args, want);
    assert_eq!(pl.vector_count, 8);
    assert_eq!(pl.stack_size, 32);
}

#[test]
fn too_many_arguments() {
    let err = Abi::SysV64
        .classify(&sig(void(), ints(super::super::MAX_ARGS + 1)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("too many arguments"), "{err}");
    // The limit itself is fine: 64 ints, 58 of them on the stack (464 bytes).
    let pl = plan(sig(void(), ints(super::super::MAX_ARGS)));
    assert_eq!(pl.stack_size, 464);
}

#[test]
fn stack_area_limit() {
    // Two 512 KiB structs fill the 1 MiB exactly; one more stack int is over
    // (1048584, reported rounded to 16).
    let half = arr(Prim::U8, 512 * 1024);
    let pl = plan(sig(void(), vec![half.clone(), half.clone()]));
    assert_eq!(pl.stack_size, 1 << 20);
    let mut args = vec![half.clone(), half];
    args.extend(ints(7));
    let err = Abi::SysV64
        .classify(&sig(void(), args))
        .unwrap_err()
        .to_string();
    assert!(err.contains("1048592 bytes of stack"), "{err}");
}

#[test]
fn huge_struct_fails_without_being_expanded() {
    // A 1 TiB array would take forever to cut into pieces or flatten.
    let huge = arr(Prim::U8, 1 << 40);
    let err = Abi::SysV64
        .classify(&sig(void(), vec![huge.clone()]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bytes of stack"), "{err}");
    // As a return value it is simply MEMORY.
    let pl = plan(sig(huge, vec![]));
    assert_eq!(pl.ret, RetClass::Indirect(g(0)));
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
    // Probe (gcc -O2 -S of call_all below, each argument loaded from a pointer and
    // passed to an extern):
    //   struct __attribute__((packed)) P5 { char c; int i; };
    //   union UFI { float f; int i; };            union UFD { float f[2]; double d; };
    //   union UF2 { float a; float b[2]; };       union UFd { float f; double d; };
    //   union UFF { float a; float b; };          struct B { int a:3; int b:5; float f; };
    //   union UDD { double a[2]; struct { double x, y; } s; };
    let one = |t: CType| plan(sig(void(), vec![t])).args.remove(0);
    // gcc: P5 copied to (%rsp): a packed struct with an unaligned field is MEMORY.
    assert_eq!(one(packed(&[Prim::I8, Prim::I32])), on_stack(5, 0));
    // gcc: UFI in %edi: a union's class merges its members' (INTEGER wins over SSE).
    assert_eq!(
        one(union_of(&[p(Prim::F32), p(Prim::I32)])),
        pieces(&[pc(0, 4, g(0))])
    );
    // gcc: UFD, UF2 and UFd in %xmm0 (movq), UFF in %xmm0 (movd).
    let f2 = arr(Prim::F32, 2);
    assert_eq!(
        one(union_of(&[f2.clone(), p(Prim::F64)])),
        pieces(&[pc(0, 8, f(0))])
    );
    assert_eq!(
        one(union_of(&[p(Prim::F32), f2])),
        pieces(&[pc(0, 8, f(0))])
    );
    assert_eq!(
        one(union_of(&[p(Prim::F32), p(Prim::F64)])),
        pieces(&[pc(0, 8, f(0))])
    );
    assert_eq!(
        one(union_of(&[p(Prim::F32), p(Prim::F32)])),
        pieces(&[pc(0, 4, f(0))])
    );
    // gcc: B in %rdi: the bitfields make the float's eightbyte INTEGER.
    assert_eq!(one(bits_then_float()), pieces(&[pc(0, 8, g(0))]));
    // gcc: UDD in %xmm0 and %xmm1.
    assert_eq!(
        one(union_of(&[arr(Prim::F64, 2), st(&[Prim::F64, Prim::F64])])),
        pieces(&[pc(0, 8, f(0)), pc(8, 8, f(1))])
    );
}

#[test]
fn over_aligned_stack_argument_keeps_its_alignment() {
    use crate::types::{MemberSpec, RecordOptions, StructType};
    use std::sync::Arc;
    // gcc 12 -O2 -S: f(long x6, long g, struct __attribute__((aligned(32))) { long a, b; })
    // reads g at 8(%rsp) (stack offset 0) and a.a at 40(%rsp) (offset 32, not 16); the
    // differential tests found it.
    let opts = RecordOptions {
        align: Some(32),
        ..RecordOptions::default()
    };
    let a32 = CType::Struct(Arc::new(
        StructType::with_options(
            vec![
                MemberSpec::new("a", p(Prim::I64), None),
                MemberSpec::new("b", p(Prim::I64), None),
            ],
            &opts,
        )
        .unwrap(),
    ));
    let mut args = ints(7);
    args.push(a32);
    let pl = plan(sig(void(), args));
    assert_eq!(pl.args[6], sc(s(0)));
    assert_eq!(
        pl.args[7],
        ArgClass::Pieces(vec![
            pc(0, 8, s(32)),
            pc(8, 8, s(40)),
            pc(16, 8, s(48)),
            pc(24, 8, s(56))
        ])
    );
    assert_eq!(pl.stack_size, 64);
}
