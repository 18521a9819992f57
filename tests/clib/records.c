/* Record layouts beyond plain structs (unions, packed, #pragma pack, aligned, bitfields,
 * flexible array members) as this compiler lays them out, for tests/layout.rs.
 * rl_sizeof/rl_alignof/rl_offsetof report sizeof/_Alignof/offsetof; rl_bf_set stores a
 * value into a bitfield of a zeroed object and copies its bytes out, rl_bf_get reads a
 * bitfield back from bytes: bit positions and sign extension are the compiler's. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conformance.h"

typedef union { int i; char c[5]; } R_u_ic;
typedef union { double d; struct { char a; short b; } s; } R_u_nest;
typedef struct __attribute__((packed)) { char a; int b; short c; } R_packed;
typedef struct { char a; int b __attribute__((packed)); char c; } R_field_packed;
#pragma pack(push, 2)
typedef struct { char a; double b; int c; } R_pack2;
#pragma pack(pop)
#pragma pack(push, 1)
typedef struct { char a; int b : 20; int c : 12; char d; } R_pack1_bits;
#pragma pack(pop)
typedef struct __attribute__((aligned(16))) { int a; } R_aligned16;
typedef struct { char a; int b __attribute__((aligned(8))); char c; } R_field_aligned;
typedef struct { char a; int b : 20; int c : 12; short d : 9; } R_bits1;
typedef struct { unsigned a : 3; unsigned : 0; unsigned b : 5; char c; } R_bits_zero;
typedef struct { signed char a : 4; int : 0; signed char b; } R_bits_zero_char;
typedef struct { char c; int : 0; char d; } R_zero_alone;
typedef struct { long long a : 40; int b : 30; signed char c : 3; } R_bits_ll;
typedef struct {
    unsigned char a : 1;
    unsigned short b : 9;
    unsigned int c : 17;
    unsigned long long d : 33;
    _Bool e : 1;
} R_bits_mixed;
typedef struct __attribute__((packed)) { char a; int b : 31; int c : 2; } R_bits_packed;
typedef struct { short a : 4; int : 5; short b : 12; } R_bits_unnamed;
typedef union { int a : 3; char b; long long c : 40; } R_u_bits;
typedef struct { int n; double d[]; } R_flex;
typedef struct { char n; short d[]; } R_flex_short;
typedef struct { char tag; union { int i; float f; }; char after; } R_anon;

typedef struct {
    const char *type, *field;
    size_t value, align;
} rl_row;

#define T_(T) {#T, NULL, sizeof(T), _Alignof(T)}
#define F_(T, f) {#T, #f, offsetof(T, f), 0}

static const rl_row g_rows[] = {
    T_(R_u_ic), F_(R_u_ic, i), F_(R_u_ic, c),
    T_(R_u_nest), F_(R_u_nest, d), F_(R_u_nest, s),
    T_(R_packed), F_(R_packed, a), F_(R_packed, b), F_(R_packed, c),
    T_(R_field_packed), F_(R_field_packed, a), F_(R_field_packed, b), F_(R_field_packed, c),
    T_(R_pack2), F_(R_pack2, a), F_(R_pack2, b), F_(R_pack2, c),
    T_(R_pack1_bits), F_(R_pack1_bits, a), F_(R_pack1_bits, d),
    T_(R_aligned16), F_(R_aligned16, a),
    T_(R_field_aligned), F_(R_field_aligned, a), F_(R_field_aligned, b), F_(R_field_aligned, c),
    T_(R_bits1), F_(R_bits1, a),
    T_(R_bits_zero), F_(R_bits_zero, c),
    T_(R_bits_zero_char), F_(R_bits_zero_char, b),
    T_(R_zero_alone), F_(R_zero_alone, c), F_(R_zero_alone, d),
    T_(R_bits_ll),
    T_(R_bits_mixed),
    T_(R_bits_packed), F_(R_bits_packed, a),
    T_(R_bits_unnamed),
    T_(R_u_bits), F_(R_u_bits, b),
    T_(R_flex), F_(R_flex, n), F_(R_flex, d),
    T_(R_flex_short), F_(R_flex_short, n), F_(R_flex_short, d),
    T_(R_anon), F_(R_anon, tag), F_(R_anon, i), F_(R_anon, f), F_(R_anon, after),
};

static const rl_row *rl_find(const char *type, const char *field) {
    if (!type)
        return NULL;
    for (size_t k = 0; k < sizeof g_rows / sizeof g_rows[0]; k++) {
        const rl_row *r = &g_rows[k];
        if (strcmp(r->type, type) != 0)
            continue;
        if (!field && !r->field)
            return r;
        if (field && r->field && strcmp(r->field, field) == 0)
            return r;
    }
    return NULL;
}

EXPORT int64_t rl_sizeof(const char *type) {
    const rl_row *r = rl_find(type, NULL);
    return r ? (int64_t)r->value : -1;
}
EXPORT int64_t rl_alignof(const char *type) {
    const rl_row *r = rl_find(type, NULL);
    return r ? (int64_t)r->align : -1;
}
EXPORT int64_t rl_offsetof(const char *type, const char *field) {
    const rl_row *r = field ? rl_find(type, field) : NULL;
    return r ? (int64_t)r->value : -1;
}

typedef struct {
    const char *type, *field;
    void (*set)(unsigned char *out, int64_t v);
    int64_t (*get)(const unsigned char *in);
} rl_bf;

#define BF_FUNCS(T, f)                                                                       \
    static void set_##T##_##f(unsigned char *out, int64_t v) {                               \
        T s;                                                                                 \
        memset(&s, 0, sizeof s);                                                             \
        s.f = v;                                                                             \
        memcpy(out, &s, sizeof s);                                                           \
    }                                                                                        \
    static int64_t get_##T##_##f(const unsigned char *in) {                                  \
        T s;                                                                                 \
        memcpy(&s, in, sizeof s);                                                            \
        return (int64_t)s.f;                                                                 \
    }
#define BF(T, f) {#T, #f, set_##T##_##f, get_##T##_##f}

BF_FUNCS(R_pack1_bits, b) BF_FUNCS(R_pack1_bits, c)
BF_FUNCS(R_bits1, b) BF_FUNCS(R_bits1, c) BF_FUNCS(R_bits1, d)
BF_FUNCS(R_bits_zero, a) BF_FUNCS(R_bits_zero, b)
BF_FUNCS(R_bits_zero_char, a)
BF_FUNCS(R_bits_ll, a) BF_FUNCS(R_bits_ll, b) BF_FUNCS(R_bits_ll, c)
BF_FUNCS(R_bits_mixed, a) BF_FUNCS(R_bits_mixed, b) BF_FUNCS(R_bits_mixed, c)
BF_FUNCS(R_bits_mixed, d) BF_FUNCS(R_bits_mixed, e)
BF_FUNCS(R_bits_packed, b) BF_FUNCS(R_bits_packed, c)
BF_FUNCS(R_bits_unnamed, a) BF_FUNCS(R_bits_unnamed, b)
BF_FUNCS(R_u_bits, a) BF_FUNCS(R_u_bits, c)

static const rl_bf g_bfs[] = {
    BF(R_pack1_bits, b), BF(R_pack1_bits, c),
    BF(R_bits1, b), BF(R_bits1, c), BF(R_bits1, d),
    BF(R_bits_zero, a), BF(R_bits_zero, b),
    BF(R_bits_zero_char, a),
    BF(R_bits_ll, a), BF(R_bits_ll, b), BF(R_bits_ll, c),
    BF(R_bits_mixed, a), BF(R_bits_mixed, b), BF(R_bits_mixed, c), BF(R_bits_mixed, d),
    BF(R_bits_mixed, e),
    BF(R_bits_packed, b), BF(R_bits_packed, c),
    BF(R_bits_unnamed, a), BF(R_bits_unnamed, b),
    BF(R_u_bits, a), BF(R_u_bits, c),
};

static const rl_bf *rl_bf_find(const char *type, const char *field) {
    if (!type || !field)
        return NULL;
    for (size_t k = 0; k < sizeof g_bfs / sizeof g_bfs[0]; k++)
        if (strcmp(g_bfs[k].type, type) == 0 && strcmp(g_bfs[k].field, field) == 0)
            return &g_bfs[k];
    return NULL;
}

/* Zeroes an object of `type`, stores v into `field` and copies the object's
 * rl_sizeof(type) bytes to out. Returns 0, or -1 for an unknown type or field. */
EXPORT int32_t rl_bf_set(const char *type, const char *field, unsigned char *out, int64_t v) {
    const rl_bf *b = rl_bf_find(type, field);
    if (!b || !out)
        return -1;
    b->set(out, v);
    return 0;
}

/* Reads `field` from the object bytes at in into *out. Returns 0, or -1 if unknown. */
EXPORT int32_t rl_bf_get(const char *type, const char *field, const unsigned char *in, int64_t *out) {
    const rl_bf *b = rl_bf_find(type, field);
    if (!b || !in || !out)
        return -1;
    *out = b->get(in);
    return 0;
}

/* By value (tests/luau/call/structs_fast.luau): the fields as C reads them, through out. */
EXPORT void rl_take_bits1(R_bits1 s, int64_t *out) {
    out[0] = s.a;
    out[1] = s.b;
    out[2] = s.c;
    out[3] = s.d;
}
/* After six integers, so that on SysV it goes to the stack also when it could take
 * registers (it cannot: a packed record with unaligned fields is MEMORY class). */
EXPORT void rl_take_packed(int64_t g0, int64_t g1, int64_t g2, int64_t g3, int64_t g4, int64_t g5,
                           R_packed s, int64_t *out) {
    out[0] = g0 + g1 + g2 + g3 + g4 + g5;
    out[1] = s.a;
    out[2] = s.b;
    out[3] = s.c;
}
EXPORT R_bits1 rl_echo_bits1(R_bits1 s) { return s; }
/* Writes over its by-value parameter through a volatile pointer, so the stores happen
 * whether the parameter lives in the caller's copy (by reference: AArch64, Win64) or in
 * the caller's stack area (SysV): the caller's own object must not change. */
EXPORT int32_t rl_scribble_s108(S_108 s) {
    volatile S_108 *p = &s;
    int32_t seen = p->i[12];
    p->tag = 0;
    for (int k = 0; k < 13; k++)
        p->i[k] = -1;
    return seen;
}
