package squashfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// format.adoc "Fragment Table": u64 start, u32 size (bit 24 = stored
// uncompressed), u32 unused (0), stored as a lookup table.
func TestEncodeFragmentTable(t *testing.T) {
	got := encodeFragmentTable([]fragEntry{
		{Start: 0x60, Size: 0x1234},
		{Start: 0x1_0000_0000, Size: 0x01000800},
	})
	assert.Equal(t, []byte{
		0x60, 0, 0, 0, 0, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 0, 0, 0, 0x00, 0x08, 0x00, 0x01, 0, 0, 0, 0,
	}, got)
	assert.Empty(t, encodeFragmentTable(nil))
}
