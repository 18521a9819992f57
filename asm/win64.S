# x86-64 Windows (Microsoft x64 calling convention) call trampoline and callback entry
# for lune-ffi. GNU as, AT&T syntax, COFF/PE with SEH unwind directives (MinGW).
#
# The only contract with Rust is the CallFrame layout of src/engine/frame.rs; the offsets
# below mirror the OFF_* constants asserted there.
#
# References: Microsoft Learn, "x64 calling convention" (parameter passing, return values,
# caller/callee-saved registers), "x64 stack usage" (shadow/home space, alignment,
# stack probes, __chkstk) and "x64 prolog and epilog" / "x64 exception handling"
# (unwind codes, the allowed epilogue forms).

#define OFF_GPR         0
#define OFF_FPR         80
#define OFF_FUNC        144
#define OFF_STACK       152
#define OFF_STACK_SIZE  160
#define OFF_VECTOR      168
#define OFF_RET_GPR     176
#define OFF_RET_FPR     192
#define FRAME_SIZE      224

        .text

# void lune_ffi_call(CallFrame *frame)      frame in rcx
#
# Stack picture while the callee runs (addresses grow upwards):
#
#   rbp+16   our home slot for rcx, in the caller's shadow space: holds `frame`
#   rbp+8    return address
#   rbp+0    saved rbp              <- rbp (the frame-pointer chain)
#   rbp-stack_size .. rbp           copy of frame->stack[0..stack_size)
#   rsp .. rsp+32                   shadow space for the callee
#   rsp                             16-byte aligned at the `call`
#
# so the callee sees its fifth argument at [rsp+40] after the return address is pushed,
# the standard place, and stack argument k (Stack(8k)) at [rsp+40+8k].
        .p2align 4
        .globl  lune_ffi_call
        .def    lune_ffi_call; .scl 2; .type 32; .endef
        .seh_proc lune_ffi_call
lune_ffi_call:
        # CET indirect-branch tracking landing pad. Windows enforces CFG rather than IBT,
        # so this is only a NOP here (reserved-NOP opcode space), kept so the x86-64
        # entry points are alike on every OS.
        endbr64
        pushq   %rbp
        .seh_pushreg %rbp
        movq    %rsp, %rbp
        .seh_setframe %rbp, 0
        .seh_endprologue
        # The 32-byte area above our return address is ours to use ("home" space): keep
        # `frame` there instead of saving a nonvolatile register to hold it.
        movq    %rcx, 16(%rbp)

        # Entry rsp is 8 mod 16 (the caller was aligned before its call); after the push
        # it is 0 mod 16, and stack_size and the 32-byte shadow space are multiples of
        # 16, so rsp is 16-byte aligned at our own call, as the convention requires.
        movq    OFF_STACK_SIZE(%rcx), %rax
        leaq    -32(%rsp), %r11
        subq    %rax, %r11                      # the rsp we will call with

        # Stack probe, as __chkstk does. Windows commits stack pages lazily through a
        # single guard page: touching a page beyond it first is an access violation, so
        # any frame that can exceed a page must be touched one page at a time going
        # down (stack_size may be 4096, so with the shadow space and the callee's return
        # address the area spans two pages). Probing with reads while rsp is still high
        # also means a genuine overflow raises STATUS_STACK_OVERFLOW with enough stack
        # left above rsp for the exception to be dispatched.
        movq    %rsp, %r10
1:      subq    $4096, %r10
        cmpq    %r11, %r10
        jbe     2f
        testq   %rax, (%r10)
        jmp     1b
2:      testq   %rax, (%r11)
        # Only now move rsp: memory below rsp is volatile (the convention allows the OS
        # or a debugger to overwrite it), so the arguments are copied above it.
        movq    %r11, %rsp

        # frame->stack[0..stack_size) goes to [rsp+32 ..), above the callee's shadow
        # space: the callee sees stack argument k at [rsp+40+8k] after its return address
        # is pushed, the standard place.
        movq    OFF_STACK(%rcx), %r10
        testq   %rax, %rax
        jz      4f
3:      movq    -8(%r10,%rax), %r11
        movq    %r11, 32 - 8(%rsp,%rax)
        subq    $8, %rax
        jnz     3b
4:
        # Arguments: rcx, rdx, r8, r9 and xmm0-xmm3, by position (the classifier has
        # already duplicated variadic floats into the integer register of their slot).
        # movq zeroes the upper half of each xmm register; only the low 8 bytes matter.
        movq    OFF_FPR + 0(%rcx), %xmm0
        movq    OFF_FPR + 8(%rcx), %xmm1
        movq    OFF_FPR + 16(%rcx), %xmm2
        movq    OFF_FPR + 24(%rcx), %xmm3
        movq    OFF_GPR + 8(%rcx), %rdx
        movq    OFF_GPR + 16(%rcx), %r8
        movq    OFF_GPR + 24(%rcx), %r9
        # rax and r10/r11 are volatile and carry no argument.
        movq    OFF_FUNC(%rcx), %rax
        movq    OFF_GPR + 0(%rcx), %rcx
        callq   *%rax

        # Results: rax (integers, pointers, structs of 1/2/4/8 bytes, and the hidden
        # result pointer for larger ones) and xmm0 (float/double). rdx and xmm1 are
        # stored too; they are meaningless here but harmless, and keep the layout shared
        # with SysV.
        movq    16(%rbp), %rcx
        movq    %rax, OFF_RET_GPR + 0(%rcx)
        movq    %rdx, OFF_RET_GPR + 8(%rcx)
        movq    %xmm0, OFF_RET_FPR + 0(%rcx)
        movq    %xmm1, OFF_RET_FPR + 8(%rcx)

        # The x64 epilogue rules allow only "add rsp, c" or "lea rsp, [fp+c]" before the
        # pops; the unwinder recognises an epilogue by exactly that shape.
        leaq    0(%rbp), %rsp
        popq    %rbp
        ret
        .seh_endproc


# lune_ffi_callback_entry
#
# Reached from a callback thunk with r10 = the closure record (r11 held this address):
# both are volatile and carry no argument, and nothing between the C caller's `call`
# and here touched the stack, so [rsp] is the caller's return address, [rsp+8..rsp+40)
# is the shadow space the caller reserved for us, and stack arguments start at rsp+40.
#
# Stack picture while the dispatcher runs:
#
#   rbp+48   first stack argument (frame->stack points here: Stack(0))
#   rbp+16   home slots of rcx, rdx, r8, r9 (filled below)
#   rbp+8    return address
#   rbp+0    saved rbp                    <- rbp
#   rbp-224  CallFrame (224 bytes)        = rsp+32
#   rsp      shadow space for the dispatcher (32 bytes), rsp 16-byte aligned
        .p2align 4
        .globl  lune_ffi_callback_entry
        .def    lune_ffi_callback_entry; .scl 2; .type 32; .endef
        .seh_proc lune_ffi_callback_entry
lune_ffi_callback_entry:
        endbr64                                 # landing pad for the thunk's jump
        # Home the register arguments into the caller's shadow space so that register
        # and stack arguments form one contiguous array of 8-byte slots, as the
        # convention intends for varargs (va_start relies on exactly this). Writes into
        # the shadow space before the first push are the documented prologue form.
        movq    %rcx, 8(%rsp)
        movq    %rdx, 16(%rsp)
        movq    %r8, 24(%rsp)
        movq    %r9, 32(%rsp)
        pushq   %rbp
        .seh_pushreg %rbp
        movq    %rsp, %rbp
        .seh_setframe %rbp, 0
        # 224 (CallFrame) + 32 (shadow space for the dispatcher): entry rsp was 8 mod 16,
        # after the push 0, and 256 keeps it there for our call. Less than a page, so no
        # probe is needed.
        subq    $FRAME_SIZE + 32, %rsp
        .seh_stackalloc FRAME_SIZE + 32
        .seh_endprologue

        movq    %rcx, 32 + OFF_GPR + 0(%rsp)
        movq    %rdx, 32 + OFF_GPR + 8(%rsp)
        movq    %r8, 32 + OFF_GPR + 16(%rsp)
        movq    %r9, 32 + OFF_GPR + 24(%rsp)
        movq    %xmm0, 32 + OFF_FPR + 0(%rsp)
        movq    %xmm1, 32 + OFF_FPR + 8(%rsp)
        movq    %xmm2, 32 + OFF_FPR + 16(%rsp)
        movq    %xmm3, 32 + OFF_FPR + 24(%rsp)
        # Registers the convention does not use for arguments: zero, so the frame holds
        # no stale stack bytes. func = 0 (unused here), stack_size and vector_count
        # unknown: 0. The results start as zero, so a dispatcher that bails out early
        # still returns a zero value to C.
        xorl    %eax, %eax
        movq    %rax, 32 + OFF_GPR + 32(%rsp)
        movq    %rax, 32 + OFF_GPR + 40(%rsp)
        movq    %rax, 32 + OFF_GPR + 48(%rsp)
        movq    %rax, 32 + OFF_GPR + 56(%rsp)
        movq    %rax, 32 + OFF_GPR + 64(%rsp)
        movq    %rax, 32 + OFF_GPR + 72(%rsp)
        movq    %rax, 32 + OFF_FPR + 32(%rsp)
        movq    %rax, 32 + OFF_FPR + 40(%rsp)
        movq    %rax, 32 + OFF_FPR + 48(%rsp)
        movq    %rax, 32 + OFF_FPR + 56(%rsp)
        movq    %rax, 32 + OFF_FUNC(%rsp)
        movq    %rax, 32 + OFF_STACK_SIZE(%rsp)
        movq    %rax, 32 + OFF_VECTOR(%rsp)
        movq    %rax, 32 + OFF_RET_GPR + 0(%rsp)
        movq    %rax, 32 + OFF_RET_GPR + 8(%rsp)
        movq    %rax, 32 + OFF_RET_FPR + 0(%rsp)
        movq    %rax, 32 + OFF_RET_FPR + 8(%rsp)
        movq    %rax, 32 + OFF_RET_FPR + 16(%rsp)
        movq    %rax, 32 + OFF_RET_FPR + 24(%rsp)
        # Stack(0) is the first argument after the return address and shadow space:
        # entry rsp + 40 = rbp + 48.
        leaq    48(%rbp), %rax
        movq    %rax, 32 + OFF_STACK(%rsp)

        # dispatch(record, frame): the record's first word is the dispatcher, so the
        # assembly needs no link-time reference to Rust.
        movq    %r10, %rcx
        leaq    32(%rsp), %rdx
        callq   *(%r10)

        # Results: rax for integers, pointers and small structs, and for a struct
        # returned through a hidden pointer the convention requires that pointer back in
        # rax (the dispatcher must put it in ret_gpr[0]); xmm0 for float/double. rdx and
        # xmm1 are loaded as well, harmlessly (both volatile).
        movq    32 + OFF_RET_GPR + 0(%rsp), %rax
        movq    32 + OFF_RET_GPR + 8(%rsp), %rdx
        movq    32 + OFF_RET_FPR + 0(%rsp), %xmm0
        movq    32 + OFF_RET_FPR + 8(%rsp), %xmm1

        leaq    0(%rbp), %rsp
        popq    %rbp
        ret
        .seh_endproc
