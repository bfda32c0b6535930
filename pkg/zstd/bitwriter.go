package zstd

// bitWriter accumulates bits least significant first and appends them to a
// byte slice in little-endian order, the layout of the forward streams such
// as FSE_Table_Description (RFC 8878 section 4.1.1), which the decoder reads
// from the first byte on, lowest bit first; finish() ends them at the next
// byte boundary. (The backward sequences bitstream of section 3.1.1.3.2.2
// has the same layout, read from the end; appendSequenceBitstream writes it
// with its own accumulator, keeping it in registers and storing 8 bytes at a
// time.)
type bitWriter struct {
	out []byte
	acc uint64
	n   uint // bits held in acc, always < 32 between calls
}

// reset starts a new stream that appends to dst.
func (b *bitWriter) reset(dst []byte) {
	b.out = dst
	b.acc = 0
	b.n = 0
}

// addBits appends the low nb bits of v (nb <= 32). Keeping fewer than 32
// bits pending between calls means acc never overflows.
func (b *bitWriter) addBits(v uint64, nb uint) {
	b.acc |= (v & (1<<nb - 1)) << b.n
	b.n += nb
	if b.n >= 32 {
		b.out = append(b.out, byte(b.acc), byte(b.acc>>8), byte(b.acc>>16), byte(b.acc>>24))
		b.acc >>= 32
		b.n -= 32
	}
}

// finish flushes the pending bits, zero-padding the last byte, and returns
// the stream.
func (b *bitWriter) finish() []byte {
	for b.n > 0 {
		b.out = append(b.out, byte(b.acc))
		b.acc >>= 8
		if b.n < 8 {
			b.n = 0
		} else {
			b.n -= 8
		}
	}
	return b.out
}
