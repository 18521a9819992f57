/*
 * Only for the macos-arm64 test lane (build_clib.rs, LUNE_FFI_FORCE_ABI=apple_arm64): the
 * conformance library is compiled with Apple's arm64 convention but runs against Linux's
 * glibc, whose variadic functions expect AAPCS64's. This file is compiled with Apple's
 * convention too; every `snprintf` of the library is renamed to `lune_apple_snprintf`.
 *
 * An Apple variadic callee finds its variadic arguments in consecutive 8-byte stack slots,
 * and its va_list is a plain pointer to them. glibc's AArch64 va_list is AAPCS64's
 * five-field structure (AAPCS64 appendix "Variable argument lists"); with both register
 * offsets at 0 ("no saved registers left"), va_arg takes every argument, integer or
 * floating-point, from consecutive 8-byte slots at __stack: exactly Apple's layout. So one
 * is turned into the other and handed to glibc's vsnprintf, which takes the 32-byte
 * structure by reference in both conventions (a composite over 16 bytes).
 */
#include <stddef.h>

struct lune_gnu_va_list {
    void *stack;
    void *gr_top;
    void *vr_top;
    int gr_offs;
    int vr_offs;
};

/* glibc's vsnprintf under another C name, so its va_list parameter can be the structure */
extern int lune_gnu_vsnprintf(char *buf, size_t cap, const char *fmt, struct lune_gnu_va_list ap)
    __asm__("vsnprintf");

int lune_apple_snprintf(char *buf, size_t cap, const char *fmt, ...) {
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    struct lune_gnu_va_list gnu = { (void *)ap, 0, 0, 0, 0 };
    int r = lune_gnu_vsnprintf(buf, cap, fmt, gnu);
    __builtin_va_end(ap);
    return r;
}
