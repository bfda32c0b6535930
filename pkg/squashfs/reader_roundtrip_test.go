package squashfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// TestReaderReadsWriterImages packs the reader's test tree with this
// package's Writer (AddFS over DirFS) and reads it back with the Reader:
// two independent implementations of the format checking each other, for
// every compressor and a few block sizes.
func TestReaderReadsWriterImages(t *testing.T) {
	src := rtSourceTree(t)
	tests := []struct {
		spec      string
		blockSize int
	}{
		{"gzip", 0},
		{"gzip -Xcompression-level 1", 4096},
		{"xz", 1 << 20},
		{"zstd", 64 << 10},
		{"zstd -Xcompression-level 19", 8192},
		{"lz4", 0},
		{"lz4 -Xhc", 4096},
		{"none", 0},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			bs := tt.blockSize
			if bs == 0 {
				bs = DefaultBlockSize
			}
			comp, err := compress.Parse(tt.spec, bs)
			require.NoError(t, err)
			img := filepath.Join(t.TempDir(), "image.sqfs")
			f, err := os.Create(img)
			require.NoError(t, err)
			w, err := NewWriter(f, Options{BlockSize: tt.blockSize, Compressor: comp, ModTime: 1234567890, Workers: 2})
			require.NoError(t, err)
			require.NoError(t, w.AddFS(DirFS(src), AddOptions{}))
			require.NoError(t, w.Close())
			require.NoError(t, f.Close())

			r, err := OpenImage(img)
			require.NoError(t, err)
			defer func() { require.NoError(t, r.Close()) }()
			assert.Equal(t, comp.ID(), r.Compressor().ID())
			assert.Equal(t, uint32(bs), r.Superblock().BlockSize)
			assert.Equal(t, uint32(1234567890), r.Superblock().ModTime)
			x := rtExpect{allRoot: true, mtime: 1234567890}
			rtCompareTreeWith(t, src, r, x)
			rtCheckSemantics(t, r, x)
		})
	}
}
