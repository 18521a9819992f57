/* Text with a length and no NUL, at the edge of an unreadable page (issue 21 item 5): a
 * callback argument declared `const char *` must arrive as a pointer, never be read as a
 * C string (that would run past the end into the guard page and fault). */
#include "conformance.h"

#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

/* Per thread: the test harness runs scripts on parallel threads that share this library. */
static _Thread_local int32_t last_len = -1;

/* Two pages: the first readable and writable, the second unreadable. Returns the start of
 * the first, or NULL. */
static unsigned char *guarded_pages(size_t *page) {
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    *page = si.dwPageSize;
    unsigned char *p = VirtualAlloc(NULL, 2 * *page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p) return NULL;
    DWORD old;
    if (!VirtualProtect(p + *page, *page, PAGE_NOACCESS, &old)) {
        VirtualFree(p, 0, MEM_RELEASE);
        return NULL;
    }
    return p;
#else
    *page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, 2 * *page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (mprotect((unsigned char *)p + *page, *page, PROT_NONE) != 0) {
        munmap(p, 2 * *page);
        return NULL;
    }
    return p;
#endif
}

static void release_pages(unsigned char *p, size_t page) {
#if defined(_WIN32)
    (void)page;
    VirtualFree(p, 0, MEM_RELEASE);
#else
    munmap(p, 2 * page);
#endif
}

EXPORT int32_t text_feed(text_cb_t cb, const char *src, int32_t chunk, void *ud) {
    size_t page;
    unsigned char *base = guarded_pages(&page);
    if (!base) return -1;
    size_t n = strlen(src);
    if (chunk <= 0 || (size_t)chunk > page) chunk = (int32_t)(n ? n : 1);
    int32_t sum = 0;
    for (size_t at = 0; at < n; at += (size_t)chunk) {
        size_t len = n - at < (size_t)chunk ? n - at : (size_t)chunk;
        unsigned char *edge = base + page - len;
        memcpy(edge, src + at, len);
        last_len = (int32_t)len;
        sum += cb((const char *)edge, (int32_t)len, ud);
    }
    release_pages(base, page);
    return sum;
}

EXPORT int32_t text_last_len(void) { return last_len; }
