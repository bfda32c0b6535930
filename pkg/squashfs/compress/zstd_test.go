package compress

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// format.adoc "Compression Options" / ZSTD: compression_level u32, default
// 15 (then mksquashfs writes no record).
func TestZstdOptionsRecordBytes(t *testing.T) {
	c, err := Parse("zstd", 1<<20)
	require.NoError(t, err)
	assert.Nil(t, c.Options())
	c, err = Parse("zstd -Xcompression-level 15", 1<<20)
	require.NoError(t, err)
	assert.Nil(t, c.Options())

	c, err = Parse("zstd -Xcompression-level 19", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x13, 0x00, 0x00, 0x00}, c.Options())

	r, err := ForImage(Zstd, []byte{0x03, 0, 0, 0}, 4096)
	require.NoError(t, err)
	assert.Equal(t, 3, r.(*zstdCompressor).Level())
}

// TestZstdFrameHeader: RFC 8878 frame header: magic, then the Frame Header
// Descriptor with Single_Segment_flag (bit 5) set so the window is the
// content size (the kernel's decoder window is the block size), and no
// Content_Checksum_flag (bit 2).
func TestZstdFrameHeader(t *testing.T) {
	for _, n := range []int{100, 4096, 128 << 10, 1 << 20} {
		c, err := Parse("zstd", 1<<20)
		require.NoError(t, err)
		out, err := c.Compress(nil, ctData("text", n))
		require.NoError(t, err)
		require.Greater(t, len(out), 5)
		assert.Equal(t, []byte{0x28, 0xb5, 0x2f, 0xfd}, out[:4], "zstd magic")
		fhd := out[4]
		assert.NotZero(t, fhd&0x20, "single segment for %d bytes", n)
		assert.Zero(t, fhd&0x04, "no content checksum")
		assert.Zero(t, fhd&0x03, "no dictionary id")
	}
}

func TestZstdInteropCLI(t *testing.T) {
	zstdCLI := testutil.RequireTool(t, "zstd")
	dir := t.TempDir()
	src := ctData("text", 1<<20)
	for _, spec := range []string{"zstd", "zstd -Xcompression-level 1", "zstd -Xcompression-level 22"} {
		c, err := Parse(spec, 1<<20)
		require.NoError(t, err)
		comp, err := c.Compress(nil, src)
		require.NoError(t, err)
		f := filepath.Join(dir, "our.zst")
		require.NoError(t, os.WriteFile(f, comp, 0o644))
		out, err := exec.Command(zstdCLI, "-q", "-d", "-c", f).Output()
		require.NoError(t, err, "zstd -d on our %s frame", spec)
		assert.True(t, bytes.Equal(src, out), "zstd decoded our %s frame differently", spec)
	}
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, src, 0o644))
	for _, level := range []string{"-1", "-19", "--ultra -22"} {
		args := append([]string{"-q", "-c", "--no-check"}, strings.Fields(level)...)
		comp, err := exec.Command(zstdCLI, append(args, plain)...).Output()
		require.NoError(t, err)
		c, _ := Parse("zstd", 1<<20)
		out, err := c.Decompress(nil, comp, len(src))
		require.NoError(t, err, "our decoder on zstd %s", level)
		assert.True(t, bytes.Equal(src, out))
	}
}

// TestZstdEncodersBoundedByConcurrency: sequential use keeps one encoder;
// concurrent use keeps at most one per concurrent caller.
func TestZstdEncodersBoundedByConcurrency(t *testing.T) {
	c, err := Parse("zstd -Xcompression-level 1", 128<<10)
	require.NoError(t, err)
	z := c.(*zstdCompressor)
	src := ctData("text", 10000)
	for i := 0; i < 5; i++ {
		_, err := c.Compress(nil, src)
		require.NoError(t, err)
	}
	assert.Len(t, z.idle, 1)
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				_, _ = c.Compress(nil, src)
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, len(z.idle), 3)
	assert.GreaterOrEqual(t, len(z.idle), 1)
}

// TestZstdEveryLevelRoundTrips: each level writes frames the shared
// (klauspost) decoder reads back with the encoder kind its table names
// (pooled: one idle encoder after one call).
func TestZstdEveryLevelRoundTrips(t *testing.T) {
	src := ctData("text", 300<<10)
	for level := 1; level <= zstdMaxLevel; level++ {
		c, err := Parse("zstd -Xcompression-level "+strconv.Itoa(level), 1<<20)
		require.NoError(t, err)
		comp, err := c.Compress(nil, src)
		require.NoError(t, err, "level %d", level)
		require.Less(t, len(comp), len(src)/2, "level %d", level)
		out, err := c.Decompress(nil, comp, len(src))
		require.NoError(t, err, "level %d", level)
		require.True(t, bytes.Equal(src, out), "level %d", level)
		z := c.(*zstdCompressor)
		require.Len(t, z.idle, 1, "level %d", level)
		_, fast := zstdFastLevels[level]
		_, hash := zstdHashLevels[level]
		require.False(t, fast && hash, "level %d in two tables", level)
		switch z.idle[0].(type) {
		case fastZstd:
			assert.True(t, fast, "level %d: fast encoder not in the table", level)
		case optimalZstd:
			assert.False(t, fast || hash, "level %d", level)
			assert.GreaterOrEqual(t, level, zstdOwnFrom)
		case hashZstd:
			assert.True(t, hash, "level %d: hash encoder not in the table", level)
		default:
			t.Fatalf("level %d: encoder %T", level, z.idle[0])
		}
	}
}

// TestZstdSizesShrinkWithLevel: on real data (this package's Go sources),
// no level up to the last fast one (15) writes more than the level below.
// (The optimal parser's cheapest settings, at 14-16, are smaller than the
// fast encoder's deepest on the bench tree but not on short text.)
func TestZstdSizesShrinkWithLevel(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var src []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		src = append(src, b...)
	}
	src = src[:min(len(src), 1<<20)]
	prev := len(src)
	for level := 1; level <= 15; level++ {
		c, err := Parse("zstd -Xcompression-level "+strconv.Itoa(level), 1<<20)
		require.NoError(t, err)
		comp, err := c.Compress(nil, src)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(comp), prev, "level %d", level)
		prev = len(comp)
	}
}
