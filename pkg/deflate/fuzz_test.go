package deflate

import (
	"bytes"
	"testing"
)

// FuzzRoundTrip: every level's stream must decode with Go's compress/zlib to
// the input.
//
//	go test ./pkg/deflate/ -run '^$' -fuzz '^FuzzRoundTrip$' -fuzztime 60s
func FuzzRoundTrip(f *testing.F) {
	for _, src := range testInputs() {
		if len(src) <= 40000 {
			f.Add(src, uint8(9))
		}
	}
	f.Add([]byte("abcabcabcabcabcabcabcabcabcabcabcabcxyzxyzxyz"), uint8(1))
	var encoders [10]*Encoder
	f.Fuzz(func(t *testing.T, src []byte, level uint8) {
		l := int(level%9) + 1
		if encoders[l] == nil {
			e, err := NewEncoder(l)
			if err != nil {
				t.Fatal(err)
			}
			encoders[l] = e
		}
		z := encoders[l].AppendZlib(nil, src)
		if back := inflate(t, z); !bytes.Equal(back, src) {
			t.Fatalf("level %d: %d bytes decoded to %d different bytes", l, len(src), len(back))
		}
	})
}
