package zstd

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// measureOptions returns DefaultOptions with ZSTD_NICE, ZSTD_DEPTH,
// ZSTD_PASSES, ZSTD_SEED and ZSTD_EXHAUSTIVE (0/1) applied, for tuning
// runs.
func measureOptions(tb testing.TB) Options {
	o := DefaultOptions
	for name, field := range map[string]*int{"ZSTD_NICE": &o.NiceLen, "ZSTD_DEPTH": &o.Depth, "ZSTD_PASSES": &o.Passes} {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			require.NoError(tb, err, name)
			*field = n
		}
	}
	o.Exhaustive = os.Getenv("ZSTD_EXHAUSTIVE") == "1"
	if s := os.Getenv("ZSTD_SEED"); s != "" {
		o.SeedPass = s == "1"
	}
	return o
}

// benchData is 1 MiB of ZSTD_BENCH_FILE, or of the words test input.
func benchData(b *testing.B) []byte {
	if p := os.Getenv("ZSTD_BENCH_FILE"); p != "" {
		data, err := os.ReadFile(p)
		require.NoError(b, err)
		return data[:min(len(data), 1<<20)]
	}
	return testInputs()["words"]
}

func BenchmarkParse(b *testing.B) {
	data := benchData(b)
	e, err := NewEncoder(measureOptions(b))
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.parseAll(data, func([]byte, []Sequence) {})
	}
}

func BenchmarkEncodeAll(b *testing.B) {
	data := benchData(b)
	e, err := NewEncoder(measureOptions(b))
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var out []byte
	for i := 0; i < b.N; i++ {
		out = e.EncodeAll(out[:0], data)
	}
	b.ReportMetric(float64(len(out))/float64(len(data)), "ratio")
}

// BenchmarkEncodeTree encodes ZSTD_CHUNKS (default 8) 1 MiB chunks of the
// benchmark tree with measureOptions, as squashfs's 1 MiB blocks would be,
// and reports the total output and the CPU time per run; the tuning
// benchmark for Options.
func BenchmarkEncodeTree(b *testing.B) {
	n := 8
	if s := os.Getenv("ZSTD_CHUNKS"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	chunks := treeSample(b, n)
	e, err := NewEncoder(measureOptions(b))
	require.NoError(b, err)
	b.SetBytes(int64(len(chunks)) << 20)
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var out []byte
	var total int
	for range b.N {
		out, total = out[:0], 0
		for _, c := range chunks {
			n := len(out)
			out = e.EncodeAll(out, c)
			total += len(out) - n
		}
	}
	b.ReportMetric(float64(total), "bytes")
	// The machine is shared: CPU time says more than ns/op's wall time.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// cpuTime is the process's user plus system time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMatchFinder runs the match finder alone over the chunks of
// BenchmarkEncodeTree, block by block as the parser calls it.
func BenchmarkMatchFinder(b *testing.B) {
	chunks := treeSample(b, 8)
	o := measureOptions(b)
	var mf matchFinder
	b.SetBytes(int64(len(chunks)) << 20)
	b.ResetTimer()
	cpu0 := cpuTime(b)
	found := 0
	for range b.N {
		found = 0
		for _, c := range chunks {
			mf.reset(c, o.NiceLen, o.Depth)
			for start := 0; start < len(c); start += maxBlockSize {
				mf.findBlock(start, min(start+maxBlockSize, len(c)))
				found += len(mf.found)
			}
		}
	}
	b.ReportMetric(float64(found), "matches")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}
