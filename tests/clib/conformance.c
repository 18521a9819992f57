/*
 * lune-ffi conformance library (C side). See conformance.h for the conventions.
 * Must compile warning-free with gcc/clang -O2 -Wall -Wextra for x86_64-linux-gnu,
 * aarch64-linux-gnu and x86_64-w64-mingw32.
 */
#include "conformance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <pthread.h>
#endif

_Static_assert(sizeof(S_u8) == 1, "S_u8");
_Static_assert(sizeof(S_u8x3) == 3, "S_u8x3");
_Static_assert(sizeof(S_u16u8) == 4, "S_u16u8");
_Static_assert(sizeof(S_u8a5) == 5, "S_u8a5");
_Static_assert(sizeof(S_u8a7) == 7, "S_u8a7");
_Static_assert(sizeof(S_fff) == 12, "S_fff");
_Static_assert(sizeof(S_f5) == 20, "S_f5");
_Static_assert(sizeof(S_ifc) == 12, "S_ifc");
_Static_assert(sizeof(S_pad) == 24, "S_pad");
_Static_assert(sizeof(S_nest) == 12, "S_nest");
_Static_assert(sizeof(S_nest2) == 32, "S_nest2");
_Static_assert(sizeof(S_packed7) == 7, "S_packed7");
_Static_assert(sizeof(S_packed13) == 13, "S_packed13");
_Static_assert(sizeof(S_24) == 24, "S_24");
_Static_assert(sizeof(S_64) == 64, "S_64");
_Static_assert(sizeof(S_108) == 108, "S_108");

/* ================================================================ record */

typedef struct {
    int kind;
    uint64_t bits; /* integer bits, or the double's bits, or the pointer */
    char *str;
} rec_slot;

/* Thread-local: the Rust harness runs each script as a #[test] on its own thread, all of
 * them sharing this one loaded library. */
#define TLS _Thread_local

static TLS rec_slot g_rec[REC_MAX];
static TLS int g_rec_n;

EXPORT void rec_reset(void) {
    for (int k = 0; k < g_rec_n; k++) {
        free(g_rec[k].str);
        g_rec[k].str = NULL;
        g_rec[k].kind = 0;
        g_rec[k].bits = 0;
    }
    g_rec_n = 0;
}

static rec_slot *rec_next(int kind) {
    if (g_rec_n >= REC_MAX) {
        static TLS rec_slot overflow;
        return &overflow;
    }
    rec_slot *slot = &g_rec[g_rec_n++];
    slot->kind = kind;
    slot->bits = 0;
    free(slot->str);
    slot->str = NULL;
    return slot;
}

static void put_i(int64_t v) { rec_next('i')->bits = (uint64_t)v; }
static void put_u(uint64_t v) { rec_next('i')->bits = v; }
static void put_f(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    rec_next('f')->bits = b;
}
static void put_p(const void *p) { rec_next('p')->bits = (uint64_t)(uintptr_t)p; }
static void put_s(const char *s) {
    rec_slot *slot = rec_next('s');
    slot->bits = (uint64_t)(uintptr_t)s;
    if (s) {
        size_t n = strlen(s);
        slot->str = (char *)malloc(n + 1);
        if (slot->str)
            memcpy(slot->str, s, n + 1);
    }
}

static const rec_slot *rec_get(int32_t k) {
    static const rec_slot none = {0, 0, NULL};
    if (k < 0 || k >= g_rec_n)
        return &none;
    return &g_rec[k];
}

EXPORT int32_t rec_count(void) { return g_rec_n; }
EXPORT int32_t rec_kind(int32_t k) { return rec_get(k)->kind; }
EXPORT int64_t rec_i(int32_t k) { return (int64_t)rec_get(k)->bits; }
EXPORT uint64_t rec_u(int32_t k) { return rec_get(k)->bits; }
EXPORT double rec_f(int32_t k) {
    double d;
    uint64_t b = rec_get(k)->bits;
    memcpy(&d, &b, sizeof d);
    return d;
}
EXPORT uint64_t rec_fbits(int32_t k) { return rec_get(k)->bits; }
EXPORT void *rec_p(int32_t k) { return (void *)(uintptr_t)rec_get(k)->bits; }
EXPORT const char *rec_s(int32_t k) { return rec_get(k)->str; }

/* ============================================================== integers */

EXPORT int8_t echo_i8(int8_t x) { return x; }
EXPORT uint8_t echo_u8(uint8_t x) { return x; }
EXPORT int16_t echo_i16(int16_t x) { return x; }
EXPORT uint16_t echo_u16(uint16_t x) { return x; }
EXPORT int32_t echo_i32(int32_t x) { return x; }
EXPORT uint32_t echo_u32(uint32_t x) { return x; }
EXPORT int64_t echo_i64(int64_t x) { return x; }
EXPORT uint64_t echo_u64(uint64_t x) { return x; }
EXPORT bool echo_bool(bool x) { return x; }
EXPORT size_t echo_usize(size_t x) { return x; }
EXPORT intptr_t echo_isize(intptr_t x) { return x; }

EXPORT int64_t widen_i8(int8_t x) { return x; }
EXPORT int64_t widen_u8(uint8_t x) { return x; }
EXPORT int64_t widen_i16(int16_t x) { return x; }
EXPORT int64_t widen_u16(uint16_t x) { return x; }
EXPORT int64_t widen_i32(int32_t x) { return x; }
EXPORT int64_t widen_u32(uint32_t x) { return x; }
EXPORT int32_t widen_bool(bool x) { return x ? 1 : 0; }

EXPORT int8_t trunc_i8(uint64_t x) { return (int8_t)x; }
EXPORT uint8_t trunc_u8(uint64_t x) { return (uint8_t)x; }
EXPORT int16_t trunc_i16(uint64_t x) { return (int16_t)x; }
EXPORT uint16_t trunc_u16(uint64_t x) { return (uint16_t)x; }
EXPORT int32_t trunc_i32(uint64_t x) { return (int32_t)x; }
EXPORT uint32_t trunc_u32(uint64_t x) { return (uint32_t)x; }

EXPORT int32_t add_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
EXPORT int64_t add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
EXPORT uint64_t add_u64(uint64_t a, uint64_t b) { return a + b; }
EXPORT bool is_positive(int32_t x) { return x > 0; }

EXPORT int32_t take_ints8(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f, int64_t g,
                          uint64_t h) {
    put_i(a);
    put_i(b);
    put_i(c);
    put_i(d);
    put_i(e);
    put_i(f);
    put_i(g);
    put_u(h);
    return 8;
}

EXPORT int32_t take_stack_small(int64_t r0, int64_t r1, int64_t r2, int64_t r3, int64_t r4, int64_t r5,
                                int64_t r6, int64_t r7, int8_t a, uint8_t b, int16_t c, uint16_t d,
                                int32_t e, uint32_t f, bool g) {
    put_i(r0);
    put_i(r1);
    put_i(r2);
    put_i(r3);
    put_i(r4);
    put_i(r5);
    put_i(r6);
    put_i(r7);
    put_i(a);
    put_i(b);
    put_i(c);
    put_i(d);
    put_i(e);
    put_i(f);
    put_i(g ? 1 : 0);
    return 15;
}

/* ================================================================ floats */

EXPORT float echo_f32(float x) { return x; }
EXPORT double echo_f64(double x) { return x; }
EXPORT double f32_to_f64(float x) { return (double)x; }
EXPORT float f64_to_f32(double x) { return (float)x; }
EXPORT uint64_t f64_bits(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}
EXPORT uint32_t f32_bits(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}
EXPORT double f64_from_bits(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}
EXPORT float f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
EXPORT double fma3(double a, double b, double c) { return a * b + c; }
/* Each argument at its own weight, so a swapped, dropped or misconverted one shows: the
 * bound calls whose arguments are all i32 or all f64 (one run of registers). */
EXPORT int64_t weigh_i32x6(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f) {
    return a + 3 * (int64_t)b + 9 * (int64_t)c + 27 * (int64_t)d + 81 * (int64_t)e + 243 * (int64_t)f;
}
EXPORT double weigh_f64x8(double a, double b, double c, double d, double e, double f, double g,
                          double h) {
    return a + 2 * b + 4 * c + 8 * d + 16 * e + 32 * f + 64 * g + 128 * h;
}

EXPORT double sum20_f64(double a0, double a1, double a2, double a3, double a4, double a5, double a6,
                        double a7, double a8, double a9, double a10, double a11, double a12, double a13,
                        double a14, double a15, double a16, double a17, double a18, double a19) {
    double v[20] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19};
    double s = 0;
    for (int k = 0; k < 20; k++) {
        put_f(v[k]);
        s += v[k];
    }
    return s;
}

EXPORT double sum20_f32(float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7,
                        float a8, float a9, float a10, float a11, float a12, float a13, float a14,
                        float a15, float a16, float a17, float a18, float a19) {
    float v[20] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19};
    double s = 0;
    for (int k = 0; k < 20; k++) {
        put_f(v[k]);
        s += v[k];
    }
    return s;
}

EXPORT double mixed20(int8_t a0, double a1, uint8_t a2, float a3, int16_t a4, double a5, uint16_t a6,
                      float a7, int32_t a8, double a9, uint32_t a10, float a11, int64_t a12, double a13,
                      uint64_t a14, float a15, int8_t a16, double a17, int32_t a18, float a19) {
    put_i(a0);
    put_f(a1);
    put_i(a2);
    put_f(a3);
    put_i(a4);
    put_f(a5);
    put_i(a6);
    put_f(a7);
    put_i(a8);
    put_f(a9);
    put_i(a10);
    put_f(a11);
    put_i(a12);
    put_f(a13);
    put_u(a14);
    put_f(a15);
    put_i(a16);
    put_f(a17);
    put_i(a18);
    put_f(a19);
    return (double)a0 + a1 + (double)a2 + a3 + (double)a4 + a5 + (double)a6 + a7 + (double)a8 + a9 +
           (double)a10 + a11 + (double)a12 + a13 + (double)a14 + a15 + (double)a16 + a17 + (double)a18 + a19;
}

EXPORT double mixed10(int32_t a, double b, int64_t c, float d, int32_t e, double f, uint8_t g, float h,
                      int16_t i, double j) {
    return (double)a + b + (double)c + d + (double)e + f + (double)g + h + (double)i + j;
}

/* ============================================================== pointers */

EXPORT int32_t take_ptrs10(void *p0, void *p1, void *p2, void *p3, void *p4, void *p5, void *p6, void *p7,
                           void *p8, void *p9) {
    void *v[10] = {p0, p1, p2, p3, p4, p5, p6, p7, p8, p9};
    int32_t n = 0;
    for (int k = 0; k < 10; k++) {
        put_p(v[k]);
        if (v[k])
            n++;
    }
    return n;
}
EXPORT void *ptr_add(void *p, intptr_t n) { return (void *)((uintptr_t)p + (uintptr_t)n); }
EXPORT void *ret_null(void) { return NULL; }
EXPORT bool is_null(const void *p) { return p == NULL; }
EXPORT uintptr_t ptr_to_int(const void *p) { return (uintptr_t)p; }
EXPORT void *int_to_ptr(uintptr_t x) { return (void *)x; }
EXPORT int64_t sum_i32_array(const int32_t *a, size_t n) {
    int64_t s = 0;
    for (size_t k = 0; k < n; k++)
        s += a[k];
    return s;
}
EXPORT void fill_i32_array(int32_t *a, size_t n, int32_t start) {
    for (size_t k = 0; k < n; k++)
        a[k] = (int32_t)((uint32_t)start + (uint32_t)k);
}
EXPORT double sum_f64_array(const double *a, size_t n) {
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += a[k];
    return s;
}
EXPORT void fill_bytes(uint8_t *p, size_t n, uint8_t start) {
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)(start + k);
}

/* =============================================================== strings */

static TLS char g_strbuf[4096];

EXPORT int64_t str_len(const char *s) { return s ? (int64_t)strlen(s) : -1; }
EXPORT const char *str_echo(const char *s) {
    if (!s)
        return NULL;
    snprintf(g_strbuf, sizeof g_strbuf, "%s", s);
    return g_strbuf;
}
EXPORT const char *str_static(void) { return "hello, world"; }
EXPORT const char *str_null(void) { return NULL; }
EXPORT const char *str_upper(const char *s) {
    size_t k = 0;
    if (!s)
        return NULL;
    for (; s[k] && k + 1 < sizeof g_strbuf; k++) {
        char c = s[k];
        g_strbuf[k] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    g_strbuf[k] = 0;
    return g_strbuf;
}
EXPORT bool str_eq(const char *a, const char *b) {
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}
EXPORT char *str_concat_into(char *buf, size_t cap, const char *a, const char *b) {
    snprintf(buf, cap, "%s%s", a ? a : "(null)", b ? b : "(null)");
    return buf;
}
EXPORT int32_t str_byte_sum(const char *s) {
    int32_t n = 0;
    if (!s)
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += *p;
    return n;
}

/* ======================================================== globals, errno */

EXPORT int32_t g_counter = 41;
EXPORT int32_t bump_counter(void) { return ++g_counter; }
EXPORT int32_t set_errno_and_fail(int32_t e) {
    errno = e;
    return -1;
}

/* =============================================================== structs */

typedef struct {
    const char *type;
    const char *field; /* NULL: the struct's own size and alignment */
    size_t value;      /* offset, or size */
    size_t align;
} layout_row;

#define L_TYPE(T) {#T, NULL, sizeof(T), _Alignof(T)}
#define L_FIELD(T, f) {#T, #f, offsetof(T, f), 0}

static const layout_row g_layout[] = {
    L_TYPE(S_u8), L_FIELD(S_u8, a),
    L_TYPE(S_u8x3), L_FIELD(S_u8x3, a), L_FIELD(S_u8x3, b), L_FIELD(S_u8x3, c),
    L_TYPE(S_u16u8), L_FIELD(S_u16u8, a), L_FIELD(S_u16u8, b),
    L_TYPE(S_u8a5), L_FIELD(S_u8a5, a),
    L_TYPE(S_u8a7), L_FIELD(S_u8a7, a),
    L_TYPE(S_ii), L_FIELD(S_ii, a), L_FIELD(S_ii, b),
    L_TYPE(S_f), L_FIELD(S_f, a),
    L_TYPE(S_d), L_FIELD(S_d, a),
    L_TYPE(S_ff), L_FIELD(S_ff, a), L_FIELD(S_ff, b),
    L_TYPE(S_fff), L_FIELD(S_fff, a), L_FIELD(S_fff, b), L_FIELD(S_fff, c),
    L_TYPE(S_ffff), L_FIELD(S_ffff, a), L_FIELD(S_ffff, b), L_FIELD(S_ffff, c), L_FIELD(S_ffff, d),
    L_TYPE(S_fa4), L_FIELD(S_fa4, a),
    L_TYPE(S_f5), L_FIELD(S_f5, a), L_FIELD(S_f5, b), L_FIELD(S_f5, c), L_FIELD(S_f5, d), L_FIELD(S_f5, e),
    L_TYPE(S_dd), L_FIELD(S_dd, a), L_FIELD(S_dd, b),
    L_TYPE(S_if), L_FIELD(S_if, a), L_FIELD(S_if, b),
    L_TYPE(S_fd), L_FIELD(S_fd, a), L_FIELD(S_fd, b),
    L_TYPE(S_di), L_FIELD(S_di, a), L_FIELD(S_di, b),
    L_TYPE(S_id), L_FIELD(S_id, a), L_FIELD(S_id, b),
    L_TYPE(S_ifc), L_FIELD(S_ifc, a), L_FIELD(S_ifc, b), L_FIELD(S_ifc, c),
    L_TYPE(S_pad), L_FIELD(S_pad, a), L_FIELD(S_pad, b), L_FIELD(S_pad, c),
    L_TYPE(S_nest), L_FIELD(S_nest, x), L_FIELD(S_nest, inner),
    L_TYPE(S_lu8), L_FIELD(S_lu8, a), L_FIELD(S_lu8, b),
    L_TYPE(S_nest2), L_FIELD(S_nest2, a), L_FIELD(S_nest2, inner), L_FIELD(S_nest2, c),
    L_TYPE(S_packed7), L_FIELD(S_packed7, tag), L_FIELD(S_packed7, v32), L_FIELD(S_packed7, v16),
    L_TYPE(S_packed13), L_FIELD(S_packed13, tag), L_FIELD(S_packed13, v32), L_FIELD(S_packed13, v64),
    L_TYPE(S_24), L_FIELD(S_24, a), L_FIELD(S_24, b), L_FIELD(S_24, c), L_FIELD(S_24, d),
    L_TYPE(S_64), L_FIELD(S_64, a), L_FIELD(S_64, b), L_FIELD(S_64, c), L_FIELD(S_64, d), L_FIELD(S_64, e),
    L_FIELD(S_64, f), L_FIELD(S_64, g), L_FIELD(S_64, h), L_FIELD(S_64, i), L_FIELD(S_64, j), L_FIELD(S_64, k),
    L_TYPE(S_108), L_FIELD(S_108, tag), L_FIELD(S_108, i), L_FIELD(S_108, f),
    L_TYPE(S_ll), L_FIELD(S_ll, a), L_FIELD(S_ll, b),
    L_TYPE(S_ld), L_FIELD(S_ld, l), L_FIELD(S_ld, d),
};

static const layout_row *layout_find(const char *type, const char *field) {
    if (!type)
        return NULL;
    for (size_t k = 0; k < sizeof g_layout / sizeof g_layout[0]; k++) {
        const layout_row *r = &g_layout[k];
        if (strcmp(r->type, type) != 0)
            continue;
        if (!field && !r->field)
            return r;
        if (field && r->field && strcmp(r->field, field) == 0)
            return r;
    }
    return NULL;
}

EXPORT int64_t c_sizeof(const char *type) {
    const layout_row *r = layout_find(type, NULL);
    return r ? (int64_t)r->value : -1;
}
EXPORT int64_t c_alignof(const char *type) {
    const layout_row *r = layout_find(type, NULL);
    return r ? (int64_t)r->align : -1;
}
EXPORT int64_t c_offsetof(const char *type, const char *field) {
    const layout_row *r = field ? layout_find(type, field) : NULL;
    return r ? (int64_t)r->value : -1;
}

/* ---- recorders per struct */
static int32_t r_u8s(S_u8 s) { put_i(s.a); return 1; }
static int32_t r_u8x3(S_u8x3 s) { put_i(s.a); put_i(s.b); put_i(s.c); return 3; }
static int32_t r_u16u8(S_u16u8 s) { put_i(s.a); put_i(s.b); return 2; }
static int32_t r_u8a5(S_u8a5 s) { for (int k = 0; k < 5; k++) put_i(s.a[k]); return 5; }
static int32_t r_u8a7(S_u8a7 s) { for (int k = 0; k < 7; k++) put_i(s.a[k]); return 7; }
static int32_t r_ii(S_ii s) { put_i(s.a); put_i(s.b); return 2; }
static int32_t r_f(S_f s) { put_f(s.a); return 1; }
static int32_t r_d(S_d s) { put_f(s.a); return 1; }
static int32_t r_ff(S_ff s) { put_f(s.a); put_f(s.b); return 2; }
static int32_t r_fff(S_fff s) { put_f(s.a); put_f(s.b); put_f(s.c); return 3; }
static int32_t r_ffff(S_ffff s) { put_f(s.a); put_f(s.b); put_f(s.c); put_f(s.d); return 4; }
static int32_t r_fa4(S_fa4 s) { for (int k = 0; k < 4; k++) put_f(s.a[k]); return 4; }
static int32_t r_f5(S_f5 s) { put_f(s.a); put_f(s.b); put_f(s.c); put_f(s.d); put_f(s.e); return 5; }
static int32_t r_dd(S_dd s) { put_f(s.a); put_f(s.b); return 2; }
static int32_t r_if(S_if s) { put_i(s.a); put_f(s.b); return 2; }
static int32_t r_fd(S_fd s) { put_f(s.a); put_f(s.b); return 2; }
static int32_t r_di(S_di s) { put_f(s.a); put_i(s.b); return 2; }
static int32_t r_id(S_id s) { put_i(s.a); put_f(s.b); return 2; }
static int32_t r_ifc(S_ifc s) { put_i(s.a); put_f(s.b); put_i(s.c); return 3; }
static int32_t r_pad(S_pad s) { put_i(s.a); put_f(s.b); put_i(s.c); return 3; }
static int32_t r_nest(S_nest s) { put_f(s.x); put_f(s.inner.a); put_f(s.inner.b); return 3; }
static int32_t r_nest2(S_nest2 s) { put_i(s.a); put_u(s.inner.a); put_i(s.inner.b); put_i(s.c); return 4; }
static uint32_t le32(const uint8_t *b) {
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static uint64_t le64(const uint8_t *b) { return (uint64_t)le32(b) | ((uint64_t)le32(b + 4) << 32); }
static void put_le(uint8_t *b, uint64_t v, int n) {
    for (int k = 0; k < n; k++)
        b[k] = (uint8_t)(v >> (8 * k));
}
static int32_t r_packed7(S_packed7 s) {
    put_i(s.tag);
    put_i(le32(s.v32));
    put_i((int64_t)s.v16[0] | ((int64_t)s.v16[1] << 8));
    return 3;
}
static int32_t r_packed13(S_packed13 s) { put_i(s.tag[0]); put_i(le32(s.v32)); put_u(le64(s.v64)); return 3; }
static int32_t r_s24(S_24 s) { put_f(s.a); put_i(s.b); put_f(s.c); put_i(s.d); return 4; }
static int32_t r_s64(S_64 s) {
    put_i(s.a);
    put_f(s.b);
    put_i(s.c);
    put_f(s.d);
    for (int k = 0; k < 8; k++)
        put_i(s.e[k]);
    put_i(s.f);
    put_i(s.g);
    put_i(s.h);
    put_f(s.i);
    put_i(s.j);
    for (int k = 0; k < 8; k++)
        put_i(s.k[k]);
    return 25;
}
static int32_t r_s108(S_108 s) {
    put_i(s.tag);
    for (int k = 0; k < 13; k++)
        put_i(s.i[k]);
    for (int k = 0; k < 13; k++)
        put_f(s.f[k]);
    return 27;
}
static int32_t r_ll(S_ll s) { put_i(s.a); put_i(s.b); return 2; }
static int32_t r_ld(S_ld s) { put_i(s.l); put_f(s.d); return 2; }

#define TAKE_ECHO(T, name)                                                                                     \
    EXPORT int32_t take_##name(T s) { return r_##name(s); }                                                  \
    EXPORT T echo_##name(T s) { return s; }

TAKE_ECHO(S_u8, u8s)
TAKE_ECHO(S_u8x3, u8x3)
TAKE_ECHO(S_u16u8, u16u8)
TAKE_ECHO(S_u8a5, u8a5)
TAKE_ECHO(S_u8a7, u8a7)
TAKE_ECHO(S_ii, ii)
TAKE_ECHO(S_f, f)
TAKE_ECHO(S_d, d)
TAKE_ECHO(S_ff, ff)
TAKE_ECHO(S_fff, fff)
TAKE_ECHO(S_ffff, ffff)
TAKE_ECHO(S_fa4, fa4)
TAKE_ECHO(S_f5, f5)
TAKE_ECHO(S_dd, dd)
TAKE_ECHO(S_if, if)
TAKE_ECHO(S_fd, fd)
TAKE_ECHO(S_di, di)
TAKE_ECHO(S_id, id)
TAKE_ECHO(S_ifc, ifc)
TAKE_ECHO(S_pad, pad)
TAKE_ECHO(S_nest, nest)
TAKE_ECHO(S_nest2, nest2)
TAKE_ECHO(S_packed7, packed7)
TAKE_ECHO(S_packed13, packed13)
TAKE_ECHO(S_24, s24)
TAKE_ECHO(S_64, s64)
TAKE_ECHO(S_108, s108)

EXPORT S_u8 make_u8s(uint8_t a) { S_u8 s = {a}; return s; }
EXPORT S_u8x3 make_u8x3(uint8_t a, uint8_t b, uint8_t c) { S_u8x3 s = {a, b, c}; return s; }
EXPORT S_u16u8 make_u16u8(uint16_t a, uint8_t b) { S_u16u8 s = {a, b}; return s; }
EXPORT S_u8a5 make_u8a5(uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3, uint8_t a4) {
    S_u8a5 s = {{a0, a1, a2, a3, a4}};
    return s;
}
EXPORT S_u8a7 make_u8a7(uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3, uint8_t a4, uint8_t a5,
                        uint8_t a6) {
    S_u8a7 s = {{a0, a1, a2, a3, a4, a5, a6}};
    return s;
}
EXPORT S_ii make_ii(int32_t a, int32_t b) { S_ii s = {a, b}; return s; }
EXPORT int32_t take_ii10(S_ii s0, S_ii s1, S_ii s2, S_ii s3, S_ii s4, S_ii s5, S_ii s6, S_ii s7, S_ii s8,
                         S_ii s9) {
    S_ii v[10] = {s0, s1, s2, s3, s4, s5, s6, s7, s8, s9};
    for (int k = 0; k < 10; k++)
        r_ii(v[k]);
    return 20;
}
EXPORT S_f make_f(float a) { S_f s = {a}; return s; }
EXPORT S_d make_d(double a) { S_d s = {a}; return s; }
EXPORT S_ff make_ff(float a, float b) { S_ff s = {a, b}; return s; }
EXPORT S_fff make_fff(float a, float b, float c) { S_fff s = {a, b, c}; return s; }
EXPORT S_ffff make_ffff(float a, float b, float c, float d) { S_ffff s = {a, b, c, d}; return s; }
EXPORT S_fa4 make_fa4(float a0, float a1, float a2, float a3) { S_fa4 s = {{a0, a1, a2, a3}}; return s; }
EXPORT S_f5 make_f5(float a, float b, float c, float d, float e) { S_f5 s = {a, b, c, d, e}; return s; }
EXPORT S_dd make_dd(double a, double b) { S_dd s = {a, b}; return s; }
EXPORT S_if make_if(int32_t a, float b) { S_if s = {a, b}; return s; }
EXPORT S_fd make_fd(float a, double b) { S_fd s = {a, b}; return s; }
EXPORT S_di make_di(double a, int32_t b) { S_di s = {a, b}; return s; }
EXPORT S_id make_id(int32_t a, double b) { S_id s = {a, b}; return s; }
EXPORT S_ifc make_ifc(int32_t a, float b, int8_t c) { S_ifc s = {a, b, c}; return s; }
EXPORT S_pad make_pad(uint8_t a, double b, uint32_t c) {
    S_pad s;
    memset(&s, 0xA5, sizeof s); /* padding bytes are garbage, as they may be in C */
    s.a = a;
    s.b = b;
    s.c = c;
    return s;
}
EXPORT S_nest make_nest(float x, float a, float b) { S_nest s = {x, {a, b}}; return s; }
EXPORT S_nest2 make_nest2(uint8_t a, uint64_t ia, uint8_t ib, uint32_t c) {
    S_nest2 s;
    memset(&s, 0x5A, sizeof s);
    s.a = a;
    s.inner.a = ia;
    s.inner.b = ib;
    s.c = c;
    return s;
}
EXPORT S_packed7 make_packed7(uint8_t tag, uint32_t v32, uint16_t v16) {
    S_packed7 s;
    s.tag = tag;
    put_le(s.v32, v32, 4);
    put_le(s.v16, v16, 2);
    return s;
}
EXPORT S_packed13 make_packed13(uint8_t tag, uint32_t v32, uint64_t v64) {
    S_packed13 s;
    s.tag[0] = tag;
    put_le(s.v32, v32, 4);
    put_le(s.v64, v64, 8);
    return s;
}
EXPORT S_24 make_s24(double a, int64_t b, float c, int32_t d) { S_24 s = {a, b, c, d}; return s; }
EXPORT S_64 make_s64(int32_t seed) {
    S_64 s;
    s.a = seed;
    s.b = seed + 0.5;
    s.c = -seed;
    s.d = (float)seed * 0.25f;
    for (int k = 0; k < 8; k++)
        s.e[k] = (uint8_t)(seed + k);
    s.f = (int16_t)(-2 * seed);
    s.g = (uint16_t)(3 * seed);
    s.h = seed - 1000;
    s.i = -seed - 0.75;
    s.j = (int64_t)seed * 1000000;
    for (int k = 0; k < 8; k++)
        s.k[k] = (uint8_t)(200 + k);
    return s;
}
EXPORT S_108 make_s108(uint8_t tag, int32_t i0, float f0) {
    S_108 s;
    memset(&s, 0, sizeof s);
    s.tag = tag;
    for (int k = 0; k < 13; k++) {
        s.i[k] = i0 + 1000 * k;
        s.f[k] = f0 + 0.5f * (float)k;
    }
    return s;
}
EXPORT S_ll make_ll(int64_t a, int64_t b) { S_ll s = {a, b}; return s; }
EXPORT S_ld make_ld(int64_t l, double d) { S_ld s = {l, d}; return s; }

EXPORT int32_t spill_gpr_sysv(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, S_ll s, int64_t f) {
    put_i(a); put_i(b); put_i(c); put_i(d); put_i(e);
    r_ll(s);
    put_i(f);
    return 8;
}
EXPORT int32_t spill_gpr_a64(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g,
                             S_ll s, int64_t h) {
    put_i(a); put_i(b); put_i(c); put_i(d); put_i(e); put_i(f); put_i(g);
    r_ll(s);
    put_i(h);
    return 10;
}
EXPORT int32_t spill_sse_sysv(double a, double b, double c, double d, double e, double f, double g, S_dd s,
                              double h) {
    put_f(a); put_f(b); put_f(c); put_f(d); put_f(e); put_f(f); put_f(g);
    r_dd(s);
    put_f(h);
    return 10;
}
EXPORT int32_t spill_hfa_a64(double a, double b, double c, double d, double e, S_ffff s, float f) {
    put_f(a); put_f(b); put_f(c); put_f(d); put_f(e);
    r_ffff(s);
    put_f(f);
    return 10;
}
EXPORT int32_t split_gpr_sse(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, S_ld s, double x,
                             int64_t y) {
    put_i(a); put_i(b); put_i(c); put_i(d); put_i(e);
    r_ld(s);
    put_f(x);
    put_i(y);
    return 9;
}
EXPORT int32_t split_no_gpr(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, S_ld s,
                            double x) {
    put_i(a); put_i(b); put_i(c); put_i(d); put_i(e); put_i(f);
    r_ld(s);
    put_f(x);
    return 9;
}
EXPORT int32_t split_sse_last(double a, double b, double c, double d, double e, double f, double g, S_ld s,
                              int64_t y) {
    put_f(a); put_f(b); put_f(c); put_f(d); put_f(e); put_f(f); put_f(g);
    r_ld(s);
    put_i(y);
    return 10;
}
EXPORT int32_t split_no_sse(double a, double b, double c, double d, double e, double f, double g, double h,
                            S_ld s, int64_t y) {
    put_f(a); put_f(b); put_f(c); put_f(d); put_f(e); put_f(f); put_f(g); put_f(h);
    r_ld(s);
    put_i(y);
    return 11;
}
EXPORT int32_t take_struct_mix(S_ii a, S_dd b, S_ifc c, S_24 d, S_fff e, int32_t f, double g) {
    int32_t n = r_ii(a);
    n += r_dd(b);
    n += r_ifc(c);
    n += r_s24(d);
    n += r_fff(e);
    put_i(f);
    put_f(g);
    return n + 2;
}

/* ============================================================== variadic */

static int32_t variadic_read(const char *fmt, va_list ap, char *out, size_t cap) {
    int32_t n = 0;
    size_t len = 0;
    char item[256];
    if (!fmt)
        return -1;
    if (out && cap)
        out[0] = 0;
    for (const char *c = fmt; *c; c++) {
        int w = 0;
        switch (*c) {
        case 'i': {
            int v = va_arg(ap, int);
            put_i(v);
            w = snprintf(item, sizeof item, "i:%d", v);
            break;
        }
        case 'u': {
            unsigned v = va_arg(ap, unsigned);
            put_i(v);
            w = snprintf(item, sizeof item, "u:%u", v);
            break;
        }
        case 'l': {
            long long v = va_arg(ap, long long);
            put_i(v);
            w = snprintf(item, sizeof item, "l:%" PRId64, (int64_t)v);
            break;
        }
        case 'L': {
            unsigned long long v = va_arg(ap, unsigned long long);
            put_u(v);
            w = snprintf(item, sizeof item, "L:%" PRIu64, (uint64_t)v);
            break;
        }
        case 'z': {
            size_t v = va_arg(ap, size_t);
            put_u(v);
            w = snprintf(item, sizeof item, "z:%" PRIu64, (uint64_t)v);
            break;
        }
        case 'd': {
            double v = va_arg(ap, double);
            put_f(v);
            w = snprintf(item, sizeof item, "d:%.17g", v);
            break;
        }
        case 's': {
            const char *v = va_arg(ap, const char *);
            put_s(v);
            w = snprintf(item, sizeof item, "s:%s", v ? v : "(null)");
            break;
        }
        case 'p': {
            void *v = va_arg(ap, void *);
            put_p(v);
            w = snprintf(item, sizeof item, "p:%" PRIx64, (uint64_t)(uintptr_t)v);
            break;
        }
        default:
            return -1 - n;
        }
        if (w < 0)
            w = 0;
        if ((size_t)w >= sizeof item)
            w = (int)sizeof item - 1;
        if (out) {
            size_t need = len + (n ? 1 : 0) + (size_t)w;
            if (need < cap) {
                if (n)
                    out[len] = ' ';
                memcpy(out + len + (n ? 1 : 0), item, (size_t)w);
                out[need] = 0;
            }
            len = need;
        }
        n++;
    }
    return out ? (int32_t)len : n;
}

EXPORT int32_t rec_variadic(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int32_t n = variadic_read(fmt, ap, NULL, 0);
    va_end(ap);
    return n;
}

EXPORT int32_t fmt_variadic(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int32_t n = variadic_read(fmt, ap, out, cap);
    va_end(ap);
    return n;
}

EXPORT double sum_f64_v(int32_t n, ...) {
    va_list ap;
    double s = 0;
    va_start(ap, n);
    for (int32_t k = 0; k < n; k++) {
        double v = va_arg(ap, double);
        put_f(v);
        s += v;
    }
    va_end(ap);
    return s;
}

EXPORT int64_t sum_i64_v(int32_t n, ...) {
    va_list ap;
    uint64_t s = 0;
    va_start(ap, n);
    for (int32_t k = 0; k < n; k++) {
        long long v = va_arg(ap, long long);
        put_i(v);
        s += (uint64_t)v;
    }
    va_end(ap);
    return (int64_t)s;
}

EXPORT int32_t sum_int_v(int32_t n, ...) {
    va_list ap;
    uint32_t s = 0;
    va_start(ap, n);
    for (int32_t k = 0; k < n; k++) {
        int v = va_arg(ap, int);
        put_i(v);
        s += (uint32_t)v;
    }
    va_end(ap);
    return (int32_t)s;
}

/* ============================================================= callbacks */

static TLS int32_t g_last_cb_ret;

EXPORT int32_t call_cb_ii(cb_ii_t cb, int32_t a, int32_t b) { return cb(a, b); }
EXPORT int32_t call_cb_i(cb_i_t cb, int32_t x) { return cb(x); }
EXPORT int32_t call_cb_record(cb_i_t cb, int32_t x) {
    g_last_cb_ret = 0x5EED; /* overwritten by the call: shows that the call happened */
    g_last_cb_ret = cb(x);
    return g_last_cb_ret;
}
EXPORT int32_t last_cb_ret(void) { return g_last_cb_ret; }
EXPORT int64_t drive_cb(cb_ii_t cb, int32_t n) {
    int64_t s = 0;
    for (int32_t k = 0; k < n; k++)
        s += cb(k, 1);
    return s;
}
EXPORT int32_t call_cb_n_times(cb_i_t cb, int32_t n) {
    uint32_t s = 0;
    for (int32_t k = 0; k < n; k++)
        s += (uint32_t)cb(k);
    return (int32_t)s;
}
EXPORT int32_t qsort_i32(int32_t *base, size_t n, int (*cmp)(const void *, const void *)) {
    qsort(base, n, sizeof(int32_t), cmp);
    return (int32_t)n;
}

EXPORT int8_t call_cb_echo_i8(int8_t (*cb)(int8_t), int8_t v) { return cb(v); }
EXPORT uint8_t call_cb_echo_u8(uint8_t (*cb)(uint8_t), uint8_t v) { return cb(v); }
EXPORT int16_t call_cb_echo_i16(int16_t (*cb)(int16_t), int16_t v) { return cb(v); }
EXPORT uint16_t call_cb_echo_u16(uint16_t (*cb)(uint16_t), uint16_t v) { return cb(v); }
EXPORT int32_t call_cb_echo_i32(int32_t (*cb)(int32_t), int32_t v) { return cb(v); }
EXPORT uint32_t call_cb_echo_u32(uint32_t (*cb)(uint32_t), uint32_t v) { return cb(v); }
EXPORT int64_t call_cb_echo_i64(int64_t (*cb)(int64_t), int64_t v) { return cb(v); }
EXPORT uint64_t call_cb_echo_u64(uint64_t (*cb)(uint64_t), uint64_t v) { return cb(v); }
EXPORT float call_cb_echo_f32(float (*cb)(float), float v) { return cb(v); }
EXPORT double call_cb_echo_f64(double (*cb)(double), double v) { return cb(v); }
EXPORT bool call_cb_echo_bool(bool (*cb)(bool), bool v) { return cb(v); }
EXPORT void *call_cb_echo_ptr(void *(*cb)(void *), void *v) { return cb(v); }
EXPORT size_t call_cb_echo_usize(size_t (*cb)(size_t), size_t v) { return cb(v); }
static TLS char g_cbstr[4096];
EXPORT const char *call_cb_echo_str(const char *(*cb)(const char *), const char *v) {
    const char *r = cb(v);
    if (!r)
        return NULL;
    snprintf(g_cbstr, sizeof g_cbstr, "%s", r);
    return g_cbstr;
}
EXPORT int32_t call_cb_void(void (*cb)(int32_t), int32_t x) {
    cb(x);
    return x + 1;
}
EXPORT int64_t call_cb_ret_i8(int8_t (*cb)(void)) { return cb(); }
EXPORT int64_t call_cb_ret_u8(uint8_t (*cb)(void)) { return cb(); }
EXPORT int64_t call_cb_ret_i16(int16_t (*cb)(void)) { return cb(); }
EXPORT int64_t call_cb_ret_u16(uint16_t (*cb)(void)) { return cb(); }
EXPORT int64_t call_cb_ret_u32(uint32_t (*cb)(void)) { return cb(); }
EXPORT int32_t call_cb_ret_bool(bool (*cb)(void)) { return cb() ? 1 : 0; }

EXPORT double call_cb_mixed20(cb_mixed20_t cb) {
    return cb((int8_t)-100, 1.5, (uint8_t)200, -2.25f, (int16_t)-30000, 1048576.25, (uint16_t)60000, 0.375f,
              (int32_t)-2000000000, -0.0, (uint32_t)4000000000u, 16777216.0f, (int64_t)-9007199254740993LL,
              0x1p-1074, UINT64_MAX, -0.15625f, (int8_t)127, 12345.6875, (int32_t)2147483647, 3.5f);
}

EXPORT int32_t call_cb_s_ii(S_ii (*cb)(S_ii, int32_t)) {
    S_ii v = {-7, 123456789};
    S_ii r = cb(v, 99);
    r_ii(r);
    return r.a == -6 && r.b == 123456790;
}
EXPORT int32_t call_cb_s_fff(S_fff (*cb)(S_fff, int32_t)) {
    S_fff v = {1.5f, -2.25f, 1024.125f};
    S_fff r = cb(v, 99);
    r_fff(r);
    return r.a == 2.5f && r.b == -1.25f && r.c == 1025.125f;
}
EXPORT int32_t call_cb_s_di(S_di (*cb)(S_di, int32_t)) {
    S_di v = {6.5, -42};
    S_di r = cb(v, 99);
    r_di(r);
    return r.a == 7.5 && r.b == -41;
}
EXPORT int32_t call_cb_s_24(S_24 (*cb)(S_24, int32_t)) {
    S_24 v = {-1.25, -5000000000LL, 0.5f, 77};
    S_24 r = cb(v, 99);
    r_s24(r);
    return r.a == -0.25 && r.b == -4999999999LL && r.c == 1.5f && r.d == 78;
}
EXPORT int32_t call_cb_s_64(S_64 (*cb)(S_64, int32_t)) {
    S_64 v = make_s64(5);
    S_64 r = cb(v, 99);
    int ok = r.a == v.a + 1 && r.b == v.b + 1 && r.c == v.c + 1 && r.d == v.d + 1 && r.f == v.f + 1 &&
             r.g == v.g + 1 && r.h == v.h + 1 && r.i == v.i + 1 && r.j == v.j + 1;
    for (int k = 0; k < 8; k++)
        ok = ok && r.e[k] == (uint8_t)(v.e[k] + 1) && r.k[k] == (uint8_t)(v.k[k] + 1);
    r_s64(r);
    return ok;
}

static TLS cb_i_t g_stored;
EXPORT void store_cb(cb_i_t cb) { g_stored = cb; }
EXPORT int32_t has_stored(void) { return g_stored != NULL; }
EXPORT int32_t call_stored(int32_t x) {
    if (!g_stored)
        return 0;
    g_last_cb_ret = 0x5EED;
    g_last_cb_ret = g_stored(x);
    return g_last_cb_ret;
}
EXPORT void clear_stored(void) { g_stored = NULL; }

typedef struct {
    cb_i_t cb;
    int32_t x;
    int32_t result;
} thread_job;

#if defined(_WIN32)
static DWORD WINAPI thread_main(LPVOID arg) {
    thread_job *job = (thread_job *)arg;
    job->result = job->cb(job->x);
    return 0;
}
EXPORT int32_t call_cb_in_thread(cb_i_t cb, int32_t x) {
    thread_job job = {cb, x, INT32_MIN};
    HANDLE h = CreateThread(NULL, 0, thread_main, &job, 0, NULL);
    if (!h)
        return INT32_MIN;
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
    return job.result;
}
#else
static void *thread_main(void *arg) {
    thread_job *job = (thread_job *)arg;
    job->result = job->cb(job->x);
    return NULL;
}
EXPORT int32_t call_cb_in_thread(cb_i_t cb, int32_t x) {
    thread_job job = {cb, x, INT32_MIN};
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, &job) != 0)
        return INT32_MIN;
    pthread_join(t, NULL);
    return job.result;
}
#endif

EXPORT int32_t reenter(cb_i_t cb, int32_t depth) { return cb(depth); }

/* A worker thread that calls `cb(x)` after `delay_ms` and records the result, while the
   caller goes on (for callbacks handed over while the owning thread is idle). */
static volatile int32_t g_later_result = INT32_MIN;
typedef struct {
    cb_i_t cb;
    int32_t x;
    int32_t delay_ms;
} later_job;
static later_job g_later;

#if defined(_WIN32)
static DWORD WINAPI later_main(LPVOID arg) {
    later_job *job = (later_job *)arg;
    Sleep((DWORD)job->delay_ms);
    InterlockedExchange((volatile LONG *)&g_later_result, job->cb(job->x));
    return 0;
}
EXPORT int32_t call_cb_later(cb_i_t cb, int32_t x, int32_t delay_ms) {
    g_later_result = INT32_MIN;
    g_later.cb = cb;
    g_later.x = x;
    g_later.delay_ms = delay_ms;
    HANDLE h = CreateThread(NULL, 0, later_main, &g_later, 0, NULL);
    if (!h)
        return 0;
    CloseHandle(h);
    return 1;
}
EXPORT int32_t later_result(void) { return InterlockedCompareExchange((volatile LONG *)&g_later_result, 0, 0); }
#else
#include <time.h>
static void *later_main(void *arg) {
    later_job *job = (later_job *)arg;
    struct timespec ts = {job->delay_ms / 1000, (long)(job->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    __atomic_store_n(&g_later_result, job->cb(job->x), __ATOMIC_SEQ_CST);
    return NULL;
}
EXPORT int32_t call_cb_later(cb_i_t cb, int32_t x, int32_t delay_ms) {
    __atomic_store_n(&g_later_result, INT32_MIN, __ATOMIC_SEQ_CST);
    g_later.cb = cb;
    g_later.x = x;
    g_later.delay_ms = delay_ms;
    pthread_t t;
    if (pthread_create(&t, NULL, later_main, &g_later) != 0)
        return 0;
    pthread_detach(t);
    return 1;
}
EXPORT int32_t later_result(void) { return __atomic_load_n(&g_later_result, __ATOMIC_SEQ_CST); }
#endif

/* Threads that keep calling `cb(x)` until the process ends (a library's worker that
   outlives the script): for callbacks called while, and after, the Lua state closes.
   Returns how many threads started. */
static volatile int32_t g_spin_calls = 0;
#if defined(_WIN32)
typedef struct { cb_i_t cb; int32_t x; } spin_job;
static DWORD WINAPI spin_main(LPVOID arg) {
    spin_job *job = (spin_job *)arg;
    for (;;) {
        job->cb(job->x);
        InterlockedIncrement((volatile LONG *)&g_spin_calls);
    }
    return 0;
}
EXPORT int32_t spin_cb_threads(cb_i_t cb, int32_t x, int32_t n) {
    int32_t started = 0;
    for (int32_t i = 0; i < n; i++) {
        spin_job *job = (spin_job *)malloc(sizeof *job);
        job->cb = cb;
        job->x = x;
        HANDLE h = CreateThread(NULL, 0, spin_main, job, 0, NULL);
        if (!h)
            break;
        CloseHandle(h);
        started++;
    }
    return started;
}
EXPORT int32_t spin_calls(void) { return InterlockedCompareExchange((volatile LONG *)&g_spin_calls, 0, 0); }
#else
typedef struct { cb_i_t cb; int32_t x; } spin_job;
static void *spin_main(void *arg) {
    spin_job *job = (spin_job *)arg;
    for (;;) {
        job->cb(job->x);
        __atomic_fetch_add(&g_spin_calls, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}
EXPORT int32_t spin_cb_threads(cb_i_t cb, int32_t x, int32_t n) {
    int32_t started = 0;
    for (int32_t i = 0; i < n; i++) {
        spin_job *job = (spin_job *)malloc(sizeof *job);
        job->cb = cb;
        job->x = x;
        pthread_t t;
        if (pthread_create(&t, NULL, spin_main, job) != 0)
            break;
        pthread_detach(t);
        started++;
    }
    return started;
}
EXPORT int32_t spin_calls(void) { return __atomic_load_n(&g_spin_calls, __ATOMIC_SEQ_CST); }
#endif

/* Calls a variadic callback the way C code calls any variadic function: the compiler
   applies the default promotions and places each argument where the ABI puts variadic
   arguments (stack slots on Apple arm64, GPR copies of doubles on Win64). */
typedef double (*vcb_t)(int32_t n, ...);
EXPORT double call_variadic_cb(vcb_t cb) {
    float f = 0.5f;     /* promoted to double */
    int8_t c = -3;      /* promoted to int */
    return cb(5, 1.5, (int32_t)-7, f, (long long)-9007199254740993LL, c) +
           cb(1, 1e300, 0, 0.0, 0LL, 0);
}

/* UTF-16 strings (string16): length in code units, an echo, a copy into a buffer, and one
   with an unpaired surrogate. */
EXPORT int32_t u16_len(const uint16_t *s) {
    int32_t n = 0;
    if (!s)
        return -1;
    while (s[n])
        n++;
    return n;
}
EXPORT const uint16_t *u16_echo(const uint16_t *s) { return s; }
EXPORT const uint16_t *u16_bad(void) {
    static const uint16_t bad[] = {0x0041, 0xD800, 0x0042, 0};
    return bad;
}
EXPORT const uint16_t *call_cb_u16(const uint16_t *(*cb)(const uint16_t *), const uint16_t *s) {
    return cb(s);
}

/* A struct of 262,145 bytes by value (Koffi's test suite passes one): SysV copies it onto
   the stack, Win64 and AAPCS64 pass a copy by address. */
typedef struct { uint8_t bytes[262145]; } huge_t;
EXPORT uint64_t huge_sum(int32_t before, huge_t h, int32_t after) {
    uint64_t s = 0;
    for (size_t i = 0; i < sizeof h.bytes; i++)
        s += (uint64_t)h.bytes[i] * (i % 7 + 1);
    return s + (uint64_t)(int64_t)before * 1000000007ull + (uint64_t)(int64_t)after;
}
