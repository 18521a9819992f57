/* The one C library every runtime of the peer comparison calls (benches/compare/run.sh
 * builds it with gcc -O2 -shared -fPIC). Kept trivial on purpose: the benchmark measures
 * the cost of crossing into C and back, not the work done there. */
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef struct {
    float x, y, z;
} Vec3; /* 12 bytes: two SSE eightbytes on SysV x86-64 */

typedef struct {
    int64_t id;
    double value;
    int32_t count;
    float weight;
} Big; /* 24 bytes: returned through a hidden pointer on SysV x86-64 */

int b_add(int a, int b) { return a + b; }

double b_fma(double a, double b, double c) { return a * b + c; }

double b_mixed10(int a, double b, int64_t c, float d, int e, double f, uint8_t g, float h,
                 int16_t i, double j) {
    return a + b + (double)c + d + e + f + g + h + i + j;
}

Vec3 b_scale(Vec3 v, float s) {
    Vec3 r = {v.x * s, v.y * s, v.z * s};
    return r;
}

Big b_make(int64_t n) {
    Big r = {n, (double)n * 0.5, (int32_t)(n + 1), 2.5f};
    return r;
}

size_t b_strlen(const char *s) { return strlen(s); }

/* A static string returned as `const char *`: each runtime reads it into its own string. */
const char *b_name(void) { return "libbench: the peer comparison's C library"; }

/* Two texts of that length in turn: a caller that keeps the last string never finds it. */
const char *b_name_alternating(void) {
    static int n;
    return (n++ & 1) ? "libbench: the peer comparison's C library" : "libbench: the peer comparison's C LIBRARY";
}

/* Calls cb n times; the per-call cost of a C -> script callback is the time / n. */
int64_t b_drive(int (*cb)(int, int), int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        s += cb(i, 1);
    return s;
}

/* One clock for every runtime, read through each runtime's own FFI before and after a
 * timed loop (the cost of those two calls is negligible against ~100 ms). */
double b_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double b_wall_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
