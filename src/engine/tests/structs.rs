//! Struct arguments: the fast path copies them straight from the caller's memory
//! (`FastPlan::fill`); the general path marshals them into a scratch slot and places
//! them from there (`Call::place_struct`). Both must leave the same registers and the
//! same stack bytes, every store exactly its piece's size: the stack area starts
//! filled with 0xEE on both sides, so a wider store shows.

use std::mem::MaybeUninit;
use std::sync::Arc;

use super::EE;
use crate::abi::{Abi, ArgClass, Loc, Signature};
use crate::engine::fast::{FastStack, FAST_STACK_BYTES, FAST_STACK_WORDS};
use crate::engine::frame::{self, CallFrame};
use crate::engine::{Buffers, Call, Prototype};
use crate::types::{CType, FieldSpec, Prim, StructType};

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
pub(crate) enum Val {
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
pub(crate) struct Placed {
    pub(crate) gpr: [u64; frame::GPR_SLOTS],
    pub(crate) fpr: [u64; frame::FPR_SLOTS],
    pub(crate) stack: Vec<u8>,
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

pub(crate) fn placed_by_general(proto: &Prototype, vals: &[Val]) -> Placed {
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
        // SAFETY: the stack area covers stack_size bytes, all written by the placement.
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
pub(crate) fn regs(abi: Abi) -> (Prototype, Vec<Val>) {
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
pub(crate) fn spill(abi: Abi) -> (Prototype, Vec<Val>) {
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
pub(crate) fn big(abi: Abi) -> (Prototype, Vec<Val>) {
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

pub(crate) fn struct_bytes(v: &Val) -> &[u8] {
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
