package lzma

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// TestRatioVsLiblzma guards the point of this package: on 1 MiB blocks of
// executables and of text, the output is no larger than liblzma's preset 6
// (what mksquashfs -comp xz uses) beyond a small tolerance.
func TestRatioVsLiblzma(t *testing.T) {
	if testing.Short() {
		t.Skip("compresses several MiB")
	}
	xz := testutil.RequireTool(t, "xz")
	e, err := NewEncoder(Options{DictSize: 1 << 20})
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"elf", elfBytes(t, 1<<20)},
		{"text", textBytes(21, 1<<20)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ours, err := e.EncodeLZMA2(nil, c.data)
			require.NoError(t, err)
			cmd := exec.Command(xz, "-c", "--format=raw", "--lzma2=preset=6,dict=1MiB")
			cmd.Stdin = bytes.NewReader(c.data)
			lib, err := cmd.Output()
			require.NoError(t, err)
			t.Logf("%s: ours %d, liblzma %d (%.4f)", c.name, len(ours), len(lib), float64(len(ours))/float64(len(lib)))
			assert.LessOrEqual(t, float64(len(ours)), 1.003*float64(len(lib)), "larger than liblzma preset 6")
			assert.Equal(t, c.data, decodeXZ(t, ours, 1<<20))
		})
	}
}
