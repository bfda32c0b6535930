package treegen

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withoutTimes drops what legitimately differs between two generations:
// times and inode identity.
func withoutTimes(s map[string]Entry) map[string]Entry {
	out := make(map[string]Entry, len(s))
	for p, e := range s {
		e.Mtime = 0
		out[p] = e
	}
	return out
}

func TestSmallIsDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	sa, err := Generate(a, Small(7))
	require.NoError(t, err)
	sb, err := Generate(b, Small(7))
	require.NoError(t, err)
	_, err = Generate(c, Small(8))
	require.NoError(t, err)
	assert.Equal(t, sa, sb)

	snapA, err := Snapshot(a)
	require.NoError(t, err)
	snapB, err := Snapshot(b)
	require.NoError(t, err)
	snapC, err := Snapshot(c)
	require.NoError(t, err)
	assert.Empty(t, Diff(withoutTimes(snapA), withoutTimes(snapB), 20), "same seed, same tree")
	assert.NotEmpty(t, Diff(withoutTimes(snapA), withoutTimes(snapC), 20), "another seed changes content")
	assert.Equal(t, Groups(snapA), Groups(snapB))
	// Every entry but the root is counted.
	assert.Equal(t, sa.Entries(), len(snapA)-1)
}

func TestGenerateRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x"), nil, 0o644))
	_, err := Generate(dir, Small(1))
	require.Error(t, err)
}

func TestFullHasEveryCorner(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 14,000 files")
	}
	dir := t.TempDir()
	opts := Full(42)
	opts.Devices = os.Geteuid() == 0
	sum, err := Generate(dir, opts)
	require.NoError(t, err)
	snap, err := Snapshot(dir)
	require.NoError(t, err)
	assert.Equal(t, sum.Entries(), len(snap)-1)

	modes := map[uint32]bool{}
	var big, maxDepth, long255 int
	kinds := map[Kind]int{}
	for p, e := range snap {
		kinds[e.Kind]++
		if strings.HasPrefix(p, "modes/m") {
			modes[e.Perm] = true
		}
		if strings.HasPrefix(p, "big/") && strings.Count(p, "/") == 1 {
			big++
		}
		if d := strings.Count(p, "/"); strings.HasPrefix(p, "deep/") && d > maxDepth {
			maxDepth = d
		}
		if len(filepath.Base(p)) == 255 {
			long255++
		}
	}
	assert.Equal(t, 4096, len(modes), "every permission pattern 0000..07777")
	assert.Equal(t, 10000, big)
	assert.GreaterOrEqual(t, maxDepth, 100)
	assert.GreaterOrEqual(t, long255, 4)
	for _, k := range []Kind{KindReg, KindDir, KindSymlink, KindFifo, KindSocket} {
		assert.NotZero(t, kinds[k], "kind %s", k)
	}
	if opts.Devices {
		assert.NotZero(t, kinds[KindChar])
		assert.NotZero(t, kinds[KindBlock])
		d := snap["special/max-dev"]
		assert.Equal(t, []any{KindBlock, uint32(0o600), uint32(4095), uint32(1<<20 - 1)}, []any{d.Kind, d.Perm, d.Major, d.Minor})
	}
	assert.Equal(t, uint32(0o7777), snap["modes/m7777"].Perm)
	assert.Equal(t, uint32(0o1777), snap["modes/d1777"].Perm)
	assert.Equal(t, "/nix/store/0c5nc3kjr3k4prxq1xb7k6bn2sml3zzc-hello-2.12.1/bin/hello", snap["links/nix-bin"].Target)
	assert.Equal(t, uint64(3), snap["links/a/shared"].Nlink)
	assert.Contains(t, Groups(snap), "links/a/shared | links/b/shared-again | links/shared-third")
	assert.Contains(t, Groups(snap), "links/b/hardlinked-symlink | links/nix-bin")
	for _, bs := range []int{4096, 128 << 10, 1 << 20} {
		assert.Equal(t, int64(bs+1), snap["boundary/bs"+strconv.Itoa(bs)+"/k1+1"].Size)
		assert.Equal(t, int64(bs-1), snap["boundary/bs"+strconv.Itoa(bs)+"/k1-1"].Size)
	}
	assert.Equal(t, int64(3*4096+1), snap["boundary/bs4096/k3+1"].Size)
	// Identical content really is identical; near-duplicates are not.
	assert.Equal(t, snap["dup/big-copy0"].Hash, snap["dup/big-copy3"].Hash)
	assert.NotEqual(t, snap["dup/big-copy0"].Hash, snap["dup/same-size"].Hash)
	assert.Equal(t, snap["dup/big-copy0"].Size, snap["dup/same-size"].Size)
	if os.Geteuid() == 0 {
		assert.NotZero(t, snap["misc/f0000"].UID, "scrambled owner")
	}
}

func TestHugeSparseCostsNoDisk(t *testing.T) {
	dir := t.TempDir()
	_, err := Generate(dir, Options{Seed: 1, HugeSparse: true})
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(dir, "huge/sparse-4g"))
	require.NoError(t, err)
	assert.Equal(t, int64(HugeSize), fi.Size())
	assert.Greater(t, fi.Size(), int64(1)<<32)
	f, err := os.Open(filepath.Join(dir, "huge/sparse-4g"))
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 8)
	_, err = f.ReadAt(b, HugeDataOffset-8)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 8), b, "zero before the data")
	_, err = f.ReadAt(b, HugeDataOffset)
	require.NoError(t, err)
	assert.NotEqual(t, make([]byte, 8), b, "data past 4 GiB")
	blocks := fi.Sys().(*syscall.Stat_t).Blocks
	assert.Less(t, blocks*512, int64(1<<20), "the file is sparse")
}

// The content hash must not depend on how zeros are stored: holes on the
// source, zero blocks read back from an image.
func TestHashIgnoresHoleLayout(t *testing.T) {
	dir := t.TempDir()
	data := []byte("data after a hole")
	sparse, err := os.Create(filepath.Join(dir, "sparse"))
	require.NoError(t, err)
	require.NoError(t, sparse.Truncate(3<<20+7))
	_, err = sparse.WriteAt(data, 1<<20+5)
	require.NoError(t, err)
	require.NoError(t, sparse.Close())
	dense := make([]byte, 3<<20+7)
	copy(dense[1<<20+5:], data)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dense"), dense, 0o644))
	dense[len(dense)-1] = 1
	require.NoError(t, os.WriteFile(filepath.Join(dir, "last-byte"), dense, 0o644))
	dense[len(dense)-1] = 0
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shorter"), dense[:len(dense)-1], 0o644))
	snap, err := Snapshot(dir)
	require.NoError(t, err)
	assert.Equal(t, snap["dense"].Hash, snap["sparse"].Hash)
	h, err := HashReader(bytes.NewReader(dense), int64(len(dense)))
	require.NoError(t, err)
	assert.Equal(t, snap["dense"].Hash, h, "HashReader agrees with Snapshot")
	_, err = HashReader(bytes.NewReader(dense), int64(len(dense))+1)
	assert.Error(t, err, "short stream")
	assert.NotEqual(t, snap["dense"].Hash, snap["last-byte"].Hash)
	assert.NotEqual(t, snap["dense"].Size, snap["shorter"].Size)
	// The same data at another offset is other content.
	moved := make([]byte, 3<<20+7)
	copy(moved[2<<20:], data)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "moved"), moved, 0o644))
	snap, err = Snapshot(dir)
	require.NoError(t, err)
	assert.NotEqual(t, snap["dense"].Hash, snap["moved"].Hash)
}
