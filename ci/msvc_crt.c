/*
 * A stand-in for the static part of the MSVC C runtime (msvcrt.lib's startup objects,
 * tlssup.obj, chkstk.obj, and the few vcruntime symbols Rust references directly), so
 * that test binaries for x86_64-pc-windows-msvc can be linked on Linux with lld-link
 * against MinGW's import libraries (ucrtbase.dll) and run under Wine. ci/cross.sh msvc
 * compiles it with `clang --target=x86_64-pc-windows-msvc`. Nothing here ships.
 *
 * What it provides, each as the MSVC runtime does:
 *   mainCRTStartup   the PE entry point: argc/argv from ucrtbase, then exit(main(...)).
 *   _tls_used etc.   the TLS directory (tlssup.c): Rust's thread_local! statics use
 *                    native TLS and its destructors run from a .CRT$XL* callback.
 *   __chkstk         the stack probe for frames over a page (chkstk.asm semantics:
 *                    size in rax, probes page by page, clobbers nothing but flags).
 *   _fltused         the floating-point-in-use marker.
 *   ??_7type_info@@6B@  type_info's vtable: Rust's panic = C++ exception machinery only
 *                    stores its address in the thrown TypeDescriptor; the matching in
 *                    __CxxFrameHandler3 (ucrtbase) compares type names, not vtables.
 *   floor, fmod      MinGW's import library marks them data-only (MinGW links its own
 *                    libmingwex versions), so forward to ucrtbase's through __imp_.
 */

typedef unsigned long long u64;
typedef unsigned int u32;

/* ---- startup ---------------------------------------------------------------------- */
typedef struct {
    int newmode;
} startupinfo;
extern int __cdecl __getmainargs(int *argc, char ***argv, char ***env, int glob,
                                 startupinfo *si);
extern void __cdecl exit(int status);
extern int main(int argc, char **argv);

int mainCRTStartup(void)
{
    int argc = 0;
    char **argv = 0, **env = 0;
    startupinfo si = {0};
    __getmainargs(&argc, &argv, &env, 0, &si);
    exit(main(argc, argv));
    return 0;
}

/* ---- TLS directory (as MSVC's tlssup.c) ------------------------------------------- */
typedef void(__stdcall *tls_callback)(void *, unsigned long, void *);

#pragma section(".tls", long, read, write)
#pragma section(".tls$ZZZ", long, read, write)
#pragma section(".CRT$XLA", long, read)
#pragma section(".CRT$XLZ", long, read)
#pragma section(".rdata$T", long, read)

u32 _tls_index = 0;
__declspec(allocate(".tls")) char _tls_start = 0;
__declspec(allocate(".tls$ZZZ")) char _tls_end = 0;
__declspec(allocate(".CRT$XLA")) tls_callback __xl_a = 0;
__declspec(allocate(".CRT$XLZ")) tls_callback __xl_z = 0;

typedef struct {
    u64 StartAddressOfRawData;
    u64 EndAddressOfRawData;
    u64 AddressOfIndex;
    u64 AddressOfCallBacks;
    u32 SizeOfZeroFill;
    u32 Characteristics;
} tls_directory;

__declspec(allocate(".rdata$T")) const tls_directory _tls_used = {
    (u64)&_tls_start, (u64)&_tls_end, (u64)&_tls_index, (u64)(&__xl_a + 1), 0, 0,
};

/* ---- misc ------------------------------------------------------------------------- */
int _fltused = 0x9875;

/* type_info's vtable: two slots (destructor, then nothing Rust uses). */
__asm__(".section .rdata,\"dr\"\n"
        ".globl \"??_7type_info@@6B@\"\n"
        ".p2align 3\n"
        "\"??_7type_info@@6B@\":\n"
        ".quad 0\n"
        ".quad 0\n"
        ".text\n");

/* __chkstk, after compiler-rt's x86_64 chkstk.S. */
__asm__(".text\n"
        ".globl __chkstk\n"
        ".p2align 4\n"
        "__chkstk:\n"
        "        push   %rcx\n"
        "        push   %rax\n"
        "        cmp    $0x1000, %rax\n"
        "        lea    24(%rsp), %rcx\n"
        "        jb     1f\n"
        "2:\n"
        "        sub    $0x1000, %rcx\n"
        "        test   %rcx, (%rcx)\n"
        "        sub    $0x1000, %rax\n"
        "        cmp    $0x1000, %rax\n"
        "        ja     2b\n"
        "1:\n"
        "        sub    %rax, %rcx\n"
        "        test   %rcx, (%rcx)\n"
        "        pop    %rax\n"
        "        pop    %rcx\n"
        "        ret\n");

extern double (*__imp_floor)(double);
extern double (*__imp_fmod)(double, double);
double floor(double x) { return __imp_floor(x); }
double fmod(double x, double y) { return __imp_fmod(x, y); }
extern double (*__imp_pow)(double, double);
extern float (*__imp_powf)(float, float);
double pow(double x, double y) { return __imp_pow(x, y); }
float powf(float x, float y) { return __imp_powf(x, y); }

/* Read by MinGW's static helpers inside libucrt.a: this is an executable, not a DLL. */
const char __mingw_module_is_dll = 0;
