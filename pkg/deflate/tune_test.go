package deflate

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkTune compresses DEFLATE_CORPUS under each
// "depth,nice,passes,chunk" setting (or lazy "Lchain,nice,good,lazy,chunk"
// setting) of DEFLATE_PARAMS (space separated), for tuning the level table.
// A benchmark so that plain `go test` never reaches it:
//
//	DEFLATE_CORPUS=dir DEFLATE_PARAMS="16,48,1,16384" go test ./pkg/deflate -run '^$' -bench Tune -benchtime 1x -v
func BenchmarkTune(b *testing.B) {
	t := b
	spec := os.Getenv("DEFLATE_PARAMS")
	if spec == "" {
		t.Skip("DEFLATE_PARAMS not set")
	}
	data := corpus(t)
	for _, s := range strings.Fields(spec) {
		var p params
		if strings.HasPrefix(s, "L") {
			// Lazy: Lchain,nice,good,lazy,chunk
			p.chains = true
			_, err := fmt.Sscanf(s, "L%d,%d,%d,%d,%d", &p.depth, &p.nice, &p.good, &p.lazy, &p.chunk)
			require.NoError(t, err)
		} else {
			_, err := fmt.Sscanf(s, "%d,%d,%d,%d", &p.depth, &p.nice, &p.passes, &p.chunk)
			require.NoError(t, err)
		}
		e := &Encoder{level: 9, p: p}
		// The least CPU time of three runs: the machine is shared.
		var total int
		el := 1e9
		for range 3 {
			start := cpuTime()
			total = compressBlocks(e, data)
			el = min(el, cpuTime()-start)
		}
		t.Logf("%-22s %d bytes %.3f s %.1f MB/s", s, total, el, float64(len(data))/el/1e6)
	}
}

// cpuTime is the process's user+system CPU time in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
