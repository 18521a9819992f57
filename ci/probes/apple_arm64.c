/*
 * C probes for the Apple arm64 classifier (src/abi/apple_arm64.rs). No system headers, so
 * any clang can compile them without an SDK:
 *
 *   clang --target=arm64-apple-macos11 -O2 -S -o - ci/probes/apple_arm64.c
 *
 * Each callee reads its arguments into a global (so the loads show where they live); each
 * caller passes constants (so the stores show where they go). The unit tests of
 * apple_arm64.rs cite what the assembly showed, by probe name.
 */
typedef long L;
struct c3 { char a, b, c; };
struct s1 { short a; };
struct ii { int a, b; };
struct ll { long a, b; };
struct ld { long a; double b; };
struct f2 { float a, b; };
struct f3 { float a, b, c; };
struct d2 { double a, b; };
struct d4 { double a, b, c, d; };
struct b24 { long a, b, c; };
struct cd { char c; double d; };

volatile long sink_l;
volatile double sink_d;
volatile float sink_f;

/* p_ints: small integers after x0..x7 are packed at their size and alignment */
void p_ints(L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, char c8, char c9, short s10, int i11,
            long l12, _Bool b13, int i14) {
    sink_l = c8; sink_l = c9; sink_l = s10; sink_l = i11; sink_l = l12; sink_l = b13; sink_l = i14;
}
void call_p_ints(void) { p_ints(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 14); }

/* p_unsigned: the same for unsigned types */
void p_unsigned(L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, unsigned char c8, unsigned short s9,
                unsigned char c10, unsigned int u11) {
    sink_l = c8; sink_l = s9; sink_l = c10; sink_l = u11;
}
void call_p_unsigned(void) { p_unsigned(0, 1, 2, 3, 4, 5, 6, 7, 200, 60000, 201, 4000000000u); }

/* p_floats: floats after v0..v7 take 4 bytes */
void p_floats(double d0, double d1, double d2, double d3, double d4, double d5, double d6, double d7,
              float f8, float f9, double d10, float f11) {
    sink_f = f8; sink_f = f9; sink_d = d10; sink_f = f11;
}
void call_p_floats(void) { p_floats(0, 1, 2, 3, 4, 5, 6, 7, 8.5f, 9.5f, 10.5, 11.5f); }

/* p_mixed: 20 (int, float) pairs interleaved */
void p_mixed(int i0, float f0, int i1, float f1, int i2, float f2, int i3, float f3, int i4, float f4,
             int i5, float f5, int i6, float f6, int i7, float f7, int i8, float f8, char c9, float f9,
             long l10) {
    sink_l = i8; sink_f = f8; sink_l = c9; sink_f = f9; sink_l = l10;
}
void call_p_mixed(void) {
    p_mixed(0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7, 7.5f, 8, 8.5f, 9, 9.5f, 10);
}

/* p_hfa_spill: an HFA that misses v registers keeps its member alignment (4) and size (12) */
void p_hfa_spill(double d0, double d1, double d2, double d3, double d4, double d5, struct f3 h,
                 float after, L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, char c) {
    sink_f = h.a; sink_f = h.b; sink_f = h.c; sink_f = after; sink_l = c;
}
void call_p_hfa_spill(void) {
    struct f3 h = { 1.5f, 2.5f, 3.5f };
    p_hfa_spill(0, 1, 2, 3, 4, 5, h, 6.5f, 0, 1, 2, 3, 4, 5, 6, 7, 9);
}

/* p_hfa_spill_c: a float HFA on the stack after a char */
void p_hfa_spill_c(L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, double d0, double d1, double d2,
                   double d3, double d4, double d5, double d6, char c, struct f2 h, char c2) {
    sink_l = c; sink_f = h.a; sink_f = h.b; sink_l = c2;
}
void call_p_hfa_spill_c(void) {
    struct f2 h = { 1.5f, 2.5f };
    p_hfa_spill_c(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, h, 8);
}

/* p_dhfa_spill: a double HFA after a char: 8-aligned */
void p_dhfa_spill(double d0, double d1, double d2, double d3, double d4, double d5, double d6,
                  L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, char c, struct d2 h, double after) {
    sink_l = c; sink_d = h.a; sink_d = h.b; sink_d = after;
}
void call_p_dhfa_spill(void) {
    struct d2 h = { 1.5, 2.5 };
    p_dhfa_spill(0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 7, 8, h, 9.5);
}

/* p_small_composites: composites <= 16 bytes on the stack are 8-aligned, sizes rounded to 8 */
void p_small_composites(L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, char c, struct c3 s, char d,
                        struct s1 t, char e, struct ii u, char g, struct cd v, char h) {
    sink_l = c; sink_l = s.a; sink_l = s.c; sink_l = d; sink_l = t.a; sink_l = e; sink_l = u.b;
    sink_l = g; sink_l = v.c; sink_d = v.d; sink_l = h;
}
void call_p_small_composites(void) {
    struct c3 s = { 1, 2, 3 };
    struct s1 t = { 4 };
    struct ii u = { 5, 6 };
    struct cd v = { 7, 7.5 };
    p_small_composites(0, 1, 2, 3, 4, 5, 6, 7, 10, s, 11, t, 12, u, 13, v, 14);
}

/* p_gpr_close: a composite that misses x registers closes them (as AAPCS64 C.11) */
void p_gpr_close(L a0, L a1, L a2, L a3, L a4, L a5, L a6, struct ll s, int after, double d) {
    sink_l = s.a; sink_l = s.b; sink_l = after; sink_d = d;
}
void call_p_gpr_close(void) {
    struct ll s = { 100, 200 };
    p_gpr_close(0, 1, 2, 3, 4, 5, 6, s, 8, 9.5);
}

/* p_ld_split: {long,double} with one x register left goes to the stack */
void p_ld_split(L a0, L a1, L a2, L a3, L a4, L a5, L a6, struct ld s, double d, int i) {
    sink_l = s.a; sink_d = s.b; sink_d = d; sink_l = i;
}
void call_p_ld_split(void) {
    struct ld s = { 100, 2.5 };
    p_ld_split(0, 1, 2, 3, 4, 5, 6, s, 9.5, 10);
}

/* p_big: composites > 16 bytes go by address, in an 8-aligned 8-byte stack slot */
void p_big(L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, char c, struct b24 b, char d) {
    sink_l = c; sink_l = b.c; sink_l = d;
}
void call_p_big(void) {
    struct b24 b = { 1, 2, 3 };
    p_big(0, 1, 2, 3, 4, 5, 6, 7, 8, b, 9);
}

/* p_hfa4_spill: a 32-byte HFA on the stack, by value */
void p_hfa4_spill(double d0, double d1, double d2, double d3, double d4, char c0, L a1, L a2, L a3,
                  L a4, L a5, L a6, L a7, L a8, char c, struct d4 h, float f) {
    sink_l = c; sink_d = h.a; sink_d = h.d; sink_f = f;
}
void call_p_hfa4_spill(void) {
    struct d4 h = { 1.5, 2.5, 3.5, 4.5 };
    p_hfa4_spill(0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, h, 5.5f);
}

/* v_*: every variadic argument goes to the stack in 8-byte slots */
int v_fn(const char *fmt, ...);
int v_fn_many(L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7, char c, ...);
int call_v_scalars(void) { return v_fn("x", 1, 2.5, (char)3, 4L, (float)5.5f); }
int call_v_structs(void) {
    struct ii u = { 1, 2 };
    struct f2 h = { 1.5f, 2.5f };
    struct d2 hd = { 3.5, 4.5 };
    struct c3 s = { 5, 6, 7 };
    struct b24 b = { 8, 9, 10 };
    struct d4 h4 = { 1.0, 2.0, 3.0, 4.0 };
    return v_fn("s", u, h, hd, s, b, h4);
}
int call_v_after_stack(void) { return v_fn_many(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10.5); }
int call_v_few_fixed(void) { return v_fn("z"); }

/* ext_*: the caller extends small integers to 32 bits; the callee relies on it */
int ext_callee(signed char c, unsigned short s) { return c + s; }
void ext_take(signed char c, unsigned char u);
void ext_caller(long x) { ext_take((signed char)x, (unsigned char)x); }

/* r_*: results */
struct c3 r_c3(void) { struct c3 s = { 1, 2, 3 }; return s; }
struct f3 r_f3(void) { struct f3 s = { 1.5f, 2.5f, 3.5f }; return s; }
struct b24 r_b24(L a0, L a1, L a2, L a3, L a4, L a5, L a6, L a7) {
    struct b24 b = { a0, a7, 3 }; return b;
}
struct ld r_ld(void) { struct ld s = { 1, 2.5 }; return s; }

/* v_hfa3: a 12-byte float HFA as a variadic argument */
int call_v_hfa3(void) {
    struct f3 h = { 1.5f, 2.5f, 3.5f };
    return v_fn("h", h, 7);
}

/* ret_ext_*: the callee extends a narrow integer result to 32 bits, the caller relies on it */
int ret_ext_s(signed char (*f)(void)) { return f(); }
unsigned ret_ext_u(unsigned short (*f)(void)) { return f(); }
int ret_ext_b(_Bool (*f)(void)) { return f(); }
signed char ret_ext_callee(long x) { return (signed char)x; }
