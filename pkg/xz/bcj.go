package xz

import (
	"encoding/binary"
	"fmt"
)

// Filter is an xz filter ID (xz-file-format section 5.3, "Filters"; the
// Branch/Call/Jump converters are 5.3.3). Only the BCJ filters and LZMA2
// are known to this package.
type Filter uint64

// Filter IDs. The BCJ IDs are those of xz-file-format 5.3.3; ARM64 (0x0A)
// was assigned in XZ Utils 5.4.0 and is decoded by liblzma >= 5.4 and Linux
// lib/xz >= 6.10 (CONFIG_XZ_DEC_ARM64).
const (
	None     Filter = 0x00 // no BCJ filter: LZMA2 only
	X86      Filter = 0x04 // x86 and x86-64 (E8 call / E9 jmp rel32)
	PowerPC  Filter = 0x05 // big-endian PowerPC (bl)
	IA64     Filter = 0x06 // Itanium bundles (br.call etc.)
	ARM      Filter = 0x07 // little-endian 32-bit ARM (bl)
	ARMThumb Filter = 0x08 // little-endian ARM Thumb (bl pair)
	SPARC    Filter = 0x09 // SPARC (call)
	ARM64    Filter = 0x0A // little-endian AArch64 (bl, adrp)
	LZMA2    Filter = 0x21 // the LZMA2 filter (5.3.1)
)

// BCJFilters lists every BCJ filter this package implements, in filter-ID
// order.
var BCJFilters = []Filter{X86, PowerPC, IA64, ARM, ARMThumb, SPARC, ARM64}

// String returns the name XZ Utils uses for the filter ("x86", "arm64").
func (f Filter) String() string {
	switch f {
	case None:
		return "none"
	case X86:
		return "x86"
	case PowerPC:
		return "powerpc"
	case IA64:
		return "ia64"
	case ARM:
		return "arm"
	case ARMThumb:
		return "armthumb"
	case SPARC:
		return "sparc"
	case ARM64:
		return "arm64"
	case LZMA2:
		return "lzma2"
	}
	return fmt.Sprintf("filter(%#x)", uint64(f))
}

// IsBCJ reports whether f is one of the BCJ filters implemented here.
func (f Filter) IsBCJ() bool {
	for _, g := range BCJFilters {
		if f == g {
			return true
		}
	}
	return false
}

// Encode applies the BCJ encoder to buf in place, as if buf started at
// uncompressed offset start (the filter's "Start Offset", 5.3.3; xz block
// headers written here always use 0). Relative branch targets become
// absolute, so calls to the same function from different places look the
// same to LZMA2. Bytes too close to the end to hold a whole instruction are
// left as they are, as the decoder leaves them.
func (f Filter) Encode(buf []byte, start uint32) {
	f.apply(buf, start, true)
}

// Decode undoes Encode in place.
func (f Filter) Decode(buf []byte, start uint32) {
	f.apply(buf, start, false)
}

func (f Filter) apply(buf []byte, start uint32, enc bool) {
	switch f {
	case X86:
		bcjX86(buf, start, enc)
	case PowerPC:
		bcjPowerPC(buf, start, enc)
	case IA64:
		bcjIA64(buf, start, enc)
	case ARM:
		bcjARM(buf, start, enc)
	case ARMThumb:
		bcjARMThumb(buf, start, enc)
	case SPARC:
		bcjSPARC(buf, start, enc)
	case ARM64:
		bcjARM64(buf, start, enc)
	case None:
	default:
		panic("xz: " + f.String() + " is not a BCJ filter")
	}
}

// convert turns a relative target into an absolute one (encoding) or back.
func convert(v, pc uint32, enc bool) uint32 {
	if enc {
		return v + pc
	}
	return v - pc
}

// x86MSByte reports whether b can be the top byte of a rel32 that the x86
// filter converts: the filter only touches displacements within +-16 MiB,
// whose top byte is 0x00 or 0xFF.
func x86MSByte(b byte) bool { return b == 0x00 || b == 0xFF }

// bcjX86 is the x86 BCJ filter. It looks for E8 (call rel32) and E9 (jmp
// rel32) opcodes whose 32-bit little-endian displacement has a top byte of
// 0x00 or 0xFF and converts the displacement relative to the end of the
// instruction into an absolute offset.
//
// Not every E8/E9 byte is an opcode: it can be a displacement byte of an
// earlier candidate. The filter keeps a small history ("mask") of the
// candidates seen in the previous few bytes: bit k of the low group records
// an unconverted E8/E9 k+1 bytes back, the high group whether that
// candidate's top byte looked like an address. Some history patterns forbid a
// conversion; others make the converter re-check the converted value's byte
// that an overlapping candidate would own and, if that byte again looks like
// an address top byte, flip the low bits and retry, so that the decoder, which
// sees the converted bytes, makes exactly the same decisions.
//
// Encoder and decoder run the same state machine; they differ only in
// adding or subtracting the position. The tables and constants define the
// xz x86 filter's format and must not change.
func bcjX86(buf []byte, start uint32, enc bool) {
	// allowed[h] says whether a conversion may happen with history h
	// (the three most recent positions); bitNum[h] picks the byte of the
	// converted value that overlaps the most recent earlier candidate.
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	bitNum := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}

	if len(buf) < 5 {
		return
	}
	var mask uint32
	prev := -5 // position of the last E8/E9 seen; "long ago" at the start
	for i := 0; i <= len(buf)-5; {
		if buf[i]&0xFE != 0xE8 {
			i++
			continue
		}
		dist := i - prev
		prev = i
		if dist > 5 {
			mask = 0
		} else {
			for k := 0; k < dist; k++ {
				mask = (mask & 0x77) << 1
			}
		}
		top := buf[i+4]
		h := mask >> 1
		if x86MSByte(top) && h < 0x10 && allowed[h&7] {
			src := binary.LittleEndian.Uint32(buf[i+1:])
			pc := start + uint32(i) + 5
			var dst uint32
			for {
				dst = convert(src, pc, enc)
				if mask == 0 {
					break
				}
				n := bitNum[h] * 8
				if !x86MSByte(byte(dst >> (24 - n))) {
					break
				}
				src = dst ^ (1<<(32-n) - 1)
			}
			// Store 25 bits: bit 24 is sign-extended into the top
			// byte, so it is again 0x00 or 0xFF.
			dst &= 0x01FFFFFF
			if dst&0x01000000 != 0 {
				dst |= 0xFF000000
			}
			binary.LittleEndian.PutUint32(buf[i+1:], dst)
			i += 5
			mask = 0
		} else {
			i++
			mask |= 1
			if x86MSByte(top) {
				mask |= 0x10
			}
		}
	}
}

// bcjPowerPC converts the 24-bit word displacement of big-endian "bl"
// (opcode 18 with AA=0, LK=1: 0x48000001 under mask 0xFC000003).
func bcjPowerPC(buf []byte, start uint32, enc bool) {
	for i := 0; i+4 <= len(buf); i += 4 {
		ins := binary.BigEndian.Uint32(buf[i:])
		if ins&0xFC000003 != 0x48000001 {
			continue
		}
		d := convert(ins&0x03FFFFFC, start+uint32(i), enc)
		binary.BigEndian.PutUint32(buf[i:], 0x48000001|d&0x03FFFFFC)
	}
}

// bcjARM converts the 24-bit word offset of little-endian "bl" with
// condition "always" (top byte 0xEB); ARM's PC reads 8 bytes ahead.
func bcjARM(buf []byte, start uint32, enc bool) {
	for i := 0; i+4 <= len(buf); i += 4 {
		if buf[i+3] != 0xEB {
			continue
		}
		v := (uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16) << 2
		v = convert(v, start+uint32(i)+8, enc) >> 2
		buf[i] = byte(v)
		buf[i+1] = byte(v >> 8)
		buf[i+2] = byte(v >> 16)
	}
}

// bcjARMThumb converts Thumb "bl" instruction pairs (two halfwords with
// prefixes 11110 and 11111, 22-bit halfword offset); the Thumb PC reads 4
// bytes ahead. Halfword aligned; a converted pair is skipped whole.
func bcjARMThumb(buf []byte, start uint32, enc bool) {
	for i := 0; i+4 <= len(buf); i += 2 {
		if buf[i+1]&0xF8 != 0xF0 || buf[i+3]&0xF8 != 0xF8 {
			continue
		}
		v := (uint32(buf[i+1]&7)<<19 | uint32(buf[i])<<11 | uint32(buf[i+3]&7)<<8 | uint32(buf[i+2])) << 1
		v = convert(v, start+uint32(i)+4, enc) >> 1
		buf[i+1] = 0xF0 | byte(v>>19)&7
		buf[i] = byte(v >> 11)
		buf[i+3] = 0xF8 | byte(v>>8)&7
		buf[i+2] = byte(v)
		i += 2
	}
}

// bcjSPARC converts "call" (op 01) whose 30-bit displacement is within
// +-8 MiB words (top ten bits 0x100 or 0x1FF, i.e. sign bits all equal).
func bcjSPARC(buf []byte, start uint32, enc bool) {
	for i := 0; i+4 <= len(buf); i += 4 {
		ins := binary.BigEndian.Uint32(buf[i:])
		if top := ins >> 22; top != 0x100 && top != 0x1FF {
			continue
		}
		d := convert(ins<<2, start+uint32(i), enc) >> 2
		// Re-create the sign bits from bit 22 of the new displacement.
		out := 0x40000000 | d&0x003FFFFF
		if d&0x00400000 != 0 {
			out |= 0x3FC00000
		}
		binary.BigEndian.PutUint32(buf[i:], out)
	}
}

// bcjIA64 converts the 21-bit bundle offsets of IP-relative branches in
// Itanium 128-bit bundles. The bundle template (low 5 bits) says which of
// the three 41-bit slots are B-unit slots; a slot is converted when its
// opcode (bits 37..40) is 5 and bits 9..11 are zero.
func bcjIA64(buf []byte, start uint32, enc bool) {
	// slots[template] is a bit set of the B-unit slots for that template.
	slots := [32]uint8{
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		4, 4, 6, 6, 0, 0, 7, 7,
		4, 4, 0, 0, 4, 4, 0, 0,
	}
	for i := 0; i+16 <= len(buf); i += 16 {
		m := slots[buf[i]&0x1F]
		for slot, bitPos := 0, 5; slot < 3; slot, bitPos = slot+1, bitPos+41 {
			if m>>slot&1 == 0 {
				continue
			}
			bytePos, bitRes := bitPos>>3, uint(bitPos&7)
			var ins uint64
			for j := 0; j < 6; j++ {
				ins |= uint64(buf[i+bytePos+j]) << (8 * j)
			}
			norm := ins >> bitRes
			if (norm>>37)&0x0F != 0x05 || (norm>>9)&0x07 != 0 {
				continue
			}
			a := uint32(norm>>13)&0x0FFFFF | (uint32(norm>>36)&1)<<20
			a = convert(a<<4, start+uint32(i), enc) >> 4
			norm &^= uint64(0x8FFFFF) << 13
			norm |= uint64(a&0x0FFFFF) << 13
			norm |= uint64(a&0x100000) << (36 - 20)
			ins = ins&(1<<bitRes-1) | norm<<bitRes
			for j := 0; j < 6; j++ {
				buf[i+bytePos+j] = byte(ins >> (8 * j))
			}
		}
	}
}

// bcjARM64 converts AArch64 "bl" (full 26-bit word offset) and "adrp"
// (21-bit page offset, only within +-512 MiB so that fewer non-code words
// match) to absolute values. Word aligned, little endian.
func bcjARM64(buf []byte, start uint32, enc bool) {
	for i := 0; i+4 <= len(buf); i += 4 {
		pc := start + uint32(i)
		ins := binary.LittleEndian.Uint32(buf[i:])
		switch {
		case ins>>26 == 0x25: // bl
			v := convert(ins, pc>>2, enc)
			binary.LittleEndian.PutUint32(buf[i:], 0x94000000|v&0x03FFFFFF)
		case ins&0x9F000000 == 0x90000000: // adrp
			// immlo is bits 29..30, immhi bits 5..23.
			v := (ins>>29)&3 | (ins>>3)&0x001FFFFC
			// Only offsets whose bits 17..20 are all equal (sign
			// extension of bit 17) are converted.
			if (v+0x00020000)&0x001C0000 != 0 {
				continue
			}
			v = convert(v, pc>>12, enc)
			out := ins & 0x9000001F
			out |= (v & 3) << 29
			out |= (v & 0x0003FFFC) << 3
			if v&0x00020000 != 0 {
				out |= 0x00E00000
			}
			binary.LittleEndian.PutUint32(buf[i:], out)
		}
	}
}
