#include "textflag.h"

// func mfPrefetch(addr unsafe.Pointer)
TEXT ·mfPrefetch(SB), NOSPLIT|NOFRAME, $0-8
	MOVD addr+0(FP), R0
	PRFM (R0), PLDL1KEEP
	RET
