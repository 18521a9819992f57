/*
 * lune-ffi trampolines for the System V AMD64 ABI (Linux, BSD, macOS).
 * The CallFrame layout they read and write is defined and asserted in
 * src/engine/frame.rs; keep the offsets below in sync with it.
 */

#if defined(__APPLE__)
#define SYM(name) _##name
#else
#define SYM(name) name
#endif

#define F_GPR        0
#define F_FPR        80
#define F_FUNC       144
#define F_STACK      152
#define F_STACK_SIZE 160
#define F_VCOUNT     168
#define F_RET_GPR    176
#define F_RET_FPR    192
#define FRAME_SIZE   224

        .text

/*
 * void lune_ffi_call(CallFrame *frame)
 *
 * rbx holds the frame across the call (callee-saved, so the callee keeps it for us);
 * rbp anchors our own frame so the variable-size outgoing area is simply discarded.
 */
        .globl SYM(lune_ffi_call)
#if !defined(__APPLE__)
        .type SYM(lune_ffi_call), @function
#endif
        .p2align 4
SYM(lune_ffi_call):
        .cfi_startproc
        /* Reached by an indirect call from Rust: the landing pad CET indirect-branch
           tracking requires (a NOP on CPUs without CET). */
        endbr64
        pushq   %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq    %rsp, %rbp
        .cfi_def_cfa_register %rbp
        pushq   %rbx
        .cfi_offset %rbx, -24
        /* Entry rsp was 8 mod 16; after two pushes plus this one it is 0 mod 16 again. */
        subq    $8, %rsp
        movq    %rdi, %rbx

        /* Outgoing stack arguments: stack_size is a multiple of 16, so rsp stays
           16-byte aligned at the call as §3.2.2 requires. */
        movq    F_STACK_SIZE(%rbx), %rcx
        testq   %rcx, %rcx
        jz      1f
        subq    %rcx, %rsp
        movq    F_STACK(%rbx), %rsi
        movq    %rsp, %rdi
        /* DF is clear on function entry per the ABI, so movsb copies upwards. */
        rep movsb
1:
        /* All eight vector and six integer argument registers are loaded, used or not:
           the engine zeroes the frame slots its plan leaves unused, so a callee that
           reads one (a misdeclared prototype, va_arg past the end) sees 0, never a value
           from an earlier call. movq also clears bits 64..127. */
        movq    F_FPR+0(%rbx), %xmm0
        movq    F_FPR+8(%rbx), %xmm1
        movq    F_FPR+16(%rbx), %xmm2
        movq    F_FPR+24(%rbx), %xmm3
        movq    F_FPR+32(%rbx), %xmm4
        movq    F_FPR+40(%rbx), %xmm5
        movq    F_FPR+48(%rbx), %xmm6
        movq    F_FPR+56(%rbx), %xmm7
        movq    F_GPR+0(%rbx), %rdi
        movq    F_GPR+8(%rbx), %rsi
        movq    F_GPR+16(%rbx), %rdx
        movq    F_GPR+24(%rbx), %rcx
        movq    F_GPR+32(%rbx), %r8
        movq    F_GPR+40(%rbx), %r9
        /* %al: upper bound of vector registers used, read by variadic callees. */
        movq    F_VCOUNT(%rbx), %rax
        callq   *F_FUNC(%rbx)
        movq    %rax, F_RET_GPR+0(%rbx)
        movq    %rdx, F_RET_GPR+8(%rbx)
        movq    %xmm0, F_RET_FPR+0(%rbx)
        movq    %xmm1, F_RET_FPR+8(%rbx)

        movq    -8(%rbp), %rbx
        movq    %rbp, %rsp
        popq    %rbp
        .cfi_def_cfa %rsp, 8
        ret
        .cfi_endproc
#if !defined(__APPLE__)
        .size SYM(lune_ffi_call), .-SYM(lune_ffi_call)
#endif

/*
 * lune_ffi_callback_entry: where every callback thunk jumps, with the closure record's
 * address in r10 (a scratch register that carries no argument, §3.2.3 uses it only for
 * the static chain). The record's first word is the dispatcher:
 *     void dispatch(void *record, CallFrame *frame)
 * Spills the argument registers into a CallFrame on our stack, points frame->stack at
 * the caller's stack arguments, calls the dispatcher, and returns what it left in
 * ret_gpr/ret_fpr.
 */
        .globl SYM(lune_ffi_callback_entry)
#if !defined(__APPLE__)
        .type SYM(lune_ffi_callback_entry), @function
#endif
        .p2align 4
SYM(lune_ffi_callback_entry):
        .cfi_startproc
        /* Reached by the thunk's indirect jump. */
        endbr64
        pushq   %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq    %rsp, %rbp
        .cfi_def_cfa_register %rbp
        /* rbp is 16-aligned (entry rsp was 8 mod 16); FRAME_SIZE is a multiple of 16. */
        subq    $FRAME_SIZE, %rsp
        movq    %rdi, F_GPR+0(%rsp)
        movq    %rsi, F_GPR+8(%rsp)
        movq    %rdx, F_GPR+16(%rsp)
        movq    %rcx, F_GPR+24(%rsp)
        movq    %r8,  F_GPR+32(%rsp)
        movq    %r9,  F_GPR+40(%rsp)
        movq    %xmm0, F_FPR+0(%rsp)
        movq    %xmm1, F_FPR+8(%rsp)
        movq    %xmm2, F_FPR+16(%rsp)
        movq    %xmm3, F_FPR+24(%rsp)
        movq    %xmm4, F_FPR+32(%rsp)
        movq    %xmm5, F_FPR+40(%rsp)
        movq    %xmm6, F_FPR+48(%rsp)
        movq    %xmm7, F_FPR+56(%rsp)
        /* What SysV does not pass in registers is zero, as on the other lanes: no stale
           stack bytes in the frame, and a dispatcher that bails out early returns 0. */
        xorl    %eax, %eax
        movq    %rax, F_GPR+48(%rsp)
        movq    %rax, F_GPR+56(%rsp)
        movq    %rax, F_GPR+64(%rsp)
        movq    %rax, F_GPR+72(%rsp)
        movq    %rax, F_FUNC(%rsp)
        movq    %rax, F_STACK_SIZE(%rsp)
        movq    %rax, F_VCOUNT(%rsp)
        movq    %rax, F_RET_GPR+0(%rsp)
        movq    %rax, F_RET_GPR+8(%rsp)
        movq    %rax, F_RET_FPR+0(%rsp)
        movq    %rax, F_RET_FPR+8(%rsp)
        movq    %rax, F_RET_FPR+16(%rsp)
        movq    %rax, F_RET_FPR+24(%rsp)
        /* The caller's first stack argument sits above the saved rbp and return address. */
        leaq    16(%rbp), %rax
        movq    %rax, F_STACK(%rsp)
        movq    %r10, %rdi
        movq    %rsp, %rsi
        callq   *(%r10)
        movq    F_RET_GPR+0(%rsp), %rax
        movq    F_RET_GPR+8(%rsp), %rdx
        movq    F_RET_FPR+0(%rsp), %xmm0
        movq    F_RET_FPR+8(%rsp), %xmm1
        movq    %rbp, %rsp
        popq    %rbp
        .cfi_def_cfa %rsp, 8
        ret
        .cfi_endproc
#if !defined(__APPLE__)
        .size SYM(lune_ffi_callback_entry), .-SYM(lune_ffi_callback_entry)
#endif

#if defined(__ELF__)
/*
 * Both entry points start with endbr64 and return with a plain ret to the address their
 * caller pushed, so the object is compatible with indirect-branch tracking (IBT) and
 * shadow stacks (SHSTK). Say so as gcc -fcf-protection does: the linker marks an output
 * CET-compatible only when every input object carries this note.
 */
        .section .note.gnu.property,"a"
        .p2align 3
        .long   1f - 0f                 /* n_namesz */
        .long   4f - 1f                 /* n_descsz */
        .long   5                       /* NT_GNU_PROPERTY_TYPE_0 */
0:      .asciz  "GNU"
1:      .p2align 3
        .long   0xc0000002              /* GNU_PROPERTY_X86_FEATURE_1_AND */
        .long   3f - 2f                 /* pr_datasz */
2:      .long   0x3                     /* IBT | SHSTK */
3:      .p2align 3
4:
#endif

#if defined(__linux__) && defined(__ELF__)
        .section .note.GNU-stack,"",%progbits
#endif
