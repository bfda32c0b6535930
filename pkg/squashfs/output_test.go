package squashfs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The output keeps the image's byte order whatever the mix of small
// (buffered) and large (written through) writes and rollbacks.
func TestImageOutputOrder(t *testing.T) {
	buf := &wtTruncBuffer{}
	o, err := newImageOutput(buf)
	require.NoError(t, err)
	var want []byte
	write := func(p []byte) {
		_, err := o.Write(p)
		require.NoError(t, err)
		want = append(want, p...)
	}
	write([]byte("head"))
	write(bytes.Repeat([]byte{1}, outputBufferSize/2)) // large: must follow "head"
	write([]byte("small"))
	write(bytes.Repeat([]byte{2}, outputBufferSize-3)) // fills past the buffer
	require.Equal(t, int64(len(want)), o.pos())

	// Roll back inside the buffer, then across a flushed part.
	write([]byte("dropped"))
	require.NoError(t, o.rollback(o.pos()-7))
	want = want[:len(want)-7]
	mark := o.pos()
	write(bytes.Repeat([]byte{3}, outputBufferSize/2+10))
	require.NoError(t, o.rollback(mark))
	want = want[:mark]
	write([]byte("tail"))
	require.NoError(t, o.finish(o.pos(), []byte("HE")))
	want[0], want[1] = 'H', 'E'
	assert.True(t, bytes.Equal(want, buf.b), "image bytes in order")
	assert.Equal(t, int64(len(want)), buf.off)
}
