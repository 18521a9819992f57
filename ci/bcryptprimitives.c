/* Stand-in for Windows' bcryptprimitives.dll, for the Wine lane only.
 *
 * Rust's std (1.78+) gets its random seeds (HashMap) from ProcessPrng in
 * bcryptprimitives.dll, which Wine 8 does not ship. This forwards to
 * RtlGenRandom (advapi32!SystemFunction036), which Wine has.
 * Built and installed into the lane's Wine prefix by ci/cross.sh. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
