/* ffi.include's own test header (issue 22 item 4): an alias macro of a function of the
 * test C library, constants, and a value given by the `defines` option. */
struct dnode;
int dlist_sum(const struct dnode *n);
#define dl_sum dlist_sum
#define DL_FIRST_VALUE 10
#define DL_NAME "dnode"
#define DL_RATIO 0.75
#ifdef DL_WITH_EXTRA
#define DL_EXTRA (DL_WITH_EXTRA + 1)
#endif
#define DL_MAX(a, b) ((a) > (b) ? (a) : (b))
