/*
 * Machine-level fixtures for the conformance tests, written in assembly so the exact register
 * contents are under control (C code cannot promise garbage in the upper bits of a small
 * return value, nor set callee-saved registers to canaries). Prototypes: conformance.h.
 *
 * One block per ABI: SysV x86-64, Win64 (x86_64-w64-mingw32) and AArch64 AAPCS64.
 * Other targets get C fallbacks that keep the library linkable (weaker tests there).
 */
#include "conformance.h"

/* File-scope asm (gcc's naked attribute is not available on every target, e.g. aarch64 gcc 12).
 * ASM_FN(name, body) defines an exported global function from an asm string. */
#if defined(__APPLE__)
#define FN_BEGIN(n) ".text\n.globl _" #n "\n.p2align 4\n_" #n ":\n\t"
#define FN_END(n) "\n"
#elif defined(_WIN32)
#define FN_BEGIN(n) ".text\n.globl " #n "\n.def " #n "; .scl 2; .type 32; .endef\n.p2align 4\n" #n ":\n\t"
/* a dllexport by hand: what gcc emits for __declspec(dllexport) definitions */
#define FN_END(n) "\n.section .drectve\n.ascii \" -export:" #n "\"\n.text\n"
#else
#if defined(__aarch64__)
#define FN_TYPE(n) ".type " #n ", %function\n"
#else
#define FN_TYPE(n) ".type " #n ", @function\n"
#endif
#define FN_BEGIN(n) ".text\n.globl " #n "\n" FN_TYPE(n) ".p2align 4\n" #n ":\n\t"
#define FN_END(n) "\n.size " #n ", .-" #n "\n"
#endif
#define ASM_FN(n, body) __asm__(FN_BEGIN(n) body FN_END(n));

#if defined(__x86_64__) || defined(_M_X64)

#if defined(_WIN32)
#define ARG0 "%rcx"
#else
#define ARG0 "%rdi"
#endif

#define GARBAGE_RET(name, ival, fval)                                                                          \
    ASM_FN(name, "movabsq $" fval ", %rax\n\t"                                                                 \
                 "movq %rax, %xmm0\n\t"                                                                        \
                 "movabsq $" ival ", %rax\n\t"                                                                 \
                 "ret\n\t")

GARBAGE_RET(garbage_ret_a, "0x123456789abcdeff", "0x414243443fc00000")
GARBAGE_RET(garbage_ret_b, "0xfedcba9876543201", "0xdeadbeef40490fdb")
GARBAGE_RET(garbage_ret_c, "0xffffffff12345600", "0x0123456700000000")

ASM_FN(raw_arg0, "movq " ARG0 ", %rax\n\t"
            "ret\n\t")

/* At entry the call pushed 8 bytes: rsp + 8 is 16-byte aligned iff the caller was aligned. */
ASM_FN(check_stack_alignment, "leaq 8(%rsp), %rax\n\t"
            "testb $15, %al\n\t"
            "sete %al\n\t"
            "movzbl %al, %eax\n\t"
            "ret\n\t")

#if defined(_WIN32)
/* Win64 volatile: rax rcx rdx r8-r11 xmm0-xmm5 */
ASM_FN(clobber_volatile, "leal 1(%rcx), %eax\n\t"
            "movabsq $0xdeadbeefdeadbeef, %rcx\n\t"
            "movq %rcx, %rdx\n\t"
            "movq %rcx, %r8\n\t"
            "movq %rcx, %r9\n\t"
            "movq %rcx, %r10\n\t"
            "movq %rcx, %r11\n\t"
            "movq %rcx, %xmm0\n\t"
            "movq %rcx, %xmm1\n\t"
            "movq %rcx, %xmm2\n\t"
            "movq %rcx, %xmm3\n\t"
            "movq %rcx, %xmm4\n\t"
            "movq %rcx, %xmm5\n\t"
            "ret\n\t")
#else
/* SysV volatile: rax rcx rdx rsi rdi r8-r11 xmm0-xmm15 */
ASM_FN(clobber_volatile, "leal 1(%rdi), %eax\n\t"
            "movabsq $0xdeadbeefdeadbeef, %rcx\n\t"
            "movq %rcx, %rdx\n\t"
            "movq %rcx, %rsi\n\t"
            "movq %rcx, %rdi\n\t"
            "movq %rcx, %r8\n\t"
            "movq %rcx, %r9\n\t"
            "movq %rcx, %r10\n\t"
            "movq %rcx, %r11\n\t"
            "movq %rcx, %xmm0\n\t"
            "movq %rcx, %xmm1\n\t"
            "movq %rcx, %xmm2\n\t"
            "movq %rcx, %xmm3\n\t"
            "movq %rcx, %xmm4\n\t"
            "movq %rcx, %xmm5\n\t"
            "movq %rcx, %xmm6\n\t"
            "movq %rcx, %xmm7\n\t"
            "movq %rcx, %xmm8\n\t"
            "movq %rcx, %xmm9\n\t"
            "movq %rcx, %xmm10\n\t"
            "movq %rcx, %xmm11\n\t"
            "movq %rcx, %xmm12\n\t"
            "movq %rcx, %xmm13\n\t"
            "movq %rcx, %xmm14\n\t"
            "movq %rcx, %xmm15\n\t"
            "ret\n\t")
#endif

#define SET_GPR(reg, val) "movabsq $" val ", %" reg "\n\t"
#define CHK_GPR(reg, val) "movabsq $" val ", %rdx\n\tcmpq %rdx, %" reg "\n\tjne 1f\n\t"
/* both 64-bit halves of an xmm register get the canary */
#define SET_XMM(reg, val) "movabsq $" val ", %rdx\n\tmovq %rdx, %" reg "\n\tpunpcklqdq %" reg ", %" reg "\n\t"
#define CHK_XMM(reg, val)                                                                                      \
    "movabsq $" val ", %rdx\n\t"                                                                               \
    "movq %" reg ", %r8\n\tcmpq %rdx, %r8\n\tjne 1f\n\t"                                                       \
    "movdqa %" reg ", %xmm0\n\tpsrldq $8, %xmm0\n\tmovq %xmm0, %r8\n\tcmpq %rdx, %r8\n\tjne 1f\n\t"

#if defined(_WIN32)
/* Win64 non-volatile: rbx rbp rdi rsi r12-r15 xmm6-xmm15, MXCSR control bits.
 * Frame: 8 pushes (64) + 216 = 280, +8 return address = 288: 16-aligned at the call.
 *   [rsp+0..31] shadow space, [rsp+32..191] saved xmm6-15, [rsp+192] MXCSR before,
 *   [rsp+196] MXCSR after. */
ASM_FN(canary_call, "pushq %rbx\n\tpushq %rbp\n\tpushq %rdi\n\tpushq %rsi\n\t"
            "pushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n\t"
            "subq $216, %rsp\n\t"
            "movdqu %xmm6, 32(%rsp)\n\tmovdqu %xmm7, 48(%rsp)\n\tmovdqu %xmm8, 64(%rsp)\n\t"
            "movdqu %xmm9, 80(%rsp)\n\tmovdqu %xmm10, 96(%rsp)\n\tmovdqu %xmm11, 112(%rsp)\n\t"
            "movdqu %xmm12, 128(%rsp)\n\tmovdqu %xmm13, 144(%rsp)\n\tmovdqu %xmm14, 160(%rsp)\n\t"
            "movdqu %xmm15, 176(%rsp)\n\t"
            "stmxcsr 192(%rsp)\n\t"
            "movq %rcx, %rax\n\t"
            "movl %edx, %ecx\n\t"
            SET_GPR("rbx", "0x0123456789abcd01") SET_GPR("rbp", "0x0123456789abcd02")
            SET_GPR("rdi", "0x0123456789abcd03") SET_GPR("rsi", "0x0123456789abcd04")
            SET_GPR("r12", "0x0123456789abcd05") SET_GPR("r13", "0x0123456789abcd06")
            SET_GPR("r14", "0x0123456789abcd07") SET_GPR("r15", "0x0123456789abcd08")
            SET_XMM("xmm6", "0x3ff0000000000006") SET_XMM("xmm7", "0x3ff0000000000007")
            SET_XMM("xmm8", "0x3ff0000000000008") SET_XMM("xmm9", "0x3ff0000000000009")
            SET_XMM("xmm10", "0x3ff000000000000a") SET_XMM("xmm11", "0x3ff000000000000b")
            SET_XMM("xmm12", "0x3ff000000000000c") SET_XMM("xmm13", "0x3ff000000000000d")
            SET_XMM("xmm14", "0x3ff000000000000e") SET_XMM("xmm15", "0x3ff000000000000f")
            "callq *%rax\n\t"
            CHK_GPR("rbx", "0x0123456789abcd01") CHK_GPR("rbp", "0x0123456789abcd02")
            CHK_GPR("rdi", "0x0123456789abcd03") CHK_GPR("rsi", "0x0123456789abcd04")
            CHK_GPR("r12", "0x0123456789abcd05") CHK_GPR("r13", "0x0123456789abcd06")
            CHK_GPR("r14", "0x0123456789abcd07") CHK_GPR("r15", "0x0123456789abcd08")
            CHK_XMM("xmm6", "0x3ff0000000000006") CHK_XMM("xmm7", "0x3ff0000000000007")
            CHK_XMM("xmm8", "0x3ff0000000000008") CHK_XMM("xmm9", "0x3ff0000000000009")
            CHK_XMM("xmm10", "0x3ff000000000000a") CHK_XMM("xmm11", "0x3ff000000000000b")
            CHK_XMM("xmm12", "0x3ff000000000000c") CHK_XMM("xmm13", "0x3ff000000000000d")
            CHK_XMM("xmm14", "0x3ff000000000000e") CHK_XMM("xmm15", "0x3ff000000000000f")
            "stmxcsr 196(%rsp)\n\t"
            "movl 192(%rsp), %edx\n\t"
            "cmpl 196(%rsp), %edx\n\t"
            "jne 1f\n\t"
            "jmp 2f\n\t"
            "1:\n\t"
            "movl $0xdeadbeef, %eax\n\t"
            "2:\n\t"
            "movdqu 32(%rsp), %xmm6\n\tmovdqu 48(%rsp), %xmm7\n\tmovdqu 64(%rsp), %xmm8\n\t"
            "movdqu 80(%rsp), %xmm9\n\tmovdqu 96(%rsp), %xmm10\n\tmovdqu 112(%rsp), %xmm11\n\t"
            "movdqu 128(%rsp), %xmm12\n\tmovdqu 144(%rsp), %xmm13\n\tmovdqu 160(%rsp), %xmm14\n\t"
            "movdqu 176(%rsp), %xmm15\n\t"
            "addq $216, %rsp\n\t"
            "popq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\t"
            "popq %rsi\n\tpopq %rdi\n\tpopq %rbp\n\tpopq %rbx\n\t"
            "ret\n\t")

/* Win64: first argument slot is rcx (integer) or xmm0 (float); the others get garbage too. */
#define CALL_WITH_GARBAGE(name)                                                                                \
    ASM_FN(name, "subq $40, %rsp\n\t"                                                                               \
            "movq %rcx, %rax\n\t"                                                                              \
            "movabsq $0x414243443fc00000, %rcx\n\t"                                                            \
            "movq %rcx, %xmm0\n\t"                                                                             \
            "movq %rcx, %xmm1\n\tmovq %rcx, %xmm2\n\tmovq %rcx, %xmm3\n\t"                                     \
            "movabsq $0x123456789abcdeff, %rcx\n\t"                                                            \
            "movq %rcx, %rdx\n\tmovq %rcx, %r8\n\tmovq %rcx, %r9\n\t"                                          \
            "callq *%rax\n\t"                                                                                  \
            "addq $40, %rsp\n\t"                                                                               \
            "ret\n\t")
#else
/* SysV callee-saved: rbx rbp r12-r15, MXCSR control bits.
 * Frame: 6 pushes (48) + 8 = 56, +8 return address = 64: 16-aligned at the call.
 *   [rsp+0] MXCSR before, [rsp+4] MXCSR after. */
ASM_FN(canary_call, "pushq %rbx\n\tpushq %rbp\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n\t"
            "subq $8, %rsp\n\t"
            "stmxcsr (%rsp)\n\t"
            "movq %rdi, %rax\n\t"
            "movl %esi, %edi\n\t"
            SET_GPR("rbx", "0x0123456789abcd01") SET_GPR("rbp", "0x0123456789abcd02")
            SET_GPR("r12", "0x0123456789abcd05") SET_GPR("r13", "0x0123456789abcd06")
            SET_GPR("r14", "0x0123456789abcd07") SET_GPR("r15", "0x0123456789abcd08")
            "callq *%rax\n\t"
            CHK_GPR("rbx", "0x0123456789abcd01") CHK_GPR("rbp", "0x0123456789abcd02")
            CHK_GPR("r12", "0x0123456789abcd05") CHK_GPR("r13", "0x0123456789abcd06")
            CHK_GPR("r14", "0x0123456789abcd07") CHK_GPR("r15", "0x0123456789abcd08")
            "stmxcsr 4(%rsp)\n\t"
            "movl (%rsp), %edx\n\t"
            "cmpl 4(%rsp), %edx\n\t"
            "jne 1f\n\t"
            "jmp 2f\n\t"
            "1:\n\t"
            "movl $0xdeadbeef, %eax\n\t"
            "2:\n\t"
            "addq $8, %rsp\n\t"
            "popq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\tpopq %rbp\n\tpopq %rbx\n\t"
            "ret\n\t")

/* SysV: garbage in every integer argument register and xmm0; rax (the vector-register count
 * for variadic callees) is garbage too, cb is not variadic. */
#define CALL_WITH_GARBAGE(name)                                                                                \
    ASM_FN(name, "subq $8, %rsp\n\t"                                                                              \
            "movq %rdi, %r11\n\t"                                                                              \
            "movabsq $0x414243443fc00000, %rdi\n\t"                                                            \
            "movq %rdi, %xmm0\n\t"                                                                             \
            "movabsq $0x123456789abcdeff, %rdi\n\t"                                                            \
            "movq %rdi, %rsi\n\tmovq %rdi, %rdx\n\tmovq %rdi, %rcx\n\tmovq %rdi, %r8\n\tmovq %rdi, %r9\n\t"   \
            "movq %rdi, %rax\n\t"                                                                              \
            "callq *%r11\n\t"                                                                                  \
            "addq $8, %rsp\n\t"                                                                                \
            "ret\n\t")
#endif /* _WIN32 */

CALL_WITH_GARBAGE(call_with_garbage)
CALL_WITH_GARBAGE(call_with_garbage_f)

#elif defined(__aarch64__)

/* 64-bit constant into a register in four instructions */
#define MOV64(reg, h3, h2, h1, h0)                                                                             \
    "movz " reg ", #" h0 "\n\t"                                                                                \
    "movk " reg ", #" h1 ", lsl #16\n\t"                                                                       \
    "movk " reg ", #" h2 ", lsl #32\n\t"                                                                       \
    "movk " reg ", #" h3 ", lsl #48\n\t"

#define GARBAGE_RET(name, i3, i2, i1, i0, f3, f2, f1, f0)                                                      \
    ASM_FN(name, MOV64("x9", f3, f2, f1, f0) "fmov d0, x9\n\t" MOV64("x0", i3, i2, i1, i0) "ret\n\t")

GARBAGE_RET(garbage_ret_a, "0x1234", "0x5678", "0x9abc", "0xdeff", "0x4142", "0x4344", "0x3fc0", "0x0000")
GARBAGE_RET(garbage_ret_b, "0xfedc", "0xba98", "0x7654", "0x3201", "0xdead", "0xbeef", "0x4049", "0x0fdb")
GARBAGE_RET(garbage_ret_c, "0xffff", "0xffff", "0x1234", "0x5600", "0x0123", "0x4567", "0x0000", "0x0000")

ASM_FN(raw_arg0, "ret\n\t")

ASM_FN(check_stack_alignment, "mov x9, sp\n\t"
            "tst x9, #15\n\t"
            "cset w0, eq\n\t"
            "ret\n\t")

/* AAPCS64 volatile: x0-x17 (x18 is the platform register: left alone), v0-v7, v16-v31, and the
 * upper 64 bits of v8-v15. */
ASM_FN(clobber_volatile, "add w0, w0, #1\n\t"
            MOV64("x1", "0xdead", "0xbeef", "0xdead", "0xbeef")
            "mov x2, x1\n\tmov x3, x1\n\tmov x4, x1\n\tmov x5, x1\n\tmov x6, x1\n\tmov x7, x1\n\t"
            "mov x8, x1\n\tmov x9, x1\n\tmov x10, x1\n\tmov x11, x1\n\tmov x12, x1\n\tmov x13, x1\n\t"
            "mov x14, x1\n\tmov x15, x1\n\tmov x16, x1\n\tmov x17, x1\n\t"
            "dup v0.2d, x1\n\tdup v1.2d, x1\n\tdup v2.2d, x1\n\tdup v3.2d, x1\n\t"
            "dup v4.2d, x1\n\tdup v5.2d, x1\n\tdup v6.2d, x1\n\tdup v7.2d, x1\n\t"
            "mov v8.d[1], x1\n\tmov v9.d[1], x1\n\tmov v10.d[1], x1\n\tmov v11.d[1], x1\n\t"
            "mov v12.d[1], x1\n\tmov v13.d[1], x1\n\tmov v14.d[1], x1\n\tmov v15.d[1], x1\n\t"
            "dup v16.2d, x1\n\tdup v17.2d, x1\n\tdup v18.2d, x1\n\tdup v19.2d, x1\n\t"
            "dup v20.2d, x1\n\tdup v21.2d, x1\n\tdup v22.2d, x1\n\tdup v23.2d, x1\n\t"
            "dup v24.2d, x1\n\tdup v25.2d, x1\n\tdup v26.2d, x1\n\tdup v27.2d, x1\n\t"
            "dup v28.2d, x1\n\tdup v29.2d, x1\n\tdup v30.2d, x1\n\tdup v31.2d, x1\n\t"
            "ret\n\t")

/* AAPCS64 callee-saved: x19-x28, x29 (frame pointer), sp, low 64 bits of v8-v15, FPCR.
 * Frame (176 bytes): [sp] x29/x30, [sp+16..95] x19-x28, [sp+96..159] d8-d15, [sp+160] FPCR. */
#define SET_X(n) MOV64("x" #n, "0xc0de", "0x0000", "0x0000", "0x00" #n)
#define CHK_X(n) MOV64("x10", "0xc0de", "0x0000", "0x0000", "0x00" #n) "cmp x" #n ", x10\n\tb.ne 1f\n\t"
#define SET_D(n) MOV64("x10", "0x3ff0", "0x0000", "0x0000", "0x00" #n) "fmov d" #n ", x10\n\t"
#define CHK_D(n)                                                                                               \
    MOV64("x10", "0x3ff0", "0x0000", "0x0000", "0x00" #n) "fmov x11, d" #n "\n\tcmp x11, x10\n\tb.ne 1f\n\t"

ASM_FN(canary_call, "stp x29, x30, [sp, #-176]!\n\t"
            "mov x29, sp\n\t"
            "stp x19, x20, [sp, #16]\n\tstp x21, x22, [sp, #32]\n\tstp x23, x24, [sp, #48]\n\t"
            "stp x25, x26, [sp, #64]\n\tstp x27, x28, [sp, #80]\n\t"
            "stp d8, d9, [sp, #96]\n\tstp d10, d11, [sp, #112]\n\tstp d12, d13, [sp, #128]\n\t"
            "stp d14, d15, [sp, #144]\n\t"
            "mrs x9, fpcr\n\tstr x9, [sp, #160]\n\t"
            "mov x9, x0\n\t"
            "mov w0, w1\n\t"
            SET_X(19) SET_X(20) SET_X(21) SET_X(22) SET_X(23) SET_X(24) SET_X(25) SET_X(26) SET_X(27) SET_X(28)
            SET_D(8) SET_D(9) SET_D(10) SET_D(11) SET_D(12) SET_D(13) SET_D(14) SET_D(15)
            "blr x9\n\t"
            CHK_X(19) CHK_X(20) CHK_X(21) CHK_X(22) CHK_X(23) CHK_X(24) CHK_X(25) CHK_X(26) CHK_X(27) CHK_X(28)
            CHK_D(8) CHK_D(9) CHK_D(10) CHK_D(11) CHK_D(12) CHK_D(13) CHK_D(14) CHK_D(15)
            "mov x10, sp\n\tcmp x29, x10\n\tb.ne 1f\n\t"
            "mrs x10, fpcr\n\tldr x11, [sp, #160]\n\tcmp x10, x11\n\tb.ne 1f\n\t"
            "b 2f\n\t"
            "1:\n\t"
            "movz w0, #0xbeef\n\tmovk w0, #0xdead, lsl #16\n\t"
            "2:\n\t"
            "ldp x19, x20, [sp, #16]\n\tldp x21, x22, [sp, #32]\n\tldp x23, x24, [sp, #48]\n\t"
            "ldp x25, x26, [sp, #64]\n\tldp x27, x28, [sp, #80]\n\t"
            "ldp d8, d9, [sp, #96]\n\tldp d10, d11, [sp, #112]\n\tldp d12, d13, [sp, #128]\n\t"
            "ldp d14, d15, [sp, #144]\n\t"
            "ldp x29, x30, [sp], #176\n\t"
            "ret\n\t")

#define CALL_WITH_GARBAGE(name)                                                                                \
    ASM_FN(name, "stp x29, x30, [sp, #-16]!\n\t"                                                                    \
            "mov x29, sp\n\t"                                                                                  \
            "mov x9, x0\n\t"                                                                                   \
            MOV64("x10", "0x4142", "0x4344", "0x3fc0", "0x0000")                                               \
            "fmov d0, x10\n\t"                                                                                 \
            MOV64("x0", "0x1234", "0x5678", "0x9abc", "0xdeff")                                                \
            "mov x1, x0\n\tmov x2, x0\n\tmov x3, x0\n\tmov x4, x0\n\tmov x5, x0\n\tmov x6, x0\n\tmov x7, x0\n\t" \
            "blr x9\n\t"                                                                                       \
            "ldp x29, x30, [sp], #16\n\t"                                                                      \
            "ret\n\t")
CALL_WITH_GARBAGE(call_with_garbage)
CALL_WITH_GARBAGE(call_with_garbage_f)

#else
/* Portable fallbacks: the values are right, but nothing is promised about upper bits. */
EXPORT uint64_t garbage_ret_a(void) { return 0x123456789abcdeffULL; }
EXPORT uint64_t garbage_ret_b(void) { return 0xfedcba9876543201ULL; }
EXPORT uint64_t garbage_ret_c(void) { return 0xffffffff12345600ULL; }
EXPORT uint64_t raw_arg0(void) { return 0; }
EXPORT int32_t check_stack_alignment(void) { return 1; }
EXPORT int32_t clobber_volatile(int32_t x) { return x + 1; }
EXPORT int32_t canary_call(int32_t (*cb)(int32_t), int32_t x) { return cb(x); }
EXPORT int64_t call_with_garbage(void *cb) { return ((int64_t (*)(int64_t))cb)((int64_t)0x123456789abcdeffULL); }
EXPORT double call_with_garbage_f(void *cb) { return ((double (*)(float))cb)(1.5f); }
#endif
