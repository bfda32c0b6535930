package e2e

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mkportable/mkportable/internal/testutil"
)

//go:embed testdata/lib.sh
var libSh string

// Where the host directories appear inside the container.
const (
	ctrImages = "/e2e/images" // images under test (read-only)
	ctrCtl    = "/e2e/ctl"    // lib.sh, plan.sh, the unit (read-only)
	ctrOut    = "/e2e/out"    // results (read-write)
)

// bootTimeout bounds the whole container run: boot, every step, poweroff.
// An idle machine needs well under a minute; a loaded one (load 16 on 2
// cores, measured) about 70 s. A hang is a failure, not a wait.
const bootTimeout = 240 * time.Second

// e2eUnit runs the plan as a oneshot unit. Its exit status becomes
// systemd-nspawn's: SuccessAction=/FailureAction=exit-force make PID 1 exit
// with the unit's status (systemd.unit(5)). systemd.wants= on PID 1's
// command line pulls it in; it has only the default dependencies (after
// basic.target, so D-Bus is up) and is not ordered after
// multi-user.target, which would wait for it: a deadlock. Its start timeout
// fires before bootTimeout, so a hung plan still leaves the journal, which
// ExecStopPost= saves (bounded: journalctl --sync waits for journald to be
// idle).
var e2eUnit = fmt.Sprintf(`[Unit]
Description=mkportable end-to-end plan
SuccessAction=exit-force
FailureAction=exit-force

[Service]
Type=oneshot
ExecStart=/bin/sh %[1]s/plan.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=%[3]d
ExecStopPost=/bin/sh -c 'timeout 5 journalctl --sync; journalctl -b --no-pager -o short-monotonic >%[2]s/journal.txt 2>&1'
`, ctrCtl, ctrOut, int((bootTimeout - 40*time.Second).Seconds()))

// plan is the shell script the container runs: lib.sh's functions called
// with arguments quoted here, so no image path or message can be
// misinterpreted by the shell.
type plan struct {
	lines []string
	names map[string]bool
}

func newPlan() *plan { return &plan{names: map[string]bool{}} }

// step records CMD's exit code and output under name (see lib.sh).
func (p *plan) step(name string, cmd ...string) {
	if p.names[name] {
		panic("e2e: duplicate step name " + name)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9._@-]+$`).MatchString(name) {
		panic("e2e: bad step name " + name)
	}
	p.names[name] = true
	p.call("step", append([]string{name}, cmd...)...)
}

// call adds a plain call of a lib.sh function or program.
func (p *plan) call(cmd string, args ...string) {
	q := make([]string, 0, len(args)+1)
	q = append(q, shellQuote(cmd))
	for _, a := range args {
		q = append(q, shellQuote(a))
	}
	p.lines = append(p.lines, strings.Join(q, " "))
}

func (p *plan) script() string {
	return ". " + ctrCtl + "/lib.sh\ninit\nloopdevs\n" + strings.Join(p.lines, "\n") + "\nfinish\n"
}

func shellQuote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// stepResult is what lib.sh's step recorded for one command.
type stepResult struct {
	Name   string
	Cmd    string
	RC     int
	Stdout string
	Stderr string
}

func (r *stepResult) String() string {
	return fmt.Sprintf("step %s: `%s` exited %d\n--- stdout\n%s--- stderr\n%s---",
		r.Name, strings.TrimSpace(r.Cmd), r.RC, r.Stdout, r.Stderr)
}

// run is one finished container boot.
type run struct {
	steps   map[string]*stepResult
	log     string // lib.sh's step log
	journal string // the whole boot's journal
	elapsed time.Duration
}

// step returns the recorded step, failing t if the plan never ran it.
func (r *run) step(t *testing.T, name string) *stepResult {
	t.Helper()
	s, ok := r.steps[name]
	if !ok {
		t.Fatalf("step %s never ran; the plan's log:\n%s", name, r.log)
	}
	return s
}

// boot runs the plan in a container booted from rootfs with images bound at
// /e2e/images. When the container cannot boot at all the test is
// unavailable (a failure under CI); when it booted but the plan did not
// finish, the test fails with the boot log.
func boot(t *testing.T, rootfs, images string, p *plan) *run {
	t.Helper()
	// Kept after a failure, for a look at the whole journal and console.
	work := keepOnFailure(t, "mkportable-e2e-")
	ctl := filepath.Join(work, "ctl")
	out := filepath.Join(work, "out")
	for _, d := range []string{ctl, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"lib.sh": libSh, "plan.sh": p.script(), "e2e.service": e2eUnit,
	} {
		if err := os.WriteFile(filepath.Join(ctl, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{
		// The host runs no systemd: no machined to register with, no unit
		// to move into.
		"--register=no", "--keep-unit", "-q", "-b",
		"-D", rootfs,
		// A tmpfs overlay over the cached tree: every run starts pristine.
		"--volatile=overlay",
		// Only loopback: the test never touches the host's network.
		"--private-network",
		"--bind-ro=" + images + ":" + ctrImages,
		"--bind-ro=" + ctl + ":" + ctrCtl,
		"--bind=" + out + ":" + ctrOut,
		// The unit file itself; systemd.wants= below starts it. The
		// overlay makes /etc writable, but the bind needs no writes at all.
		"--bind-ro=" + filepath.Join(ctl, "e2e.service") + ":/etc/systemd/system/e2e.service",
		// The console's output goes to our stdout (boot.log). Not
		// "passive", which allocates a pty connected nowhere: once its
		// buffer is full, PID 1 and journald (forwarding journal+console
		// output) block writing to /dev/console and the container hangs.
		"--console=read-only",
		// Arguments after the directory go to PID 1, which in a container
		// reads them as its kernel command line (systemd(1)).
		"systemd.wants=e2e.service",
	}
	// One boot of this tree at a time (nspawn locks the directory too, and
	// a second test process would fail rather than wait).
	unlock, err := lockFile(filepath.Join(filepath.Dir(rootfs), ".boot.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemd-nspawn", args...)
	// On timeout ask nspawn to power the container off, then kill it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	lf, err := os.Create(filepath.Join(out, "boot.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = lf
	cmd.Stderr = lf
	start := time.Now()
	runErr := cmd.Run()
	lf.Close()
	elapsed := time.Since(start)
	t.Logf("container run: %s (systemd-nspawn %s)", elapsed.Round(10*time.Millisecond), strings.Join(args, " "))

	r := &run{
		steps:   map[string]*stepResult{},
		log:     readFileString(filepath.Join(out, "log")),
		journal: readFileString(filepath.Join(out, "journal.txt")),
		elapsed: elapsed,
	}
	consoleTail := tail(stripANSI(readFileString(filepath.Join(out, "boot.log"))), 40)
	if _, err := os.Stat(filepath.Join(out, "started")); err != nil {
		testutil.Unavailable(t, fmt.Sprintf(
			"this host cannot boot a systemd container (systemd-nspawn: %v, after %s); console:\n%s",
			runErr, elapsed.Round(time.Second), consoleTail))
		return nil
	}
	if _, err := os.Stat(filepath.Join(out, "finished")); err != nil || runErr != nil {
		t.Fatalf("the plan did not finish (systemd-nspawn: %v, ctx: %v, after %s); plan log:\n%s\nconsole:\n%s",
			runErr, ctx.Err(), elapsed.Round(time.Second), r.log, consoleTail)
	}
	if err := r.load(filepath.Join(out, "steps")); err != nil {
		t.Fatal(err)
	}
	t.Logf("slowest steps: %s", slowest(r.log, 5))
	return r
}

func (r *run) load(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading the plan's results %s: %w", dir, err)
	}
	for _, e := range ents {
		d := filepath.Join(dir, e.Name())
		rcText, err := os.ReadFile(filepath.Join(d, "rc"))
		if err != nil {
			return fmt.Errorf("reading %s: %w", d, err)
		}
		rc, err := strconv.Atoi(strings.TrimSpace(string(rcText)))
		if err != nil {
			return fmt.Errorf("parsing %s/rc: %w", d, err)
		}
		r.steps[e.Name()] = &stepResult{
			Name:   e.Name(),
			Cmd:    readFileString(filepath.Join(d, "cmd")),
			RC:     rc,
			Stdout: readFileString(filepath.Join(d, "stdout")),
			Stderr: readFileString(filepath.Join(d, "stderr")),
		}
	}
	return nil
}

var stepTimeRE = regexp.MustCompile(`(?m)^e2e: step (\S+) rc=\d+ ms=(\d+):`)

// slowest lists the n slowest steps of a plan log, for the timing report.
func slowest(log string, n int) string {
	type st struct {
		name string
		ms   int
	}
	var all []st
	total := 0
	for _, m := range stepTimeRE.FindAllStringSubmatch(log, -1) {
		ms, _ := strconv.Atoi(m[2])
		all = append(all, st{m[1], ms})
		total += ms
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ms > all[j].ms })
	if len(all) > n {
		all = all[:n]
	}
	parts := []string{fmt.Sprintf("%d steps, %d ms in all", len(stepTimeRE.FindAllString(log, -1)), total)}
	for _, s := range all {
		parts = append(parts, fmt.Sprintf("%s %d ms", s.name, s.ms))
	}
	return strings.Join(parts, "; ")
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

func stripANSI(s string) string { return ansiRE.ReplaceAllString(s, "") }

// journalLines returns the lines of the whole boot's journal that mention
// word: context for a failure message even where a step's own journal
// query missed something.
func (r *run) journalLines(word string) string {
	var b strings.Builder
	for _, l := range strings.Split(r.journal, "\n") {
		if strings.Contains(l, word) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return "--- boot journal lines naming " + word + "\n" + b.String()
}

// unitProps parses `systemctl show -p ...` output.
func unitProps(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}
