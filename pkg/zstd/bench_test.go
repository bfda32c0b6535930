package zstd

import (
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// measureOptions returns DefaultOptions with ZSTD_NICE, ZSTD_DEPTH,
// ZSTD_PASSES and ZSTD_SEED (0/1) applied, for tuning runs.
func measureOptions(tb testing.TB) Options {
	o := DefaultOptions
	for name, field := range map[string]*int{"ZSTD_NICE": &o.NiceLen, "ZSTD_DEPTH": &o.Depth, "ZSTD_PASSES": &o.Passes} {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			require.NoError(tb, err, name)
			*field = n
		}
	}
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
