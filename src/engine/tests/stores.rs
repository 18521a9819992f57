//! Stack stores of the arguments' own size (Apple arm64) against 8-byte slots (every
//! other ABI), for calls (`Call::set_scalar`, `FastPlan`) and callbacks (`arg_bits`).
//! The stack area starts filled with 0xEE so that any store or read wider than its
//! argument shows. Runs on every host: nothing is called.

use std::mem::MaybeUninit;

use super::EE;
use crate::abi::{Abi, Loc, Signature};
use crate::engine::place::store_low_bytes;
use crate::engine::{frame, thunk, Buffers, Call, Prototype};
use crate::types::{CType, Prim};

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
    // SAFETY: the stack area covers stack_size bytes, every one written above.
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
    let plan = Prototype::new(Abi::AppleArm64, sig()).unwrap().plan;
    let stack = APPLE_BYTES;
    let frame = frame::CallFrame {
        stack: stack.as_ptr() as usize,
        ..Default::default()
    };
    let got: Vec<u64> = (FIRST..FIRST + 6)
        // SAFETY: a prototype's plan, whose stack pieces lie in APPLE_BYTES.
        .map(|i| unsafe { thunk::arg_bits(&plan, &frame, i) })
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
