package compress

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// format.adoc "Compression Options" / LZ4: version u32 (must be 1), flags
// u32 (1 = HC). Always present: the kernel's lz4_wrapper.c refuses to mount
// an lz4 image without it.
func TestLZ4OptionsRecordBytes(t *testing.T) {
	c, err := Parse("lz4", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x01, 0, 0, 0, 0x00, 0, 0, 0}, c.Options())

	c, err = Parse("lz4 -Xhc", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x01, 0, 0, 0, 0x01, 0, 0, 0}, c.Options())

	r, err := ForImage(LZ4, []byte{0x01, 0, 0, 0, 0x01, 0, 0, 0}, 4096)
	require.NoError(t, err)
	assert.True(t, r.(*lz4Compressor).hc)
}

// The lz4 CLI reads and writes the "legacy" frame: magic 0x184C2102, then
// per 8 MiB of input a u32 compressed size and one raw LZ4 block - exactly
// the raw block squashfs stores. That lets the reference tool check our
// blocks in both directions.
const ctLZ4LegacyMagic = 0x184C2102

func TestLZ4InteropCLI(t *testing.T) {
	lz4CLI := testutil.RequireTool(t, "lz4")
	dir := t.TempDir()
	src := ctData("text", 1<<20)
	for _, spec := range []string{"lz4", "lz4 -Xhc"} {
		c, err := Parse(spec, 1<<20)
		require.NoError(t, err)
		block, err := c.Compress(nil, src)
		require.NoError(t, err)
		var frame []byte
		frame = binary.LittleEndian.AppendUint32(frame, ctLZ4LegacyMagic)
		frame = binary.LittleEndian.AppendUint32(frame, uint32(len(block)))
		frame = append(frame, block...)
		f := filepath.Join(dir, "our.lz4")
		require.NoError(t, os.WriteFile(f, frame, 0o644))
		out, err := exec.Command(lz4CLI, "-q", "-d", "-c", f).Output()
		require.NoError(t, err, "lz4 -d on our %s block", spec)
		assert.True(t, bytes.Equal(src, out), "lz4 decoded our %s block differently", spec)
	}
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, src, 0o644))
	for _, level := range []string{"-1", "-9", "-12"} {
		frame, err := exec.Command(lz4CLI, "-q", "-l", level, "-c", plain).Output()
		require.NoError(t, err)
		require.Greater(t, len(frame), 8)
		require.Equal(t, uint32(ctLZ4LegacyMagic), binary.LittleEndian.Uint32(frame))
		size := binary.LittleEndian.Uint32(frame[4:])
		require.Equal(t, int(size), len(frame)-8, "one block for 1 MiB")
		c, _ := Parse("lz4", 1<<20)
		out, err := c.Decompress(nil, frame[8:], len(src))
		require.NoError(t, err, "our decoder on lz4 %s", level)
		assert.True(t, bytes.Equal(src, out))
	}
}
