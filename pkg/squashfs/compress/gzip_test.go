package compress

import (
	"bytes"
	stdzlib "compress/zlib"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// format.adoc "Compression Options" / GZIP: compression_level u32,
// window_size u16, strategies u16, little endian; absent for the defaults
// (level 9, window 15, no strategies).
func TestGzipOptionsRecordBytes(t *testing.T) {
	c, err := Parse("gzip -Xcompression-level 9", 1<<20)
	require.NoError(t, err)
	assert.Nil(t, c.Options())

	c, err = Parse("gzip -Xcompression-level 6 -Xwindow-size 15", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []byte{
		0x06, 0x00, 0x00, 0x00, // compression_level 6
		0x0f, 0x00, // window_size 15
		0x00, 0x00, // strategies: none (zlib default)
	}, c.Options())

	// An mksquashfs record with a strategy bit still reads (strategies only
	// affect compression).
	r, err := ForImage(Gzip, []byte{0x05, 0, 0, 0, 0x0c, 0, 0x02, 0}, 4096)
	require.NoError(t, err)
	assert.Equal(t, 5, r.(*gzipCompressor).level)
}

// TestGzipIsZlibStream: squashfs "gzip" is a zlib stream (RFC 1950) as the
// kernel's zlib_inflate expects: CMF 0x78 (deflate, 32 KiB window), a
// header checksum, and an Adler-32 trailer.
func TestGzipIsZlibStream(t *testing.T) {
	src := ctData("text", 10000)
	out, err := Default().Compress(nil, src)
	require.NoError(t, err)
	require.Greater(t, len(out), 6)
	assert.Equal(t, byte(0x78), out[0], "CMF: deflate with 2^(7+8) byte window")
	assert.Zero(t, (uint16(out[0])<<8|uint16(out[1]))%31, "FCHECK makes CMF<<8|FLG a multiple of 31")
	assert.Zero(t, out[1]&0x20, "no preset dictionary")
	var a, b uint32 = 1, 0
	for _, c := range src {
		a = (a + uint32(c)) % 65521
		b = (b + a) % 65521
	}
	adler := b<<16 | a
	n := len(out)
	assert.Equal(t, adler, uint32(out[n-4])<<24|uint32(out[n-3])<<16|uint32(out[n-2])<<8|uint32(out[n-1]), "Adler-32 trailer, big endian")
}

// TestGzipInteropZlib checks our streams against the reference zlib (through
// Python's zlib module, a thin binding of it) in both directions.
func TestGzipInteropZlib(t *testing.T) {
	py := testutil.RequireTool(t, "python3")
	src := ctData("text", 300000)
	for _, spec := range []string{"gzip", "gzip -Xcompression-level 1"} {
		c, err := Parse(spec, 1<<20)
		require.NoError(t, err)
		comp, err := c.Compress(nil, src)
		require.NoError(t, err)
		cmd := exec.Command(py, "-c", "import sys,zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))")
		cmd.Stdin = bytes.NewReader(comp)
		out, err := cmd.Output()
		require.NoError(t, err, "zlib.decompress of our %s stream", spec)
		assert.True(t, bytes.Equal(src, out), "zlib decoded our %s stream differently", spec)
	}
	for _, level := range []string{"1", "9"} {
		cmd := exec.Command(py, "-c", "import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), "+level+"))")
		cmd.Stdin = bytes.NewReader(src)
		comp, err := cmd.Output()
		require.NoError(t, err)
		out, err := Default().Decompress(nil, comp, len(src))
		require.NoError(t, err, "our decoder on zlib level %s", level)
		assert.True(t, bytes.Equal(src, out))
	}
}

func TestGzipRejectsBadChecksum(t *testing.T) {
	src := ctData("text", 5000)
	comp, err := Default().Compress(nil, src)
	require.NoError(t, err)
	comp[len(comp)-1] ^= 1
	_, err = Default().Decompress(nil, comp, len(src))
	assert.ErrorIs(t, err, ErrCorrupt)
}

// gzipMixed is squashfs-like data: text, a stretch of zeros, random bytes
// and a repeat of the text at a distance.
func gzipMixed() []byte {
	var b []byte
	b = append(b, ctData("text", 60000)...)
	b = append(b, make([]byte, 5000)...)
	b = append(b, ctData("random", 20000)...)
	b = append(b, ctData("text", 30000)[7:]...)
	return b
}

// TestGzipEveryLevelRoundTrip: each level's stream (klauspost's or
// pkg/deflate's) decodes with Go's standard compress/zlib, and is the same
// bytes whether blocks are compressed one after another or at once (pooled
// encoders must not leak state between blocks).
func TestGzipEveryLevelRoundTrip(t *testing.T) {
	inputs := [][]byte{nil, {1}, ctData("text", 70000), gzipMixed(), ctData("random", 40000)}
	for level := 1; level <= 9; level++ {
		c, err := Parse("gzip -Xcompression-level "+strconv.Itoa(level), 1<<20)
		require.NoError(t, err)
		want := make([][]byte, len(inputs))
		for i, src := range inputs {
			out, err := c.Compress(nil, src)
			require.NoError(t, err)
			zr, err := stdzlib.NewReader(bytes.NewReader(out))
			require.NoError(t, err, "level %d input %d", level, i)
			back, err := io.ReadAll(zr)
			require.NoError(t, err, "level %d input %d", level, i)
			assert.True(t, bytes.Equal(src, back), "level %d input %d: standard zlib decodes other bytes", level, i)
			want[i] = out
		}
		var wg sync.WaitGroup
		got := make([][]byte, len(inputs))
		for i, src := range inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], _ = c.Compress(nil, src)
			}()
		}
		wg.Wait()
		assert.Equal(t, want, got, "level %d: concurrent compression gave other bytes", level)
	}
}

// realData is a squashfs-like block from files every test run has: part of
// the test binary (machine code and tables) and this package's Go sources.
func realData(t *testing.T) []byte {
	exe, err := os.Executable()
	require.NoError(t, err)
	bin, err := os.ReadFile(exe)
	require.NoError(t, err)
	require.Greater(t, len(bin), 1<<20)
	data := append([]byte{}, bin[len(bin)/2:len(bin)/2+400000]...)
	srcs, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range srcs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		data = append(data, b...)
	}
	return data
}

// TestGzipHighLevelsSmaller: levels 6..9 (pkg/deflate) never grow with the
// level on real data, and level 9 beats the reference zlib's level 9
// (through Python's zlib module) on the same data.
func TestGzipHighLevelsSmaller(t *testing.T) {
	src := realData(t)
	prev := len(src) + 100
	for level := 6; level <= 9; level++ {
		c, err := Parse("gzip -Xcompression-level "+strconv.Itoa(level), 1<<20)
		require.NoError(t, err)
		out, err := c.Compress(nil, src)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(out), prev, "level %d larger than level %d", level, level-1)
		t.Logf("level %d: %d bytes", level, len(out))
		prev = len(out)
	}
	py := testutil.RequireTool(t, "python3")
	cmd := exec.Command(py, "-c", "import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), 9))")
	cmd.Stdin = bytes.NewReader(src)
	ref, err := cmd.Output()
	require.NoError(t, err)
	assert.Less(t, prev, len(ref), "level 9: %d bytes, zlib 9: %d", prev, len(ref))
	t.Logf("zlib 9: %d bytes", len(ref))
}
