#include "textflag.h"

// func prefetch5(a, b, c, d, e unsafe.Pointer)
TEXT ·prefetch5(SB), NOSPLIT|NOFRAME, $0-40
	MOVQ a+0(FP), AX
	PREFETCHT0 (AX)
	MOVQ b+8(FP), AX
	PREFETCHT0 (AX)
	MOVQ c+16(FP), AX
	PREFETCHT0 (AX)
	MOVQ d+24(FP), AX
	PREFETCHT0 (AX)
	MOVQ e+32(FP), AX
	PREFETCHT0 (AX)
	RET
