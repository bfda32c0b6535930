#include "textflag.h"

// func prefetch5(a, b, c, d, e unsafe.Pointer)
TEXT ·prefetch5(SB), NOSPLIT|NOFRAME, $0-40
	MOVD a+0(FP), R0
	PRFM (R0), PLDL1KEEP
	MOVD b+8(FP), R0
	PRFM (R0), PLDL1KEEP
	MOVD c+16(FP), R0
	PRFM (R0), PLDL1KEEP
	MOVD d+24(FP), R0
	PRFM (R0), PLDL1KEEP
	MOVD e+32(FP), R0
	PRFM (R0), PLDL1KEEP
	RET
