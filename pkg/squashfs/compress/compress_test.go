package compress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// ctData returns n bytes of a chosen kind: "text" compresses well, "random"
// does not, "zeros" is the extreme case.
func ctData(kind string, n int) []byte {
	b := make([]byte, n)
	switch kind {
	case "random":
		rand.New(rand.NewSource(int64(n))).Read(b)
	case "text":
		words := []string{"squashfs ", "nix ", "store ", "portable ", "service ", "block\n", "0123 "}
		r := rand.New(rand.NewSource(7))
		b = b[:0]
		for len(b) < n {
			b = append(b, words[r.Intn(len(words))]...)
		}
		b = b[:n]
	}
	return b
}

func TestParseAcceptsAndRejects(t *testing.T) {
	tests := []struct {
		spec    string
		name    string
		id      ID
		wantErr error  // nil: accepted
		errText string // a substring the message must contain (the name at fault)
	}{
		{spec: "gzip", name: "gzip", id: Gzip},
		{spec: "  gzip   -Xcompression-level 1 ", name: "gzip", id: Gzip},
		{spec: "gzip -Xcompression-level 9 -Xwindow-size 15", name: "gzip", id: Gzip},
		{spec: "gzip -Xcompression-level 0", wantErr: ErrBadOption, errText: "-Xcompression-level"},
		{spec: "gzip -Xcompression-level 10", wantErr: ErrBadOption, errText: "-Xcompression-level"},
		{spec: "gzip -Xcompression-level", wantErr: ErrBadOption, errText: "needs a value"},
		{spec: "gzip -Xcompression-level x", wantErr: ErrBadOption, errText: `"x"`},
		{spec: "gzip -Xwindow-size 12", wantErr: ErrUnsupported, errText: "-Xwindow-size 12"},
		{spec: "gzip -Xwindow-size 16", wantErr: ErrBadOption, errText: "-Xwindow-size"},
		{spec: "gzip -Xstrategy filtered", wantErr: ErrUnsupported, errText: "-Xstrategy"},
		{spec: "gzip -Xhc", wantErr: ErrUnsupported, errText: "-Xhc"},
		{spec: "zstd", name: "zstd", id: Zstd},
		{spec: "zstd -Xcompression-level 19", name: "zstd", id: Zstd},
		{spec: "zstd -Xcompression-level 22", name: "zstd", id: Zstd},
		{spec: "zstd -Xcompression-level 23", wantErr: ErrBadOption, errText: "-Xcompression-level"},
		{spec: "zstd -Xdict-size 100%", wantErr: ErrUnsupported, errText: "-Xdict-size"},
		{spec: "lz4", name: "lz4", id: LZ4},
		{spec: "lz4 -Xhc", name: "lz4", id: LZ4},
		{spec: "lz4 -Xcompression-level 9", wantErr: ErrUnsupported, errText: "-Xcompression-level"},
		{spec: "none", name: "none", id: Gzip},
		{spec: "none -Xhc", wantErr: ErrUnsupported, errText: "-Xhc"},
		{spec: "xz", name: "xz", id: XZ},
		{spec: "lzo", wantErr: ErrUnsupported, errText: `"lzo"`},
		{spec: "lzma", wantErr: ErrUnsupported, errText: `"lzma"`},
		{spec: "GZIP", wantErr: ErrUnsupported, errText: `"GZIP"`},
		{spec: "", wantErr: ErrUnsupported, errText: "empty"},
		{spec: "   ", wantErr: ErrUnsupported, errText: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			c, err := Parse(tt.spec, 1<<20)
			if tt.wantErr != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), tt.errText)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.name, c.Name())
			assert.Equal(t, tt.id, c.ID())
			assert.Equal(t, tt.name == "none", c.Uncompressed())
		})
	}
}

func TestDefaultIsGzipLevel9WithoutRecord(t *testing.T) {
	c := Default()
	assert.Equal(t, Gzip, c.ID())
	assert.Equal(t, "gzip", c.Name())
	assert.False(t, c.Uncompressed())
	assert.Nil(t, c.Options(), "mksquashfs writes no gzip record for level 9 / window 15")
	assert.Equal(t, 9, c.(*gzipCompressor).level)
}

// TestOptionsRecordsRoundTrip: the record Parse's compressor writes makes
// ForImage rebuild an equivalent compressor (same record).
func TestOptionsRecordsRoundTrip(t *testing.T) {
	for _, spec := range []string{"gzip", "gzip -Xcompression-level 3", "zstd", "zstd -Xcompression-level 19", "lz4", "lz4 -Xhc"} {
		t.Run(spec, func(t *testing.T) {
			c, err := Parse(spec, 128<<10)
			require.NoError(t, err)
			r, err := ForImage(c.ID(), c.Options(), 128<<10)
			require.NoError(t, err)
			assert.Equal(t, c.Name(), r.Name())
			assert.Equal(t, c.Options(), r.Options())
		})
	}
}

func TestForImageRejects(t *testing.T) {
	tests := []struct {
		id      ID
		record  []byte
		wantErr error
		text    string
	}{
		{LZO, nil, ErrUnsupported, "lzo"},
		{LZMA, nil, ErrUnsupported, "lzma"},
		{ID(0), nil, ErrUnsupported, "id 0"},
		{ID(99), nil, ErrUnsupported, "id 99"},
		{LZ4, nil, ErrBadOption, "must carry"},
		{LZ4, []byte{2, 0, 0, 0, 0, 0, 0, 0}, ErrBadOption, "version 2"},
		{LZ4, []byte{1, 0, 0, 0, 2, 0, 0, 0}, ErrBadOption, "flags"},
		{LZ4, []byte{1, 0, 0, 0}, ErrBadOption, "4 bytes"},
		{Gzip, []byte{9, 0, 0, 0}, ErrBadOption, "4 bytes"},
		{Gzip, []byte{0, 0, 0, 0, 15, 0, 0, 0}, ErrBadOption, "level 0"},
		{Gzip, []byte{9, 0, 0, 0, 16, 0, 0, 0}, ErrBadOption, "window size 16"},
		{Zstd, []byte{23, 0, 0, 0}, ErrBadOption, "level 23"},
		{Zstd, []byte{1, 0}, ErrBadOption, "2 bytes"},
	}
	for _, tt := range tests {
		_, err := ForImage(tt.id, tt.record, 128<<10)
		require.Error(t, err, "id %d record %x", tt.id, tt.record)
		assert.ErrorIs(t, err, tt.wantErr)
		assert.Contains(t, err.Error(), tt.text)
	}
}

// TestForImageGzipIgnoresNone: the "none" pseudo-compressor shares gzip's id
// but must never be what a reader gets for an image.
func TestForImageGzipIgnoresNone(t *testing.T) {
	for i := 0; i < 20; i++ { // map iteration order varies
		c, err := ForImage(Gzip, nil, 4096)
		require.NoError(t, err)
		assert.Equal(t, "gzip", c.Name())
		assert.False(t, c.Uncompressed())
	}
}

var ctSpecs = []string{"gzip", "gzip -Xcompression-level 1", "zstd", "zstd -Xcompression-level 1", "zstd -Xcompression-level 7", "lz4", "lz4 -Xhc"}

func TestRoundTrip(t *testing.T) {
	for _, spec := range ctSpecs {
		for _, kind := range []string{"text", "random", "zeros"} {
			for _, n := range []int{1, 100, 8192, 128 << 10, 1 << 20} {
				c, err := Parse(spec, 1<<20)
				require.NoError(t, err)
				src := ctData(kind, n)
				comp, err := c.Compress(nil, src)
				require.NoError(t, err, "%s %s %d", spec, kind, n)
				if kind != "random" && n >= 8192 {
					assert.Less(t, len(comp), n/2, "%s should compress %s", spec, kind)
				}
				out, err := c.Decompress(nil, comp, n)
				require.NoError(t, err, "%s %s %d", spec, kind, n)
				require.True(t, bytes.Equal(src, out), "%s %s %d: round trip differs", spec, kind, n)

				// The limit is exact: one byte less must fail.
				_, err = c.Decompress(nil, comp, n-1)
				require.Error(t, err, "%s %s %d with limit n-1", spec, kind, n)
			}
		}
	}
}

func TestCompressReusesDstAndIsDeterministic(t *testing.T) {
	src := ctData("text", 100000)
	for _, spec := range ctSpecs {
		c, err := Parse(spec, 128<<10)
		require.NoError(t, err)
		a, err := c.Compress(nil, src)
		require.NoError(t, err)
		buf := make([]byte, 5, 1<<18)
		b, err := c.Compress(buf, src)
		require.NoError(t, err)
		assert.Equal(t, a, b, spec)
		assert.Same(t, &buf[:1][0], &b[:1][0], "%s: Compress should append to dst[:0] when it has room", spec)
	}
}

func TestDecompressRejectsGarbage(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, spec := range []string{"gzip", "zstd", "lz4"} {
		c, err := Parse(spec, 128<<10)
		require.NoError(t, err)
		good, err := c.Compress(nil, ctData("text", 50000))
		require.NoError(t, err)
		for i := 0; i < 300; i++ {
			bad := append([]byte(nil), good...)
			switch i % 3 {
			case 0:
				bad = bad[:r.Intn(len(bad))]
			case 1:
				for j := 0; j < 4; j++ {
					bad[r.Intn(len(bad))] ^= byte(1 + r.Intn(255))
				}
			case 2:
				bad = make([]byte, r.Intn(200))
				r.Read(bad)
			}
			out, err := c.Decompress(nil, bad, 50000)
			// Corruption that survives decoding (lz4 has no checksum) must
			// still respect the limit.
			if err == nil {
				assert.LessOrEqual(t, len(out), 50000)
			}
		}
	}
}

func TestDecompressLimitIsEnforcedBeforeAllocating(t *testing.T) {
	big := ctData("zeros", 4<<20) // more than any squashfs block
	for _, spec := range []string{"gzip", "zstd", "lz4"} {
		c, err := Parse(spec, 1<<20)
		require.NoError(t, err)
		comp, err := c.Compress(nil, big)
		require.NoError(t, err)
		_, err = c.Decompress(nil, comp, 8192)
		require.Error(t, err, spec)
		assert.True(t, errors.Is(err, ErrTooLarge) || errors.Is(err, ErrCorrupt), "%s: %v", spec, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	for _, spec := range ctSpecs {
		c, err := Parse(spec, 128<<10)
		require.NoError(t, err)
		want := make([][]byte, 8)
		for i := range want {
			want[i], err = c.Compress(nil, ctData("text", 20000+i*1000))
			require.NoError(t, err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for k := 0; k < 8; k++ {
					i := (g + k) % 8
					src := ctData("text", 20000+i*1000)
					got, err := c.Compress(nil, src)
					if err != nil {
						errs <- err
						return
					}
					if !bytes.Equal(got, want[i]) {
						errs <- errors.New(spec + ": concurrent Compress gave different bytes")
						return
					}
					out, err := c.Decompress(nil, got, len(src))
					if err != nil || !bytes.Equal(out, src) {
						errs <- errors.New(spec + ": concurrent Decompress failed")
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func TestNoneStoresRaw(t *testing.T) {
	c, err := Parse("none", 128<<10)
	require.NoError(t, err)
	src := ctData("text", 1000)
	out, err := c.Compress(nil, src)
	require.NoError(t, err)
	assert.Equal(t, src, out)
	assert.Nil(t, c.Options())
	// A compressed block in a gzip-named image is zlib, whoever wrote it.
	z, err := Default().Compress(nil, src)
	require.NoError(t, err)
	d, err := c.Decompress(nil, z, len(src))
	require.NoError(t, err)
	assert.Equal(t, src, d)
}

// TestOptionsRecordMatchesMksquashfs: for the same settings, mksquashfs
// writes exactly the options record our compressor returns (and none where
// we return nil). The record follows the 96-byte superblock as an
// uncompressed metadata block when flag 0x0400 is set (format.adoc "The
// Superblock", "Compression Options").
func TestOptionsRecordMatchesMksquashfs(t *testing.T) {
	mk := testutil.RequireTool(t, "mksquashfs")
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), ctData("text", 1000), 0o644))
	for _, spec := range []string{"gzip", "gzip -Xcompression-level 9", "gzip -Xcompression-level 3", "gzip -Xcompression-level 5 -Xwindow-size 15",
		"zstd", "zstd -Xcompression-level 15", "zstd -Xcompression-level 19", "zstd -Xcompression-level 1", "lz4", "lz4 -Xhc"} {
		c, err := Parse(spec, 128<<10)
		require.NoError(t, err)
		img := filepath.Join(t.TempDir(), "img")
		args := append([]string{src, img, "-noappend", "-quiet", "-no-progress", "-comp"}, strings.Fields(spec)...)
		out, err := exec.Command(mk, args...).CombinedOutput()
		require.NoError(t, err, "%s: %s", spec, out)
		data, err := os.ReadFile(img)
		require.NoError(t, err)
		require.Greater(t, len(data), 98)
		assert.Equal(t, uint16(c.ID()), binary.LittleEndian.Uint16(data[20:]), "%s: compressor id", spec)
		var record []byte
		if binary.LittleEndian.Uint16(data[24:])&0x0400 != 0 {
			hdr := binary.LittleEndian.Uint16(data[96:])
			require.NotZero(t, hdr&0x8000, "%s: the record is stored uncompressed", spec)
			n := int(hdr & 0x7FFF)
			record = data[98 : 98+n]
		}
		assert.Equal(t, record, c.Options(), "%s: options record", spec)
	}
}
