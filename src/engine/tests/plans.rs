//! The placement primitive (`place`) and the check that lets it place without bounds
//! checks: every plan the classifiers make fits the frame, and a plan that does not is
//! refused.

use super::structs::{big, regs, spill};
use crate::abi::{Abi, ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::engine::frame::{self, CallFrame};
use crate::engine::place::{self, fits_frame, Locs};
use crate::types::{CType, Prim};

const ABIS: [Abi; 4] = [Abi::SysV64, Abi::Win64, Abi::Aapcs64, Abi::AppleArm64];

#[test]
fn every_classified_plan_fits_the_frame() {
    for abi in ABIS {
        for (name, (proto, _)) in [
            ("regs", regs(abi)),
            ("spill", spill(abi)),
            ("big", big(abi)),
        ] {
            assert!(fits_frame(&proto.sig, &proto.plan), "{abi:?} {name}");
        }
    }
}

/// `void f(i64, struct { u8 a[3]; })` with the plan `plan` describes instead.
fn refused(edit: impl FnOnce(&mut CallPlan)) -> bool {
    let sig = Signature {
        ret: CType::Prim(Prim::Void),
        fixed: vec![
            CType::Prim(Prim::I64),
            CType::Struct(std::sync::Arc::new(
                crate::types::StructType::new(vec![crate::types::FieldSpec {
                    name: "a".into(),
                    ty: CType::Prim(Prim::U8),
                    count: Some(3),
                }])
                .unwrap(),
            )),
        ],
        variadic: None,
    };
    let mut plan = Abi::SysV64.classify(&sig).unwrap();
    assert!(fits_frame(&sig, &plan), "the classifier's own plan fits");
    edit(&mut plan);
    !fits_frame(&sig, &plan)
}

#[test]
fn plans_outside_the_frame_are_refused() {
    let gprs = frame::GPR_SLOTS as u8;
    assert!(refused(
        |p| p.args[0] = ArgClass::Scalar(vec![Loc::Gpr(gprs)])
    ));
    assert!(refused(
        |p| p.args[0] = ArgClass::Scalar(vec![Loc::Fpr(frame::FPR_SLOTS as u8)])
    ));
    // A stack slot whose last byte is past the area.
    assert!(refused(|p| {
        p.stack_size = 16;
        p.args[0] = ArgClass::Scalar(vec![Loc::Stack(9)]);
    }));
    // A piece longer than a register, or past the struct's 3 bytes.
    let piece = |src, size, dst| ArgClass::Pieces(vec![Piece { src, size, dst }]);
    assert!(refused(|p| p.args[1] = piece(0, 9, Loc::Gpr(1))));
    assert!(refused(|p| p.args[1] = piece(1, 3, Loc::Gpr(1))));
    assert!(refused(|p| p.args[1] = piece(0, 0, Loc::Gpr(1))));
    // Results: a scalar on the stack, past the return registers, an echo elsewhere.
    assert!(refused(|p| p.ret = RetClass::Scalar(Loc::Stack(0))));
    assert!(refused(
        |p| p.ret = RetClass::Scalar(Loc::Gpr(frame::RET_GPR_SLOTS as u8))
    ));
    assert!(refused(|p| p.indirect_echo = Some(Loc::Fpr(0))));
    // One class per argument.
    assert!(refused(|p| {
        p.args.pop();
    }));
    assert_eq!(
        crate::engine::EngineError::PlanOutsideFrame.to_string(),
        "internal error: the call plan does not fit the call frame"
    );
}

/// `put` then `get` of each piece size: a register holds the piece's bytes zero-extended,
/// the stack exactly its bytes, and both come back unchanged.
#[test]
fn pieces_move_exactly_their_bytes_both_ways() {
    let value: Vec<u8> = (1..=16).collect();
    for size in 1..=8u8 {
        let mut f = CallFrame::default();
        let mut stack = [0xEEu8; 32];
        let locs = Locs::args(&mut f, stack.as_mut_ptr());
        let to_reg = Piece {
            src: 8 - u32::from(size) / 2,
            size,
            dst: Loc::Gpr(3),
        };
        let to_stack = Piece {
            src: 1,
            size,
            dst: Loc::Stack(5),
        };
        // SAFETY: both pieces lie within `value` and within the frame and `stack`.
        unsafe {
            place::put(locs, value.as_ptr(), &to_reg);
            place::put(locs, value.as_ptr(), &to_stack);
        }
        let (s, n) = (to_reg.src as usize, usize::from(size));
        let mut want = [0u8; 8];
        want[..n].copy_from_slice(&value[s..s + n]);
        assert_eq!(f.gpr[3], u64::from_le_bytes(want), "register, size {size}");
        let mut want = [0xEEu8; 32];
        want[5..5 + n].copy_from_slice(&value[1..1 + n]);
        assert_eq!(stack, want, "stack, size {size}");

        let mut back = [0u8; 16];
        // SAFETY: the piece lies within the frame and within `back`'s 16 bytes.
        unsafe {
            place::get(locs, &to_reg, back.as_mut_ptr());
            place::get(locs, &to_stack, back.as_mut_ptr());
        }
        assert_eq!(
            back[s..s + n],
            value[s..s + n],
            "from the register, size {size}"
        );
        assert_eq!(
            back[1..1 + n],
            value[1..1 + n],
            "from the stack, size {size}"
        );
    }
}
