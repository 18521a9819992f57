/*
 * lune-ffi conformance library: types and prototypes.
 *
 * Every exported function is declared here so the compiler checks the definitions in
 * conformance.c and fixtures_asm.c against one list. The Luau tests in tests/luau/call and
 * tests/luau/callback call these by name; keep names and signatures stable.
 *
 * Conventions:
 *   - "take_*" functions receive values and append every received value, field by field and
 *     element by element, to a global record (rec_*), then return how many they appended;
 *     the test reads the record back with rec_i / rec_u / rec_f / rec_p / rec_s.
 *   - "make_*" functions build a value from their arguments and return it.
 *   - "echo_*" functions return their argument unchanged.
 *   - "call_cb_*" functions call a callback passed by the test with fixed values.
 *   - The record, the static string buffers and the stored callback are thread-local: the
 *     test harness runs scripts on parallel threads that share this library.
 */
#ifndef LUNE_FFI_CONFORMANCE_H
#define LUNE_FFI_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
/* ---------------------------------------------------------------- text (issue 21 item 5)
 * C hands text over with a length and no NUL, as expat's character-data handler and
 * curl's write callback do: `len` bytes at the very end of a readable page, followed by
 * an unreadable one, so reading one byte past them faults. text_feed calls cb once per
 * chunk of `src` (chunks of `chunk` bytes, each copied to that edge) and returns the sum
 * of cb's results, or -1 if the guarded page cannot be made. text_last_len is the length
 * of the last chunk handed over (per thread). */
typedef int32_t (*text_cb_t)(const char *s, int32_t len, void *ud);
EXPORT int32_t text_feed(text_cb_t cb, const char *src, int32_t chunk, void *ud);
EXPORT int32_t text_last_len(void);

#endif

/* ---------------------------------------------------------------- record */
#define REC_MAX 256
EXPORT void rec_reset(void);
EXPORT int32_t rec_count(void);
EXPORT int32_t rec_kind(int32_t k); /* 'i' integer, 'f' float, 'p' pointer, 's' string, 0 none */
EXPORT int64_t rec_i(int32_t k);
EXPORT uint64_t rec_u(int32_t k);
EXPORT double rec_f(int32_t k);
EXPORT uint64_t rec_fbits(int32_t k);
EXPORT void *rec_p(int32_t k);
EXPORT const char *rec_s(int32_t k); /* NULL when a NULL string was recorded */

/* -------------------------------------------------------------- integers */
EXPORT int8_t echo_i8(int8_t x);
EXPORT uint8_t echo_u8(uint8_t x);
EXPORT int16_t echo_i16(int16_t x);
EXPORT uint16_t echo_u16(uint16_t x);
EXPORT int32_t echo_i32(int32_t x);
EXPORT uint32_t echo_u32(uint32_t x);
EXPORT int64_t echo_i64(int64_t x);
EXPORT uint64_t echo_u64(uint64_t x);
EXPORT bool echo_bool(bool x);
EXPORT size_t echo_usize(size_t x);
EXPORT intptr_t echo_isize(intptr_t x);

EXPORT int64_t widen_i8(int8_t x);
EXPORT int64_t widen_u8(uint8_t x);
EXPORT int64_t widen_i16(int16_t x);
EXPORT int64_t widen_u16(uint16_t x);
EXPORT int64_t widen_i32(int32_t x);
EXPORT int64_t widen_u32(uint32_t x);
EXPORT int32_t widen_bool(bool x);

/* Truncating returns: the result register keeps the upper bits of x (garbage for the type). */
EXPORT int8_t trunc_i8(uint64_t x);
EXPORT uint8_t trunc_u8(uint64_t x);
EXPORT int16_t trunc_i16(uint64_t x);
EXPORT uint16_t trunc_u16(uint64_t x);
EXPORT int32_t trunc_i32(uint64_t x);
EXPORT uint32_t trunc_u32(uint64_t x);

EXPORT int32_t add_i32(int32_t a, int32_t b);
EXPORT int64_t add_i64(int64_t a, int64_t b);
EXPORT uint64_t add_u64(uint64_t a, uint64_t b); /* wraps */
EXPORT bool is_positive(int32_t x);

/* 8 integers of every width: 6 in registers and 2 on the stack on SysV. Records all 8. */
EXPORT int32_t take_ints8(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f, int64_t g,
                          uint64_t h);
/* 8 i64 fillers (all argument registers on every ABI) then small integers that must go on the
 * stack. Records all 15 values. */
EXPORT int32_t take_stack_small(int64_t r0, int64_t r1, int64_t r2, int64_t r3, int64_t r4, int64_t r5,
                                int64_t r6, int64_t r7, int8_t a, uint8_t b, int16_t c, uint16_t d,
                                int32_t e, uint32_t f, bool g);

/* ---------------------------------------------------------------- floats */
EXPORT float echo_f32(float x);
EXPORT double echo_f64(double x);
EXPORT double f32_to_f64(float x);
EXPORT float f64_to_f32(double x);
EXPORT uint64_t f64_bits(double x);
EXPORT uint32_t f32_bits(float x);
EXPORT double f64_from_bits(uint64_t bits);
EXPORT float f32_from_bits(uint32_t bits);
EXPORT double fma3(double a, double b, double c); /* a * b + c */
EXPORT double sum20_f64(double a0, double a1, double a2, double a3, double a4, double a5, double a6,
                        double a7, double a8, double a9, double a10, double a11, double a12, double a13,
                        double a14, double a15, double a16, double a17, double a18, double a19);
EXPORT double sum20_f32(float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7,
                        float a8, float a9, float a10, float a11, float a12, float a13, float a14,
                        float a15, float a16, float a17, float a18, float a19);
/* 10 integers and 10 floats interleaved; records all 20, returns their sum as a double. */
EXPORT double mixed20(int8_t a0, double a1, uint8_t a2, float a3, int16_t a4, double a5, uint16_t a6,
                      float a7, int32_t a8, double a9, uint32_t a10, float a11, int64_t a12, double a13,
                      uint64_t a14, float a15, int8_t a16, double a17, int32_t a18, float a19);
/* Benchmark: 10 mixed arguments, returns their sum. */
EXPORT double mixed10(int32_t a, double b, int64_t c, float d, int32_t e, double f, uint8_t g, float h,
                      int16_t i, double j);

/* -------------------------------------------------------------- pointers */
EXPORT int32_t take_ptrs10(void *p0, void *p1, void *p2, void *p3, void *p4, void *p5, void *p6, void *p7,
                           void *p8, void *p9); /* records all, returns the number of non-NULL */
EXPORT void *ptr_add(void *p, intptr_t n);
EXPORT void *ret_null(void);
EXPORT bool is_null(const void *p);
EXPORT uintptr_t ptr_to_int(const void *p);
EXPORT void *int_to_ptr(uintptr_t x);
EXPORT int64_t sum_i32_array(const int32_t *a, size_t n);
EXPORT void fill_i32_array(int32_t *a, size_t n, int32_t start); /* a[i] = start + i */
EXPORT double sum_f64_array(const double *a, size_t n);
EXPORT void fill_bytes(uint8_t *p, size_t n, uint8_t start); /* p[i] = start + i (mod 256) */

/* --------------------------------------------------------------- strings */
EXPORT int64_t str_len(const char *s); /* -1 for NULL */
EXPORT const char *str_echo(const char *s); /* copy in a static buffer; NULL for NULL */
EXPORT const char *str_static(void);        /* "hello, world" */
EXPORT const char *str_null(void);          /* NULL */
EXPORT const char *str_upper(const char *s); /* ASCII upper-case copy in a static buffer */
EXPORT bool str_eq(const char *a, const char *b);
EXPORT char *str_concat_into(char *buf, size_t cap, const char *a, const char *b); /* returns buf */
EXPORT int32_t str_byte_sum(const char *s); /* sum of the unsigned bytes before the NUL */

/* -------------------------------------------------------- globals, errno */
EXPORT extern int32_t g_counter; /* starts at 41; process-wide (not thread-local) */
EXPORT int32_t bump_counter(void);
EXPORT int32_t set_errno_and_fail(int32_t e); /* errno = e; returns -1 */

/* --------------------------------------------------------------- structs */
typedef struct { uint8_t a; } S_u8;                      /* 1 */
typedef struct { uint8_t a, b, c; } S_u8x3;              /* 3 */
typedef struct { uint16_t a; uint8_t b; } S_u16u8;       /* 4 */
typedef struct { uint8_t a[5]; } S_u8a5;                 /* 5 */
typedef struct { uint8_t a[7]; } S_u8a7;                 /* 7 */
typedef struct { int32_t a, b; } S_ii;                   /* 8 */
typedef struct { float a; } S_f;                         /* 4  HFA1 */
typedef struct { double a; } S_d;                        /* 8  HFA1 */
typedef struct { float a, b; } S_ff;                     /* 8  HFA2 */
typedef struct { float a, b, c; } S_fff;                 /* 12 HFA3 */
typedef struct { float a, b, c, d; } S_ffff;             /* 16 HFA4 */
typedef struct { float a[4]; } S_fa4;                    /* 16 HFA4 via array */
typedef struct { float a, b, c, d, e; } S_f5;            /* 20 not an HFA, memory */
typedef struct { double a, b; } S_dd;                    /* 16 HFA2 */
typedef struct { int32_t a; float b; } S_if;             /* 8  one INTEGER eightbyte */
typedef struct { float a; double b; } S_fd;              /* 16 SSE, SSE */
typedef struct { double a; int32_t b; } S_di;            /* 16 SSE, INTEGER */
typedef struct { int32_t a; double b; } S_id;            /* 16 INTEGER, SSE */
typedef struct { int32_t a; float b; int8_t c; } S_ifc;  /* 12 INTEGER, INTEGER */
typedef struct { uint8_t a; double b; uint32_t c; } S_pad; /* 24 padded, memory */
typedef struct { float x; S_ff inner; } S_nest;          /* 12 HFA3 through nesting */
typedef struct { uint64_t a; uint8_t b; } S_lu8;         /* 16 */
typedef struct { uint8_t a; S_lu8 inner; uint32_t c; } S_nest2; /* 32 */
typedef struct { uint8_t tag; uint8_t v32[4]; uint8_t v16[2]; } S_packed7;    /* 7, align 1 */
typedef struct { uint8_t tag[1]; uint8_t v32[4]; uint8_t v64[8]; } S_packed13; /* 13, align 1 */
typedef struct { double a; int64_t b; float c; int32_t d; } S_24;              /* 24 */
typedef struct {
    int64_t a;     /* 0 */
    double b;      /* 8 */
    int32_t c;     /* 16 */
    float d;       /* 20 */
    uint8_t e[8];  /* 24 */
    int16_t f;     /* 32 */
    uint16_t g;    /* 34 */
    int32_t h;     /* 36 */
    double i;      /* 40 */
    int64_t j;     /* 48 */
    uint8_t k[8];  /* 56 */
} S_64;            /* 64 */
typedef struct { uint8_t tag; int32_t i[13]; float f[13]; } S_108; /* 108, align 4 */
typedef struct { int64_t a, b; } S_ll;                   /* 16 INTEGER, INTEGER */
typedef struct { int64_t l; double d; } S_ld;            /* 16 INTEGER, SSE */

/* layout of the structs above as the C compiler sees them; -1 for an unknown name */
EXPORT int64_t c_sizeof(const char *type);
EXPORT int64_t c_alignof(const char *type);
EXPORT int64_t c_offsetof(const char *type, const char *field);

EXPORT S_u8 make_u8s(uint8_t a);
EXPORT int32_t take_u8s(S_u8 s);
EXPORT S_u8 echo_u8s(S_u8 s);
EXPORT S_u8x3 make_u8x3(uint8_t a, uint8_t b, uint8_t c);
EXPORT int32_t take_u8x3(S_u8x3 s);
EXPORT S_u8x3 echo_u8x3(S_u8x3 s);
EXPORT S_u16u8 make_u16u8(uint16_t a, uint8_t b);
EXPORT int32_t take_u16u8(S_u16u8 s);
EXPORT S_u16u8 echo_u16u8(S_u16u8 s);
EXPORT S_u8a5 make_u8a5(uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3, uint8_t a4);
EXPORT int32_t take_u8a5(S_u8a5 s);
EXPORT S_u8a5 echo_u8a5(S_u8a5 s);
EXPORT S_u8a7 make_u8a7(uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3, uint8_t a4, uint8_t a5,
                        uint8_t a6);
EXPORT int32_t take_u8a7(S_u8a7 s);
EXPORT S_u8a7 echo_u8a7(S_u8a7 s);
EXPORT S_ii make_ii(int32_t a, int32_t b);
EXPORT int32_t take_ii(S_ii s);
EXPORT S_ii echo_ii(S_ii s);
EXPORT int32_t take_ii10(S_ii s0, S_ii s1, S_ii s2, S_ii s3, S_ii s4, S_ii s5, S_ii s6, S_ii s7, S_ii s8,
                         S_ii s9);
EXPORT S_f make_f(float a);
EXPORT int32_t take_f(S_f s);
EXPORT S_f echo_f(S_f s);
EXPORT S_d make_d(double a);
EXPORT int32_t take_d(S_d s);
EXPORT S_d echo_d(S_d s);
EXPORT S_ff make_ff(float a, float b);
EXPORT int32_t take_ff(S_ff s);
EXPORT S_ff echo_ff(S_ff s);
EXPORT S_fff make_fff(float a, float b, float c);
EXPORT int32_t take_fff(S_fff s);
EXPORT S_fff echo_fff(S_fff s);
EXPORT S_ffff make_ffff(float a, float b, float c, float d);
EXPORT int32_t take_ffff(S_ffff s);
EXPORT S_ffff echo_ffff(S_ffff s);
EXPORT S_fa4 make_fa4(float a0, float a1, float a2, float a3);
EXPORT int32_t take_fa4(S_fa4 s);
EXPORT S_fa4 echo_fa4(S_fa4 s);
EXPORT S_f5 make_f5(float a, float b, float c, float d, float e);
EXPORT int32_t take_f5(S_f5 s);
EXPORT S_f5 echo_f5(S_f5 s);
EXPORT S_dd make_dd(double a, double b);
EXPORT int32_t take_dd(S_dd s);
EXPORT S_dd echo_dd(S_dd s);
EXPORT S_if make_if(int32_t a, float b);
EXPORT int32_t take_if(S_if s);
EXPORT S_if echo_if(S_if s);
EXPORT S_fd make_fd(float a, double b);
EXPORT int32_t take_fd(S_fd s);
EXPORT S_fd echo_fd(S_fd s);
EXPORT S_di make_di(double a, int32_t b);
EXPORT int32_t take_di(S_di s);
EXPORT S_di echo_di(S_di s);
EXPORT S_id make_id(int32_t a, double b);
EXPORT int32_t take_id(S_id s);
EXPORT S_id echo_id(S_id s);
EXPORT S_ifc make_ifc(int32_t a, float b, int8_t c);
EXPORT int32_t take_ifc(S_ifc s);
EXPORT S_ifc echo_ifc(S_ifc s);
EXPORT S_pad make_pad(uint8_t a, double b, uint32_t c);
EXPORT int32_t take_pad(S_pad s);
EXPORT S_pad echo_pad(S_pad s);
EXPORT S_nest make_nest(float x, float a, float b);
EXPORT int32_t take_nest(S_nest s);
EXPORT S_nest echo_nest(S_nest s);
EXPORT S_nest2 make_nest2(uint8_t a, uint64_t ia, uint8_t ib, uint32_t c);
EXPORT int32_t take_nest2(S_nest2 s);
EXPORT S_nest2 echo_nest2(S_nest2 s);
EXPORT S_packed7 make_packed7(uint8_t tag, uint32_t v32, uint16_t v16); /* little-endian bytes */
EXPORT int32_t take_packed7(S_packed7 s); /* records tag, v32, v16 decoded little-endian */
EXPORT S_packed7 echo_packed7(S_packed7 s);
EXPORT S_packed13 make_packed13(uint8_t tag, uint32_t v32, uint64_t v64);
EXPORT int32_t take_packed13(S_packed13 s); /* records tag, v32, v64 decoded little-endian */
EXPORT S_packed13 echo_packed13(S_packed13 s);
EXPORT S_24 make_s24(double a, int64_t b, float c, int32_t d);
EXPORT int32_t take_s24(S_24 s);
EXPORT S_24 echo_s24(S_24 s);
/* S_64 from a seed: a = seed, b = seed + 0.5, c = -seed, d = seed * 0.25, e[i] = seed + i,
 * f = -2 * seed, g = 3 * seed, h = seed - 1000, i = -seed - 0.75, j = seed * 1000000,
 * k[i] = 200 + i (all integer conversions modulo the field width) */
EXPORT S_64 make_s64(int32_t seed);
EXPORT int32_t take_s64(S_64 s);
EXPORT S_64 echo_s64(S_64 s);
/* S_108: tag, i[k] = i0 + 1000 * k, f[k] = f0 + 0.5 * k */
EXPORT S_108 make_s108(uint8_t tag, int32_t i0, float f0);
EXPORT int32_t take_s108(S_108 s);
EXPORT S_108 echo_s108(S_108 s);
EXPORT S_ll make_ll(int64_t a, int64_t b);
EXPORT S_ld make_ld(int64_t l, double d);

/* Register exhaustion. Every one records all its scalars and struct fields in order. */
/* SysV: a..e take 5 GPRs, s needs 2 but 1 is left -> s on the stack, f still in r9. */
EXPORT int32_t spill_gpr_sysv(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, S_ll s, int64_t f);
/* AArch64: a..g take x0-x6, s needs 2 with 1 left -> s on the stack, NGRN = 8, h on the stack. */
EXPORT int32_t spill_gpr_a64(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g,
                             S_ll s, int64_t h);
/* SysV: 7 doubles take xmm0-6, s needs 2 SSE with 1 left -> stack, h still in xmm7. */
EXPORT int32_t spill_sse_sysv(double a, double b, double c, double d, double e, double f, double g, S_dd s,
                              double h);
/* AArch64: 5 doubles take v0-v4, the HFA4 needs 4 with 3 left -> stack, NSRN = 8, f on the stack. */
EXPORT int32_t spill_hfa_a64(double a, double b, double c, double d, double e, S_ffff s, float f);
/* SysV: s.l in the last GPR (r9), s.d in xmm0, x in xmm1, y on the stack. */
EXPORT int32_t split_gpr_sse(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, S_ld s, double x,
                             int64_t y);
/* SysV: no GPR left for s.l -> the whole of s on the stack, x still in xmm0. */
EXPORT int32_t split_no_gpr(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, S_ld s,
                            double x);
/* SysV: s.d in the last SSE register (xmm7), s.l in rdi, y in rsi. */
EXPORT int32_t split_sse_last(double a, double b, double c, double d, double e, double f, double g, S_ld s,
                              int64_t y);
/* SysV: no SSE register left -> s on the stack, y in rdi. */
EXPORT int32_t split_no_sse(double a, double b, double c, double d, double e, double f, double g, double h,
                            S_ld s, int64_t y);
/* Many classes in one call. */
EXPORT int32_t take_struct_mix(S_ii a, S_dd b, S_ifc c, S_24 d, S_fff e, int32_t f, double g);

/* -------------------------------------------------------------- variadic */
/* Reads one variadic argument per format character and records it:
 *   'i' int, 'u' unsigned, 'l' long long, 'L' unsigned long long, 'z' size_t,
 *   'd' double, 's' const char * (NULL allowed), 'p' void *.
 * Returns the number of arguments read. */
EXPORT int32_t rec_variadic(const char *fmt, ...);
/* Same reading rules; writes "i:%d u:%u l:%lld L:%llu z:%zu d:%.17g s:%s p:%llx" items separated by
 * one space into out (snprintf semantics), returns the length it wanted to write. */
EXPORT int32_t fmt_variadic(char *out, size_t cap, const char *fmt, ...);
EXPORT double sum_f64_v(int32_t n, ...);  /* n doubles */
EXPORT int64_t sum_i64_v(int32_t n, ...); /* n long longs */
EXPORT int32_t sum_int_v(int32_t n, ...); /* n ints */

/* ------------------------------------------ machine-level fixtures (asm) */
/* Return 0x123456789ABCDEFF / 0xFEDCBA9876543201 / 0xFFFFFFFF12345600 in the full integer return
 * register and 0x414243443FC00000 / 0xDEADBEEF40490FDB / 0x0123456700000000 in the low 64 bits
 * of the first float return register: call them with any integer return type, or f32. */
EXPORT uint64_t garbage_ret_a(void);
EXPORT uint64_t garbage_ret_b(void);
EXPORT uint64_t garbage_ret_c(void);
/* Returns the whole first integer argument register (rdi / rcx / x0) as it was at entry. */
EXPORT uint64_t raw_arg0(void);
/* Returns 1 iff the stack pointer was 16-byte aligned at the call (rsp + 8 at entry on x86-64,
 * sp on AArch64). Ignores its arguments: call it with any signature. */
EXPORT int32_t check_stack_alignment(void);
/* Overwrites every caller-saved (volatile) register the ABI allows, returns x + 1. */
EXPORT int32_t clobber_volatile(int32_t x);
/* Sets every callee-saved register (and checks MXCSR / FPCR) to a canary, calls cb(x), checks
 * the canaries; returns cb(x), or 0xDEADBEEF (as int32) if any canary changed. */
EXPORT int32_t canary_call(int32_t (*cb)(int32_t), int32_t x);
/* Calls cb with 0x123456789ABCDEFF in every integer argument register and 0x414243443FC00000 in
 * the first float argument register, returns whatever cb returns in the integer return
 * register (declare it i64) - or use call_with_garbage_f to get the float return register. */
EXPORT int64_t call_with_garbage(void *cb);
EXPORT double call_with_garbage_f(void *cb);

/* ------------------------------------------------------------- callbacks */
typedef int32_t (*cb_ii_t)(int32_t, int32_t);
typedef int32_t (*cb_i_t)(int32_t);
EXPORT int32_t call_cb_ii(cb_ii_t cb, int32_t a, int32_t b);
EXPORT int32_t call_cb_i(cb_i_t cb, int32_t x);
EXPORT int32_t call_cb_record(cb_i_t cb, int32_t x); /* stores cb's result for last_cb_ret */
EXPORT int32_t last_cb_ret(void);
EXPORT int64_t drive_cb(cb_ii_t cb, int32_t n); /* sum of cb(i, 1) for i in [0, n) */
EXPORT int32_t call_cb_n_times(cb_i_t cb, int32_t n); /* sum of cb(i) for i in [0, n) */
EXPORT int32_t qsort_i32(int32_t *base, size_t n, int (*cmp)(const void *, const void *));

EXPORT int8_t call_cb_echo_i8(int8_t (*cb)(int8_t), int8_t v);
EXPORT uint8_t call_cb_echo_u8(uint8_t (*cb)(uint8_t), uint8_t v);
EXPORT int16_t call_cb_echo_i16(int16_t (*cb)(int16_t), int16_t v);
EXPORT uint16_t call_cb_echo_u16(uint16_t (*cb)(uint16_t), uint16_t v);
EXPORT int32_t call_cb_echo_i32(int32_t (*cb)(int32_t), int32_t v);
EXPORT uint32_t call_cb_echo_u32(uint32_t (*cb)(uint32_t), uint32_t v);
EXPORT int64_t call_cb_echo_i64(int64_t (*cb)(int64_t), int64_t v);
EXPORT uint64_t call_cb_echo_u64(uint64_t (*cb)(uint64_t), uint64_t v);
EXPORT float call_cb_echo_f32(float (*cb)(float), float v);
EXPORT double call_cb_echo_f64(double (*cb)(double), double v);
EXPORT bool call_cb_echo_bool(bool (*cb)(bool), bool v);
EXPORT void *call_cb_echo_ptr(void *(*cb)(void *), void *v);
EXPORT size_t call_cb_echo_usize(size_t (*cb)(size_t), size_t v);
/* Copies cb's result into a static buffer right after cb returns and returns that (or NULL). */
EXPORT const char *call_cb_echo_str(const char *(*cb)(const char *), const char *v);
EXPORT int32_t call_cb_void(void (*cb)(int32_t), int32_t x); /* cb(x); returns x + 1 */
/* Widening versions: C widens the callback's result, so an engine that leaves garbage above a
 * small return type is still read correctly (the ABI allows garbage there). */
EXPORT int64_t call_cb_ret_i8(int8_t (*cb)(void));
EXPORT int64_t call_cb_ret_u8(uint8_t (*cb)(void));
EXPORT int64_t call_cb_ret_i16(int16_t (*cb)(void));
EXPORT int64_t call_cb_ret_u16(uint16_t (*cb)(void));
EXPORT int64_t call_cb_ret_u32(uint32_t (*cb)(void));
EXPORT int32_t call_cb_ret_bool(bool (*cb)(void));

/* 20 mixed arguments with fixed values (see conformance.c), returns cb's result. */
typedef double (*cb_mixed20_t)(int8_t, double, uint8_t, float, int16_t, double, uint16_t, float, int32_t,
                               double, uint32_t, float, int64_t, double, uint64_t, float, int8_t, double,
                               int32_t, float);
EXPORT double call_cb_mixed20(cb_mixed20_t cb);

/* Struct callbacks: C passes a fixed value V and a tag (99), the callback must return V with
 * every numeric field and array element incremented by 1. C records the returned fields and
 * returns 1 if they match, 0 otherwise. */
EXPORT int32_t call_cb_s_ii(S_ii (*cb)(S_ii, int32_t));
EXPORT int32_t call_cb_s_fff(S_fff (*cb)(S_fff, int32_t));
EXPORT int32_t call_cb_s_di(S_di (*cb)(S_di, int32_t));
EXPORT int32_t call_cb_s_24(S_24 (*cb)(S_24, int32_t));
EXPORT int32_t call_cb_s_64(S_64 (*cb)(S_64, int32_t));

EXPORT void store_cb(cb_i_t cb);
EXPORT int32_t has_stored(void);
EXPORT int32_t call_stored(int32_t x); /* 0 when nothing is stored; records the result */
EXPORT void clear_stored(void);

/* Creates an OS thread that calls cb(x), joins it, returns the result (or INT32_MIN if the
 * thread could not be created). */
EXPORT int32_t call_cb_in_thread(cb_i_t cb, int32_t x);
EXPORT int32_t reenter(cb_i_t cb, int32_t depth); /* returns cb(depth) */

/* ---------------------------------------------------------------- text (issue 21 item 5)
 * C hands text over with a length and no NUL, as expat's character-data handler and
 * curl's write callback do: `len` bytes at the very end of a readable page, followed by
 * an unreadable one, so reading one byte past them faults. text_feed calls cb once per
 * chunk of `src` (chunks of `chunk` bytes, each copied to that edge) and returns the sum
 * of cb's results, or -1 if the guarded page cannot be made. text_last_len is the length
 * of the last chunk handed over (per thread). */
typedef int32_t (*text_cb_t)(const char *s, int32_t len, void *ud);
EXPORT int32_t text_feed(text_cb_t cb, const char *src, int32_t chunk, void *ud);
EXPORT int32_t text_last_len(void);

#endif
