package lzma

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz/lzma"

	"github.com/mkportable/mkportable/internal/testutil"
)

// BenchmarkMeasureCorpus compares compressed sizes on a corpus split into 1 MiB
// blocks, each compressed on its own as mksquashfs -b 1M -Xdict-size 100%
// does: this encoder, liblzma preset 6 (xz command) and ulikunitz/xz.
//
//	LZMA_CORPUS=/path/to/file-or-dir [LZMA_EVERY=n] [LZMA_NICE=n LZMA_DEPTH=n LZMA_LC=n LZMA_LP=n LZMA_PB=n]
//	[LZMA_NO_XZ=1 LZMA_NO_UK=1] go test ./pkg/lzma -run '^$' -bench MeasureCorpus -benchtime 1x -v
//
// A directory is read as the concatenation of its regular files in path
// order. LZMA_EVERY=n keeps every n-th block, to sample a large corpus.
func BenchmarkMeasureCorpus(b *testing.B) {
	t := b
	root := os.Getenv("LZMA_CORPUS")
	if root == "" {
		t.Skip("set LZMA_CORPUS to a file or directory to measure")
	}
	data := readCorpus(t, root)
	every := 1
	if s := os.Getenv("LZMA_EVERY"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "LZMA_EVERY")
		every = n
	}
	const block = 1 << 20
	var blocks [][]byte
	for i := 0; i*block < len(data); i++ {
		if i%every == 0 {
			blocks = append(blocks, data[i*block:min(len(data), (i+1)*block)])
		}
	}
	var in int64
	for _, b := range blocks {
		in += int64(len(b))
	}

	opts := Options{DictSize: block}
	for name, field := range map[string]*int{
		"LZMA_NICE": &opts.NiceLen, "LZMA_DEPTH": &opts.Depth,
		"LZMA_LC": &opts.LC, "LZMA_LP": &opts.LP, "LZMA_PB": &opts.PB,
	} {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			require.NoError(t, err, name)
			*field = n
		}
	}
	enc, err := NewEncoder(opts)
	require.NoError(t, err)
	var ours int64
	var buf []byte
	start, startCPU := time.Now(), cpuTime(t, syscall.RUSAGE_SELF)
	for _, b := range blocks {
		buf, err = enc.EncodeLZMA2(buf, b)
		require.NoError(t, err)
		ours += int64(len(buf))
	}
	oursTime, oursCPU := time.Since(start), cpuTime(t, syscall.RUSAGE_SELF)-startCPU
	// Every block must decode, so a broken build cannot look good; this
	// runs after the timing.
	for i, b := range blocks {
		buf, err = enc.EncodeLZMA2(buf, b)
		require.NoError(t, err)
		require.True(t, bytes.Equal(b, decodeGo(t, buf, block)), "block %d does not round-trip", i)
	}

	var uk int64
	start, startCPU = time.Now(), cpuTime(t, syscall.RUSAGE_SELF)
	for _, b := range blocks {
		if os.Getenv("LZMA_NO_UK") != "" {
			break
		}
		var out bytes.Buffer
		w, err := lzma.Writer2Config{DictCap: block}.NewWriter2(&out)
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		uk += int64(out.Len())
	}
	ukTime, ukCPU := time.Since(start), cpuTime(t, syscall.RUSAGE_SELF)-startCPU

	var lib int64
	var libTime, libCPU time.Duration
	if os.Getenv("LZMA_NO_XZ") == "" {
		xz := testutil.RequireTool(t, "xz")
		start, startCPU = time.Now(), cpuTime(t, syscall.RUSAGE_CHILDREN)
		for _, b := range blocks {
			cmd := exec.Command(xz, "-c", "--format=raw", "--lzma2=preset=6,dict=1MiB")
			cmd.Stdin = bytes.NewReader(b)
			out, err := cmd.Output()
			require.NoError(t, err)
			lib += int64(len(out))
		}
		libTime, libCPU = time.Since(start), cpuTime(t, syscall.RUSAGE_CHILDREN)-startCPU
	}

	mbs := func(d time.Duration) float64 { return float64(in) / 1e6 / d.Seconds() }
	t.Logf("corpus %s: %d blocks, %d bytes", root, len(blocks), in)
	t.Logf("options   %+v", opts)
	t.Logf("ours      %12d bytes  ratio %.4f  %6.2f MB/s wall  %6.2f MB/s per CPU second", ours, float64(ours)/float64(in), mbs(oursTime), mbs(oursCPU))
	if lib > 0 {
		t.Logf("liblzma-6 %12d bytes  ratio %.4f  %6.2f MB/s wall  %6.2f MB/s per CPU second", lib, float64(lib)/float64(in), mbs(libTime), mbs(libCPU))
		t.Logf("ours/liblzma %.4f", float64(ours)/float64(lib))
	}
	if uk == 0 {
		return
	}
	t.Logf("ulikunitz %12d bytes  ratio %.4f  %6.2f MB/s wall  %6.2f MB/s per CPU second", uk, float64(uk)/float64(in), mbs(ukTime), mbs(ukCPU))
	t.Logf("ours/ulikunitz %.4f", float64(ours)/float64(uk))
}

func readCorpus(t testing.TB, root string) []byte {
	t.Helper()
	st, err := os.Stat(root)
	require.NoError(t, err)
	if !st.IsDir() {
		b, err := os.ReadFile(root)
		require.NoError(t, err)
		return b
	}
	var paths []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(paths)
	var all bytes.Buffer
	for _, p := range paths {
		f, err := os.Open(p)
		require.NoError(t, err)
		_, err = io.Copy(&all, f)
		f.Close()
		require.NoError(t, err, "reading %s", p)
	}
	return all.Bytes()
}

// cpuTime is the user+system CPU time of this process or of its waited-for
// children: on a shared machine it measures the work, not the waiting.
func cpuTime(t testing.TB, who int) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(who, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
