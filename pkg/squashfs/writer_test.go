package squashfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func wtSuperblock(t *testing.T, img []byte) Superblock {
	t.Helper()
	var sb Superblock
	require.NoError(t, sb.UnmarshalBinary(img))
	return sb
}

func TestWriterNameValidation(t *testing.T) {
	bad := []string{
		"/abs", "a/", "a//b", "./a", "a/./b", "a/../b", "..", "a/..",
		"nul\x00byte", strings.Repeat("x", 256), "d/" + strings.Repeat("y", 256),
	}
	for _, name := range bad {
		w, err := NewWriter(&wtTruncBuffer{}, Options{})
		require.NoError(t, err)
		err = w.WriteHeader(&Header{Name: name, Type: TypeDir})
		assert.ErrorIs(t, err, ErrInvalidName, "%q", name)
		assert.ErrorIs(t, w.Close(), ErrInvalidName, "sticky")
	}
	// 255-byte components and UTF-8 are fine.
	img := wtBuild(t, Options{}, []wtEntry{
		wtFile(strings.Repeat("x", 255)+"/"+strings.Repeat("é", 127), 0o644, []byte("x")),
	})
	assert.Equal(t, uint32(3), wtSuperblock(t, img).Inodes)
}

func TestWriterErrorsAreSticky(t *testing.T) {
	cases := []struct {
		name string
		run  func(w *Writer) error
		want error
	}{
		{"duplicate file", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "a"}))
			return w.WriteHeader(&Header{Name: "a", Type: TypeDir})
		}, ErrDuplicate},
		{"duplicate explicit dir", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "d", Type: TypeDir}))
			return w.WriteHeader(&Header{Name: "d", Type: TypeDir})
		}, ErrDuplicate},
		{"implicit dir then file", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "d/x"}))
			return w.WriteHeader(&Header{Name: "d"})
		}, ErrDuplicate},
		{"root twice", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: ".", Type: TypeDir}))
			return w.WriteHeader(&Header{Name: "", Type: TypeDir})
		}, ErrDuplicate},
		{"root not a dir", func(w *Writer) error { return w.WriteHeader(&Header{Name: "."}) }, ErrInvalidHeader},
		{"parent is a file", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "f"}))
			return w.WriteHeader(&Header{Name: "f/x"})
		}, ErrParentNotDir},
		{"short write", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "f", Size: 10}))
			_, err := w.Write([]byte("12345"))
			require.NoError(t, err)
			return w.WriteHeader(&Header{Name: "g"})
		}, ErrShortWrite},
		{"short write at close", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "f", Size: 10}))
			return w.Close()
		}, ErrShortWrite},
		{"write too long", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "f", Size: 3}))
			n, err := w.Write([]byte("12345"))
			assert.Equal(t, 3, n)
			return err
		}, ErrWriteTooLong},
		{"write to a directory", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "d", Type: TypeDir}))
			_, err := w.Write([]byte("x"))
			return err
		}, ErrWriteTooLong},
		{"hard link to missing", func(w *Writer) error {
			return w.WriteHeader(&Header{Name: "l", Type: TypeLink, Linkname: "nope"})
		}, ErrInvalidHeader},
		{"hard link to dir", func(w *Writer) error {
			require.NoError(t, w.WriteHeader(&Header{Name: "d", Type: TypeDir}))
			return w.WriteHeader(&Header{Name: "l", Type: TypeLink, Linkname: "d"})
		}, ErrInvalidHeader},
		{"empty symlink", func(w *Writer) error {
			return w.WriteHeader(&Header{Name: "s", Type: TypeSymlink})
		}, ErrInvalidHeader},
		{"long symlink", func(w *Writer) error {
			return w.WriteHeader(&Header{Name: "s", Type: TypeSymlink, Linkname: strings.Repeat("a", 4096)})
		}, ErrInvalidHeader},
		{"device major", func(w *Writer) error {
			return w.WriteHeader(&Header{Name: "c", Type: TypeChar, Devmajor: 4096})
		}, ErrInvalidHeader},
		{"device minor", func(w *Writer) error {
			return w.WriteHeader(&Header{Name: "c", Type: TypeBlock, Devminor: 1 << 20})
		}, ErrInvalidHeader},
		{"negative size", func(w *Writer) error { return w.WriteHeader(&Header{Name: "f", Size: -1}) }, ErrInvalidHeader},
		{"unknown type", func(w *Writer) error { return w.WriteHeader(&Header{Name: "f", Type: 99}) }, ErrInvalidHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := NewWriter(&wtTruncBuffer{}, Options{BlockSize: 4096})
			require.NoError(t, err)
			err = c.run(w)
			require.ErrorIs(t, err, c.want)
			assert.ErrorIs(t, w.WriteHeader(&Header{Name: "later"}), c.want, "sticky")
			_, werr := w.Write([]byte("x"))
			assert.ErrorIs(t, werr, c.want, "sticky")
			assert.ErrorIs(t, w.Close(), c.want, "Close reports it")
			assert.ErrorIs(t, w.Close(), c.want, "and keeps reporting it")
		})
	}
}

func TestWriterErrorNamesPath(t *testing.T) {
	w, err := NewWriter(&wtTruncBuffer{}, Options{})
	require.NoError(t, err)
	require.NoError(t, w.WriteHeader(&Header{Name: "usr/bin/tool", Size: 2}))
	err = w.WriteHeader(&Header{Name: "x"})
	assert.ErrorContains(t, err, "usr/bin/tool")
	require.NoError(t, nil)
	w2, err := NewWriter(&wtTruncBuffer{}, Options{})
	require.NoError(t, err)
	require.NoError(t, w2.WriteHeader(&Header{Name: "a/b"}))
	assert.ErrorContains(t, w2.WriteHeader(&Header{Name: "a/b"}), "a/b")
	require.Error(t, w.Close())
	require.Error(t, w2.Close())
}

func TestWriterAfterClose(t *testing.T) {
	w, err := NewWriter(&wtTruncBuffer{}, Options{})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.ErrorIs(t, w.WriteHeader(&Header{Name: "x"}), ErrClosed)
	_, err = w.Write(nil)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, w.Close(), ErrClosed)
}

func TestWriterOptions(t *testing.T) {
	_, err := NewWriter(&wtTruncBuffer{}, Options{BlockSize: 3000})
	assert.Error(t, err)
	_, err = NewWriter(&wtTruncBuffer{}, Options{ModTime: -1})
	assert.Error(t, err)
	_, err = NewWriter(&wtTruncBuffer{}, Options{ModTime: 1 << 32})
	assert.Error(t, err)

	img := wtBuild(t, Options{ModTime: 1 << 31}, nil)
	sb := wtSuperblock(t, img)
	assert.Equal(t, uint32(1<<31), sb.ModTime)
	assert.Equal(t, uint32(DefaultBlockSize), sb.BlockSize)
	assert.Equal(t, uint16(17), sb.BlockLog)
	assert.Equal(t, uint32(1), sb.Inodes, "just the root")
	assert.Zero(t, len(img)%4096, "padded to 4 KiB")
	assert.Less(t, sb.BytesUsed, uint64(len(img)))
	assert.Equal(t, uint64(NoTable), sb.XattrTableStart)
	assert.Equal(t, uint64(NoTable), sb.ExportTableStart)
	assert.Equal(t, FlagNoXattrs|FlagDuplicates|FlagAlwaysFragments, sb.Flags)
}

// The root's mode: RootMode wins; without it an explicit "." header; else
// 0755. Checked in the root inode (first inode header field after type).
func TestWriterRootMode(t *testing.T) {
	rootMode := func(opts Options, entries []wtEntry) uint16 {
		opts.Compressor = wtMustParse(t, "none", 4096)
		img := wtBuild(t, opts, entries)
		sb := wtSuperblock(t, img)
		// Uncompressed inode table: the root inode is at RootInode's
		// block (+2 header bytes) + offset.
		p := sb.InodeTableStart + sb.RootInode>>16 + 2 + sb.RootInode&0xFFFF
		require.Equal(t, uint16(inodeBasicDir), binary.LittleEndian.Uint16(img[p:]))
		return binary.LittleEndian.Uint16(img[p+2:])
	}
	dot := []wtEntry{{Header: Header{Name: ".", Type: TypeDir, Mode: 0o700 | fs.ModeSticky}}}
	assert.Equal(t, uint16(0o755), rootMode(Options{}, nil))
	assert.Equal(t, uint16(0o1700), rootMode(Options{}, dot))
	assert.Equal(t, uint16(0o750), rootMode(Options{RootMode: 0o750}, dot))
	assert.Equal(t, uint16(0o711), rootMode(Options{RootMode: 0o711}, nil))
}

// Implicit parents take the mode of a later directory header.
func TestWriterImplicitDirectories(t *testing.T) {
	img := wtSave(t, wtBuild(t, Options{}, []wtEntry{
		wtFile("x/y/z/file", 0o644, []byte("data")),
		{Header: Header{Name: "x/y", Type: TypeDir, Mode: 0o750, UID: 5, GID: 6}},
	}))
	out := wtUnsquashfs(t, img, "-lln")
	assert.Contains(t, out, "drwxr-xr-x 0/0")
	assert.Regexp(t, `drwxr-x--- 5/6 +\d+ \S+ \S+ squashfs-root/x/y\n`, out)
	assert.Regexp(t, `drwxr-xr-x 0/0 +\d+ \S+ \S+ squashfs-root/x/y/z\n`, out)
}

// Identical output for any number of workers (and entries in any order of
// workers' completion).
func TestWriterDeterministic(t *testing.T) {
	var entries []wtEntry
	for i := 0; i < 40; i++ {
		var data []byte
		switch i % 5 {
		case 0:
			data = wtRandom(int64(i), 3*4096+i*10)
		case 1:
			data = wtText(i, 5*4096)
		case 2:
			data = make([]byte, 4*4096+i)
		case 3:
			data = wtRandom(int64(i-3), 3*4096+(i-3)*10) // duplicate of case 0
		case 4:
			data = wtText(i, 100+i)
		}
		entries = append(entries, wtFile(fmt.Sprintf("d%d/f%02d", i%3, i), 0o644, data))
	}
	for _, spec := range []string{"gzip", "xz", "zstd"} {
		opts := Options{BlockSize: 4096, Compressor: wtMustParse(t, spec, 4096), ModTime: 12345}
		opts.Workers = 1
		one := wtBuild(t, opts, entries)
		opts.Workers = 4
		four := wtBuild(t, opts, entries)
		opts.Workers = 7
		seven := wtBuild(t, opts, entries)
		assert.True(t, bytes.Equal(one, four), "%s: 1 vs 4 workers", spec)
		assert.True(t, bytes.Equal(one, seven), "%s: 1 vs 7 workers", spec)
	}
}

// Identical files are stored once: a second copy adds (almost) nothing.
func TestWriterDuplicates(t *testing.T) {
	big := wtRandom(9, 10*4096+123)
	small := wtRandom(10, 1000)
	base := wtBuild(t, Options{BlockSize: 4096}, []wtEntry{wtFile("a", 0o644, big), wtFile("s1", 0o644, small)})
	dup := wtBuild(t, Options{BlockSize: 4096}, []wtEntry{
		wtFile("a", 0o644, big), wtFile("s1", 0o644, small),
		wtFile("b", 0o644, big), wtFile("s2", 0o644, small),
		wtFile("c", 0o644, append(append([]byte{}, big[:10*4096]...), small...)), // same blocks, tail = small
	})
	sbBase, sbDup := wtSuperblock(t, base), wtSuperblock(t, dup)
	assert.Less(t, sbDup.BytesUsed-sbBase.BytesUsed, uint64(300), "only inodes and names added")
	assert.Equal(t, uint32(1), sbDup.Fragments, "tails packed once")
	assert.NotZero(t, sbDup.Flags&FlagDuplicates)

	dest := t.TempDir() + "/x"
	wtUnsquashfs(t, wtSave(t, dup), "-d", dest)
	for name, want := range map[string][]byte{"a": big, "b": big, "s1": small, "s2": small, "c": append(append([]byte{}, big[:10*4096]...), small...)} {
		got, err := os.ReadFile(dest + "/" + name)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), name)
	}
}

// A duplicate at the very end is rolled back; the image is then shorter
// than what was written, and a Truncate method cuts the rest off. Without
// one the stale bytes are zeroed; the image itself is the same.
func TestWriterRollbackTruncate(t *testing.T) {
	big := wtRandom(11, 600*4096) // more than the 1 MiB output buffer: the rollback must seek
	entries := []wtEntry{wtFile("a", 0o644, big), wtFile("z", 0o644, big)}
	opts := Options{BlockSize: 4096}

	trunc := wtBuild(t, opts, entries)
	sb := wtSuperblock(t, trunc)
	assert.Less(t, sb.BytesUsed, uint64(len(big)+len(big)/2), "second copy not stored")
	assert.Equal(t, (sb.BytesUsed+4095)/4096*4096, uint64(len(trunc)), "truncated to the padded size")

	plain := &wtSeekBuffer{}
	w, err := NewWriter(plain, opts)
	require.NoError(t, err)
	for _, e := range entries {
		require.NoError(t, w.WriteHeader(&e.Header))
		_, err := w.Write(e.Data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	require.Greater(t, len(plain.b), len(trunc), "rolled back bytes were beyond the end")
	assert.Equal(t, trunc, plain.b[:len(trunc)])
	assert.Equal(t, make([]byte, len(plain.b)-len(trunc)), plain.b[len(trunc):], "stale bytes zeroed")
	assert.Equal(t, int64(len(plain.b)), plain.off, "left at the end")
	assert.Equal(t, int64(len(trunc)), w.Stats().BytesOut)

	dest := t.TempDir() + "/x"
	wtUnsquashfs(t, wtSave(t, trunc), "-d", dest)
	got, err := os.ReadFile(dest + "/z")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, got))
}

// The image starts at the writer's offset when NewWriter is called.
func TestWriterAtOffset(t *testing.T) {
	buf := &wtTruncBuffer{}
	_, err := buf.Write([]byte("prefix"))
	require.NoError(t, err)
	w, err := NewWriter(buf, Options{})
	require.NoError(t, err)
	require.NoError(t, w.WriteHeader(&Header{Name: "f", Size: 3}))
	_, err = w.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, "prefix", string(buf.b[:6]))
	sb := wtSuperblock(t, buf.b[6:])
	assert.Equal(t, uint32(2), sb.Inodes)
	assert.Equal(t, 6+4096, len(buf.b))
}

func TestWriterStats(t *testing.T) {
	buf := &wtTruncBuffer{}
	w, err := NewWriter(buf, Options{BlockSize: 4096})
	require.NoError(t, err)
	require.NoError(t, w.WriteHeader(&Header{Name: "a/b/c", Size: 5000}))
	_, err = w.Write(wtText(1, 5000))
	require.NoError(t, err)
	s := w.Stats()
	assert.Equal(t, int64(3), s.Entries, "a, a/b, a/b/c")
	assert.Equal(t, int64(5000), s.BytesIn)
	require.NoError(t, w.Close())
	assert.Equal(t, int64(len(buf.b)), w.Stats().BytesOut)
}

// With a non-default compressor setting the options record follows the
// superblock as an uncompressed metadata block (format.adoc "Compression
// Options").
func TestWriterCompressorOptions(t *testing.T) {
	comp := wtMustParse(t, "zstd -Xcompression-level 3", 4096)
	rec := comp.Options()
	require.NotNil(t, rec)
	img := wtBuild(t, Options{BlockSize: 4096, Compressor: comp}, []wtEntry{wtFile("f", 0o644, wtText(1, 9000))})
	sb := wtSuperblock(t, img)
	assert.NotZero(t, sb.Flags&FlagCompressorOptions)
	assert.Equal(t, uint16(len(rec))|0x8000, binary.LittleEndian.Uint16(img[96:]))
	assert.Equal(t, rec, img[98:98+len(rec)])

	none := wtBuild(t, Options{BlockSize: 4096, Compressor: wtMustParse(t, "none", 4096)}, []wtEntry{wtFile("f", 0o644, wtText(1, 9000))})
	sb = wtSuperblock(t, none)
	assert.Zero(t, sb.Flags&FlagCompressorOptions)
	assert.Equal(t, FlagUncompressedInodes|FlagUncompressedData|FlagUncompressedFragments|FlagUncompressedIDs|FlagUncompressedXattrs,
		sb.Flags&(FlagUncompressedInodes|FlagUncompressedData|FlagUncompressedFragments|FlagUncompressedIDs|FlagUncompressedXattrs))
	assert.Equal(t, wtText(1, 4096), none[96:96+4096], "first data block right after the superblock, raw")
}
