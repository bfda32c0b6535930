package squashfs

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

func wtZlib(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	return plain
}

// format.adoc "Data and Fragment Blocks": blocks of a file are stored back
// to back from blocks start; the size word holds the on-disk size with bit
// 24 set for a block stored uncompressed; size 0 is a block of zeros with no
// data on disk.
func TestBlockPipeline(t *testing.T) {
	const bs = 4096
	buf := &wtTruncBuffer{}
	out, err := newImageOutput(buf)
	require.NoError(t, err)
	p := newBlockPipeline(out, compress.Default(), bs, 3)

	zero := make([]byte, bs)
	rnd := wtRandom(3, bs)
	text := wtText(2, bs)
	submitFile := func(blocks ...[]byte) *treeNode {
		n := &treeNode{blocks: make([]uint32, 0, len(blocks))}
		for _, data := range blocks {
			b := p.get(kindData)
			b.in = append(b.in, data...)
			b.node = n
			p.submit(b)
		}
		return n
	}
	n1 := submitFile(zero, rnd, text)
	n2 := submitFile(zero, rnd, text) // duplicate: rolled back
	n3 := submitFile(text)            // shares no file, but its single block is new
	fb := p.get(kindFragment)
	fb.in = append(fb.in, "tail one|tail two"...)
	p.submit(fb)
	require.NoError(t, p.shutdown())
	require.NoError(t, out.flush())
	img := buf.b

	require.Len(t, n1.blocks, 3)
	assert.Equal(t, uint32(0), n1.blocks[0], "zero block is sparse")
	assert.Equal(t, uint32(bs|1<<24), n1.blocks[1], "incompressible block stored raw")
	require.Less(t, n1.blocks[2], uint32(bs), "text block compressed")
	assert.Equal(t, uint64(0), n1.start)
	assert.Equal(t, rnd, img[0:bs])
	assert.Equal(t, text, wtZlib(t, img[bs:bs+int(n1.blocks[2])]))

	assert.Equal(t, n1.start, n2.start, "duplicate shares the blocks")
	assert.Equal(t, n1.blocks, n2.blocks)

	end1 := uint64(bs) + uint64(n1.blocks[2])
	assert.Equal(t, end1, n3.start, "n3 is written where the rolled back duplicate was")
	assert.Equal(t, n1.blocks[2], n3.blocks[0])

	require.Len(t, p.frags, 1)
	f := p.frags[0]
	assert.Equal(t, n3.start+uint64(n3.blocks[0]), f.Start)
	assert.Equal(t, "tail one|tail two", string(img[f.Start:f.Start+uint64(f.Size&^(1<<24))]), "short fragment stored raw")
	assert.NotZero(t, f.Size&(1<<24))
	assert.Equal(t, int(f.Start)+17, len(img), "nothing after the fragment")
}

// The "none" compressor stores every block raw (bit 24), sparse blocks
// still sparse.
func TestBlockPipelineUncompressed(t *testing.T) {
	buf := &wtTruncBuffer{}
	out, err := newImageOutput(buf)
	require.NoError(t, err)
	none, err := compress.Parse("none", 4096)
	require.NoError(t, err)
	p := newBlockPipeline(out, none, 4096, 1)
	n := &treeNode{blocks: make([]uint32, 0, 2)}
	for _, data := range [][]byte{wtText(1, 4096), make([]byte, 4096)} {
		b := p.get(kindData)
		b.in = append(b.in, data...)
		b.node = n
		p.submit(b)
	}
	require.NoError(t, p.shutdown())
	require.NoError(t, out.flush())
	assert.Equal(t, []uint32{4096 | 1<<24, 0}, n.blocks)
	assert.Equal(t, wtText(1, 4096), buf.b)
}
