package squashfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// format.adoc "ID Table": a lookup table of u32 ids; inodes hold 16-bit
// indexes into it.
func TestIDTable(t *testing.T) {
	tab, err := newIDTable([]uint32{1000, 0, 1000, 65534, 0})
	require.NoError(t, err)
	assert.Equal(t, []byte{
		0, 0, 0, 0, // 0
		0xE8, 0x03, 0, 0, // 1000
		0xFE, 0xFF, 0, 0, // 65534
	}, tab.encode())
	assert.Equal(t, uint16(0), tab.lookup(0))
	assert.Equal(t, uint16(1), tab.lookup(1000))
	assert.Equal(t, uint16(2), tab.lookup(65534))

	many := make([]uint32, 0x10000)
	for i := range many {
		many[i] = uint32(i)
	}
	_, err = newIDTable(many)
	assert.Error(t, err, "the superblock's id count is a u16")
}
