package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/pkg/squashfs"
	"github.com/mkportable/mkportable/test/treegen"
)

func TestParsePackArgsDefaults(t *testing.T) {
	c, err := parsePackArgs([]string{"src", "out.raw"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "src", c.src)
	assert.Equal(t, "out.raw", c.out)
	assert.Equal(t, 128<<10, c.blockSize, "mksquashfs's default block size")
	assert.Equal(t, "gzip", c.comp.Name(), "mksquashfs's default compressor")
	assert.Zero(t, c.jobs)
	assert.Zero(t, c.mtime)
	assert.False(t, c.hasRootMode)
	assert.False(t, c.noHardlinks)
	assert.False(t, c.quiet)
}

func TestParsePackArgsEveryFlag(t *testing.T) {
	// Single and double dashes, "=" and separate values, flags before and
	// after the positionals: all as Go's flag package and mksquashfs allow.
	c, err := parsePackArgs([]string{
		"-comp=zstd -Xcompression-level 19", "src", "-block-size", "4K", "out.raw",
		"--jobs", "3", "-mtime", "42", "--root-mode=1750", "--no-hardlinks", "-quiet",
	}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "src", c.src)
	assert.Equal(t, "out.raw", c.out)
	assert.Equal(t, "zstd", c.comp.Name())
	assert.Equal(t, 4096, c.blockSize)
	assert.Equal(t, 3, c.jobs)
	assert.Equal(t, int64(42), c.mtime)
	assert.True(t, c.hasRootMode)
	assert.Equal(t, os.FileMode(0o750)|os.ModeSticky, c.rootMode)
	assert.True(t, c.noHardlinks)
	assert.True(t, c.quiet)

	c, err = parsePackArgs([]string{"--comp", "xz -Xdict-size 100%", "-b", "1M", "--mtime", "4294967295", "s", "o"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "xz", c.comp.Name())
	assert.Equal(t, 1<<20, c.blockSize)
	assert.Equal(t, int64(4294967295), c.mtime)

	// After "--" everything is positional, even names that look like flags.
	c, err = parsePackArgs([]string{"-b", "64K", "--", "-src", "--out"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"-src", "--out"}, []string{c.src, c.out})
	assert.Equal(t, 64<<10, c.blockSize)
}

func TestParsePackArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string // part of the error message
	}{
		{nil, "want SRC_DIR and OUT_FILE, got 0"},
		{[]string{"src"}, "got 1"},
		{[]string{"a", "b", "c"}, "got 3"},
		{[]string{"--comp", "xz -Xbogus", "s", "o"}, "-Xbogus"},
		{[]string{"--comp", "brotli", "s", "o"}, "brotli"},
		{[]string{"--comp", "xz -Xdict-size 2M", "-b", "1M", "s", "o"}, "dict"},
		{[]string{"--comp", "gzip -Xcompression-level 10", "s", "o"}, "compression-level"},
		{[]string{"-b", "3K", "s", "o"}, "3K"},
		{[]string{"-b", "2M", "s", "o"}, "2M"},
		{[]string{"--block-size", "lots", "s", "o"}, "lots"},
		{[]string{"--mtime", "-1", "s", "o"}, "--mtime -1"},
		{[]string{"--mtime", "4294967296", "s", "o"}, "--mtime 4294967296"},
		{[]string{"--root-mode", "9", "s", "o"}, "mode \"9\""},
		{[]string{"--root-mode", "17777", "s", "o"}, "17777"},
		{[]string{"--root-mode", "000", "s", "o"}, "--root-mode 0"},
		{[]string{"--jobs", "-1", "s", "o"}, "--jobs -1"},
		{[]string{"--jobs", "many", "s", "o"}, "many"},
		{[]string{"--bogus", "s", "o"}, "bogus"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := parsePackArgs(tc.args, &stderr)
			require.Error(t, err)
			assert.ErrorIs(t, err, errUsage)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestRunPackExitStatus(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run([]string{"pack"}, &out, &errb), "missing arguments are a usage error")
	assert.Contains(t, errb.String(), "usage: mkportable pack")
	assert.Equal(t, 2, run([]string{"pack", "--comp", "xz -Xnope", dir, filepath.Join(dir, "x.raw")}, &out, &errb))
	errb.Reset()
	missing := filepath.Join(dir, "no-such-dir")
	assert.Equal(t, 1, run([]string{"pack", missing, filepath.Join(t.TempDir(), "x.raw")}, &out, &errb))
	assert.Contains(t, errb.String(), missing, "the error names the missing source")
	errb.Reset()
	assert.Equal(t, 0, run([]string{"pack", "-h"}, &out, &errb))
	assert.Contains(t, errb.String(), "--root-mode")
}

// listDir returns the names in dir (to check nothing is left behind).
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestPackWritesImage(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	sum, err := treegen.Generate(src, treegen.Small(5))
	require.NoError(t, err)
	require.NoError(t, os.Chmod(src, 0o750))
	outDir := t.TempDir()
	out := filepath.Join(outDir, "img.raw")
	var stdout, stderr bytes.Buffer
	require.NoError(t, runPack([]string{"--comp", "zstd", "-b", "4K", "--mtime", "1234", src, out}, &stdout, &stderr))
	assert.Equal(t, []string{"img.raw"}, listDir(t, outDir), "only the image, no temporary")
	assert.Empty(t, stderr.String(), "no progress when stderr is not a terminal")
	line := strings.TrimSpace(stdout.String())
	assert.NotContains(t, line, "\n", "one summary line")
	assert.Contains(t, line, out+": ")
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Contains(t, line, " bytes out", line)
	assert.Contains(t, line, " "+itoa64(fi.Size())+" bytes out", "summary reports the image size")
	assert.Zero(t, fi.Size()%4096, "padded to 4 KiB")

	// Read it back with the package's reader and compare with the source.
	r, err := squashfs.OpenImage(out)
	require.NoError(t, err)
	defer func() { assert.NoError(t, r.Close()) }()
	assert.Equal(t, uint32(1234), r.Superblock().ModTime)
	root, err := r.Lstat(".")
	require.NoError(t, err)
	assert.Equal(t, fs.ModeDir|0o750, root.Mode(), "root keeps SRC_DIR's mode")
	n := 0
	require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		n++
		if d.Type().IsRegular() {
			want, err := os.ReadFile(filepath.Join(src, p))
			require.NoError(t, err)
			got, err := r.ReadFile(p)
			require.NoError(t, err, p)
			assert.True(t, bytes.Equal(want, got), "content of %s", p)
		}
		return nil
	}))
	assert.Equal(t, sum.Entries()+1, n, "every entry and the root")
	assert.Contains(t, line, " "+itoa64(int64(n-1))+" entries", "summary counts entries, the root excluded")

	// --quiet prints nothing; --root-mode overrides SRC_DIR's mode.
	stdout.Reset()
	out2 := filepath.Join(outDir, "quiet.raw")
	require.NoError(t, runPack([]string{"--quiet", "--root-mode", "0700", src, out2}, &stdout, &stderr))
	assert.Empty(t, stdout.String())
	r2, err := squashfs.OpenImage(out2)
	require.NoError(t, err)
	defer func() { assert.NoError(t, r2.Close()) }()
	root, err = r2.Lstat(".")
	require.NoError(t, err)
	assert.Equal(t, fs.ModeDir|0o700, root.Mode())
}

// TestPackNonDirectorySource: a SRC that is not a directory (a file, or a
// symlink, also one to a directory) is packed as mksquashfs packs a single
// such source: a root directory of mode 0777 (or --root-mode) holding that
// one entry under SRC's base name. A symlink is never followed (SRC/ is the
// way to pack the directory it points to), and a note on stderr says so.
func TestPackNonDirectorySource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.txt")
	require.NoError(t, os.WriteFile(file, []byte("hello\n"), 0o640))
	target := filepath.Join(dir, "tree")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(target, "sub", "f"), []byte("f"), 0o644))
	link := filepath.Join(dir, "result")
	require.NoError(t, os.Symlink("tree", link))
	outDir := t.TempDir()

	open := func(t *testing.T, args ...string) (*squashfs.Reader, string) {
		t.Helper()
		out := filepath.Join(outDir, strconv.Itoa(len(listDir(t, outDir)))+".raw")
		var stdout, stderr bytes.Buffer
		// lz4: any codec does; this is about the tree's shape.
		args = append(append([]string{"--comp", "lz4"}, args...), out)
		require.NoError(t, runPack(args, &stdout, &stderr), "stderr: %s", stderr.String())
		r, err := squashfs.OpenImage(out)
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, r.Close()) })
		return r, stderr.String()
	}
	names := func(t *testing.T, r *squashfs.Reader) []string {
		t.Helper()
		ents, err := r.ReadDir(".")
		require.NoError(t, err)
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}

	t.Run("file", func(t *testing.T) {
		r, stderr := open(t, "--mtime", "7", file)
		assert.Empty(t, stderr)
		assert.Equal(t, []string{"hello.txt"}, names(t, r))
		root, err := r.Lstat(".")
		require.NoError(t, err)
		assert.Equal(t, fs.ModeDir|0o777, root.Mode(), "mksquashfs's root for a single non-directory source")
		fi, err := r.Lstat("hello.txt")
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o640), fi.Mode())
		data, err := r.ReadFile("hello.txt")
		require.NoError(t, err)
		assert.Equal(t, "hello\n", string(data))
	})
	t.Run("file with --root-mode", func(t *testing.T) {
		r, _ := open(t, "--root-mode", "0700", file)
		root, err := r.Lstat(".")
		require.NoError(t, err)
		assert.Equal(t, fs.ModeDir|0o700, root.Mode())
	})
	t.Run("symlink to a directory", func(t *testing.T) {
		r, stderr := open(t, link)
		assert.Equal(t, []string{"result"}, names(t, r))
		got, err := r.ReadLink("result")
		require.NoError(t, err)
		assert.Equal(t, "tree", got, "the link itself, not the directory")
		assert.Contains(t, stderr, link+"/", "the note shows how to pack the directory")
	})
	t.Run("symlink with a trailing slash", func(t *testing.T) {
		r, stderr := open(t, link+"/")
		assert.Empty(t, stderr)
		assert.Equal(t, []string{"sub"}, names(t, r), "the directory the link points to")
	})
}

// TestPackOutputInsideSource: OUT_FILE may be inside SRC_DIR, as with
// mksquashfs, which leaves its own output out of the image. Neither the
// image being written (its temporary) nor an older OUT_FILE it replaces is
// packed, also when OUT_FILE is reached through a symlink into the tree.
func TestPackOutputInsideSource(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "real", "deeper"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a"), []byte("a"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "real", "keep.raw"), []byte("not the output"), 0o644))
	require.NoError(t, os.Symlink("real", filepath.Join(src, "via-link")))
	for _, out := range []string{
		filepath.Join(src, "img.raw"),
		filepath.Join(src, "real", "img.raw"),
		filepath.Join(src, "via-link", "img.raw"), // the file is real/img.raw
	} {
		t.Run(strings.TrimPrefix(out, src), func(t *testing.T) {
			// A stale image from an earlier run sits where the new one goes.
			require.NoError(t, os.WriteFile(out, []byte("stale image"), 0o644))
			var stdout, stderr bytes.Buffer
			require.NoError(t, runPack([]string{"--quiet", "--comp", "lz4", src, out}, &stdout, &stderr), stderr.String())
			r, err := squashfs.OpenImage(out)
			require.NoError(t, err)
			defer func() { assert.NoError(t, r.Close()) }()
			var got []string
			require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
				got = append(got, p)
				return err
			}))
			assert.Equal(t, []string{".", "a", "real", "real/deeper", "real/keep.raw", "via-link"}, got,
				"the tree without the image or its temporary")
			require.NoError(t, os.Remove(out))
			assert.Equal(t, []string{"a", "real", "via-link"}, listDir(t, src), "no temporary left behind")
		})
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// bindMount mounts the file from onto the (created) file to, for the
// test's lifetime. Root only.
func bindMount(t *testing.T, from, to string) {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := os.Stat(from); err != nil {
		testutil.Unavailable(t, "needs "+from)
	}
	require.NoError(t, os.WriteFile(to, nil, 0o644))
	out, err := exec.Command("mount", "--bind", from, to).CombinedOutput()
	require.NoError(t, err, "mount --bind %s %s: %s", from, to, out)
	t.Cleanup(func() { _ = exec.Command("umount", to).Run() })
}

// TestPackFailuresLeaveNothing: every failure exits non-zero, names the
// path at fault, and leaves neither OUT_FILE nor a temporary beside it.
func TestPackFailuresLeaveNothing(t *testing.T) {
	newSrc := func(t *testing.T) string {
		src := filepath.Join(t.TempDir(), "src")
		require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "ok"), []byte("fine"), 0o644))
		return src
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (src, outDir string, fault string)
		args  []string
		cause string // the system's reason, in the message too
	}{
		{"missing source", func(t *testing.T) (string, string, string) {
			src := filepath.Join(t.TempDir(), "absent")
			return src, t.TempDir(), src
		}, nil, "no such file or directory"},
		{"output directory missing", func(t *testing.T) (string, string, string) {
			d := filepath.Join(t.TempDir(), "nope")
			return newSrc(t), d, d
		}, nil, "no such file or directory"},
		{"unreadable file", func(t *testing.T) (string, string, string) {
			// Root reads any mode-000 file, so use a file the kernel
			// refuses to open for reading even to root: a write-only
			// sysfs attribute (kernfs returns EACCES), bind-mounted in.
			src := newSrc(t)
			bad := filepath.Join(src, "sub", "unreadable")
			bindMount(t, "/sys/bus/cpu/uevent", bad)
			return src, t.TempDir(), "sub/unreadable"
		}, nil, "permission denied"},
		{"file changed size while read", func(t *testing.T) (string, string, string) {
			// sysfs attributes stat as 4096 bytes but read as a few.
			src := newSrc(t)
			bad := filepath.Join(src, "sub", "shrinks")
			bindMount(t, "/sys/kernel/uevent_seqnum", bad)
			return src, t.TempDir(), "sub/shrinks"
		}, nil, "changed size"},
		{"disk full", func(t *testing.T) (string, string, string) {
			testutil.RequireRoot(t)
			src := newSrc(t)
			data := make([]byte, 2<<20)
			_, err := rand.Read(data)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(src, "random"), data, 0o644))
			small := t.TempDir()
			out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small).CombinedOutput()
			require.NoError(t, err, "mount tmpfs: %s", out)
			t.Cleanup(func() { _ = exec.Command("umount", small).Run() })
			return src, small, filepath.Join(small, "img.raw")
		}, []string{"--comp", "none"}, "no space left on device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, outDir, fault := tc.setup(t)
			out := filepath.Join(outDir, "img.raw")
			var before []string
			if _, err := os.Stat(outDir); err == nil {
				before = listDir(t, outDir)
			}
			var stdout, stderr bytes.Buffer
			code := run(append(append([]string{"pack"}, tc.args...), src, out), &stdout, &stderr)
			assert.Equal(t, 1, code, "exit status; stderr: %s", stderr.String())
			assert.Contains(t, stderr.String(), fault, "the message names the path at fault")
			assert.Contains(t, stderr.String(), tc.cause)
			assert.Empty(t, stdout.String())
			if _, err := os.Stat(outDir); err == nil {
				assert.Equal(t, before, listDir(t, outDir), "no image and no temporary left behind")
			}
			_, err := os.Lstat(out)
			assert.True(t, errors.Is(err, fs.ErrNotExist), "no %s after failure", out)
		})
	}
}

// openPTY returns the controller and the terminal side of a new
// pseudo-terminal (ptmx(4)), so a test can hand runPack a real terminal.
func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testutil.Unavailable(t, "needs /dev/ptmx: "+err.Error())
	}
	t.Cleanup(func() { ptm.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0), "unlockpt")
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	require.NoError(t, err, "ptsname")
	pts, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { pts.Close() })
	return ptm, pts
}

// TestPackProgressOnTerminal: with a terminal as stderr the progress line
// is drawn there (and cleared), the summary still goes to stdout; --quiet
// draws nothing even on a terminal.
func TestPackProgressOnTerminal(t *testing.T) {
	old := progressInterval
	progressInterval = time.Millisecond
	t.Cleanup(func() { progressInterval = old })

	src := filepath.Join(t.TempDir(), "src")
	_, err := treegen.Generate(src, treegen.Small(9))
	require.NoError(t, err)
	for _, quiet := range []bool{false, true} {
		ptm, pts := openPTY(t)
		var got bytes.Buffer
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(&got, ptm) // ends with EIO when pts closes
		}()
		args := []string{"--comp", "xz", "-b", "4K", src, filepath.Join(t.TempDir(), "img.raw")}
		if quiet {
			args = append([]string{"--quiet"}, args...)
		}
		var stdout bytes.Buffer
		require.NoError(t, runPack(args, &stdout, pts))
		require.NoError(t, pts.Close())
		<-done
		if quiet {
			assert.Empty(t, got.String(), "--quiet draws no progress")
			assert.Empty(t, stdout.String())
			continue
		}
		assert.Contains(t, got.String(), " entries, ", "progress drawn on the terminal")
		assert.True(t, strings.HasSuffix(got.String(), "\r\033[K"), "progress line cleared at the end: %q", got.String())
		assert.Contains(t, stdout.String(), " bytes out", "summary on stdout")
		assert.NotContains(t, stdout.String(), "\r", "no progress on stdout")
	}
}
