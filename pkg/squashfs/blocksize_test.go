package squashfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBlockSize(t *testing.T) {
	for in, want := range map[string]int{
		"4K": 4096, "4096": 4096, "128K": 131072, "131072": 131072, "1M": 1048576, "1m": 1048576, " 64k ": 65536,
	} {
		got, err := ParseBlockSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "M", "2M", "2048", "3K", "100000", "-4K", "1.5M", "1G", "99999999999999999999"} {
		_, err := ParseBlockSize(in)
		assert.Error(t, err, in)
	}
}
