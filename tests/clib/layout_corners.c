/* Issue 22 item 2: records whose unnamed bitfields decide how they are passed. gcc counts
 * an unnamed bitfield as integer data when classifying: on x86-64 `struct lc_s2` goes in
 * rdi:rsi and `union lc_u1` in rdi; on AArch64 `union lc_h` is no HFA (x0, not d0). */
#include <stdint.h>
#include "conformance.h"

struct lc_s2 {
    uint16_t : 16;
    int64_t f1;
};

union lc_u1 {
    int32_t : 13;
    double f1;
};

union lc_h {
    double f;
    uint8_t : 7;
};

EXPORT struct lc_s2 lc_s2_make(int64_t v) {
    struct lc_s2 s = {0};
    s.f1 = v;
    return s;
}

/* The by-value record and a pointer after it: a record passed in the wrong registers
 * shifts the pointer too (this crashed). */
EXPORT int64_t lc_s2_get(struct lc_s2 s, const struct lc_s2 *p) {
    return s.f1 * 1000 + p->f1;
}

EXPORT union lc_u1 lc_u1_make(double d) {
    union lc_u1 u;
    u.f1 = d;
    return u;
}

EXPORT double lc_u1_get(union lc_u1 u, double extra) {
    return u.f1 + extra;
}

EXPORT union lc_h lc_h_make(double d) {
    union lc_h u;
    u.f = d;
    return u;
}

EXPORT double lc_h_get(union lc_h u, double extra) {
    return u.f * 2 + extra;
}
