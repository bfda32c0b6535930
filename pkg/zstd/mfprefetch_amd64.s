#include "textflag.h"

// func mfPrefetch(addr unsafe.Pointer)
TEXT ·mfPrefetch(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ addr+0(FP), AX
	PREFETCHT0 (AX)
	RET
