package main

// Command-line helpers shared by the subcommands: flag parsing that allows
// flags after the positional arguments (as mksquashfs takes them), octal
// modes, and the progress line and summary of a long write.

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// parseInterspersed parses fl from args and returns the positional
// arguments. Unlike fl.Parse it accepts flags after positionals
// ("pack SRC OUT -b 1M"); everything after "--" is positional.
func parseInterspersed(fl *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return nil, err
		}
		rest := fl.Args()
		// fl.Parse stops at "--" (consumed) or at the first non-flag.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseMode reads an octal permission mode ("755", "0755", "1777") of at
// most 12 bits.
func parseMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "0o"), 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("mode %q: want an octal number from 0 to 7777", s)
	}
	m := os.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m, nil
}

// isTerminal reports whether w is a terminal (progress is drawn only there,
// so logs and pipes get the summary alone).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressStats is what the progress line and the summary show.
type progressStats struct {
	Entries, BytesIn, BytesOut int64
}

// progress redraws one status line on a terminal every interval until
// stopped. A nil *progress (not a terminal) does nothing.
type progress struct {
	w     io.Writer
	stats func() progressStats
	done  chan struct{}
	wg    sync.WaitGroup
	start time.Time
}

// startProgress starts the progress line on w when show is set.
func startProgress(w io.Writer, show bool, interval time.Duration, stats func() progressStats) *progress {
	if !show {
		return nil
	}
	p := &progress{w: w, stats: stats, done: make(chan struct{}), start: time.Now()}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				// Clear the line so the summary or an error starts clean.
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(p.w, "\r\033[K%s", progressLine(p.stats(), time.Since(p.start)))
			}
		}
	}()
	return p
}

// stop ends the progress line and waits for its goroutine.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
}

func progressLine(s progressStats, elapsed time.Duration) string {
	return fmt.Sprintf("%d entries, %s read, %s written, %.0fs", s.Entries, humanBytes(s.BytesIn), humanBytes(s.BytesOut), elapsed.Seconds())
}

// summaryLine is the one-line report after a successful write.
func summaryLine(out string, s progressStats, elapsed time.Duration) string {
	ratio := 0.0
	if s.BytesIn > 0 {
		ratio = 100 * float64(s.BytesOut) / float64(s.BytesIn)
	}
	return fmt.Sprintf("%s: %d entries, %d bytes in, %d bytes out (%.1f%%), %.2f s",
		out, s.Entries, s.BytesIn, s.BytesOut, ratio, elapsed.Seconds())
}

// humanBytes formats n with a binary unit for the progress line.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
