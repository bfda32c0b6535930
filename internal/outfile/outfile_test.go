package outfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommitRenames(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "img.raw")
	f, err := Create(dest, 0o644)
	require.NoError(t, err)
	defer f.Abort()
	_, err = f.WriteString("data")
	require.NoError(t, err)
	_, err = os.Stat(dest)
	assert.True(t, os.IsNotExist(err), "destination must not exist before Commit")
	require.NoError(t, f.Commit())
	b, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, "data", string(b))
	st, err := os.Stat(dest)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary left beside the output")
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "img.raw")
	require.NoError(t, os.WriteFile(dest, []byte("old"), 0o644))
	f, err := Create(dest, 0o644)
	require.NoError(t, err)
	_, _ = f.WriteString("half")
	f.Abort()
	f.Abort()
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
	b, _ := os.ReadFile(dest)
	assert.Equal(t, "old", string(b), "an aborted write must not touch the existing destination")
}

func TestCreateInMissingDir(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "nope", "x.raw"), 0o644)
	assert.ErrorContains(t, err, "nope")
}
