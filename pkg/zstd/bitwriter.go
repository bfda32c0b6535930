package zstd

// bitWriter accumulates bits least significant first and appends them to a
// byte slice in little-endian order. That is the layout of both kinds of
// zstd bitstream:
//
//   - the forward streams, such as FSE_Table_Description (RFC 8878 section
//     4.1.1), which the decoder reads from the first byte on, lowest bit
//     first; finish() ends them at the next byte boundary;
//   - the backward streams (section 4.1, used by the sequences bitstream of
//     section 3.1.1.3.2.2), which the decoder reads from the last byte
//     back: the bits written last are read first. closeBackward() appends
//     the single 1 bit that marks where the padding of the last byte ends.
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

// closeBackward ends a backward stream: a 1 bit after the last data bit lets
// the decoder find where the data starts in the final byte (section 4.1,
// "the last byte ... contains the last bits plus a final 1 bit as padding").
func (b *bitWriter) closeBackward() []byte {
	b.addBits(1, 1)
	return b.finish()
}
