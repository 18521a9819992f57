//! Runs real thunks on the host: the page must be executable after `region::protect`
//! (QEMU user mode enforces no-exec pages), the instruction cache flushed (AArch64),
//! the record reached through the thunk's scratch register, and the callback entry
//! must see the caller's SP 16-byte aligned (the asm checks it on AArch64 too).

use super::*;
use crate::abi::Signature;
use crate::types::{CType, Prim};

struct Probe {
    plan: CallPlan,
    seen: Vec<u64>,
    stack_mod16: usize,
    record_index: usize,
}

unsafe extern "C" fn probe_dispatch(record: *mut SlotRecord, frame: *mut CallFrame) {
    // SAFETY: the entry passes the thunk's record (published with a live Probe) and a
    // frame on its own stack.
    let (rec, probe, frame) = unsafe {
        let rec = &*record;
        (
            rec,
            &mut *(rec.state.load(Ordering::Acquire) as *mut Probe),
            &mut *frame,
        )
    };
    probe.record_index = rec.index;
    probe.stack_mod16 = frame.stack % 16;
    probe.seen = (0..probe.plan.args.len())
        // SAFETY: a prototype's plan, and the live frame of a call of its type.
        .map(|i| unsafe { arg_bits(&probe.plan, frame, i) })
        .collect();
    let sum = probe.seen[..10]
        .iter()
        .fold(0u64, |a, b| a.wrapping_add(*b));
    // SAFETY: the plan of a prototype and the live frame of a call of its type.
    unsafe { set_ret_bits(&probe.plan, frame, sum) };
}

/// What a callback entry saw: every argument register it spills, and the caller's
/// first `stack_len` stack bytes.
#[derive(Default)]
struct Seen {
    gpr: [u64; 9],
    fpr: [u64; 8],
    stack_len: usize,
    stack: Vec<u8>,
}

/// A private pool whose first thunk records into `seen` what it is called with; the
/// pool (keep it until `stop_recording`) and the thunk's address.
fn recording_thunk(abi: Abi, seen: &mut Seen) -> (Pool, usize) {
    let mut pool = Pool {
        records: Vec::new(),
        pages: Vec::new(),
        free: Vec::new(),
        freed: Vec::new(),
    };
    grow(&mut pool, abi, record_dispatch, entry_address().unwrap()).unwrap();
    pool.records[0][0]
        .state
        .store(seen as *mut Seen as *mut c_void, Ordering::Release);
    let func = pool.pages[0].as_ptr::<u8>() as usize;
    (pool, func)
}

/// Unpublishes the `Seen` a `recording_thunk` writes to.
fn stop_recording(pool: &Pool) {
    pool.records[0][0]
        .state
        .store(std::ptr::null_mut(), Ordering::Release);
}

unsafe extern "C" fn record_dispatch(record: *mut SlotRecord, frame: *mut CallFrame) {
    // SAFETY: the entry passes the thunk's record (published with a live Seen) and a
    // frame on its own stack.
    let (seen, frame) = unsafe {
        (
            &mut *((*record).state.load(Ordering::Acquire) as *mut Seen),
            &*frame,
        )
    };
    seen.gpr = frame.gpr;
    seen.fpr = frame.fpr;
    // SAFETY: the caller's stack argument area holds at least `stack_len` bytes.
    seen.stack =
        unsafe { std::slice::from_raw_parts(frame.stack as *const u8, seen.stack_len) }.to_vec();
}

/// A fast-path call of `proto` at `func` with nonzero argument images. Not inlined,
/// so consecutive calls put their uninitialised frame and stack buffer at the same
/// address: a call that zeroed nothing would hand the next one the previous values.
#[inline(never)]
fn call_fast(proto: &crate::engine::Prototype, func: usize) {
    let fast = proto
        .fast
        .as_ref()
        .expect("an all-scalar prototype has a fast plan");
    let arg = |i: usize, p: Prim| {
        Some(match p {
            Prim::F64 => (i as f64 + 1.5).to_bits(),
            _ => 0x5A5A_0000 + i as u64,
        })
    };
    // SAFETY: the thunk leads to record_dispatch, which reads any argument list.
    unsafe { fast.call(func, arg, |_, _| None, |_| {}) }.expect("the host has an engine");
}

/// Asserts that every register `plan` leaves unused arrived as 0, and every stack
/// byte no argument covers (padding up to `stack_size`) too.
fn assert_unused_zero(plan: &CallPlan, seen: &Seen, what: &str) {
    let (mut gpr_used, mut fpr_used) = ([false; 9], [false; 8]);
    let mut stack_used = vec![false; plan.stack_size as usize];
    for class in &plan.args {
        for (l, width) in scalar_locs(class, what) {
            match l {
                Loc::Gpr(r) => gpr_used[r as usize] = true,
                Loc::Fpr(r) => fpr_used[r as usize] = true,
                Loc::Stack(off) => stack_used[off as usize..off as usize + width].fill(true),
            }
        }
    }
    for (r, used) in gpr_used.iter().enumerate() {
        if !used {
            assert_eq!(seen.gpr[r], 0, "{what}: unused gpr[{r}] not zero");
        }
    }
    for (r, used) in fpr_used.iter().enumerate() {
        if !used {
            assert_eq!(seen.fpr[r], 0, "{what}: unused fpr[{r}] not zero");
        }
    }
    for (b, used) in stack_used.iter().enumerate() {
        if !used {
            assert_eq!(seen.stack[b], 0, "{what}: stack padding byte {b} not zero");
        }
    }
}

/// Checks that the dirtying call's arguments did reach the callee nonzero (so the
/// zeros a later call checks for are the engine's doing).
fn assert_all_nonzero(plan: &CallPlan, seen: &Seen) {
    for class in &plan.args {
        let (loc, width) = scalar_locs(class, "dirtying call")[0];
        let got = match loc {
            Loc::Gpr(r) => seen.gpr[r as usize],
            Loc::Fpr(r) => seen.fpr[r as usize],
            Loc::Stack(off) => {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(&seen.stack[off as usize..off as usize + width]);
                u64::from_le_bytes(b)
            }
        };
        assert_ne!(got, 0, "dirtying argument at {:?} arrived as 0", loc);
    }
}

/// Where a scalar argument goes, with the width stored there: a register or an
/// 8-byte slot, or (Apple arm64's packed stack) one piece of the scalar's own size.
fn scalar_locs(class: &ArgClass, what: &str) -> Vec<(Loc, usize)> {
    match class {
        ArgClass::Scalar(locs) => locs.iter().map(|l| (*l, 8)).collect(),
        ArgClass::Pieces(pieces) => pieces.iter().map(|p| (p.dst, p.size as usize)).collect(),
        _ => panic!("{what}: scalar arguments only"),
    }
}

#[test]
fn callee_never_sees_stale_registers_or_stack_bytes() {
    use crate::engine::{Buffers, Call, Prototype};
    let abi = Abi::host().unwrap();
    let (i, d) = (CType::Prim(Prim::I64), CType::Prim(Prim::F64));
    let sig = |fixed: Vec<CType>, variadic: Option<Vec<CType>>| Signature {
        ret: CType::Prim(Prim::I64),
        fixed,
        variadic,
    };
    let proto = |s: Signature| Prototype::new(abi, s).unwrap();
    // Fill every register slot and some stack bytes with nonzero images first:
    // integers then doubles, and doubles in the first positions (Win64 assigns
    // registers by position), with arguments spilling to the stack.
    let mut many = vec![i.clone(); 8];
    many.extend(vec![d.clone(); 8]);
    many.extend(vec![i.clone(); 4]);
    let dirty = [
        proto(sig(many, None)),
        proto(sig(vec![d.clone(), i.clone(), d.clone(), i.clone()], None)),
    ];
    // Then calls that leave register holes, and an odd number of stack words (the
    // area is rounded up to 16 bytes, so its last 8 bytes are padding on all three
    // conventions: SysV 3 words, AAPCS64 1, Win64 5).
    let probes = [
        proto(sig(vec![i.clone(), d.clone()], None)),
        proto(sig(vec![i.clone(); 9], None)),
    ];

    let mut seen = Seen::default();
    let (pool, func) = recording_thunk(abi, &mut seen);
    for probe in &probes {
        // One call site for all, so every call's frame and stack buffer are at the
        // same address as the previous one's.
        for (k, p) in dirty.iter().chain([probe]).enumerate() {
            seen.stack_len = p.plan.stack_size as usize;
            call_fast(p, func);
            if k < dirty.len() {
                assert_all_nonzero(&p.plan, &seen);
            }
        }
        assert_unused_zero(&probe.plan, &seen, "fast path");
    }

    // The general path (a variadic prototype has no fast plan), with its buffers
    // full of leftovers as an earlier call could leave them.
    // Two doubles and nine integers: an odd number of stack words again (SysV 3,
    // AAPCS64 1, Win64 7), so the area ends in 8 bytes of padding.
    let mut varargs = vec![d.clone(), d.clone()];
    varargs.extend(vec![i.clone(); 8]);
    let v = proto(sig(vec![i.clone()], Some(varargs)));
    assert!(v.fast.is_none());
    let mut bufs = std::mem::MaybeUninit::<Buffers>::uninit();
    // SAFETY: writes within `bufs`.
    unsafe { std::ptr::write_bytes(bufs.as_mut_ptr(), 0xA5, 1) };
    seen.stack_len = v.plan.stack_size as usize;
    let mut call = Call::new(&v, &mut bufs);
    for k in 0..11 {
        let bits = match k {
            1 | 2 => (k as f64 + 0.5).to_bits(),
            _ => 100 + k as u64,
        };
        call.set_scalar(k, bits);
    }
    // SAFETY: the thunk leads to record_dispatch, which reads any argument list.
    unsafe { call.invoke(func, std::ptr::null_mut()) }.unwrap();
    assert_unused_zero(&v.plan, &seen, "general path");
    stop_recording(&pool);
}

#[test]
fn register_calls_fill_every_argument_register_exactly() {
    use crate::engine::Prototype;
    let abi = Abi::host().unwrap();
    let gprs = match abi {
        Abi::SysV64 => 6,
        // No register call (Win64: positional registers; AAPCS64: x8 must be zeroed):
        // the trampoline path is tested above.
        Abi::Win64 | Abi::Aapcs64 | Abi::AppleArm64 => {
            let p = Prototype::new(
                abi,
                Signature {
                    ret: CType::Prim(Prim::I64),
                    fixed: vec![CType::Prim(Prim::I64), CType::Prim(Prim::F64)],
                    variadic: None,
                },
            )
            .unwrap();
            assert!(p.plan.register_call().is_none());
            return;
        }
    };
    let mut fixed = vec![CType::Prim(Prim::I64); gprs];
    fixed.extend(vec![CType::Prim(Prim::F64); 8]);
    let proto = Prototype::new(
        abi,
        Signature {
            ret: CType::Prim(Prim::I64),
            fixed: fixed.clone(),
            variadic: None,
        },
    )
    .unwrap();
    assert!(proto.plan.register_call().is_some(), "all in registers");
    // One more argument goes on the stack: the trampoline again.
    fixed.push(CType::Prim(Prim::I64));
    let spill = Prototype::new(
        abi,
        Signature {
            ret: CType::Prim(Prim::I64),
            fixed,
            variadic: None,
        },
    )
    .unwrap();
    assert!(spill.plan.register_call().is_none(), "a stack argument");

    let mut seen = Seen::default();
    let (pool, func) = recording_thunk(abi, &mut seen);
    call_fast(&proto, func);
    for r in 0..gprs {
        assert_eq!(seen.gpr[r], 0x5A5A_0000 + r as u64, "gpr[{r}]");
    }
    for r in 0..8 {
        assert_eq!(seen.fpr[r], ((gprs + r) as f64 + 1.5).to_bits(), "fpr[{r}]");
    }
    stop_recording(&pool);
}

/// Struct arguments through the fast path and the real trampoline: the callee sees
/// the registers and stack bytes the general path would give it (engine tests:
/// `placed_by_general`), and each struct passed by reference as the address of a
/// copy, not of the caller's memory.
#[test]
fn fast_struct_arguments_reach_the_callee() {
    use crate::engine::tests::{big, placed_by_general, regs, spill, Val};
    let abi = Abi::host().unwrap();
    let mut seen = Seen::default();
    let (pool, func) = recording_thunk(abi, &mut seen);
    for (name, (proto, vals)) in [
        ("regs", regs(abi)),
        ("spill", spill(abi)),
        ("big", big(abi)),
    ] {
        let fast = proto.fast.as_ref().expect("a fast plan");
        seen.stack_len = proto.plan.stack_size as usize;
        let arg = |i: usize, _: Prim| match &vals[i] {
            Val::Scalar(bits) => Some(*bits),
            Val::Bytes(_) => None,
        };
        let src = |i: usize, _: &std::sync::Arc<crate::types::StructType>| match &vals[i] {
            Val::Bytes(b) => Some(b.as_ptr()),
            Val::Scalar(_) => None,
        };
        let mut ret = [0u8; 16];
        // SAFETY: the thunk leads to record_dispatch, which reads any argument list
        // and writes no result; `ret` holds any of these results.
        let done = unsafe {
            if fast.struct_ret().is_some() {
                fast.call_struct(func, arg, src, |_| {}, ret.as_mut_ptr())
            } else {
                fast.call(func, arg, src, |_| {}).map(|_| ())
            }
        };
        assert_eq!(done, Some(()), "{name}: the fast path ran");
        let want = placed_by_general(&proto, &vals);
        // The general path's by-reference addresses are already 0 in `want`.
        let (mut gpr, mut fpr, mut stack) = (seen.gpr, seen.fpr, seen.stack.clone());
        for (i, class) in proto.plan.args.iter().enumerate() {
            let (ArgClass::Indirect(loc), Val::Bytes(b)) = (class, &vals[i]) else {
                continue;
            };
            let addr = match *loc {
                Loc::Gpr(r) => std::mem::take(&mut gpr[r as usize]),
                Loc::Fpr(r) => std::mem::take(&mut fpr[r as usize]),
                Loc::Stack(off) => {
                    let slot = &mut stack[off as usize..off as usize + 8];
                    let a = u64::from_le_bytes(slot.try_into().unwrap());
                    slot.fill(0);
                    a
                }
            };
            assert!(
                addr != 0 && addr != b.as_ptr() as u64,
                "{name}: argument {i}"
            );
        }
        // Win64 and the struct results: the hidden result pointer is in rcx or x8,
        // which `placed_by_general` does not set.
        if let crate::abi::RetClass::Indirect(Loc::Gpr(r)) = proto.plan.ret {
            assert_eq!(
                gpr[r as usize],
                ret.as_ptr() as u64,
                "{name}: result address"
            );
            gpr[r as usize] = 0;
        }
        // The general path's padding bytes are 0xEE where the fast path's are 0.
        let want_stack: Vec<u8> = want
            .stack
            .iter()
            .map(|&b| if b == 0xEE { 0 } else { b })
            .collect();
        assert_eq!(gpr, want.gpr, "{name}: gpr");
        assert_eq!(fpr, want.fpr, "{name}: fpr");
        assert_eq!(stack, want_stack, "{name}: stack");
    }
    stop_recording(&pool);
}

type Fn11 = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f64) -> i64;

#[test]
fn thunk_runs_and_callback_entry_sees_aligned_stack() {
    let abi = Abi::host().unwrap();
    let i64t = CType::Prim(Prim::I64);
    let mut fixed = vec![i64t.clone(); 10];
    fixed.push(CType::Prim(Prim::F64));
    let sig = Signature {
        ret: i64t,
        fixed,
        variadic: None,
    };
    let mut probe = Probe {
        plan: crate::engine::Prototype::new(abi, sig).unwrap().plan,
        seen: Vec::new(),
        stack_mod16: 99,
        record_index: usize::MAX,
    };
    // A private pool (the global one's records carry whatever dispatcher grew them),
    // two pages so a grown pool's later page runs too.
    let entry = entry_address().unwrap();
    let mut pool = Pool {
        records: Vec::new(),
        pages: Vec::new(),
        free: Vec::new(),
        freed: Vec::new(),
    };
    grow(&mut pool, abi, probe_dispatch, entry).unwrap();
    grow(&mut pool, abi, probe_dispatch, entry).unwrap();
    let per_page = per_page();
    for index in [0, per_page - 1, per_page + 2] {
        let rec = &pool.records[index / per_page][index % per_page];
        rec.state
            .store(&mut probe as *mut Probe as *mut c_void, Ordering::Release);
        let code =
            pool.pages[index / per_page].as_ptr::<u8>() as usize + (index % per_page) * THUNK_SIZE;
        // SAFETY: the thunk leads to probe_dispatch, which implements this type.
        let f: Fn11 = unsafe { std::mem::transmute::<usize, Fn11>(code) };
        let r = f(1, 2, 3, 4, 5, 6, 7, 8, 9, -10, 2.5);
        assert_eq!(probe.record_index, index);
        assert_eq!(probe.stack_mod16, 0, "stack arguments not 16-byte aligned");
        assert_eq!(
            &probe.seen[..10],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, (-10i64) as u64]
        );
        assert_eq!(f64::from_bits(probe.seen[10]), 2.5);
        assert_eq!(r, 35);
        rec.state.store(std::ptr::null_mut(), Ordering::Release);
    }
}
