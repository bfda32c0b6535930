package xz

import (
	"bytes"
	"testing"
)

// FuzzDecode: Decode never panics, never returns more than maxSize bytes,
// and whatever Encode writes decodes to its input.
//
//	go test ./pkg/xz -run '^$' -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	for i, filt := range append([]Filter{None}, BCJFilters...) {
		in := codeLike(300+i*97, int64(i))
		enc, err := Encode(nil, in, EncodeOptions{BCJ: filt, DictSize: 4096})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc, uint16(len(in)))
	}
	f.Add([]byte{0xFD, '7', 'z', 'X', 'Z', 0x00}, uint16(10))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		out, err := Decode(nil, data, int(max))
		if err == nil && len(out) > int(max) {
			t.Fatalf("%d bytes out, limit %d", len(out), max)
		}
		// Treat the fuzz input also as plain data to encode.
		for _, filt := range []Filter{None, X86, ARM64} {
			enc, err := Encode(nil, data, EncodeOptions{BCJ: filt, DictSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			dec, err := Decode(nil, enc, len(data))
			if err != nil || !bytes.Equal(dec, data) {
				t.Fatalf("%s round trip: %v", filt, err)
			}
		}
	})
}
