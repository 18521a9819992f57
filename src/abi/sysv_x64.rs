//! System V AMD64 psABI §3.2.3 (Linux, macOS, the BSDs on x86-64).
//!
//! Arguments: six integer registers (rdi, rsi, rdx, rcx, r8, r9 = `Gpr(0..6)`) and eight
//! SSE registers (xmm0..xmm7 = `Fpr(0..8)`), consumed independently; everything else goes
//! to 8-byte stack slots in argument order. A struct of at most 16 bytes is split into
//! eightbytes, each classified INTEGER or SSE; if its eightbytes do not all fit in the
//! remaining registers, the whole struct goes to the stack, but later arguments still
//! take registers. Bigger structs are MEMORY: copied by value onto the stack.
//! Variadic arguments follow the same rules; %al carries the number of SSE registers used.

use super::{finish_stack, stack_pieces, Abi, ArgClass, CallPlan, Loc, Piece, RetClass, Signature};
use crate::types::{round_up, CType, Prim, StructType};

const GPRS: u8 = 6;
const FPRS: u8 = 8;

/// The psABI classes our types can produce (no X87, SSEUP or COMPLEX_X87: there is no
/// long double, vector or complex type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    NoClass,
    Integer,
    Sse,
}

/// The psABI's merge rule for two classes meeting in one eightbyte (X87 and MEMORY cases
/// cannot arise).
fn merge(a: Kind, b: Kind) -> Kind {
    match (a, b) {
        (x, y) if x == y => x,
        (Kind::NoClass, x) | (x, Kind::NoClass) => x,
        (Kind::Integer, _) | (_, Kind::Integer) => Kind::Integer,
        _ => Kind::Sse,
    }
}

/// The class of each eightbyte of a struct passed in registers, or `None` for MEMORY.
fn eightbytes(s: &StructType) -> Option<Vec<Kind>> {
    // Checked before flattening so a huge array field is never expanded.
    if s.size > 16 {
        return None;
    }
    let mut classes = vec![Kind::NoClass; s.size.div_ceil(8)];
    for (off, p) in s.flatten() {
        // An unaligned field makes the whole struct MEMORY; it would also be the only way
        // for a leaf to straddle two eightbytes.
        if off % p.align() != 0 {
            return None;
        }
        let c = if p.is_float() {
            Kind::Sse
        } else {
            Kind::Integer
        };
        classes[off / 8] = merge(classes[off / 8], c);
    }
    Some(classes)
}

/// One piece per classified eightbyte, INTEGER ones into consecutive GPRs from `gpr`,
/// SSE ones into consecutive vector registers from `fpr`. A NO_CLASS eightbyte (only
/// padding) takes no register and carries nothing.
fn register_pieces(size: usize, classes: &[Kind], gpr: u8, fpr: u8) -> Vec<Piece> {
    let (mut g, mut f) = (gpr, fpr);
    let mut pieces = Vec::with_capacity(classes.len());
    for (i, c) in classes.iter().enumerate() {
        let dst = match c {
            Kind::NoClass => continue,
            Kind::Integer => {
                g += 1;
                Loc::Gpr(g - 1)
            }
            Kind::Sse => {
                f += 1;
                Loc::Fpr(f - 1)
            }
        };
        pieces.push(Piece {
            src: (i * 8) as u32,
            size: (size - i * 8).min(8) as u8,
            dst,
        });
    }
    pieces
}

fn count(classes: &[Kind], class: Kind) -> u8 {
    classes.iter().filter(|c| **c == class).count() as u8
}

/// Register and stack allocation state while walking the arguments.
struct Alloc {
    gpr: u8,
    fpr: u8,
    stack: usize,
}

impl Alloc {
    /// Reserves a stack slot: aligned to 8 (16 for a 16-aligned type) and a multiple of 8
    /// long. Checked here, not only in `finish_stack`, so a huge struct fails before it
    /// is cut into pieces.
    fn stack_slot(&mut self, size: usize, align: usize) -> Result<u32, String> {
        let off = round_up(self.stack, if align > 8 { 16 } else { 8 });
        let end = off + round_up(size, 8);
        finish_stack(end)?;
        self.stack = end;
        Ok(off as u32)
    }

    fn scalar(&mut self, p: Prim) -> Result<ArgClass, String> {
        if p == Prim::Void {
            return Err("an argument cannot have type void".into());
        }
        let loc = if p.is_float() && self.fpr < FPRS {
            self.fpr += 1;
            Loc::Fpr(self.fpr - 1)
        } else if !p.is_float() && self.gpr < GPRS {
            self.gpr += 1;
            Loc::Gpr(self.gpr - 1)
        } else {
            Loc::Stack(self.stack_slot(8, 8)?)
        };
        Ok(ArgClass::Scalar(vec![loc]))
    }

    fn structure(&mut self, s: &StructType) -> Result<ArgClass, String> {
        if let Some(classes) = eightbytes(s) {
            let need_g = count(&classes, Kind::Integer);
            let need_f = count(&classes, Kind::Sse);
            // All or nothing: a struct is never split between registers and the stack.
            if self.gpr + need_g <= GPRS && self.fpr + need_f <= FPRS {
                let pieces = register_pieces(s.size, &classes, self.gpr, self.fpr);
                self.gpr += need_g;
                self.fpr += need_f;
                return Ok(ArgClass::Pieces(pieces));
            }
        }
        let at = self.stack_slot(s.size, s.align)?;
        Ok(ArgClass::Pieces(stack_pieces(s.size, at)))
    }
}

pub fn classify(sig: &Signature) -> Result<CallPlan, String> {
    let mut alloc = Alloc {
        gpr: 0,
        fpr: 0,
        stack: 0,
    };
    let ret = match &sig.ret {
        CType::Prim(Prim::Void) => RetClass::Void,
        CType::Prim(p) if p.is_float() => RetClass::Scalar(Loc::Fpr(0)),
        CType::Prim(_) => RetClass::Scalar(Loc::Gpr(0)),
        CType::Struct(s) => match eightbytes(s) {
            // Return registers are rax/rdx and xmm0/xmm1, numbered like the first
            // argument registers.
            Some(classes) => RetClass::Pieces(register_pieces(s.size, &classes, 0, 0)),
            None => {
                // The hidden pointer takes rdi, so the arguments start at rsi.
                alloc.gpr = 1;
                RetClass::Indirect(Loc::Gpr(0))
            }
        },
    };
    let args = sig
        .args()
        .map(|t| match t {
            CType::Prim(p) => alloc.scalar(*p),
            CType::Struct(s) => alloc.structure(s),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CallPlan {
        abi: Abi::SysV64,
        ret,
        args,
        stack_size: finish_stack(alloc.stack)?,
        vector_count: alloc.fpr,
    })
}

/// Machine code of a callback thunk: `endbr64`, then loads `record` into r10, a scratch
/// register that carries no argument (§3.2.3 reserves it for the static chain), and jumps
/// to `entry` through r11, the other scratch register. Win64 uses the same bytes: there
/// too r10 and r11 are volatile and never carry arguments.
///
/// C reaches a thunk only by an indirect call, so with CET indirect-branch tracking on,
/// its first instruction must be `endbr64` (Intel SDM vol. 1 §18.3.1); the jump to the
/// callback entry is indirect too and lands on the entry's own `endbr64`. On a CPU
/// without CET the instruction is a NOP (it sits in the reserved-NOP opcode space).
pub fn thunk_code(record: u64, entry: u64) -> [u8; super::THUNK_SIZE] {
    let mut c = [0xCCu8; super::THUNK_SIZE]; // int3 padding
    c[0..4].copy_from_slice(&ENDBR64);
    c[4] = 0x49; // movabs $record, %r10
    c[5] = 0xBA;
    c[6..14].copy_from_slice(&record.to_le_bytes());
    c[14] = 0x49; // movabs $entry, %r11
    c[15] = 0xBB;
    c[16..24].copy_from_slice(&entry.to_le_bytes());
    c[24] = 0x41; // jmp *%r11
    c[25] = 0xFF;
    c[26] = 0xE3;
    c
}

/// `endbr64` (Intel SDM vol. 2A, ENDBR64: F3 0F 1E FA).
const ENDBR64: [u8; 4] = [0xF3, 0x0F, 0x1E, 0xFA];

#[cfg(test)]
mod tests {
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

    fn doubles(n: usize) -> Vec<CType> {
        vec![p(Prim::F64); n]
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
            let stack = if matches!(&want, ArgClass::Pieces(v) if matches!(v[0].dst, Loc::Stack(_)))
            {
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
            .unwrap_err();
        assert!(err.contains("too many arguments"), "{err}");
        // The limit itself is fine: 64 ints, 58 of them on the stack (464 bytes).
        let pl = plan(sig(void(), ints(super::super::MAX_ARGS)));
        assert_eq!(pl.stack_size, 464);
    }

    #[test]
    fn stack_area_limit() {
        // Two 2048-byte structs fill the 4096 bytes exactly; one more stack int is over
        // (4104, reported rounded to 16).
        let half = arr(Prim::U8, 2048);
        let pl = plan(sig(void(), vec![half.clone(), half.clone()]));
        assert_eq!(pl.stack_size, 4096);
        let mut args = vec![half.clone(), half];
        args.extend(ints(7));
        let err = Abi::SysV64.classify(&sig(void(), args)).unwrap_err();
        assert!(err.contains("4112 bytes of stack"), "{err}");
    }

    #[test]
    fn huge_struct_fails_without_being_expanded() {
        // A 1 TiB array would take forever to cut into pieces or flatten.
        let huge = arr(Prim::U8, 1 << 40);
        let err = Abi::SysV64
            .classify(&sig(void(), vec![huge.clone()]))
            .unwrap_err();
        assert!(err.contains("bytes of stack"), "{err}");
        // As a return value it is simply MEMORY.
        let pl = plan(sig(huge, vec![]));
        assert_eq!(pl.ret, RetClass::Indirect(g(0)));
    }

    #[test]
    fn void_argument_is_an_error_even_without_the_signature_check() {
        let err = super::classify(&sig(void(), vec![void()])).unwrap_err();
        assert!(err.contains("void"), "{err}");
    }
}
