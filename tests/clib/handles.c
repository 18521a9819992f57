/* C resources handed over to Luau (issue 21 items 6 and 10): out-parameters filled by C
 * (`int *`, `struct handle **`, a flexible array member summed by C) and handles opened and
 * closed through `ffi.gc` finalizers. Counters are per thread: the test harness runs
 * scripts on parallel threads that share this library. */
#include <stdio.h>
#include <stdlib.h>
#include "conformance.h"

struct handle {
    unsigned magic; /* HANDLE_OPEN while open, HANDLE_CLOSED after h_close */
    int id;
};

#define HANDLE_OPEN 0x0be11a5u
#define HANDLE_CLOSED 0xdeadu

static _Thread_local int opens, closes, bad_closes, next_id;

EXPORT void *h_open(void) {
    struct handle *h = malloc(sizeof *h);
    if (!h) return 0;
    h->magic = HANDLE_OPEN;
    h->id = ++next_id;
    opens++;
    return h;
}

/* A closed handle is kept (its memory never reused) so a second close is seen, not a
 * use after free: the tests check that none is closed twice. */
EXPORT void h_close(void *p) {
    struct handle *h = p;
    if (!h || h->magic != HANDLE_OPEN) {
        bad_closes++;
        return;
    }
    h->magic = HANDLE_CLOSED;
    closes++;
}

/* The same, with an int result (sqlite3_close's shape). */
EXPORT int h_close_int(void *p) {
    h_close(p);
    return 0;
}

/* Whether a handle is still open (a finalizer must not have run while it is reachable). */
EXPORT int h_is_open(const void *p) {
    const struct handle *h = p;
    return h && h->magic == HANDLE_OPEN;
}

EXPORT int h_id(const void *p) {
    return ((const struct handle *)p)->id;
}

EXPORT int h_open_count(void) { return opens; }
EXPORT int h_close_count(void) { return closes; }
EXPORT int h_bad_close_count(void) { return bad_closes; }

EXPORT void h_reset(void) {
    opens = closes = bad_closes = 0;
}

/* Out-parameters, as sqlite3_open and friends fill them. */
EXPORT int h_open_into(void **out) {
    *out = h_open();
    return *out ? 0 : 1;
}

EXPORT void out_int(int *p, int v) { *p = v * 2; }

EXPORT double sum_doubles(const double *p, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += p[i];
    return s;
}

struct famx {
    int n;
    int data[];
};

EXPORT int famx_sum(const struct famx *f) {
    int s = 0;
    for (int i = 0; i < f->n; i++) s += f->data[i];
    return s;
}

/* A close that calls back into the script first (a destructor hook, as sqlite3_close
 * calls the xDestroy of functions a script registered). */
static _Thread_local int (*hook)(int);
static _Thread_local int hook_result = -1;

EXPORT void h_set_hook(int (*f)(int)) { hook = f; }
EXPORT int h_hook_result(void) { return hook_result; }

EXPORT void h_close_hooked(void *p) {
    if (hook) hook_result = hook(7);
    h_close(p);
}

/* Closes and says so on stdout: shows a finalizer running as the state closes. */
EXPORT void h_close_say(void *p) {
    h_close(p);
    printf("closed %d at exit\n", ((struct handle *)p)->id);
    fflush(stdout);
}

/* Closes and leaves errno set, as a failing close(2) would. */
#include <errno.h>
EXPORT void h_close_errno(void *p) {
    h_close(p);
    errno = 77;
}
