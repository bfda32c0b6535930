package roundtrip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// awkwardTree holds what the generated trees do not: names with control
// characters, backslashes and bytes that are not UTF-8 (255-byte ones too),
// a 4095-byte symlink target (PATH_MAX - 1, the longest the kernel makes),
// modification times before 1970 and after 2106 (outside the format's
// unsigned 32 bits; --mtime replaces them), and modes 000 on a file and on
// a directory with contents (root reads them, as mksquashfs does).
func awkwardTree(t *testing.T) *fixture {
	return customTree(t, "awkward", func(dir string) {
		write := func(rel, data string, mode os.FileMode) {
			p := filepath.Join(dir, rel)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(data), mode))
			require.NoError(t, os.Chmod(p, mode))
		}
		for i, n := range []string{
			"new\nline", "tab\there", "back\\slash", "\x01\x1f\x7f", "bad-\xff\xfe",
			"caf\xe9", strings.Repeat("\xff", 255), "sp ace ", "quote\"'$`",
		} {
			write("names/"+n, strings.Repeat("x", i*7), 0o644)
		}
		write("names/dir-\xe9\n/inner", "inner", 0o644)
		require.NoError(t, os.Symlink(strings.Repeat("t/", 2047)+"x", filepath.Join(dir, "names", "longest-target")))
		require.NoError(t, os.Symlink("\xff\n", filepath.Join(dir, "names", "odd-target")))

		write("times/old", "before 1970", 0o644)
		write("times/future", "after 2106", 0o644)
		require.NoError(t, os.Chtimes(filepath.Join(dir, "times/old"), time.Unix(-1e9, 0), time.Unix(-1e9, 0)))
		require.NoError(t, os.Chtimes(filepath.Join(dir, "times/future"), time.Unix(5e9, 0), time.Unix(5e9, 0)))

		write("modes/closed/inside", "in a mode-000 directory", 0o644)
		write("modes/none", "mode 000", 0o000)
		require.NoError(t, os.Chmod(filepath.Join(dir, "modes/closed"), 0o000))
	})
}

// TestRoundTripAwkward packs the awkward tree and checks it with the
// kernel, this project's reader, unsquashfs extraction and sqfsdiff against
// mksquashfs. (`unsquashfs -lln` is line-based and cannot list a name with
// a newline, so it is not one of the readers here.)
func TestRoundTripAwkward(t *testing.T) {
	f := awkwardTree(t)
	for _, o := range []packOpts{{Comp: "lz4"}, {Comp: "zstd", Mtime: 4294967295, BlockSize: "4K"}} {
		t.Run(o.Comp, func(t *testing.T) {
			img := pack(t, f.dir, o)
			checkKernel(t, img, f, o)
			checkOurReader(t, img, f, o)
			checkUnsquashfsExtract(t, img, f, o)
			checkSqfsdiff(t, img, reference(t, f.dir, o))
		})
	}
}

// TestRoundTripSingleSource: a source that is not a directory, a file or a
// symlink (one to a directory included: mksquashfs lstats it), gives the
// same file system as mksquashfs's: a root directory holding that entry.
func TestRoundTripSingleSource(t *testing.T) {
	dir := tempDir(t)
	file := filepath.Join(dir, "file.bin")
	require.NoError(t, os.WriteFile(file, []byte(strings.Repeat("data ", 50000)), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "tree"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tree", "f"), []byte("f"), 0o644))
	link := filepath.Join(dir, "result")
	require.NoError(t, os.Symlink("tree", link))
	for _, c := range []struct {
		name, src string
		o         packOpts
	}{
		{"file", file, packOpts{Comp: "lz4"}},
		{"file-root-mode", file, packOpts{Comp: "lz4", RootMode: "0750"}},
		{"symlink-to-dir", link, packOpts{Comp: "lz4"}},
		{"symlink-slash", link + "/", packOpts{Comp: "lz4"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkSqfsdiff(t, pack(t, c.src, c.o), reference(t, c.src, c.o))
		})
	}
}
