/*
 * bcryptprimitives.c: a stand-in for Windows' bcryptprimitives.dll under Wine 8.0.
 *
 * Go 1.24 and later fill their random source at start-up with ProcessPrng from
 * bcryptprimitives.dll. Debian's Wine 8.0 ships no such DLL, so every Go test
 * binary dies before main. This DLL exports ProcessPrng and forwards it to
 * RtlGenRandom (exported by advapi32.dll as SystemFunction036), which Wine
 * implements. It is built by .ci/windows/setup into the Wine prefix only; it is
 * test infrastructure, never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);

/* ProcessPrng fills buf with len random bytes and returns TRUE (the real one is
 * documented never to fail; this one returns FALSE only if RtlGenRandom does).
 * RtlGenRandom takes a ULONG length, so large requests are filled in pieces. */
BOOL WINAPI ProcessPrng(PBYTE buf, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(buf, n))
			return FALSE;
		buf += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}
