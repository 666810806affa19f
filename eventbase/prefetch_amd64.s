#include "textflag.h"

// func prefetchLead(addr uintptr)
TEXT ·prefetchLead(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ	addr+0(FP), AX
	PREFETCHT0	(AX)
	PREFETCHT0	-64(AX)
	PREFETCHT0	-128(AX)
	RET
