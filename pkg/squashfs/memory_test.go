package squashfs

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wtPeakHeap runs f and returns the highest HeapAlloc seen while it ran,
// relative to the heap before (after a GC). The garbage collector runs
// eagerly meanwhile so garbage does not inflate the figure much; what
// remains of it only makes the measurement more conservative.
func wtPeakHeap(t *testing.T, f func()) uint64 {
	t.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	return peak - base
}

// TestWriterMemoryPerEntry checks the per-entry memory bound of doc.go: at
// most 512 bytes plus the name's length per entry. Measured as the growth
// of the peak heap from 50,000 to 100,000 entries (which cancels the fixed
// cost of buffers), with every file's tail distinct (worst case for the tail
// index) and the image itself written to a discarding io.WriteSeeker.
func TestWriterMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two images of 50,000 and 100,000 entries")
	}
	const nameLen = len("file-000000") // plus the "d000" directories, negligible
	run := func(n int) uint64 {
		return wtPeakHeap(t, func() {
			w, err := NewWriter(&wtDiscard{}, Options{BlockSize: 4096, Workers: 2})
			require.NoError(t, err)
			data := make([]byte, 0, 32)
			for i := 0; i < n; i++ {
				data = fmt.Appendf(data[:0], "contents of %d", i)
				require.NoError(t, w.WriteHeader(&Header{Name: fmt.Sprintf("d%03d/file-%06d", i%100, i), Mode: 0o644, Size: int64(len(data))}))
				_, err := w.Write(data)
				require.NoError(t, err)
			}
			require.NoError(t, w.Close())
		})
	}
	small := run(50000)
	large := run(100000)
	perEntry := float64(large-small) / 50000
	t.Logf("peak heap: %d bytes for 50k entries, %d for 100k: %.0f bytes per entry", small, large, perEntry)
	assert.Less(t, perEntry, float64(512+nameLen))
}

// TestWriterMemoryIndependentOfData writes 96 MiB through the Writer and
// checks that the heap never grows by more than the pipeline's buffers:
// (2 x workers + 3) blocks of input and output, the 1 MiB output buffer and
// the compressors' state, far below the data size.
func TestWriterMemoryIndependentOfData(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 96 MiB")
	}
	const bs = 128 << 10
	const workers = 2
	comp := wtMustParse(t, "lz4", bs)
	chunk := wtText(3, 1<<20)
	grow := wtPeakHeap(t, func() {
		w, err := NewWriter(&wtDiscard{}, Options{BlockSize: bs, Workers: workers, Compressor: comp})
		require.NoError(t, err)
		require.NoError(t, w.WriteHeader(&Header{Name: "big", Size: 96 << 20}))
		for i := 0; i < 96; i++ {
			chunk[0] = byte(i) // no two chunks alike: nothing deduplicates
			_, err := w.Write(chunk)
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
	})
	buffers := uint64((2*workers+3)*2*bs + 2<<20)
	t.Logf("heap grew by %d bytes writing 96 MiB; pipeline buffers %d", grow, buffers)
	assert.Less(t, grow, buffers+8<<20, "bounded by buffers, not by the 96 MiB of data")
}

// wtDiscard is an io.WriteSeeker that keeps nothing.
type wtDiscard struct{ off, size int64 }

func (d *wtDiscard) Write(p []byte) (int, error) {
	d.off += int64(len(p))
	d.size = max(d.size, d.off)
	return len(p), nil
}

func (d *wtDiscard) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 1:
		off += d.off
	case 2:
		off += d.size
	}
	d.off = off
	return off, nil
}
