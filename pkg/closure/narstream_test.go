package closure

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// feed walks dir in fs.WalkDir order (what the image build's AddFS does)
// and feeds the stream.
func feed(t *testing.T, s *NarStream, dir string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		switch {
		case fi.IsDir():
			return s.Dir(rel)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			return s.Symlink(rel, target)
		}
		w, err := s.File(rel, fi.Size(), fi.Mode()&0o100 != 0)
		require.NoError(t, err)
		f, err := os.Open(p)
		require.NoError(t, err)
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}))
}

func TestNarStreamMatchesNix(t *testing.T) {
	s := NewNarStream()
	feed(t, s, "testdata/tree")
	require.NoError(t, Entry{Path: pA, NarHash: treeHash32, NarSize: treeNarSize}.Check(s))

	s = NewNarStream()
	feed(t, s, "testdata/file")
	require.NoError(t, Entry{Path: pB, NarHash: fileHash32}.Check(s))

	s = NewNarStream()
	feed(t, s, "testdata/file")
	err := Entry{Path: pB, NarHash: treeHash32}.Check(s)
	require.ErrorIs(t, err, ErrNarHashMismatch)
	assert.Contains(t, err.Error(), pB)
}

func TestNarStreamRejectsDisorder(t *testing.T) {
	s := NewNarStream()
	require.NoError(t, s.Dir("."))
	require.NoError(t, s.Symlink("b", "x"))
	err := s.Symlink("a", "x") // "a" after "b": not NAR order
	if err == nil {
		_, _, err = s.Sum()
	}
	require.Error(t, err)
	err = Entry{Path: pA, NarHash: treeHash32}.Check(s)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNarHashMismatch, "a broken stream is an error of its own, never a comparison")
	assert.Contains(t, err.Error(), pA)

	s = NewNarStream()
	w, err := s.File(".", 3, false)
	require.NoError(t, err)
	_, err = w.Write([]byte("four"))
	assert.Error(t, err, "more bytes than the header said")
	s.Abort()
}
