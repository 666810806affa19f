#include "textflag.h"

// func prefetchLead(addr uintptr)
TEXT ·prefetchLead(SB), NOSPLIT|NOFRAME, $0-8
	MOVD	addr+0(FP), R0
	PRFM	(R0), PLDL1KEEP
	SUB	$64, R0
	PRFM	(R0), PLDL1KEEP
	SUB	$64, R0
	PRFM	(R0), PLDL1KEEP
	RET
