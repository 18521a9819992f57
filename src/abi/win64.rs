//! Microsoft x64 calling convention (Windows on x86-64).
//!
//! Every argument takes one positional 8-byte slot: slots 0..4 are rcx/xmm0, rdx/xmm1,
//! r8/xmm2, r9/xmm3 (the integer or the vector register by the argument's type, never
//! both kinds counted separately), later slots are on the stack. A struct of 1, 2, 4 or 8
//! bytes travels like an integer of that size, even when its fields are floats; any other
//! struct is copied by the caller and passed by address. A variadic float is passed in
//! both registers of its slot, since the callee may spill either. The stack offsets here
//! exclude the 32-byte shadow space, which the engine reserves.

use super::{finish_stack, Abi, AbiError, ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::types::{CType, Prim};

const REG_SLOTS: usize = 4;

/// Whether a struct of this size goes in an integer register rather than by address.
fn fits_register(size: usize) -> bool {
    matches!(size, 1 | 2 | 4 | 8)
}

pub fn classify(sig: &Signature) -> Result<CallPlan, AbiError> {
    let ret = match &sig.ret {
        CType::Prim(Prim::Void) => RetClass::Void,
        CType::Prim(p) if p.is_float() => RetClass::Scalar(Loc::Fpr(0)),
        CType::Prim(_) => RetClass::Scalar(Loc::Gpr(0)),
        CType::Struct(s) if fits_register(s.size) => RetClass::Pieces(vec![Piece {
            src: 0,
            size: s.size as u8,
            dst: Loc::Gpr(0),
        }]),
        CType::Struct(_) => RetClass::Indirect(Loc::Gpr(0)),
    };
    // The hidden result pointer takes slot 0 (rcx) and pushes every argument one slot on.
    let first_slot = usize::from(matches!(ret, RetClass::Indirect(_)));
    let fixed = sig.fixed.len();
    let mut args = Vec::with_capacity(sig.arg_count());
    for (i, t) in sig.args().enumerate() {
        let slot = first_slot + i;
        let reg = (slot < REG_SLOTS).then_some(slot as u8);
        let memory = Loc::Stack((slot.saturating_sub(REG_SLOTS) * 8) as u32);
        let int_loc = reg.map_or(memory, Loc::Gpr);
        args.push(match t {
            CType::Prim(Prim::Void) => return Err(AbiError::VoidInClassifier),
            CType::Prim(p) if p.is_float() => match reg {
                Some(r) if i >= fixed => ArgClass::Scalar(vec![Loc::Fpr(r), Loc::Gpr(r)]),
                Some(r) => ArgClass::Scalar(vec![Loc::Fpr(r)]),
                None => ArgClass::Scalar(vec![memory]),
            },
            CType::Prim(_) => ArgClass::Scalar(vec![int_loc]),
            CType::Struct(s) if fits_register(s.size) => ArgClass::Pieces(vec![Piece {
                src: 0,
                size: s.size as u8,
                dst: int_loc,
            }]),
            CType::Struct(_) => ArgClass::Indirect(int_loc),
        });
    }
    let slots = first_slot + args.len();
    // "The callee returns the same pointer in RAX" (Microsoft x64 calling convention,
    // return values).
    let indirect_echo = matches!(ret, RetClass::Indirect(_)).then_some(Loc::Gpr(0));
    Ok(CallPlan {
        abi: Abi::Win64,
        indirect_echo,
        ret,
        args,
        stack_size: finish_stack(slots.saturating_sub(REG_SLOTS) * 8)?,
        vector_count: 0,
    })
}

/// Callback thunk: identical to SysV's (r10 = record, jump through r11; both volatile
/// and argument-free in the Microsoft convention too).
pub fn thunk_code(record: u64, entry: u64) -> [u8; super::THUNK_SIZE] {
    super::sysv_x64::thunk_code(record, entry)
}

#[cfg(test)]
mod tests {
    //! Expectations come from Microsoft's "x64 calling convention" documentation (rules
    //! quoted beside them) and were checked against `x86_64-w64-mingw32-gcc -O2 -S` on
    //! small C probes; "mingw:" notes what the probe showed. Stack offsets in the probes
    //! are 32 bytes higher than ours (the shadow space).

    use super::super::test_util::*;
    use super::super::{Abi, ArgClass, CallPlan, Loc, RetClass, Signature, MAX_ARGS};
    use crate::types::{CType, Prim};

    fn plan(s: Signature) -> CallPlan {
        let plan = Abi::Win64.classify(&s).unwrap();
        assert_eq!(plan.abi, Abi::Win64);
        assert_eq!(plan.vector_count, 0);
        plan
    }

    fn whole(size: u8, dst: Loc) -> ArgClass {
        ArgClass::Pieces(vec![pc(0, size, dst)])
    }

    fn rwhole(size: u8) -> RetClass {
        RetClass::Pieces(vec![pc(0, size, g(0))])
    }

    fn ints(n: usize) -> Vec<CType> {
        vec![p(Prim::I32); n]
    }

    #[test]
    fn every_integer_primitive_in_rcx_and_rax() {
        for x in INT_PRIMS {
            let pl = plan(sig(p(x), vec![p(x)]));
            assert_eq!(pl.ret, RetClass::Scalar(g(0)), "{x:?}");
            assert_eq!(pl.args, vec![sc(g(0))], "{x:?}");
            assert_eq!(pl.stack_size, 0);
        }
    }

    #[test]
    fn floats_in_xmm0() {
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
    fn slots_are_positional() {
        // mingw c2: e2(int 1, double 2.5, float 3.5, long long 4, double 5.5, int 6):
        // ecx, xmm1, xmm2, r9, 32(%rsp), 40(%rsp). The double in slot 1 leaves rdx unused.
        let args = vec![
            p(Prim::I32),
            p(Prim::F64),
            p(Prim::F32),
            p(Prim::I64),
            p(Prim::F64),
            p(Prim::I32),
        ];
        let pl = plan(sig(void(), args));
        assert_eq!(
            pl.args,
            vec![sc(g(0)), sc(f(1)), sc(f(2)), sc(g(3)), sc(s(0)), sc(s(8))]
        );
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn mixed_ints_and_doubles_spill() {
        // (int, double) x 7: slots 0..3 alternate rcx, xmm1, r8, xmm3; the other ten
        // arguments take stack slots 0..80 in order.
        let mut args = Vec::new();
        for _ in 0..7 {
            args.push(p(Prim::I32));
            args.push(p(Prim::F64));
        }
        let pl = plan(sig(p(Prim::F64), args));
        let mut want = vec![sc(g(0)), sc(f(1)), sc(g(2)), sc(f(3))];
        want.extend((0..10).map(|k| sc(s(8 * k))));
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 80);
    }

    #[test]
    fn twenty_floats() {
        // xmm0..xmm3, then sixteen 8-byte slots.
        let pl = plan(sig(p(Prim::F32), vec![p(Prim::F32); 20]));
        let mut want: Vec<_> = (0..4).map(|i| sc(f(i))).collect();
        want.extend((0..16).map(|k| sc(s(8 * k))));
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 128);
    }

    #[test]
    fn ten_pointers() {
        // rcx, rdx, r8, r9, then six slots: 48 bytes.
        let pl = plan(sig(p(Prim::Pointer), vec![p(Prim::Pointer); 10]));
        let mut want: Vec<_> = (0..4).map(|i| sc(g(i))).collect();
        want.extend((0..6).map(|k| sc(s(8 * k))));
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 48);
    }

    #[test]
    fn five_args_round_the_stack_to_16() {
        let pl = plan(sig(void(), ints(5)));
        assert_eq!(pl.args[4], sc(s(0)));
        assert_eq!(pl.stack_size, 16);
    }

    /// (name, struct, passed-in-register?) — Microsoft: "Structs and unions of size 8, 16,
    /// 32, or 64 bits ... are passed as if they were integers of the same size. ... others
    /// are passed as a pointer to memory allocated by the caller"; returns follow the
    /// same size rule with rax, else the caller's buffer whose address goes in rcx.
    fn struct_table() -> Vec<(&'static str, CType, bool)> {
        let inner2f = st(&[Prim::F32, Prim::F32]);
        let inner_u64_u8 = st(&[Prim::U64, Prim::U8]);
        vec![
            // mingw r_u1: eax.
            ("{u8}", st(&[Prim::U8]), true),
            ("{u8,u8}", st(&[Prim::U8, Prim::U8]), true),
            // mingw c1: U3 passed by address in r9; r_u3 returns through rcx.
            ("{u8,u8,u8}", st(&[Prim::U8; 3]), false),
            // 4 bytes with padding; mingw c1 stores it as one dword on the stack.
            ("{u16,u8}", st(&[Prim::U16, Prim::U8]), true),
            ("{u8[5]}", arr(Prim::U8, 5), false),
            // mingw r_u7: through rcx.
            ("{u8 x7}", st(&[Prim::U8; 7]), false),
            ("{int,int}", st(&[Prim::I32, Prim::I32]), true),
            // Floats in small structs still use integer registers: mingw c1 passes
            // {float} in ecx, {double} in rdx, {float,float} in r8; r_f1/r_d1/r_f2
            // return in eax/rax.
            ("{float}", st(&[Prim::F32]), true),
            ("{double}", st(&[Prim::F64]), true),
            ("{float,float}", st(&[Prim::F32, Prim::F32]), true),
            ("{float,float,float}", st(&[Prim::F32; 3]), false),
            ("{float x4}", st(&[Prim::F32; 4]), false),
            ("{float a[4]}", arr(Prim::F32, 4), false),
            ("{float x5}", st(&[Prim::F32; 5]), false),
            // mingw r_dd: through rcx.
            ("{double,double}", st(&[Prim::F64, Prim::F64]), false),
            ("{int,float}", st(&[Prim::I32, Prim::F32]), true),
            ("{float,double}", st(&[Prim::F32, Prim::F64]), false),
            ("{double,int}", st(&[Prim::F64, Prim::I32]), false),
            ("{int,double}", st(&[Prim::I32, Prim::F64]), false),
            // mingw r_ifc: 12 bytes, through rcx.
            (
                "{int,float,i8}",
                st(&[Prim::I32, Prim::F32, Prim::I8]),
                false,
            ),
            (
                "{u8;double;u32}",
                st(&[Prim::U8, Prim::F64, Prim::U32]),
                false,
            ),
            (
                "{float,{float,float}}",
                st_n(&[(p(Prim::F32), None), (inner2f, None)]),
                false,
            ),
            (
                "{u8;{u64;u8};u32}",
                st_n(&[
                    (p(Prim::U8), None),
                    (inner_u64_u8, None),
                    (p(Prim::U32), None),
                ]),
                false,
            ),
            ("24 bytes", st(&[Prim::I64; 3]), false),
            ("64 bytes", arr(Prim::F64, 8), false),
            ("108 bytes", arr(Prim::I32, 27), false),
        ]
    }

    #[test]
    fn structs_as_single_argument() {
        for (name, t, in_reg) in struct_table() {
            let pl = plan(sig(void(), vec![t.clone()]));
            let want = if in_reg {
                whole(t.size() as u8, g(0))
            } else {
                ArgClass::Indirect(g(0))
            };
            assert_eq!(pl.args, vec![want], "{name}");
            assert_eq!(pl.stack_size, 0, "{name}");
        }
    }

    #[test]
    fn structs_as_fifth_argument_use_the_stack_slot() {
        for (name, t, in_reg) in struct_table() {
            let mut args = ints(4);
            args.push(t.clone());
            let pl = plan(sig(void(), args));
            let want = if in_reg {
                whole(t.size() as u8, s(0))
            } else {
                ArgClass::Indirect(s(0))
            };
            assert_eq!(pl.args[4], want, "{name}");
            assert_eq!(pl.stack_size, 16, "{name}");
        }
    }

    #[test]
    fn structs_as_return() {
        for (name, t, in_reg) in struct_table() {
            let pl = plan(sig(t.clone(), vec![p(Prim::I32), p(Prim::F64)]));
            if in_reg {
                assert_eq!(pl.ret, rwhole(t.size() as u8), "{name}");
                assert_eq!(pl.args, vec![sc(g(0)), sc(f(1))], "{name}");
            } else {
                // The result address takes rcx; the int moves to rdx, the double to xmm2.
                assert_eq!(pl.ret, RetClass::Indirect(g(0)), "{name}");
                assert_eq!(pl.args, vec![sc(g(1)), sc(f(2))], "{name}");
            }
        }
    }

    #[test]
    fn indirect_return_shifts_every_slot() {
        // mingw c4: DD e4(int 1, double 2.5, int 3, double 4.5, int 5): rcx = result
        // buffer, edx, xmm2, r9d, 32(%rsp), 40(%rsp).
        let dd = st(&[Prim::F64, Prim::F64]);
        let args = vec![
            p(Prim::I32),
            p(Prim::F64),
            p(Prim::I32),
            p(Prim::F64),
            p(Prim::I32),
        ];
        let pl = plan(sig(dd, args));
        assert_eq!(pl.ret, RetClass::Indirect(g(0)));
        assert_eq!(
            pl.args,
            vec![sc(g(1)), sc(f(2)), sc(g(3)), sc(s(0)), sc(s(8))]
        );
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn structs_on_the_stack() {
        // mingw c5: e5(1, 2, 3, 4, DD, U1, U3): 32(%rsp) = &copy of DD, 40(%rsp) = the
        // byte 9, 48(%rsp) = &copy of U3.
        let args = vec![
            p(Prim::I32),
            p(Prim::I32),
            p(Prim::I32),
            p(Prim::I32),
            st(&[Prim::F64, Prim::F64]),
            st(&[Prim::U8]),
            st(&[Prim::U8; 3]),
        ];
        let pl = plan(sig(void(), args));
        assert_eq!(
            pl.args[4..],
            [
                ArgClass::Indirect(s(0)),
                whole(1, s(8)),
                ArgClass::Indirect(s(16))
            ]
        );
        assert_eq!(pl.stack_size, 32);
    }

    #[test]
    fn ten_int_pairs() {
        // {int,int} is 8 bytes: four in registers, six in stack slots.
        let ii = st(&[Prim::I32, Prim::I32]);
        let pl = plan(sig(void(), vec![ii; 10]));
        let mut want: Vec<_> = (0..4).map(|i| whole(8, g(i))).collect();
        want.extend((0..6).map(|k| whole(8, s(8 * k))));
        assert_eq!(pl.args, want);
        assert_eq!(pl.stack_size, 48);
    }

    #[test]
    fn small_float_structs_take_integer_registers() {
        // mingw c1: e1({float}, {double}, {float,float}, U3, {u16,u8}): ecx, rdx, r8,
        // r9 = &copy, 32(%rsp) = the 4-byte value.
        let args = vec![
            st(&[Prim::F32]),
            st(&[Prim::F64]),
            st(&[Prim::F32, Prim::F32]),
            st(&[Prim::U8; 3]),
            st(&[Prim::U16, Prim::U8]),
        ];
        let pl = plan(sig(void(), args));
        assert_eq!(
            pl.args,
            vec![
                whole(4, g(0)),
                whole(8, g(1)),
                whole(8, g(2)),
                ArgClass::Indirect(g(3)),
                whole(4, s(0)),
            ]
        );
    }

    #[test]
    fn by_address_struct_takes_one_slot_and_later_scalars_keep_registers() {
        // A 16-byte struct only costs its slot's register for the address; what
        // follows keeps the next register slots, float and integer alike.
        let ld = st(&[Prim::I64, Prim::F64]);
        let pl = plan(sig(void(), vec![ld, p(Prim::F64), p(Prim::I64)]));
        assert_eq!(pl.args, vec![ArgClass::Indirect(g(0)), sc(f(1)), sc(g(2))]);
    }

    #[test]
    fn struct_in_the_last_register_slot_then_stack() {
        // Three doubles, then {i64,double} (no split exists here: it goes by address in
        // r9), then a double on the stack.
        let mut args = vec![p(Prim::F64); 3];
        args.push(st(&[Prim::I64, Prim::F64]));
        args.push(p(Prim::F64));
        let pl = plan(sig(void(), args));
        assert_eq!(pl.args[3], ArgClass::Indirect(g(3)));
        assert_eq!(pl.args[4], sc(s(0)));
    }

    #[test]
    fn variadic_floats_are_duplicated_in_their_integer_register() {
        // mingw c3: printf("%f %d %f %f", 1.5, 2, 3.5, 4.5): rdx and xmm1 both hold 1.5,
        // r8d = 2, r9 and xmm3 both hold 3.5, 4.5 at 32(%rsp).
        let pl = plan(vsig(
            p(Prim::I32),
            vec![p(Prim::String)],
            vec![p(Prim::F64), p(Prim::I32), p(Prim::F64), p(Prim::F64)],
        ));
        assert_eq!(
            pl.args,
            vec![
                sc(g(0)),
                ArgClass::Scalar(vec![f(1), g(1)]),
                sc(g(2)),
                ArgClass::Scalar(vec![f(3), g(3)]),
                sc(s(0)),
            ]
        );
        assert_eq!(pl.stack_size, 16);
    }

    #[test]
    fn fixed_floats_of_a_variadic_function_are_not_duplicated() {
        let pl = plan(vsig(void(), vec![p(Prim::F64)], vec![p(Prim::F64)]));
        assert_eq!(pl.args, vec![sc(f(0)), ArgClass::Scalar(vec![f(1), g(1)])]);
    }

    #[test]
    fn variadic_structs_follow_the_size_rule() {
        // Structs are never in vector registers, variadic or not.
        let pl = plan(vsig(
            void(),
            vec![p(Prim::Pointer)],
            vec![st(&[Prim::F64]), st(&[Prim::F64, Prim::F64])],
        ));
        assert_eq!(
            pl.args,
            vec![sc(g(0)), whole(8, g(1)), ArgClass::Indirect(g(2))]
        );
    }

    #[test]
    fn variadic_after_indirect_return() {
        // The hidden pointer shifts the variadic double into slot 2: xmm2 and r8.
        let big = st(&[Prim::I64; 3]);
        let pl = plan(vsig(big, vec![p(Prim::String)], vec![p(Prim::F64)]));
        assert_eq!(pl.ret, RetClass::Indirect(g(0)));
        assert_eq!(pl.args, vec![sc(g(1)), ArgClass::Scalar(vec![f(2), g(2)])]);
    }

    #[test]
    fn too_many_arguments() {
        let err = Abi::Win64
            .classify(&sig(void(), ints(MAX_ARGS + 1)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("too many arguments"), "{err}");
    }

    #[test]
    fn stack_area_stays_within_the_limit() {
        // Every argument takes exactly one 8-byte slot, so MAX_ARGS cannot reach
        // MAX_STACK_BYTES: 60 stack slots, or 61 after a hidden result pointer.
        let pl = plan(sig(void(), ints(MAX_ARGS)));
        assert_eq!(pl.stack_size, 480);
        let big = arr(Prim::U8, 4096);
        let pl = plan(sig(big.clone(), vec![big; MAX_ARGS]));
        assert_eq!(pl.args[63], ArgClass::Indirect(s(480)));
        assert_eq!(pl.stack_size, 496);
    }

    #[test]
    fn huge_struct_is_passed_by_address() {
        let huge = arr(Prim::U8, 1 << 40);
        let pl = plan(sig(huge.clone(), vec![huge]));
        assert_eq!(pl.ret, RetClass::Indirect(g(0)));
        assert_eq!(pl.args, vec![ArgClass::Indirect(g(1))]);
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
        // Probe (x86_64-w64-mingw32-gcc -O2 -S of call_all below, each argument loaded from a pointer and
        // passed to an extern):
        //   struct __attribute__((packed)) P5 { char c; int i; };
        //   union UFI { float f; int i; };            union UFD { float f[2]; double d; };
        //   union UF2 { float a; float b[2]; };       union UFd { float f; double d; };
        //   union UFF { float a; float b; };          struct B { int a:3; int b:5; float f; };
        //   union UDD { double a[2]; struct { double x, y; } s; };
        let one = |t: CType| plan(sig(void(), vec![t])).args.remove(0);
        // mingw: P5 (5 bytes) by reference (leaq of a copy into %rcx): only sizes 1, 2,
        // 4 and 8 go in a register, packed or not.
        assert_eq!(
            one(packed(&[Prim::I8, Prim::I32])),
            ArgClass::Indirect(g(0))
        );
        // mingw: UFI and UFF in %ecx, UFD, UF2, UFd and B in %rcx: never in xmm.
        assert_eq!(
            one(union_of(&[p(Prim::F32), p(Prim::I32)])),
            pieces(&[pc(0, 4, g(0))])
        );
        assert_eq!(
            one(union_of(&[p(Prim::F32), p(Prim::F32)])),
            pieces(&[pc(0, 4, g(0))])
        );
        let f2 = arr(Prim::F32, 2);
        assert_eq!(
            one(union_of(&[f2.clone(), p(Prim::F64)])),
            pieces(&[pc(0, 8, g(0))])
        );
        assert_eq!(
            one(union_of(&[p(Prim::F32), f2])),
            pieces(&[pc(0, 8, g(0))])
        );
        assert_eq!(
            one(union_of(&[p(Prim::F32), p(Prim::F64)])),
            pieces(&[pc(0, 8, g(0))])
        );
        assert_eq!(one(bits_then_float()), pieces(&[pc(0, 8, g(0))]));
        // mingw: UDD (16 bytes) by reference.
        assert_eq!(
            one(union_of(&[arr(Prim::F64, 2), st(&[Prim::F64, Prim::F64])])),
            ArgClass::Indirect(g(0))
        );
    }
}
