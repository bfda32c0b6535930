package squashfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// wtSmallTree covers every entry type, implicit and explicit directories,
// special mode bits, owners, a hard link, sparse and duplicate data, tails
// and exact block multiples (block size 4 KiB).
func wtSmallTree() []wtEntry {
	big := wtRandom(1, 3*4096+100)
	return []wtEntry{
		wtFile("a/b/hello", 0o644, []byte("hello\n")),
		{Header: Header{Name: "a", Type: TypeDir, Mode: 0o700 | fs.ModeSetgid, UID: 1000, GID: 100}},
		wtFile("big", 0o755, big),
		wtFile("big.dup", 0o755, big),
		wtFile("exact", 0o600, wtText(3, 2*4096)),
		wtFile("zeros", 0o644, make([]byte, 5*4096+7)),
		{Header: Header{Name: "empty", Mode: 0o755 | fs.ModeSetuid}},
		wtFile("text", 0o644, wtText(5, 10000)),
		{Header: Header{Name: "link", Type: TypeSymlink, Mode: 0o777, Linkname: "/nix/store/does-not-exist/bin/x"}},
		{Header: Header{Name: "hard", Type: TypeLink, Linkname: "a/b/hello"}},
		{Header: Header{Name: "dev/null", Type: TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}},
		{Header: Header{Name: "dev/sdz", Type: TypeBlock, Mode: 0o660, Devmajor: 259, Devminor: 70000}},
		{Header: Header{Name: "dev/fifo", Type: TypeFifo, Mode: 0o644}},
		{Header: Header{Name: "sock", Type: TypeSocket, Mode: 0o755 | fs.ModeSticky, UID: 7, GID: 8}},
		{Header: Header{Name: "emptydir", Type: TypeDir, Mode: 0o555}},
	}
}

func TestWriterUnsquashfsListing(t *testing.T) {
	img := wtSave(t, wtBuild(t, Options{BlockSize: 4096, ModTime: 86400 + 3600}, wtSmallTree()))
	out := wtUnsquashfs(t, img, "-lln", "-UTC")
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 6, line)
		// perms owner [size|major, minor] date time name [-> target]
		i := 2
		size := f[i]
		if strings.HasSuffix(size, ",") {
			size += f[i+1]
			i++
		}
		if f[0][0] == 'd' {
			size = "-" // directory sizes are the listing size, checked elsewhere
		}
		rest := strings.Join(f[i+3:], " ")
		got = append(got, strings.Join([]string{f[0], f[1], size, f[i+1], f[i+2], rest}, " "))
	}
	// Expected from the headers above: unsquashfs prints devices as
	// (rdev >> 8, rdev & 0xff) of the stored 32-bit number, so 259:70000
	// (rdev = 70000&0xff | 259<<8 | (70000&^0xff)<<12) shows as 1135363, 112.
	want := []string{
		"drwxr-xr-x 0/0 - 1970-01-02 01:00 squashfs-root",
		"drwx--S--- 1000/100 - 1970-01-02 01:00 squashfs-root/a",
		"drwxr-xr-x 0/0 - 1970-01-02 01:00 squashfs-root/a/b",
		"-rw-r--r-- 0/0 6 1970-01-02 01:00 squashfs-root/a/b/hello",
		"-rwxr-xr-x 0/0 12388 1970-01-02 01:00 squashfs-root/big",
		"-rwxr-xr-x 0/0 12388 1970-01-02 01:00 squashfs-root/big.dup",
		"drwxr-xr-x 0/0 - 1970-01-02 01:00 squashfs-root/dev",
		"prw-r--r-- 0/0 0 1970-01-02 01:00 squashfs-root/dev/fifo",
		"crw-rw-rw- 0/0 1,3 1970-01-02 01:00 squashfs-root/dev/null",
		fmt.Sprintf("brw-rw---- 0/0 %d,%d 1970-01-02 01:00 squashfs-root/dev/sdz", (70000&0xff|259<<8|(70000&^0xff)<<12)>>8, 70000&0xff),
		"-rwsr-xr-x 0/0 0 1970-01-02 01:00 squashfs-root/empty",
		"dr-xr-xr-x 0/0 - 1970-01-02 01:00 squashfs-root/emptydir",
		"-rw------- 0/0 8192 1970-01-02 01:00 squashfs-root/exact",
		"-rw-r--r-- 0/0 6 1970-01-02 01:00 squashfs-root/hard",
		"lrwxrwxrwx 0/0 31 1970-01-02 01:00 squashfs-root/link -> /nix/store/does-not-exist/bin/x",
		"srwxr-xr-t 7/8 0 1970-01-02 01:00 squashfs-root/sock",
		"-rw-r--r-- 0/0 10000 1970-01-02 01:00 squashfs-root/text",
		"-rw-r--r-- 0/0 20487 1970-01-02 01:00 squashfs-root/zeros",
	}
	assert.Equal(t, want, got)

	// Extract and compare the contents.
	dest := filepath.Join(t.TempDir(), "x")
	wtUnsquashfs(t, img, "-no-xattrs", "-d", dest)
	for _, e := range wtSmallTree() {
		if e.Type == TypeReg {
			data, err := os.ReadFile(filepath.Join(dest, e.Name))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(e.Data, data), "contents of %s", e.Name)
		}
	}
	data, err := os.ReadFile(filepath.Join(dest, "hard"))
	require.NoError(t, err)
	assert.Equal(t, "hello\n", string(data))
}

// wtStat is what the kernel reports for a path of a mounted image.
type wtStat struct {
	Mode  fs.FileMode
	Nlink uint64
	UID   uint32
	GID   uint32
	Size  int64
	Rdev  string
	MTime int64
	Data  string // file contents' length+prefix, or symlink target
}

func wtStatTree(t *testing.T, root string) (map[string]wtStat, map[string]uint64) {
	stats := map[string]wtStat{}
	inos := map[string]uint64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		require.NoError(t, err)
		st := info.Sys().(*syscall.Stat_t)
		s := wtStat{Mode: info.Mode(), Nlink: uint64(st.Nlink), UID: st.Uid, GID: st.Gid, MTime: st.Mtim.Sec} //nolint:unconvert // Nlink is uint32 on some architectures
		switch {
		case info.Mode().IsRegular():
			s.Size = info.Size()
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			s.Data = fmt.Sprintf("%d:%x", len(data), data[:min(len(data), 8)])
		case info.Mode()&fs.ModeSymlink != 0:
			s.Data, err = os.Readlink(p)
			require.NoError(t, err)
		case info.Mode()&fs.ModeDevice != 0:
			s.Rdev = fmt.Sprintf("%d:%d", (st.Rdev>>8)&0xfff|(st.Rdev>>32)&^0xfff, st.Rdev&0xff|(st.Rdev>>12)&^0xff)
		}
		stats[rel] = s
		inos[rel] = st.Ino
		return nil
	})
	require.NoError(t, err)
	return stats, inos
}

func TestWriterKernelMount(t *testing.T) {
	entries := wtSmallTree()
	for _, opts := range []Options{
		{BlockSize: 4096, ModTime: 1700000000},
		{BlockSize: 4096, ModTime: 1700000000, Compressor: wtMustParse(t, "none", 4096)},
		{BlockSize: 4096, ModTime: 1700000000, Compressor: wtMustParse(t, "xz", 4096)},
		{BlockSize: 4096, ModTime: 1700000000, Compressor: wtMustParse(t, "zstd", 4096)},
	} {
		t.Run(opts.compressorName(), func(t *testing.T) {
			mnt := wtMount(t, wtBuild(t, opts, entries))
			stats, inos := wtStatTree(t, mnt)
			const mt = 1700000000
			reg := func(mode fs.FileMode, data []byte) wtStat {
				return wtStat{Mode: mode, Nlink: 1, Size: int64(len(data)), MTime: mt, Data: fmt.Sprintf("%d:%x", len(data), data[:min(len(data), 8)])}
			}
			want := map[string]wtStat{
				".":         {Mode: fs.ModeDir | 0o755, Nlink: 2 + 3, MTime: mt},
				"a":         {Mode: fs.ModeDir | fs.ModeSetgid | 0o700, Nlink: 3, UID: 1000, GID: 100, MTime: mt},
				"a/b":       {Mode: fs.ModeDir | 0o755, Nlink: 2, MTime: mt},
				"a/b/hello": {Mode: 0o644, Nlink: 2, Size: 6, MTime: mt, Data: "6:68656c6c6f0a"},
				"hard":      {Mode: 0o644, Nlink: 2, Size: 6, MTime: mt, Data: "6:68656c6c6f0a"},
				"big":       reg(0o755, entries[2].Data),
				"big.dup":   reg(0o755, entries[2].Data),
				"exact":     reg(0o600, entries[4].Data),
				"zeros":     reg(0o644, entries[5].Data),
				"empty":     reg(0o755|fs.ModeSetuid, nil),
				"text":      reg(0o644, entries[7].Data),
				"link":      {Mode: fs.ModeSymlink | 0o777, Nlink: 1, MTime: mt, Data: "/nix/store/does-not-exist/bin/x"},
				"dev":       {Mode: fs.ModeDir | 0o755, Nlink: 2, MTime: mt},
				"dev/null":  {Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, Nlink: 1, MTime: mt, Rdev: "1:3"},
				"dev/sdz":   {Mode: fs.ModeDevice | 0o660, Nlink: 1, MTime: mt, Rdev: "259:70000"},
				"dev/fifo":  {Mode: fs.ModeNamedPipe | 0o644, Nlink: 1, MTime: mt},
				"sock":      {Mode: fs.ModeSocket | fs.ModeSticky | 0o755, Nlink: 1, UID: 7, GID: 8, MTime: mt},
				"emptydir":  {Mode: fs.ModeDir | 0o555, Nlink: 2, MTime: mt},
			}
			assert.Equal(t, want, stats)
			assert.Equal(t, inos["a/b/hello"], inos["hard"], "hard link shares the inode")
			seen := map[uint64]string{}
			for p, ino := range inos {
				if p == "hard" {
					continue
				}
				assert.Empty(t, seen[ino], "inode %d of %s also used by %s", ino, p, seen[ino])
				seen[ino] = p
			}
			// The full contents, not only the prefix.
			for _, e := range entries {
				if e.Type == TypeReg {
					data, err := os.ReadFile(filepath.Join(mnt, e.Name))
					require.NoError(t, err)
					assert.True(t, bytes.Equal(e.Data, data), "contents of %s", e.Name)
				}
			}
		})
	}
}

func (o Options) compressorName() string {
	if o.Compressor == nil {
		return "default"
	}
	return o.Compressor.Name()
}

func wtMustParse(t testing.TB, spec string, blockSize int) compress.Compressor {
	t.Helper()
	c, err := compress.Parse(spec, blockSize)
	require.NoError(t, err)
	return c
}

// TestWriterKernelLargeDirectory checks lookups and readdir in directories
// whose listings span many metadata blocks (directory index), with more than
// 256 entries per inode block and names of all lengths, on the kernel.
func TestWriterKernelLargeDirectory(t *testing.T) {
	var entries []wtEntry
	var names []string
	for i := 0; i < 10000; i++ {
		name := fmt.Sprintf("f%05d-%s", i, strings.Repeat("x", i%200))
		names = append(names, name)
		entries = append(entries, wtFile("big/"+name, 0o644, []byte(name[:6])))
	}
	// UTF-8 names sort after ASCII by bytes; the kernel's lookup stops
	// early on a name whose first byte is greater, so the order matters.
	for i, prefix := range []string{"é", "ü", "日本", "Z", "~"} {
		name := fmt.Sprintf("%s-%05d", prefix, i)
		names = append(names, name)
		entries = append(entries, wtFile("big/"+name, 0o644, []byte(name[:6])))
	}
	// A second directory whose entries alternate between files and
	// subdirectories, so inode numbers of neighbours are far apart.
	for i := 0; i < 600; i++ {
		entries = append(entries, wtEntry{Header: Header{Name: fmt.Sprintf("mixed/d%04d/sub", i), Type: TypeDir, Mode: 0o755}})
		entries = append(entries, wtFile(fmt.Sprintf("mixed/f%04d", i), 0o644, []byte("x")))
	}
	mnt := wtMount(t, wtBuild(t, Options{BlockSize: 4096}, entries))
	des, err := os.ReadDir(filepath.Join(mnt, "big"))
	require.NoError(t, err)
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	sort.Strings(names)
	assert.Equal(t, names, got)
	// Lookups by name go through the directory index.
	for i := 0; i < len(names); i++ {
		if strings.HasPrefix(names[i], "f") && i%7 != 0 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(mnt, "big", names[i]))
		require.NoError(t, err, names[i])
		require.Equal(t, names[i][:6], string(data))
	}
	_, err = os.Stat(filepath.Join(mnt, "big", "f99999"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	des, err = os.ReadDir(filepath.Join(mnt, "mixed"))
	require.NoError(t, err)
	assert.Len(t, des, 1200)
	for i := 0; i < 600; i += 13 {
		info, err := os.Stat(filepath.Join(mnt, fmt.Sprintf("mixed/d%04d/sub", i)))
		require.NoError(t, err)
		assert.True(t, info.IsDir())
	}
	st, err := os.Stat(filepath.Join(mnt, "mixed"))
	require.NoError(t, err)
	assert.Equal(t, uint64(602), uint64(st.Sys().(*syscall.Stat_t).Nlink)) //nolint:unconvert // Nlink is uint32 on some architectures
}
