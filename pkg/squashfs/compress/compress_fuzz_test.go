package compress

import (
	"bytes"
	"testing"
)

// FuzzDecompress feeds arbitrary bytes to every decoder of this package that
// is not xz (X's xz has its own tests): they must return an error or at most
// maxSize bytes, never panic or allocate beyond the limit; and what Compress
// produces must decode to the input.
//
//	go test ./pkg/squashfs/compress/ -run '^$' -fuzz '^FuzzDecompress$' -fuzztime 60s
func FuzzDecompress(f *testing.F) {
	for _, spec := range []string{"gzip", "zstd", "lz4"} {
		c, err := Parse(spec, 1<<20)
		if err != nil {
			f.Fatal(err)
		}
		for _, src := range [][]byte{ctData("text", 3000), ctData("zeros", 9000), ctData("random", 100)} {
			comp, err := c.Compress(nil, src)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(comp, uint16(8192))
			f.Add(src, uint16(len(src)))
		}
	}
	// Built once: a zstd encoder costs megabytes of tables. Level 1 keeps
	// the round trip fast; decoding does not depend on the level.
	specs := []string{"gzip", "zstd -Xcompression-level 1", "lz4", "lz4 -Xhc"}
	comps := make([]Compressor, len(specs))
	for i, spec := range specs {
		c, err := Parse(spec, 1<<20)
		if err != nil {
			f.Fatal(err)
		}
		comps[i] = c
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		maxSize := int(limit)
		for i, c := range comps {
			spec := specs[i]
			out, err := c.Decompress(nil, data, maxSize)
			if err == nil && len(out) > maxSize {
				t.Fatalf("%s: %d bytes decoded past the limit %d", spec, len(out), maxSize)
			}
			comp, err := c.Compress(nil, data)
			if err != nil {
				t.Fatalf("%s: Compress: %v", spec, err)
			}
			back, err := c.Decompress(nil, comp, len(data))
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("%s: round trip of %d bytes failed: %v", spec, len(data), err)
			}
		}
	})
}
