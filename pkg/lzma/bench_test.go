package lzma

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// Benchmarks take LZMA_NICE and LZMA_DEPTH like the corpus measurement.
//
// benchInput is 1 MiB of real data: system binaries, or LZMA_BENCH_FILE.
func benchInput(b *testing.B) []byte {
	if p := os.Getenv("LZMA_BENCH_FILE"); p != "" {
		data, err := os.ReadFile(p)
		require.NoError(b, err)
		return data[:min(len(data), 1<<20)]
	}
	return elfBytes(b, 1<<20)
}

func benchmarkEncode(b *testing.B, data []byte, opts Options) {
	for name, field := range map[string]*int{"LZMA_NICE": &opts.NiceLen, "LZMA_DEPTH": &opts.Depth} {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			require.NoError(b, err, name)
			*field = n
		}
	}
	e, err := NewEncoder(opts)
	require.NoError(b, err)
	var out []byte
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	startCPU := cpuTime(b, syscall.RUSAGE_SELF)
	for i := 0; i < b.N; i++ {
		out, err = e.EncodeLZMA2(out, data)
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime(b, syscall.RUSAGE_SELF) - startCPU
	b.ReportMetric(float64(len(out))/float64(len(data)), "ratio")
	// On a shared machine wall time includes waiting for a core; CPU
	// time per byte is the per-core speed.
	b.ReportMetric(float64(len(data))*float64(b.N)/1e6/cpu.Seconds(), "cpuMB/s")
}

func BenchmarkEncodeELF1MiB(b *testing.B) {
	benchmarkEncode(b, benchInput(b), Options{DictSize: 1 << 20})
}

func BenchmarkEncodeText1MiB(b *testing.B) {
	benchmarkEncode(b, textBytes(1, 1<<20), Options{DictSize: 1 << 20})
}

func BenchmarkEncodeRandom1MiB(b *testing.B) {
	benchmarkEncode(b, randomBytes(1, 1<<20), Options{DictSize: 1 << 20})
}
