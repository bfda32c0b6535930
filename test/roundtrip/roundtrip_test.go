package roundtrip

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mkportable/mkportable/test/treegen"
)

// fullTree is the big corner-case tree (devices included when root).
func fullTree(t *testing.T) *fixture {
	return tree(t, "full", fullTreeOptions())
}

// compressors are every compressor pack supports, as --comp takes them.
var compressors = []string{"gzip", "xz", "zstd", "lz4", "none"}

// TestRoundTrip packs the full tree with every compressor and checks the
// image through the kernel, unsquashfs (list and extract) and sqfsdiff
// against mksquashfs's image. One reference image serves all compressors:
// sqfsdiff compares the decoded file systems, not their encoding.
func TestRoundTrip(t *testing.T) {
	f := fullTree(t)
	ref := reference(t, f.dir, packOpts{})
	for _, comp := range compressors {
		t.Run(comp, func(t *testing.T) {
			o := packOpts{Comp: comp}
			switch comp {
			case "xz":
				// nixpkgs' portableService settings (1 MiB blocks, so the
				// k × 1 MiB ± 1 files meet their block boundaries here).
				o = packOpts{Comp: "xz -Xdict-size 100%", BlockSize: "1M"}
			case "none":
				// Raw blocks and fragment blocks between 512 KiB and 1 MiB:
				// the sizes a buffered output path treats specially.
				o.BlockSize = "1M"
			}
			img := pack(t, f.dir, o)
			t.Run("kernel", func(t *testing.T) { checkKernel(t, img, f, o) })
			t.Run("pkg-squashfs-reader", func(t *testing.T) { checkOurReader(t, img, f, o) })
			t.Run("unsquashfs-list", func(t *testing.T) { checkUnsquashfsList(t, img, f, o) })
			t.Run("unsquashfs-extract", func(t *testing.T) { checkUnsquashfsExtract(t, img, f, o) })
			t.Run("sqfsdiff", func(t *testing.T) { checkSqfsdiff(t, img, ref) })
		})
	}
}

// TestRoundTripEncoders covers the encoders that the default settings of
// TestRoundTrip do not reach: gzip and zstd pick a different encoder by level
// (pkg/squashfs/compress gzip.go and zstd.go: klauspost's gzip and pkg/zstd's
// double-fast parse at the low levels, pkg/deflate's lazy parse or pkg/zstd's
// fast parse in the middle, the shortest-path parsers at the top) and xz has
// its fast mode. Each must
// make blocks that the kernel's and squashfs-tools' decoders (zlib, libzstd,
// liblzma) take, at 1 MiB blocks where a frame spans several zstd blocks.
func TestRoundTripEncoders(t *testing.T) {
	f := fullTree(t)
	for _, comp := range []string{
		"gzip -Xcompression-level 1",
		"gzip -Xcompression-level 6",
		"zstd -Xcompression-level 1",
		"zstd -Xcompression-level 9",
		"zstd -Xcompression-level 19",
		"xz -Xmode fast",
	} {
		t.Run(comp, func(t *testing.T) {
			o := packOpts{Comp: comp, BlockSize: "1M"}
			img := pack(t, f.dir, o)
			checkKernel(t, img, f, o)
			checkUnsquashfsExtract(t, img, f, o)
		})
	}
}

// TestRoundTripSmallBlocks covers the smallest block size (the tree has
// files of k × 4 KiB ± 1 byte; 1 MiB blocks are covered by the xz case of
// TestRoundTrip), with an mksquashfs-style compressor string.
func TestRoundTripSmallBlocks(t *testing.T) {
	f := fullTree(t)
	o := packOpts{Comp: "zstd -Xcompression-level 3", BlockSize: "4K"}
	img := pack(t, f.dir, o)
	checkKernel(t, img, f, o)
	checkOurReader(t, img, f, o)
	checkUnsquashfsList(t, img, f, o)
	checkSqfsdiff(t, img, reference(t, f.dir, packOpts{BlockSize: "4K"}))
}

// TestRoundTripOptions: --no-hardlinks stores every name as its own inode
// (nlink 1, same contents), --mtime and --root-mode reach every inode and the
// root directory.
func TestRoundTripOptions(t *testing.T) {
	f := fullTree(t)
	o := packOpts{Comp: "lz4", NoHardlinks: true, Mtime: 1700000000, RootMode: "0700"}
	img := pack(t, f.dir, o)
	checkKernel(t, img, f, o)
	checkOurReader(t, img, f, o)
	checkUnsquashfsList(t, img, f, o)
	checkSqfsdiff(t, img, reference(t, f.dir, o))
}

// TestRoundTripHugeSparse: a file over 4 GiB, zero except 4 KiB past the
// 4 GiB mark. The zero blocks must be stored sparse (the image stays small)
// and every reader must find the data at the right 64-bit offset.
func TestRoundTripHugeSparse(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 4 GiB several times")
	}
	f := tree(t, "huge", treegen.Options{Seed: 3, HugeSparse: true})
	// No compression: a zero block that is not stored sparse costs its
	// full size, so the image size proves the holes are holes.
	o := packOpts{Comp: "none", BlockSize: "1M"}
	img := pack(t, f.dir, o)
	fi, err := os.Stat(img)
	require.NoError(t, err)
	assert.Less(t, fi.Size(), f.sum.Bytes-treegen.HugeSize+64<<20, "the 4 GiB of zeros are stored sparse")
	checkKernel(t, img, f, o)
	checkOurReader(t, img, f, o)
	checkUnsquashfsList(t, img, f, o)
	checkSqfsdiff(t, img, reference(t, f.dir, o))
}

// TestReproducible: one worker and many workers give the same bytes, and so
// does a second copy of the same tree made at another time (other mtimes,
// other inode numbers, other directory order on disk).
func TestReproducible(t *testing.T) {
	f := fullTree(t)
	// zstd: real compression, so blocks finish out of order with many
	// workers, at a cost the suite can afford three times.
	one := pack(t, f.dir, packOpts{Comp: "zstd", Jobs: 1})
	many := pack(t, f.dir, packOpts{Comp: "zstd", Jobs: jobsN()})
	a, err := os.ReadFile(one)
	require.NoError(t, err)
	b, err := os.ReadFile(many)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a, b), "--jobs 1 and --jobs %d give different images (%d and %d bytes)", jobsN(), len(a), len(b))
	assert.Zero(t, len(a)%4096, "image padded to 4 KiB")

	other := tree(t, "full-again", fullTreeOptions())
	// Other times everywhere: the image must not depend on them.
	require.NoError(t, filepath.WalkDir(other.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ts := []unix.Timespec{{Sec: 123456789}, {Sec: 987654321}}
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	}))
	again := pack(t, other.dir, packOpts{Comp: "zstd", Jobs: 1})
	assert.Equal(t, fileSHA256(t, one), fileSHA256(t, again), "the same tree generated twice packs to different bytes")
}

func fullTreeOptions() treegen.Options {
	opts := treegen.Full(20261125)
	opts.Devices = os.Geteuid() == 0
	return opts
}

// TestRoundTripLargeStoredBlocks: stored blocks between half a block and a
// block (incompressible data with 1 MiB blocks: a 600,000-byte tail packed
// as a raw fragment block, raw 1 MiB blocks, and a half-compressible block)
// right after the superblock and the compressor options. Such writes are
// where a buffered output may take a shortcut; every compressor has them.
func TestRoundTripLargeStoredBlocks(t *testing.T) {
	f := customTree(t, "large-stored", func(dir string) {
		rnd := rand.New(rand.NewPCG(1, 2))
		random := func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			return b
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a-tail-600000"), random(600000), 0o644))
		half := append(random(700<<10), make([]byte, 324<<10)...)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "b-half-compressible"), append(half, random(1<<20+5)...), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "c-small"), []byte("after the big ones\n"), 0o644))
	})
	for _, comp := range []string{"lz4", "none"} {
		t.Run(comp, func(t *testing.T) {
			o := packOpts{Comp: comp, BlockSize: "1M"}
			img := pack(t, f.dir, o)
			checkKernel(t, img, f, o)
			checkOurReader(t, img, f, o)
			checkUnsquashfsExtract(t, img, f, o)
		})
	}
}
