package squashfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A file above 4 GiB needs the extended file inode (64-bit size, format.adoc
// "File Inodes"); its zero blocks are stored sparse, so the image stays
// small. The kernel reads the data past 4 GiB.
func TestWriterFileOver4GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 4 GiB of zeros through the writer")
	}
	const bs = 1 << 20
	const size = 4<<30 + 3*bs/2 + 5 // 4 GiB + 1.5 blocks + 5 bytes: a tail
	tailData := wtText(4, 100)
	buf := &wtTruncBuffer{}
	w, err := NewWriter(buf, Options{BlockSize: bs, Compressor: wtMustParse(t, "zstd", bs)})
	require.NoError(t, err)
	require.NoError(t, w.WriteHeader(&Header{Name: "huge", Mode: 0o644, Size: size}))
	zero := make([]byte, bs)
	for left := int64(size - len(tailData)); left > 0; {
		n, err := w.Write(zero[:min(left, bs)])
		require.NoError(t, err)
		left -= int64(n)
	}
	_, err = w.Write(tailData)
	require.NoError(t, err)
	require.NoError(t, w.WriteHeader(&Header{Name: "small", Mode: 0o644, Size: 3}))
	_, err = w.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Less(t, len(buf.b), 64<<10, "sparse blocks take no space")

	mnt := wtMount(t, buf.b)
	f, err := os.Open(filepath.Join(mnt, "huge"))
	require.NoError(t, err)
	defer f.Close()
	info, err := f.Stat()
	require.NoError(t, err)
	assert.Equal(t, int64(size), info.Size())
	got := make([]byte, 2*bs)
	n, err := f.ReadAt(got, size-int64(len(got)))
	require.NoError(t, err)
	require.Equal(t, len(got), n)
	assert.Equal(t, tailData, got[len(got)-len(tailData):])
	assert.True(t, bytes.Equal(make([]byte, len(got)-len(tailData)), got[:len(got)-len(tailData)]))
	n, err = f.ReadAt(got[:4096], 3<<30)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 4096), got[:n])
	small, err := os.ReadFile(filepath.Join(mnt, "small"))
	require.NoError(t, err)
	assert.Equal(t, "abc", string(small))
}
