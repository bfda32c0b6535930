package deflate

import (
	"bytes"
	"testing"
)

// FuzzRoundTrip: every level's stream must decode with Go's compress/zlib to
// the input.
//
//	go test ./pkg/deflate/ -run '^$' -fuzz '^FuzzRoundTrip$' -fuzztime 60s -fuzzminimizetime 2s
//
// (The default minimisation time of 60 s per new input makes the fuzzer
// look stalled; with 2 s one minute runs about 300,000 inputs.)
func FuzzRoundTrip(f *testing.F) {
	// Short seeds keep each execution fast.
	for _, src := range testInputs() {
		f.Add(src[:min(len(src), 2048)], uint8(9))
	}
	f.Add([]byte("abcabcabcabcabcabcabcabcabcabcabcabcxyzxyzxyz"), uint8(1))
	var encoders [10]*Encoder
	f.Fuzz(func(t *testing.T, src []byte, level uint8) {
		if len(src) > 1<<16 {
			t.Skip("longer than the block sizes that matter; keeps executions fast")
		}
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
