package compress_test

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/pkg/squashfs"
	"github.com/mkportable/mkportable/pkg/squashfs/compress"
	"github.com/mkportable/mkportable/pkg/xz"
)

// xzKernelCode returns n bytes of synthetic machine code for filter f:
// 64-byte units of filler (drawn from eight variants, bytes 0x10..0x3F so
// no filter mistakes filler for an instruction) with one branch to a fixed
// absolute target at offset 16. The branches are written in absolute
// form and turned into real, position-relative ones with f.Decode, so the
// filter's encoder makes every unit's branch identical again: BCJ wins
// clearly on this data, and only with the right filter.
func xzKernelCode(f xz.Filter, n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	var variants [8][64]byte
	for v := range variants {
		for i := range variants[v] {
			variants[v][i] = 0x10 + byte(rng.Intn(0x30))
		}
	}
	const target = 0x00123450
	var ins []byte
	switch f {
	case xz.X86:
		ins = binary.LittleEndian.AppendUint32([]byte{0xE8}, target)
	case xz.PowerPC:
		ins = binary.BigEndian.AppendUint32(nil, 0x48000001|target&0x03FFFFFC)
	case xz.ARM:
		v := uint32(target >> 2)
		ins = []byte{byte(v), byte(v >> 8), byte(v >> 16), 0xEB}
	case xz.ARMThumb:
		v := uint32(target >> 1)
		ins = []byte{byte(v >> 11), 0xF0 | byte(v>>19)&7, byte(v), 0xF8 | byte(v>>8)&7}
	case xz.SPARC:
		ins = binary.BigEndian.AppendUint32(nil, 0x40000000|(target>>2)&0x003FFFFF)
	case xz.ARM64:
		ins = binary.LittleEndian.AppendUint32(nil, 0x94000000|(target>>2)&0x03FFFFFF)
	default:
		panic("no template for " + f.String())
	}
	b := make([]byte, 0, n+64)
	for len(b) < n {
		unit := variants[rng.Intn(len(variants))]
		copy(unit[16:], ins)
		b = append(b, unit[:]...)
	}
	b = b[:n]
	f.Decode(b, 0)
	return b
}

// xzBlockHeaderWith is the start of an xz block header (xz-file-format
// 3.1) of 12 bytes (size byte 2) with two filters: f without properties,
// then LZMA2 with one property byte - what pkg/xz writes for a BCJ block.
func xzBlockHeaderWith(f xz.Filter) []byte {
	return []byte{0x02, 0x01, byte(f), 0x00, 0x21, 0x01}
}

// xzKernelTree writes a synthetic code file per filter, a text file and,
// with exe, this test's own executable.
func xzKernelTree(t *testing.T, filters []xz.Filter, exe bool) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{}
	for i, f := range filters {
		// 1.5 MiB: one full 1 MiB block plus a tail in a fragment.
		files["code-"+f.String()+".bin"] = xzKernelCode(f, 3<<19, int64(i))
	}
	var text bytes.Buffer
	for i := 0; text.Len() < 300<<10; i++ {
		text.WriteString("line of text, not machine code, number ")
		text.WriteString(string(rune('a' + i%26)))
		text.WriteByte('\n')
	}
	files["text.txt"] = text.Bytes()
	if exe {
		p, err := os.Executable()
		require.NoError(t, err)
		bin, err := os.ReadFile(p)
		require.NoError(t, err)
		files["real-executable"] = bin
	}
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	return dir, files
}

func xzKernelPack(t *testing.T, dir, spec string) string {
	t.Helper()
	c, err := compress.Parse(spec, 1<<20)
	require.NoError(t, err)
	img := filepath.Join(t.TempDir(), "img.sqfs")
	f, err := os.Create(img)
	require.NoError(t, err)
	defer f.Close()
	w, err := squashfs.NewWriter(f, squashfs.Options{BlockSize: 1 << 20, Compressor: c})
	require.NoError(t, err)
	require.NoError(t, w.AddFS(squashfs.DirFS(dir), squashfs.AddOptions{}))
	require.NoError(t, w.Close())
	return img
}

// xzKernelCheck reads every file back through the Linux kernel (loop
// mount), unsquashfs (liblzma) and our reader.
func xzKernelCheck(t *testing.T, img string, files map[string][]byte) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "mount", "umount", "unsquashfs")

	mnt := filepath.Join(t.TempDir(), "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	out, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", img, mnt).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("failed to setup loop device")) {
		testutil.Unavailable(t, "no loop devices: "+string(out))
	}
	require.NoError(t, err, "mount: %s", out)
	defer func() {
		out, err := exec.Command("umount", mnt).CombinedOutput()
		assert.NoError(t, err, "umount: %s", out)
	}()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(mnt, name))
		require.NoError(t, err, "kernel: %s", name)
		assert.True(t, bytes.Equal(want, got), "kernel read of %s differs", name)
	}

	ext := filepath.Join(t.TempDir(), "ext")
	out, err = exec.Command("unsquashfs", "-no-progress", "-d", ext, img).CombinedOutput()
	require.NoError(t, err, "unsquashfs: %s", out)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(ext, name))
		require.NoError(t, err, "unsquashfs: %s", name)
		assert.True(t, bytes.Equal(want, got), "unsquashfs extraction of %s differs", name)
	}

	r, err := squashfs.OpenImage(img)
	require.NoError(t, err)
	defer func() { assert.NoError(t, r.Close()) }()
	for name, want := range files {
		got, err := r.ReadFile(name)
		require.NoError(t, err, "reader: %s", name)
		assert.True(t, bytes.Equal(want, got), "reader of %s differs", name)
	}
}

// TestXZKernelBCJ packs blocks that use every BCJ filter we offer and
// reads them back through the kernel, unsquashfs and our reader.
func TestXZKernelBCJ(t *testing.T) {
	filters := []xz.Filter{xz.X86, xz.PowerPC, xz.ARM, xz.ARMThumb, xz.SPARC, xz.ARM64}
	dir, files := xzKernelTree(t, filters, false)
	img := xzKernelPack(t, dir, "xz -Xbcj x86,powerpc,arm,armthumb,sparc,arm64")
	raw, err := os.ReadFile(img)
	require.NoError(t, err)
	for _, f := range filters {
		assert.True(t, bytes.Contains(raw, xzBlockHeaderWith(f)), "some block uses %s", f)
	}
	xzKernelCheck(t, img, files)
}

// TestXZKernelAutoBCJ checks the default (x86 where a block looks like x86
// code) at nixpkgs' settings.
func TestXZKernelAutoBCJ(t *testing.T) {
	dir, files := xzKernelTree(t, []xz.Filter{xz.X86, xz.ARM64}, true)
	img := xzKernelPack(t, dir, "xz -Xdict-size 100%")
	raw, err := os.ReadFile(img)
	require.NoError(t, err)
	assert.True(t, bytes.Contains(raw, xzBlockHeaderWith(xz.X86)), "x86 code got the x86 filter")
	assert.False(t, bytes.Contains(raw, xzBlockHeaderWith(xz.ARM64)), "ARM64 is never chosen automatically")
	if runtime.GOARCH != "amd64" {
		t.Log("the real executable is not x86 code on " + runtime.GOARCH)
	}
	xzKernelCheck(t, img, files)

	none := xzKernelPack(t, dir, "xz -Xdict-size 100% -Xbcj none")
	raw, err = os.ReadFile(none)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, xzBlockHeaderWith(xz.X86)), "-Xbcj none writes plain LZMA2")
	xzKernelCheck(t, none, files)
}

// TestXZKernelModeNormal reads an image written with pkg/lzma's encoder
// (-Xmode normal) and x86 BCJ back through the kernel and unsquashfs.
func TestXZKernelModeNormal(t *testing.T) {
	dir, files := xzKernelTree(t, []xz.Filter{xz.X86}, false)
	img := xzKernelPack(t, dir, "xz -Xdict-size 100% -Xmode normal")
	raw, err := os.ReadFile(img)
	require.NoError(t, err)
	assert.True(t, bytes.Contains(raw, xzBlockHeaderWith(xz.X86)))
	xzKernelCheck(t, img, files)
}
