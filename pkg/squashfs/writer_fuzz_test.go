package squashfs

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// wtFuzzOp decodes a fuzz input into writer operations: each op takes 4
// bytes (kind, name selector, mode selector, size selector).
type wtFuzzState struct {
	files map[string][]byte // regular files added, by name
	dirs  map[string]bool
	links map[string]string // symlinks
	hard  map[string]string // hard link -> target
}

var wtFuzzNames = []string{"a", "b", "a/b", "a/c", "b/x", "dd/ee/ff", "é", "a/b/c", strings.Repeat("n", 255), "z"}

// FuzzWriterRoundTrip writes random trees (any order, implicit parents,
// duplicates and invalid operations included) and, when the writer accepts
// them, reads the image back with this package's Reader (an independent
// decoder) and compares every entry: type, mode, size, contents, targets.
// The writer must never panic, whatever the input.
func FuzzWriterRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 1, 3, 1, 2, 0, 0, 2, 4, 2, 1})
	f.Add([]byte{0, 2, 1, 200, 0, 3, 1, 9, 3, 9, 0, 0, 4, 1, 0, 0})
	f.Add([]byte{0, 8, 7, 255, 0, 9, 7, 255, 5, 6, 0, 0, 1, 5, 3, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 400 {
			return
		}
		buf := &wtTruncBuffer{}
		w, err := NewWriter(buf, Options{BlockSize: 4096, Workers: 1 + len(in)%3})
		require.NoError(t, err)
		st := wtFuzzState{files: map[string][]byte{}, dirs: map[string]bool{}, links: map[string]string{}, hard: map[string]string{}}
		failed := false
		for i := 0; i+4 <= len(in) && !failed; i += 4 {
			name := wtFuzzNames[int(in[i+1])%len(wtFuzzNames)]
			mode := fs.FileMode(in[i+2]) * 0o13 & 0o777
			var err error
			switch in[i] % 6 {
			case 0, 1: // regular file; sizes around block multiples
				size := int(in[i+3]) * 97
				if in[i+3]%5 == 0 {
					size = int(in[i+3]/5) * 4096
				}
				data := bytes.Repeat([]byte{in[i+3], byte(i)}, size/2+1)[:size]
				if in[i+3]%3 == 0 {
					data = make([]byte, size) // sparse blocks, duplicates
				}
				err = w.WriteHeader(&Header{Name: name, Mode: mode, Size: int64(size)})
				if err == nil {
					_, err = w.Write(data)
					st.files[name] = data
				}
			case 2:
				err = w.WriteHeader(&Header{Name: name, Type: TypeDir, Mode: mode})
				if err == nil {
					st.dirs[name] = true
				}
			case 3:
				target := fmt.Sprintf("/nix/store/%d", in[i+3])
				err = w.WriteHeader(&Header{Name: name, Type: TypeSymlink, Mode: 0o777, Linkname: target})
				if err == nil {
					st.links[name] = target
				}
			case 4:
				target := wtFuzzNames[int(in[i+3])%len(wtFuzzNames)]
				err = w.WriteHeader(&Header{Name: name, Type: TypeLink, Linkname: target})
				if err == nil {
					st.hard[name] = target
				}
			case 5:
				err = w.WriteHeader(&Header{Name: name, Type: TypeFifo, Mode: mode})
			}
			failed = err != nil
		}
		err = w.Close()
		if failed {
			require.Error(t, err, "sticky error reported by Close")
			return
		}
		require.NoError(t, err)
		r, err := NewReader(bytes.NewReader(buf.b), int64(len(buf.b)))
		require.NoError(t, err)
		for name, data := range st.files {
			f, err := r.Open(name)
			require.NoError(t, err, name)
			got, err := io.ReadAll(f)
			require.NoError(t, err, name)
			require.True(t, bytes.Equal(data, got), "contents of %s", name)
			require.NoError(t, f.Close())
		}
		for name := range st.dirs {
			info, err := r.Lstat(name)
			require.NoError(t, err, name)
			require.True(t, info.IsDir(), name)
		}
		for name, target := range st.links {
			got, err := r.ReadLink(name)
			require.NoError(t, err, name)
			require.Equal(t, target, got)
		}
		for name, target := range st.hard {
			a, err := r.Lstat(name)
			require.NoError(t, err, name)
			b, err := r.Lstat(target)
			require.NoError(t, err, target)
			require.Equal(t, b.Mode(), a.Mode())
			require.Equal(t, b.Size(), a.Size())
		}
	})
}
