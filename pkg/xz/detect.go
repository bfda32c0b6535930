package xz

import "encoding/binary"

// Thresholds of Guess, chosen with BenchmarkMeasureBCJ on Debian's x86-64
// libraries and executables and the Go toolchain (174 MB, 168 blocks of
// 1 MiB) and on Go-built ARM64 executables.
const (
	// x86MinPerKiB: blocks of x86-64 code mostly score 8..16, text and
	// compressed or random data well under 1. Mixed blocks in between
	// gain or lose a little from the filter; using it alone from 6/KiB
	// up gave the smallest total of the single-encoding policies
	// (-4.45 % against plain LZMA2; trying both on every block: -4.61 %;
	// thresholds 5..8 were within 0.02 % of each other).
	x86MinPerKiB = 6.0
	// arm64MinRets: an AArch64 "ret" is an exact 32-bit word, so random
	// or x86 data practically never contains one; code has one per
	// function.
	arm64MinRets = 8
)

// X86Density is the number of E8/E9 bytes (call/jmp rel32 opcodes) per
// KiB of b whose displacement's top byte is 0x00 or 0xFF - exactly the
// candidates the x86 BCJ filter converts. It reads b once (hundreds of
// MB/s), far cheaper than a second LZMA2 encoding.
func X86Density(b []byte) float64 {
	n := 0
	for i := 0; i+5 <= len(b); i++ {
		if b[i]&0xFE == 0xE8 && (b[i+4] == 0x00 || b[i+4] == 0xFF) {
			n++
		}
	}
	if len(b) == 0 {
		return 0
	}
	return float64(n) * 1024 / float64(len(b))
}

// ARM64Returns counts the aligned AArch64 "ret" instructions (0xD65F03C0,
// little endian) in b.
func ARM64Returns(b []byte) int {
	n := 0
	for i := 0; i+4 <= len(b); i += 4 {
		if binary.LittleEndian.Uint32(b[i:]) == 0xD65F03C0 {
			n++
		}
	}
	return n
}

// Guess returns the filter among allowed (X86 and/or ARM64) that b's
// content suggests, or None when b does not look like machine code for
// any of them. ARM64 is checked first: its signature is exact, while
// AArch64 code can show a moderate x86 density by chance.
func Guess(b []byte, allowed ...Filter) Filter {
	has := func(f Filter) bool {
		for _, a := range allowed {
			if a == f {
				return true
			}
		}
		return false
	}
	if has(ARM64) && ARM64Returns(b) >= arm64MinRets {
		return ARM64
	}
	if has(X86) && X86Density(b) >= x86MinPerKiB {
		return X86
	}
	return None
}
