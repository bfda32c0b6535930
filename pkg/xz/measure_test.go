package xz

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/pkg/lzma"
)

// BenchmarkMeasureBCJ measures, on real data cut into 1 MiB blocks (each block
// one xz stream, as mksquashfs -b 1M -comp xz -Xdict-size 100% stores
// them), what the x86 and ARM64 BCJ filters gain and what they cost, for
// our encoders (ulikunitz's Writer2 and pkg/lzma) and for liblzma preset 6
// (the xz command, i.e. what mksquashfs produces), and evaluates policies
// for choosing a filter per block:
//
//	plain       LZMA2 only (mksquashfs's default)
//	both        always encode plain and x86, keep the smaller (mksquashfs -Xbcj x86)
//	try>=T      encode x86 as well only when the block's x86 score >= T
//	only>=T     encode x86 instead of plain when the score >= T (one encode)
//
// The x86 score is the number of E8/E9 (call/jmp rel32) bytes per KiB whose
// displacement's top byte is 0x00 or 0xFF: machine code has many, text and
// data almost none. The ARM64 score counts "ret" (0xD65F03C0) words per
// MiB; with XZ_MEASURE_ARM64=1 every block is also encoded with ARM64 and
// the "auto" policies (Guess: ARM64 by its ret count, else x86 by its
// density) are evaluated. Speeds are per CPU second (this
// thread's for our encoders, the children's for the xz command).
//
//	XZ_MEASURE=/usr/lib/x86_64-linux-gnu:/usr/bin:/usr/local/go \
//	XZ_MEASURE_MB=50 [XZ_MEASURE_EVERY=4] [XZ_MEASURE_NO_LIBLZMA=1] [XZ_MEASURE_NO_LZMA=1] \
//	[XZ_MEASURE_ARM64=1] [XZ_MEASURE_CSV=blocks.csv] [XZ_MEASURE_NO_UK=1] \
//	[XZ_MEASURE_NICE=n XZ_MEASURE_DEPTH=n] \
//	go test ./pkg/xz -run '^$' -bench MeasureBCJ -benchtime 1x -v -timeout 0
//
// Each root contributes up to XZ_MEASURE_MB MiB: its regular files in path
// order, every k-th file so the sample spans the whole tree, concatenated.
// XZ_MEASURE_EVERY=n keeps every n-th 1 MiB block.
func BenchmarkMeasureBCJ(b *testing.B) {
	t := b
	roots := os.Getenv("XZ_MEASURE")
	if roots == "" {
		t.Skip("set XZ_MEASURE to colon-separated directories or files to measure")
	}
	perRoot := 50 << 20
	if s := os.Getenv("XZ_MEASURE_MB"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "XZ_MEASURE_MB")
		perRoot = n << 20
	}
	every := 1
	if s := os.Getenv("XZ_MEASURE_EVERY"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "XZ_MEASURE_EVERY")
		every = n
	}
	const block = 1 << 20
	var blocks [][]byte
	var in int64
	for _, root := range strings.Split(roots, ":") {
		data := measureSample(t, root, perRoot)
		for i := 0; i*block < len(data); i++ {
			if i%every == 0 {
				b := data[i*block : min(len(data), (i+1)*block)]
				blocks = append(blocks, b)
				in += int64(len(b))
			}
		}
	}
	t.Logf("corpus %s: %d blocks of up to 1 MiB, %d bytes", roots, len(blocks), in)

	filters := []Filter{None, X86}
	if os.Getenv("XZ_MEASURE_ARM64") != "" {
		filters = append(filters, ARM64)
	}
	type result struct{ size, dur [3]int64 } // [plain, x86, arm64]
	dictOpts := func(f Filter, enc LZMA2Encoder) EncodeOptions {
		return EncodeOptions{BCJ: f, DictSize: block, LZMA2: enc}
	}
	stored := func(n, raw int) int64 { return int64(min(n, raw)) } // squashfs stores a block raw when not smaller
	lOpts := lzma.Options{DictSize: block}
	for name, field := range map[string]*int{"XZ_MEASURE_NICE": &lOpts.NiceLen, "XZ_MEASURE_DEPTH": &lOpts.Depth} {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			require.NoError(t, err, name)
			*field = n
		}
	}
	lEnc, err := lzma.NewEncoder(lOpts)
	require.NoError(t, err)
	encoders := []struct {
		name string
		enc  LZMA2Encoder
	}{
		{"ulikunitz", LibLZMA2{DictCap: block}},
		{"pkg/lzma", lEnc},
	}
	if os.Getenv("XZ_MEASURE_NO_LZMA") != "" {
		encoders[1].enc = nil // skip pkg/lzma (slow) when studying policies
	}
	if os.Getenv("XZ_MEASURE_NO_UK") != "" {
		encoders[0].enc = nil
	}
	t.Logf("pkg/lzma options %+v", lOpts)
	res := make([][]result, len(encoders)+1) // last: liblzma
	scores := make([]float64, len(blocks))
	arm := make([]int, len(blocks))
	var scoreTime time.Duration
	var buf []byte
	// Time in-process encoders by this thread's CPU time: the machine is
	// shared, wall time would measure the neighbours.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i, b := range blocks {
		st := time.Now()
		scores[i] = X86Density(b)
		arm[i] = ARM64Returns(b)
		scoreTime += time.Since(st)
		for e, enc := range encoders {
			if enc.enc == nil {
				continue
			}
			var r result
			for k, f := range filters {
				st := threadCPU(t)
				buf, err = Encode(buf, b, dictOpts(f, enc.enc))
				r.dur[k] = int64(threadCPU(t) - st)
				require.NoError(t, err)
				r.size[k] = stored(len(buf), len(b))
				if i == len(blocks)-1 {
					out, err := Decode(nil, buf, block)
					require.NoError(t, err, "the last block decodes (%s %s)", enc.name, f)
					require.True(t, bytes.Equal(b, out))
				}
			}
			res[e] = append(res[e], r)
		}
		if os.Getenv("XZ_MEASURE_NO_LIBLZMA") == "" {
			var r result
			for k, f := range filters {
				var flags []string
				if f != None {
					flags = []string{"--" + f.String()}
				}
				cpu := childCPU(t)
				args := append([]string{"--format=xz", "-C", "crc32", "-c"}, flags...)
				out := runXZMeasure(t, b, append(args, "--lzma2=preset=6,dict=1MiB")...)
				r.dur[k] = int64(childCPU(t) - cpu)
				r.size[k] = stored(len(out), len(b))
			}
			res[len(encoders)] = append(res[len(encoders)], r)
		}
	}

	names := []string{encoders[0].name, encoders[1].name, "liblzma-6"}
	if path := os.Getenv("XZ_MEASURE_CSV"); path != "" {
		// One line per block for offline policy studies.
		var csv strings.Builder
		csv.WriteString("block,len,x86density,arm64rets")
		for e, name := range names {
			if len(res[e]) > 0 {
				for _, f := range filters {
					csv.WriteString("," + name + ":" + f.String())
				}
			}
		}
		csv.WriteString("\n")
		for i, b := range blocks {
			csv.WriteString(strconv.Itoa(i) + "," + strconv.Itoa(len(b)) + "," + strconv.FormatFloat(scores[i], 'f', 3, 64) + "," + strconv.Itoa(arm[i]))
			for e := range names {
				if len(res[e]) > 0 {
					for k := range filters {
						csv.WriteString("," + strconv.FormatInt(res[e][i].size[k], 10))
					}
				}
			}
			csv.WriteString("\n")
		}
		require.NoError(t, os.WriteFile(path, []byte(csv.String()), 0o644))
	}
	mb := float64(in) / 1e6
	for i := range blocks {
		if arm[i] > 0 {
			t.Logf("block %d: ARM64 score %d, x86 score %.2f", i, arm[i], scores[i])
		}
	}
	t.Logf("x86 score: %.1f ms for all blocks (%.0f MB/s)", scoreTime.Seconds()*1e3, mb/scoreTime.Seconds())
	// Distribution of scores and who wins, for the pkg/lzma encoder.
	var wins, code int
	winner := 1
	if len(res[1]) == 0 {
		winner = 0
	}
	for i := range blocks {
		if res[winner][i].size[1] < res[winner][i].size[0] {
			wins++
		}
		if scores[i] >= 1 {
			code++
		}
	}
	t.Logf("blocks where x86 wins (%s): %d of %d; blocks with x86 score >= 1/KiB: %d; blocks with ARM64 score >= 8: %d", names[winner], wins, len(blocks), code, countAtLeast(arm, 8))

	thresholds := []float64{0.5, 1, 2, 4, 8, 16, 32}
	for e, name := range names {
		rs := res[e]
		if len(rs) == 0 {
			continue
		}
		var plain, both, plainDur, bothDur int64
		for _, r := range rs {
			plain += r.size[0]
			both += min(r.size[0], r.size[1])
			plainDur += r.dur[0]
			bothDur += r.dur[0] + r.dur[1]
		}
		line := func(policy string, size, dur int64) {
			t.Logf("%-10s %-10s %12d bytes  ratio %.4f  vs plain %+6.2f%%  %6.2f MB/s CPU", name, policy, size, float64(size)/float64(in),
				100*(float64(size)/float64(plain)-1), mb/time.Duration(dur).Seconds())
		}
		line("plain", plain, plainDur)
		line("both", both, bothDur)
		for _, th := range thresholds {
			var try, tryDur, only, onlyDur int64
			for i, r := range rs {
				if scores[i] >= th {
					try += min(r.size[0], r.size[1])
					tryDur += r.dur[0] + r.dur[1]
					only += r.size[1]
					onlyDur += r.dur[1]
				} else {
					try += r.size[0]
					tryDur += r.dur[0]
					only += r.size[0]
					onlyDur += r.dur[0]
				}
			}
			line("try>="+strconv.FormatFloat(th, 'g', -1, 64), try, tryDur)
			line("only>="+strconv.FormatFloat(th, 'g', -1, 64), only, onlyDur)
		}
		// hybrid: x86 alone where the score is >= 8, both tried where
		// it is in [1, 8), plain below.
		var hyb, hybDur int64
		for i, r := range rs {
			switch {
			case scores[i] >= 8:
				hyb += r.size[1]
				hybDur += r.dur[1]
			case scores[i] >= 1:
				hyb += min(r.size[0], r.size[1])
				hybDur += r.dur[0] + r.dur[1]
			default:
				hyb += r.size[0]
				hybDur += r.dur[0]
			}
		}
		line("hybrid1/8", hyb, hybDur)
		if len(filters) < 3 {
			continue
		}
		// auto: Guess's choice (ARM64 by its ret count, else x86 by its
		// density), one encode per block; auto+plain
		// also encodes plain for the filtered blocks and keeps the
		// smaller; best3 is the smallest of all three.
		var auto, autoDur, autoTry, autoTryDur, best3, best3Dur int64
		for i, r := range rs {
			k := 0
			switch {
			case arm[i] >= arm64MinRets:
				k = 2
			case scores[i] >= x86MinPerKiB:
				k = 1
			}
			auto += r.size[k]
			autoDur += r.dur[k]
			autoTry += min(r.size[0], r.size[k])
			autoTryDur += r.dur[0]
			if k != 0 {
				autoTryDur += r.dur[k]
			}
			best3 += min(r.size[0], r.size[1], r.size[2])
			best3Dur += r.dur[0] + r.dur[1] + r.dur[2]
		}
		line("auto", auto, autoDur)
		line("auto+plain", autoTry, autoTryDur)
		line("best3", best3, best3Dur)
	}
	if len(res[2]) > 0 && len(res[1]) > 0 {
		var lib, libBoth, ours, oursBoth, oursAuto int64
		for i := range blocks {
			lib += res[2][i].size[0]
			libBoth += min(res[2][i].size[0], res[2][i].size[1])
			ours += res[1][i].size[0]
			oursBoth += min(res[1][i].size[0], res[1][i].size[1])
			if Guess(blocks[i], X86) == X86 {
				oursAuto += res[1][i].size[1]
			} else {
				oursAuto += res[1][i].size[0]
			}
		}
		t.Logf("gap pkg/lzma plain / liblzma plain:          %.4f", float64(ours)/float64(lib))
		t.Logf("gap pkg/lzma Guess(x86) / liblzma plain:     %.4f", float64(oursAuto)/float64(lib))
		t.Logf("gap pkg/lzma both / liblzma both (-Xbcj x86): %.4f", float64(oursBoth)/float64(libBoth))
	}
}

func countAtLeast(v []int, th int) int {
	n := 0
	for _, x := range v {
		if x >= th {
			n++
		}
	}
	return n
}

func runXZMeasure(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(testutil.RequireTool(t, "xz"), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.Output()
	require.NoError(t, err, "xz %v", args)
	return out
}

// threadCPU is the CPU time of the calling OS thread (the caller locks
// its goroutine to it).
func threadCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childCPU is the CPU time of waited-for children: on a shared machine it
// measures the work, not the waiting.
func childCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureSample concatenates up to limit bytes of root's regular files
// (or root itself when it is a file), taking every k-th file in path order
// so that the sample spans the tree.
func measureSample(t testing.TB, root string, limit int) []byte {
	t.Helper()
	type file struct {
		path string
		size int64
	}
	var files []file
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, file{p, fi.Size()})
		total += fi.Size()
		return nil
	})
	require.NoError(t, err)
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	k := int(max(1, total/int64(limit)))
	var out []byte
	for i := 0; i < len(files) && len(out) < limit; i += k {
		b, err := os.ReadFile(files[i].path)
		require.NoError(t, err, "reading %s", files[i].path)
		out = append(out, b[:min(len(b), limit-len(out))]...)
	}
	return out
}
