/* Declared types carried through values (issue 21): a linked list of records with
 * pointer fields, anonymous members and an array of pointers, as C libraries hand them
 * over (libxml2's xmlNode, libuv's handles). */
#include "conformance.h"

struct dnode {
    int value;
    const char *name;
    struct dnode *next;
    union {
        int as_int;
        float as_float;
    };
    struct {
        short lo, hi;
    };
    int *counter;
};

/* Per thread: the test harness runs scripts on parallel threads that share this library. */
static _Thread_local int dnode_counter = 40;
static _Thread_local struct dnode dnodes[3];
static _Thread_local struct dnode *dnode_table[3];

EXPORT struct dnode *dlist_make(void) {
    static const char *const names[3] = {"alpha", "beta", "gamma"};
    for (int i = 0; i < 3; i++) {
        dnodes[i].value = (i + 1) * 10;
        dnodes[i].name = names[i];
        dnodes[i].next = i < 2 ? &dnodes[i + 1] : 0;
        dnodes[i].as_int = 100 + i;
        dnodes[i].lo = (short)(-i);
        dnodes[i].hi = (short)(1000 + i);
        dnodes[i].counter = &dnode_counter;
        dnode_counter = 40;
        dnode_table[i] = &dnodes[2 - i];
    }
    return &dnodes[0];
}

EXPORT struct dnode **dlist_table(void) { return dnode_table; }

EXPORT int dlist_sum(const struct dnode *n) {
    int s = 0;
    for (; n; n = n->next) s += n->value + n->lo + n->hi;
    return s;
}

EXPORT int dlist_counter(void) { return dnode_counter; }
