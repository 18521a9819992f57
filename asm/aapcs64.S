// AArch64 Linux (AAPCS64) call trampoline and callback entry for lune-ffi.
//
// The only contract with Rust is the CallFrame layout of src/engine/frame.rs; the
// offsets below mirror the OFF_* constants asserted there.
//
// References: "Procedure Call Standard for the Arm 64-bit Architecture" (AAPCS64),
// sections 6.1.1 (general-purpose registers), 6.1.2 (SIMD/FP registers), 6.2.2
// (universal stack constraints), 6.4 (parameter passing), 6.5 (result return), 6.2.3
// (the frame record).

#define OFF_GPR         0
#define OFF_FPR         80
#define OFF_FUNC        144
#define OFF_STACK       152
#define OFF_STACK_SIZE  160
#define OFF_VECTOR      168
#define OFF_RET_GPR     176
#define OFF_RET_FPR     192
#define FRAME_SIZE      224

// `bti c`, written as a hint so that assemblers without BTI support accept it. It is a
// NOP on cores without FEAT_BTI. With BTI enforced, an indirect call (BLR) or a branch
// through x16/x17 (BR x17, as the callback thunks do) must land on `bti c`.
#define BTI_C hint #34

        .text

// void lune_ffi_call(CallFrame *frame)
//
// Stack picture while the callee runs (addresses grow upwards):
//
//   x29+24   (unused, keeps the save area a multiple of 16)
//   x29+16   saved x19
//   x29+8    saved x30 (lr)       } frame record, AAPCS64 6.2.3: x29 points here
//   x29+0    saved x29            }
//   x29-stack_size .. x29         copy of frame->stack[0..stack_size); SP = its start
//
// so the callee finds its first stack argument at [sp], as AAPCS64 6.4.2 (C.16/C.17:
// the NSAA starts at the caller's SP) requires.
        .p2align 4
        .globl  lune_ffi_call
        .type   lune_ffi_call, %function
lune_ffi_call:
        .cfi_startproc
        BTI_C
        // Frame record first so debuggers and frame-pointer unwinders see a sane chain
        // (AAPCS64 6.2.3); 32 bytes keeps SP 16-byte aligned (6.2.2: SP mod 16 = 0 at
        // every public interface).
        stp     x29, x30, [sp, #-32]!
        .cfi_def_cfa_offset 32
        .cfi_offset x29, -32
        .cfi_offset x30, -24
        mov     x29, sp
        .cfi_def_cfa x29, 32
        // x19 is callee-saved (6.1.1), so it survives the call and holds the frame
        // pointer we need afterwards; we must restore the caller's value.
        str     x19, [sp, #16]
        .cfi_offset x19, -16
        mov     x19, x0

        ldr     x9, [x19, #OFF_STACK_SIZE]      // a multiple of 16: SP stays aligned
        ldr     x10, [x19, #OFF_STACK]
        sub     sp, sp, x9
        cbz     x9, 2f
        // Copy from the top down: stores then touch the new stack area one page after
        // the other in address order going down, so a guard page below the stack is hit
        // before anything beyond it (MAX_STACK_BYTES is 4096, one page or more).
        add     x10, x10, x9                    // end of the source
        mov     x11, x29                        // end of the destination (= sp + x9)
1:      ldp     x12, x13, [x10, #-16]!
        stp     x12, x13, [x11, #-16]!
        subs    x9, x9, #16
        b.ne    1b
2:
        // Arguments: x0-x7 and v0-v7 (6.4.2); x8 carries the indirect result address
        // (6.5, 6.1.1 "indirect result location register"). Only the low 64 bits (d
        // registers) are ever used by the classifier. Loading d0-d7 zeroes the upper
        // lanes, which no callee may depend on anyway.
        ldp     d0, d1, [x19, #OFF_FPR + 0]
        ldp     d2, d3, [x19, #OFF_FPR + 16]
        ldp     d4, d5, [x19, #OFF_FPR + 32]
        ldp     d6, d7, [x19, #OFF_FPR + 48]
        ldr     x8, [x19, #OFF_GPR + 64]
        // x16 (IP0) is a scratch register that carries no argument (6.1.1).
        ldr     x16, [x19, #OFF_FUNC]
        ldp     x0, x1, [x19, #OFF_GPR + 0]
        ldp     x2, x3, [x19, #OFF_GPR + 16]
        ldp     x4, x5, [x19, #OFF_GPR + 32]
        ldp     x6, x7, [x19, #OFF_GPR + 48]
        blr     x16

        // Results: x0/x1 for integers and composites up to 16 bytes, v0-v3 for floats
        // and HFAs of up to four members (6.5). An f32 or an HFA of floats comes back in
        // s0-s3, i.e. the low 4 bytes of each d register, which is where the engine reads.
        stp     x0, x1, [x19, #OFF_RET_GPR]
        stp     d0, d1, [x19, #OFF_RET_FPR + 0]
        stp     d2, d3, [x19, #OFF_RET_FPR + 16]

        // Restore through x29: the SP adjustment above was dynamic.
        mov     sp, x29
        .cfi_def_cfa sp, 32
        ldr     x19, [sp, #16]
        .cfi_restore x19
        ldp     x29, x30, [sp], #32
        .cfi_restore x29
        .cfi_restore x30
        .cfi_def_cfa_offset 0
        ret
        .cfi_endproc
        .size   lune_ffi_call, . - lune_ffi_call


// lune_ffi_callback_entry
//
// Reached from a callback thunk with x16 = the closure record and x17 = this address
// (x16/x17 are IP0/IP1, the registers a veneer or PLT may use between a call and its
// target, AAPCS64 6.1.1, so no caller expects them preserved and no argument lives in
// them). x30 still holds the C caller's return address and SP is the caller's SP, so the
// caller's stack arguments start at [sp] (6.4.2).
//
// Stack picture while the dispatcher runs:
//
//   x29+240  caller's SP at entry = first stack argument  (frame->stack points here)
//   x29+16   CallFrame (224 bytes)
//   x29+8    saved x30                } frame record
//   x29+0    saved x29                }
        .p2align 4
        .globl  lune_ffi_callback_entry
        .type   lune_ffi_callback_entry, %function
lune_ffi_callback_entry:
        .cfi_startproc
        BTI_C
        // SP must be 16-byte aligned at every public interface (6.2.2). Hardware with
        // SCTLR_EL1.SA0 set (Linux sets it) faults on the first SP-relative access
        // otherwise, but QEMU user mode does not check: test it here so a misaligned
        // caller traps on every platform instead of silently working under QEMU.
        mov     x9, sp
        tst     x9, #15
        b.ne    .Lcb_misaligned_sp
        // 16 + 224 = 240, a multiple of 16: SP stays aligned (6.2.2) and so does the
        // CallFrame.
        stp     x29, x30, [sp, #-(16 + FRAME_SIZE)]!
        .cfi_def_cfa_offset 16 + FRAME_SIZE
        .cfi_offset x29, -(16 + FRAME_SIZE)
        .cfi_offset x30, -(8 + FRAME_SIZE)
        mov     x29, sp
        .cfi_def_cfa x29, 16 + FRAME_SIZE

        // Spill every argument register (6.4.2) and x8, the indirect result address
        // (6.5), so the dispatcher can read them the way lune_ffi_call writes them.
        stp     x0, x1, [sp, #16 + OFF_GPR + 0]
        stp     x2, x3, [sp, #16 + OFF_GPR + 16]
        stp     x4, x5, [sp, #16 + OFF_GPR + 32]
        stp     x6, x7, [sp, #16 + OFF_GPR + 48]
        stp     x8, xzr, [sp, #16 + OFF_GPR + 64]       // gpr[8], _pad
        stp     d0, d1, [sp, #16 + OFF_FPR + 0]
        stp     d2, d3, [sp, #16 + OFF_FPR + 16]
        stp     d4, d5, [sp, #16 + OFF_FPR + 32]
        stp     d6, d7, [sp, #16 + OFF_FPR + 48]
        // func = 0 (unused here), stack = caller's SP at entry.
        add     x9, sp, #16 + FRAME_SIZE
        stp     xzr, x9, [sp, #16 + OFF_FUNC]
        // stack_size and vector_count are unknown here: 0. The results start as zero, so
        // a dispatcher that bails out early still returns a zero value to C.
        stp     xzr, xzr, [sp, #16 + OFF_STACK_SIZE]
        stp     xzr, xzr, [sp, #16 + OFF_RET_GPR]
        stp     xzr, xzr, [sp, #16 + OFF_RET_FPR + 0]
        stp     xzr, xzr, [sp, #16 + OFF_RET_FPR + 16]

        // dispatch(record, frame): the record's first word is the dispatcher, so the
        // assembly needs no link-time reference to Rust.
        mov     x0, x16
        add     x1, sp, #16
        ldr     x9, [x16]
        blr     x9

        // Results as AAPCS64 6.5 wants them: x0/x1, v0-v3. For an indirect (x8) result
        // the dispatcher writes through gpr[8]; AAPCS64 does not require x8 back in x0.
        ldp     x0, x1, [sp, #16 + OFF_RET_GPR]
        ldp     d0, d1, [sp, #16 + OFF_RET_FPR + 0]
        ldp     d2, d3, [sp, #16 + OFF_RET_FPR + 16]

        ldp     x29, x30, [sp], #16 + FRAME_SIZE
        .cfi_restore x29
        .cfi_restore x30
        .cfi_def_cfa sp, 0
        ret
.Lcb_misaligned_sp:
        brk     #0xa11                          // caller broke AAPCS64 6.2.2
        .cfi_endproc
        .size   lune_ffi_callback_entry, . - lune_ffi_callback_entry

        // Both entry points start with `bti c` and nothing here branches indirectly
        // except to foreign code, so the object is BTI-compatible: say so, or a linker
        // building a BTI-enabled binary would turn BTI off for the whole output.
        .section .note.gnu.property, "a"
        .p2align 3
        .word   4                       // n_namesz
        .word   16                      // n_descsz
        .word   5                       // NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .word   0xc0000000              // GNU_PROPERTY_AARCH64_FEATURE_1_AND
        .word   4                       // pr_datasz
        .word   1                       // GNU_PROPERTY_AARCH64_FEATURE_1_BTI
        .word   0                       // pad to 8

        .section .note.GNU-stack, "", %progbits
