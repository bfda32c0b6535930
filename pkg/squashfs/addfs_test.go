package squashfs

import (
	"bytes"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wtSourceTree creates a directory with every file type AddFS handles.
func wtSourceTree(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "src")
	mk := func(p string, data []byte, mode os.FileMode) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), data, mode))
		require.NoError(t, os.Chmod(filepath.Join(dir, p), mode))
	}
	mk("bin/tool", wtRandom(1, 300000), 0o755)
	mk("bin/suid", []byte("#!/bin/sh\n"), 0o755|os.ModeSetuid)
	mk("share/doc/README", wtText(1, 5000), 0o644)
	mk("share/empty", nil, 0o600)
	mk("lib/libx.so.1", wtText(2, 70000), 0o555)
	require.NoError(t, os.Link(filepath.Join(dir, "lib/libx.so.1"), filepath.Join(dir, "lib/libx-hard.so")))
	require.NoError(t, os.Link(filepath.Join(dir, "lib/libx.so.1"), filepath.Join(dir, "share/libx-copy")))
	require.NoError(t, os.Symlink("/nix/store/0000-missing/lib/libx.so.1", filepath.Join(dir, "lib/dangling")))
	require.NoError(t, os.Symlink("libx.so.1", filepath.Join(dir, "lib/libx.so")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "private"), 0o700))
	require.NoError(t, os.Chmod(filepath.Join(dir, "private"), 0o1770))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "private/fifo"), 0o640))
	l, err := net.Listen("unix", filepath.Join(dir, "private/sock"))
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, l.Close())
	if os.Geteuid() == 0 {
		require.NoError(t, syscall.Mknod(filepath.Join(dir, "private/null"), syscall.S_IFCHR|0o666, int(1<<8|3)))
	}
	return dir
}

// TestAddFSKernel adds a real tree under a prefix and compares what the
// kernel shows with the source, entry by entry.
func TestAddFSKernel(t *testing.T) {
	src := wtSourceTree(t)
	for _, noHard := range []bool{false, true} {
		buf := &wtTruncBuffer{}
		w, err := NewWriter(buf, Options{BlockSize: 65536})
		require.NoError(t, err)
		require.NoError(t, w.AddFS(DirFS(src), AddOptions{Prefix: "nix/store/abc-pkg", NoHardlinks: noHard}))
		require.NoError(t, w.Close())
		mnt := wtMount(t, buf.b)

		want, wantIno := wtStatTree(t, src)
		got, gotIno := wtStatTree(t, filepath.Join(mnt, "nix/store/abc-pkg"))
		for p, s := range want {
			s.UID, s.GID, s.MTime = 0, 0, 0 // all root, time 0
			if s.Mode.IsDir() {
				s.Nlink = got[p].Nlink // checked below
			}
			if noHard && s.Mode.IsRegular() {
				s.Nlink = 1
			}
			want[p] = s
		}
		assert.Equal(t, want, got, "NoHardlinks=%v", noHard)
		hard := gotIno["lib/libx.so.1"] == gotIno["lib/libx-hard.so"] && gotIno["lib/libx.so.1"] == gotIno["share/libx-copy"]
		assert.Equal(t, !noHard, hard, "hard links share an inode unless NoHardlinks")
		assert.Equal(t, wantIno["lib/libx.so.1"] == wantIno["lib/libx-hard.so"], true)
		assert.Equal(t, uint64(2+4), got["."].Nlink, "bin, lib, private, share")
	}
}

func TestAddFSRootIsFileOrSymlink(t *testing.T) {
	dir := t.TempDir()
	unit := filepath.Join(dir, "abc-demo.service")
	require.NoError(t, os.WriteFile(unit, []byte("[Service]\n"), 0o444))
	link := filepath.Join(dir, "abc-link")
	require.NoError(t, os.Symlink("/nix/store/elsewhere", link))

	buf := &wtTruncBuffer{}
	w, err := NewWriter(buf, Options{})
	require.NoError(t, err)
	require.NoError(t, w.AddFS(DirFS(unit), AddOptions{Prefix: "nix/store/abc-demo.service"}))
	require.NoError(t, w.AddFS(DirFS(link), AddOptions{Prefix: "nix/store/abc-link"}))
	require.NoError(t, w.Close())
	out := wtUnsquashfs(t, wtSave(t, buf.b), "-lln")
	assert.Regexp(t, `-r--r--r-- 0/0 +10 \S+ \S+ squashfs-root/nix/store/abc-demo.service\n`, out)
	assert.Regexp(t, `lrwxrwxrwx 0/0 +\d+ \S+ \S+ squashfs-root/nix/store/abc-link -> /nix/store/elsewhere\n`, out)
}

// wtLyingFS reports sizes that differ from what its files yield.
type wtLyingFS struct {
	fstest.MapFS
	content map[string]string
}

type wtLyingFile struct {
	fs.File
	r io.Reader
}

func (f wtLyingFile) Read(p []byte) (int, error) { return f.r.Read(p) }

func (l wtLyingFS) Open(name string) (fs.File, error) {
	f, err := l.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	if c, ok := l.content[name]; ok {
		return wtLyingFile{f, strings.NewReader(c)}, nil
	}
	return f, nil
}

func TestAddFSSizeChanged(t *testing.T) {
	for _, c := range []struct{ stat, read string }{
		{"0123456789", "01234"},       // shrank
		{"0123456789", "0123456789x"}, // grew
		{"", "x"},                     // empty file grew
		{strings.Repeat("a", 70000), strings.Repeat("a", 65536)}, // shrank at a block boundary
	} {
		fsys := wtLyingFS{
			MapFS:   fstest.MapFS{"dir/file": {Data: []byte(c.stat), Mode: 0o644}},
			content: map[string]string{"dir/file": c.read},
		}
		w, err := NewWriter(&wtTruncBuffer{}, Options{BlockSize: 4096})
		require.NoError(t, err)
		err = w.AddFS(fsys, AddOptions{Prefix: "p"})
		assert.ErrorIs(t, err, ErrSizeChanged)
		assert.ErrorContains(t, err, "p/dir/file")
		assert.ErrorIs(t, w.Close(), ErrSizeChanged)
	}
}

func TestAddFSMapFS(t *testing.T) {
	fsys := fstest.MapFS{
		"a.txt":   {Data: []byte("hello"), Mode: 0o644},
		"d/b.bin": {Data: bytes.Repeat([]byte{7}, 10000), Mode: 0o600},
		"d/e":     {Mode: fs.ModeDir | 0o711},
	}
	buf := &wtTruncBuffer{}
	w, err := NewWriter(buf, Options{RootMode: 0o755})
	require.NoError(t, err)
	require.NoError(t, w.AddFS(fsys, AddOptions{}))
	require.NoError(t, w.Close())
	out := wtUnsquashfs(t, wtSave(t, buf.b), "-lln")
	assert.Regexp(t, `-rw-r--r-- 0/0 +5 \S+ \S+ squashfs-root/a.txt\n`, out)
	assert.Regexp(t, `-rw------- 0/0 +10000 \S+ \S+ squashfs-root/d/b.bin\n`, out)
	assert.Regexp(t, `drwx--x--x 0/0 +\d+ \S+ \S+ squashfs-root/d/e\n`, out)

	// A symlink in a file system without ReadLink is an error naming it.
	w, err = NewWriter(&wtTruncBuffer{}, Options{})
	require.NoError(t, err)
	// (fstest.MapFS has ReadLink since Go 1.25; the wrapper hides it.)
	noReadLink := struct{ fs.FS }{fstest.MapFS{"l": {Data: []byte("target"), Mode: fs.ModeSymlink | 0o777}}}
	err = w.AddFS(noReadLink, AddOptions{})
	assert.ErrorContains(t, err, "l: a symlink")
	assert.Error(t, w.Close())
}

func TestDirFSLstatSemantics(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink("f", filepath.Join(dir, "l")))
	fsys := DirFS(dir)
	info, err := fs.Stat(fsys, "l")
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSymlink, info.Mode().Type())
	_, err = fsys.Open("l")
	assert.Error(t, err, "Open does not follow symlinks")
	target, err := fsys.(readLinkFS).ReadLink("l")
	require.NoError(t, err)
	assert.Equal(t, "f", target)
	_, err = fsys.Open("../etc/passwd")
	assert.ErrorIs(t, err, fs.ErrInvalid)

	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.MkdirAll(filepath.Join(sub, "b"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "a"), []byte("a"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "b/c"), []byte("c"), 0o644))
	assert.NoError(t, fstest.TestFS(DirFS(sub), "a", "b/c"))
}

func TestDecodeHostDev(t *testing.T) {
	// glibc makedev: major bits 8-19 and 32-63, minor bits 0-7 and 20-31.
	for _, c := range [][2]uint32{{1, 3}, {8, 17}, {259, 70000}, {4095, 1<<20 - 1}} {
		dev := uint64(c[1]&0xff) | uint64(c[0]&0xfff)<<8 | uint64(c[1]&^0xff)<<12 | uint64(c[0]&^0xfff)<<32
		major, minor := decodeHostDev(dev)
		assert.Equal(t, c, [2]uint32{major, minor})
	}
}
