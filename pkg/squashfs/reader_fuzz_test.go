package squashfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// FuzzReader opens arbitrary bytes as an image and does everything a user
// of the Reader can do: walk the tree, stat and lstat every path, read link
// targets, read files sequentially and at offsets. It must never panic, hang
// or allocate without bound; errors are expected.
//
// Run it with
//
//	go test ./pkg/squashfs/ -run '^$' -fuzz '^FuzzReader$' -fuzztime 60s
//
// The seed corpus in testdata/fuzz/FuzzReader holds small mksquashfs images
// (every compressor, every inode type, fragments, multi-block files, a
// directory with several headers); TestGenerateReaderFuzzSeeds rewrites it.
func FuzzReader(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		rdFuzzExercise(r)
	})
}

// rdFuzzExercise uses every Reader operation on r within a fixed budget of
// entries and bytes, so that a hostile image whose directories share
// subtrees (the reader permits that, as the kernel does) cannot make the
// walk itself exponential. The budget bounds the walk, not the reader: each
// single call must end on its own.
func rdFuzzExercise(r *Reader) {
	entries := 0
	budget := int64(8 << 20)
	buf := make([]byte, 64<<10)
	_ = fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		entries++
		if entries > 3000 || budget <= 0 {
			return fs.SkipAll
		}
		if err != nil {
			return nil
		}
		_, _ = d.Info()
		_, _ = r.Stat(p)
		_, _ = r.Lstat(p)
		_, _ = r.ReadLink(p)
		f, err := r.Open(p)
		if err != nil {
			return nil
		}
		defer func() { _ = f.Close() }()
		if _, err := f.Stat(); err != nil {
			panic("Stat on an open file failed: " + err.Error())
		}
		if d.Type().IsRegular() {
			for budget > 0 {
				n, err := f.Read(buf)
				budget -= int64(n) + 1
				if err != nil {
					break
				}
			}
			if ra, ok := f.(io.ReaderAt); ok {
				for _, off := range []int64{0, 1, 4095, 4096, 1 << 20, 1<<32 + 3} {
					n, _ := ra.ReadAt(buf[:100], off)
					budget -= int64(n) + 1
				}
			}
		}
		return nil
	})
	_, _ = r.ReadFile("a/b")
	_, _ = r.ReadDir(".")
}

// TestReaderFuzzSeedsOpen keeps the seed corpus honest: every seed is a
// readable image, so the fuzzer starts from deep inside the format.
func TestReaderFuzzSeedsOpen(t *testing.T) {
	seeds, err := filepath.Glob("testdata/fuzz/FuzzReader/*")
	require.NoError(t, err)
	require.NotEmpty(t, seeds, "run TestGenerateReaderFuzzSeeds")
	for _, s := range seeds {
		data := rdReadSeed(t, s)
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err, s)
		n := 0
		require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			n++
			if d.Type().IsRegular() {
				_, err = r.ReadFile(p)
			}
			return err
		}), s)
		require.Greater(t, n, 3, s)
	}
}

// rdReadSeed decodes a corpus file in the "go test fuzz v1" format.
func rdReadSeed(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitN(string(raw), "\n", 2)
	require.Len(t, lines, 2)
	require.Equal(t, "go test fuzz v1", lines[0])
	body := strings.TrimSpace(lines[1])
	require.True(t, strings.HasPrefix(body, "[]byte(") && strings.HasSuffix(body, ")"), path)
	var s string
	_, err = fmt.Sscanf(body[len("[]byte("):len(body)-1], "%q", &s)
	require.NoError(t, err, path)
	return []byte(s)
}

// TestGenerateReaderFuzzSeeds makes the seed corpus. Asked to, it rewrites
// testdata/fuzz/FuzzReader:
//
//	MKPORTABLE_WRITE_FUZZ_SEEDS=1 go test ./pkg/squashfs/ -run TestGenerateReaderFuzzSeeds
//
// Otherwise it generates into a temporary directory and checks that the
// committed mksquashfs seeds are exactly what it makes (mksquashfs output is
// reproducible with fixed times), so the corpus and its generator cannot
// drift apart. The Writer's seeds are only checked to open
// (TestReaderFuzzSeedsOpen): they change whenever the Writer's layout does.
func TestGenerateReaderFuzzSeeds(t *testing.T) {
	committed := filepath.Join("testdata", "fuzz", "FuzzReader")
	dir := committed
	if os.Getenv("MKPORTABLE_WRITE_FUZZ_SEEDS") != "1" {
		dir = t.TempDir()
		defer func() {
			made, err := filepath.Glob(filepath.Join(dir, "mksquashfs-*"))
			require.NoError(t, err)
			require.NotEmpty(t, made)
			for _, m := range made {
				want, err := os.ReadFile(m)
				require.NoError(t, err)
				got, err := os.ReadFile(filepath.Join(committed, filepath.Base(m)))
				require.NoError(t, err)
				require.True(t, bytes.Equal(want, got), "%s differs from what the generator makes now: rerun it with MKPORTABLE_WRITE_FUZZ_SEEDS=1", filepath.Base(m))
			}
		}()
	}
	testutil.RequireRoot(t)
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	must(os.MkdirAll(filepath.Join(src, "d/e/f"), 0o755))
	must(os.WriteFile(filepath.Join(src, "d/f"), rtContent("text", 100, 1), 0o644))
	must(os.WriteFile(filepath.Join(src, "d/e/g"), rtContent("text", 9000, 2), 0o4755))
	must(os.WriteFile(filepath.Join(src, "d/e/f/zero"), make([]byte, 8192), 0o600))
	must(os.WriteFile(filepath.Join(src, "empty"), nil, 0o644))
	must(os.Link(filepath.Join(src, "d/f"), filepath.Join(src, "hard")))
	must(os.Symlink("d/f", filepath.Join(src, "rel")))
	must(os.Symlink("/d/e", filepath.Join(src, "abs")))
	must(os.Symlink("loop", filepath.Join(src, "loop")))
	must(syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644))
	must(syscall.Mknod(filepath.Join(src, "null"), syscall.S_IFCHR|0o666, int(rtMkdev(1, 3))))
	must(os.Lchown(filepath.Join(src, "d/f"), 1000, 1000))

	// A second tree with a directory of several headers.
	big := t.TempDir()
	for i := 0; i < 300; i++ {
		must(os.WriteFile(filepath.Join(big, fmt.Sprintf("n%03d", i)), nil, 0o644))
	}

	mk := testutil.RequireTool(t, "mksquashfs")
	must(os.MkdirAll(dir, 0o755))
	base := []string{"-noappend", "-quiet", "-no-progress", "-all-time", "0", "-mkfs-time", "0", "-b", "4096"}
	seeds := []struct {
		name string
		tree string
		args []string
	}{
		{"gzip", src, []string{"-comp", "gzip"}},
		{"xz", src, []string{"-comp", "xz"}},
		{"zstd", src, []string{"-comp", "zstd", "-Xcompression-level", "3"}},
		{"lz4", src, []string{"-comp", "lz4"}},
		{"uncompressed", src, []string{"-noI", "-noD", "-noF", "-noX"}},
		{"nofrag-export", src, []string{"-no-fragments", "-exports", "-comp", "gzip"}},
		{"bigdir", big, []string{"-comp", "gzip"}},
	}
	for _, s := range seeds {
		img := filepath.Join(t.TempDir(), "img")
		out, err := exec.Command(mk, append(append([]string{s.tree, img}, base...), s.args...)...).CombinedOutput()
		require.NoError(t, err, "%s: %s", s.name, out)
		data, err := os.ReadFile(img)
		require.NoError(t, err)
		var sb Superblock
		require.NoError(t, sb.UnmarshalBinary(data))
		data = data[:sb.BytesUsed] // the 4 KiB padding adds nothing
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		must(os.WriteFile(filepath.Join(dir, "mksquashfs-"+s.name), []byte(body), 0o644))
	}

	// Images of this package's Writer, whose layout choices differ.
	for _, spec := range []string{"gzip", "zstd -Xcompression-level 3", "lz4"} {
		comp, err := compress.Parse(spec, 4096)
		require.NoError(t, err)
		var buf rdSeekBuffer
		w, err := NewWriter(&buf, Options{BlockSize: 4096, Compressor: comp, Workers: 1})
		require.NoError(t, err)
		must(w.AddFS(DirFS(src), AddOptions{}))
		must(w.Close())
		var sb Superblock
		require.NoError(t, sb.UnmarshalBinary(buf.b))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", buf.b[:sb.BytesUsed])
		must(os.WriteFile(filepath.Join(dir, "writer-"+strings.Fields(spec)[0]), []byte(body), 0o644))
	}
}

// rdSeekBuffer is an in-memory io.WriteSeeker.
type rdSeekBuffer struct {
	b   []byte
	off int
}

func (s *rdSeekBuffer) Write(p []byte) (int, error) {
	if need := s.off + len(p); need > len(s.b) {
		s.b = append(s.b, make([]byte, need-len(s.b))...)
	}
	copy(s.b[s.off:], p)
	s.off += len(p)
	return len(p), nil
}

func (s *rdSeekBuffer) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += int64(s.off)
	case io.SeekEnd:
		offset += int64(len(s.b))
	}
	if offset < 0 {
		return 0, errors.New("negative seek")
	}
	s.off = int(offset)
	return offset, nil
}

// TestReaderRejectsHostileShapes covers hand-made corruptions the fuzzer
// may take long to reach.
func TestReaderRejectsHostileShapes(t *testing.T) {
	seed := rdReadSeed(t, "testdata/fuzz/FuzzReader/mksquashfs-uncompressed")
	open := func(d []byte) (*Reader, error) { return NewReader(bytes.NewReader(d), int64(len(d))) }
	_, err := open(seed)
	require.NoError(t, err)

	// Every single-byte change either fails cleanly or reads.
	for i := 0; i < len(seed); i++ {
		d := append([]byte(nil), seed...)
		d[i] ^= 0xFF
		if r, err := open(d); err == nil {
			rdFuzzExercise(r)
		}
	}
	// bytes_used beyond the data.
	d := append([]byte(nil), seed...)
	d[40]++
	_, err = open(d[:len(d)-1])
	if !errors.Is(err, ErrCorrupt) {
		require.Error(t, err)
	}
}

// TestReaderDirectoryCycle patches an uncompressed image so that the root
// directory's entry "d" refers to the root inode itself: resolving through
// it must fail with ErrLoop, and a walk must end.
func TestReaderDirectoryCycle(t *testing.T) {
	img := rdReadSeed(t, "testdata/fuzz/FuzzReader/mksquashfs-uncompressed")
	r, err := NewReader(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	root, err := r.readInode(r.sb.RootInode)
	require.NoError(t, err)
	// Uncompressed metadata: a block's payload follows its 2-byte header.
	at := int(r.sb.DirTableStart) + int(root.dirBlock) + 2 + int(root.dirOffset)
	le := binary.LittleEndian
	count := int(le.Uint32(img[at:])) + 1
	base := le.Uint32(img[at+8:])
	le.PutUint32(img[at+4:], uint32(r.sb.RootInode>>16)) // every entry of this header now points into the root's block
	p := at + 12
	found := false
	for i := 0; i < count; i++ {
		size := int(le.Uint16(img[p+6:])) + 1
		if string(img[p+8:p+8+size]) == "d" {
			le.PutUint16(img[p:], uint16(r.sb.RootInode&0xFFFF))
			le.PutUint16(img[p+2:], uint16(int16(int64(root.Inode)-int64(base))))
			found = true
		}
		p += 8 + size
	}
	require.True(t, found)

	r, err = NewReader(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	_, err = r.Stat("d")
	assert.ErrorIs(t, err, ErrLoop)
	_, err = r.ReadDir("d/d/d")
	assert.ErrorIs(t, err, ErrLoop)
	walked := 0
	_ = fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		walked++
		require.Less(t, walked, 1000, "the walk must not descend into the cycle")
		return nil
	})
}
