package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// service is an image whose units systemd should run: the main unit serves
// page at url, and writes upLine to its journal.
type service struct {
	key       string   // step-name prefix, unique per image
	image     string   // path inside the container
	units     []string // unit files the image ships for its name
	main      string   // the unit that serves url
	url       string
	page      string            // expected in the fetched page
	upLine    string            // expected in main's journal
	osRelease map[string]string // expected in `portablectl inspect --cat`
}

// planInspect: what portabled itself reads from the image.
func (s service) planInspect(p *plan) {
	p.step(s.key+".inspect", "portablectl", "inspect", "--cat", s.image)
	p.step(s.key+".dissect", "systemd-dissect", s.image)
}

func (s service) checkInspect(t *testing.T, r *run) {
	t.Run("inspect", func(t *testing.T) {
		st := r.step(t, s.key+".inspect")
		require.Equal(t, 0, st.RC, "%s", st)
		// --cat prints os-release verbatim: KEY=VALUE with os-release(5)
		// quoting, so compare the unquoted values.
		got := parseOSRelease(st.Stdout)
		for k, v := range s.osRelease {
			assert.Equal(t, v, got[k], "os-release %s as portabled reads it\n%s", k, st)
		}
		for _, u := range s.units {
			assert.Contains(t, st.Stdout, u, "portabled lists unit %s\n%s", u, st)
		}
	})
	t.Run("dissect", func(t *testing.T) {
		st := r.step(t, s.key+".dissect")
		require.Equal(t, 0, st.RC, "%s", st)
		assert.Contains(t, st.Stdout, "squashfs", "%s", st)
		// systemd-dissect marks what the image can be used as; for a
		// portable service it needs os-release with PORTABLE_PREFIXES
		// (dissect.c in systemd 252).
		assert.Contains(t, st.Stdout, "✓ portable service", "%s", st)
	})
}

// planRun attaches the image with profile ("" = portablectl's default),
// lets the units settle, fetches the page, reads the journal, detaches.
// Both outcomes (runs, or is refused the network) record the same steps.
func (s service) planRun(p *plan, profile string) {
	k := s.runKey(profile)
	attach := []string{"portablectl", "attach", "--now"}
	if profile != "" {
		attach = append(attach, "--profile="+profile)
	}
	// strict and nonetwork deny the service the network (see
	// checkNetworkDenied): wait for its failure and try its page briefly.
	// Otherwise wait for the page (the service is then really up) and
	// only then read the units' states.
	denied := profile == "strict" || profile == "nonetwork"
	p.call("mark", k)
	p.step(k+".attach", append(attach, s.image)...)
	for _, u := range s.units {
		if denied && u == s.main {
			p.call("settle", u, "failed")
		} else {
			p.call("settle", u)
		}
	}
	if denied {
		p.step(k+".fetch", "fetch", s.url, "3")
	} else {
		p.step(k+".fetch", "fetch", s.url, "50")
	}
	for _, u := range s.units {
		p.step(k+".state."+u, "systemctl", "show",
			"-p", "LoadState", "-p", "ActiveState", "-p", "SubState", "-p", "Result",
			"-p", "ExecMainCode", "-p", "ExecMainStatus", u)
	}
	p.step(k+".is-attached", "portablectl", "is-attached", s.image)
	for _, u := range s.units {
		p.step(k+".journal."+u, "journal", k, u)
	}
	p.step(k+".detach", "portablectl", "detach", "--now", s.image)
	p.step(k+".is-attached-after", "portablectl", "is-attached", s.image)
	for _, u := range s.units {
		p.step(k+".gone."+u, "systemctl", "show", "-p", "LoadState", "-p", "ActiveState", u)
	}
}

func (s service) runKey(profile string) string {
	if profile == "" {
		return s.key + ".run"
	}
	return s.key + "." + profile
}

// checkRuns asserts the whole life of a service that works: attached with
// the profile, every unit active, the page served, the journal written,
// attached and running, then detached and gone.
func (s service) checkRuns(t *testing.T, r *run, profile string) {
	k := s.runKey(profile)
	s.checkAttached(t, r, k, profile)
	t.Run("units-active", func(t *testing.T) {
		for _, u := range s.units {
			st := r.step(t, k+".state."+u)
			props := unitProps(st.Stdout)
			assert.Equal(t, "active", props["ActiveState"], "%s is not active: %v\n%s\n%s",
				u, props, st, r.journalOf(k, u))
		}
	})
	t.Run("serves", func(t *testing.T) {
		st := r.step(t, k+".fetch")
		require.Equal(t, 0, st.RC, "%s\n%s", st, r.journalOf(k, s.main))
		assert.Contains(t, st.Stdout, s.page, "%s", st)
	})
	t.Run("journal", func(t *testing.T) {
		j := r.step(t, k+".journal."+s.main)
		assert.Contains(t, j.Stdout, s.upLine, "%s", j)
	})
	t.Run("is-attached", func(t *testing.T) {
		st := r.step(t, k+".is-attached")
		// "running": attached, and a unit is up (portablectl is-attached).
		assert.Equal(t, 0, st.RC, "%s", st)
		assert.Equal(t, "running", strings.TrimSpace(st.Stdout), "%s", st)
	})
	s.checkDetached(t, r, k, "inactive")
}

// checkNetworkDenied asserts what systemd 252 does to a service that opens
// an AF_INET socket under the strict and nonetwork profiles: their
// service.conf sets RestrictAddressFamilies=AF_UNIX (strict) or AF_UNIX
// AF_NETLINK (nonetwork), so socket(AF_INET) fails with EAFNOSUPPORT
// (seccomp, systemd.exec(5)); busybox httpd exits 1 on that, the unit
// fails with Result=exit-code, and nothing listens. (Their PrivateNetwork=yes
// and IPAddressDeny=any would stop it too, later; the address family filter
// is what hits first.) Attach and detach work as usual: the profile is
// applied, not refused.
func (s service) checkNetworkDenied(t *testing.T, r *run, profile string) {
	k := s.runKey(profile)
	s.checkAttached(t, r, k, profile)
	t.Run("fails-at-socket", func(t *testing.T) {
		st := r.step(t, k+".state."+s.main)
		props := unitProps(st.Stdout)
		j := r.journalOf(k, s.main)
		assert.Equal(t, "failed", props["ActiveState"], "%v\n%s\n%s", props, st, j)
		assert.Equal(t, "exit-code", props["Result"], "%v\n%s", props, j)
		assert.Equal(t, "1", props["ExecMainStatus"], "%v\n%s", props, j)
		// The service itself got to run (its start line) and failed at
		// the socket: the profile's namespace setup was fine.
		assert.Contains(t, j, s.upLine, "the service started")
		assert.Contains(t, j, "Address family not supported by protocol", "socket(AF_INET) refused")
	})
	t.Run("serves-nothing", func(t *testing.T) {
		st := r.step(t, k+".fetch")
		assert.NotEqual(t, 0, st.RC, "nothing may answer on %s\n%s", s.url, st)
		assert.Contains(t, st.Stderr, "Couldn't connect to server", "%s", st)
	})
	s.checkDetached(t, r, k, "failed")
}

func (s service) checkAttached(t *testing.T, r *run, k, profile string) {
	t.Run("attach", func(t *testing.T) {
		st := r.step(t, k+".attach")
		require.Equal(t, 0, st.RC, "%s", st)
		if profile == "" {
			profile = "default"
		}
		// portablectl logs what it did on stderr.
		for _, u := range s.units {
			assert.Contains(t, st.Stderr, "Copied /etc/systemd/system.attached/"+u+".", "%s", st)
			// The profile is a drop-in of every attached unit.
			assert.Contains(t, st.Stderr, "/etc/systemd/system.attached/"+u+
				".d/10-profile.conf → /usr/lib/systemd/portable/profile/"+profile+"/service.conf",
				"unit %s runs with profile %s\n%s", u, profile, st)
			props := unitProps(r.step(t, k+".state."+u).Stdout)
			assert.Equal(t, "loaded", props["LoadState"], "unit %s: %v", u, props)
		}
	})
}

// checkDetached: detach --now stops and removes the units. A unit that had
// failed before stays known to systemd as "failed" (until reset-failed) but
// its unit file is gone: LoadState=not-found either way.
func (s service) checkDetached(t *testing.T, r *run, k, wantActive string) {
	t.Run("detach", func(t *testing.T) {
		st := r.step(t, k+".detach")
		require.Equal(t, 0, st.RC, "%s", st)
		// is-attached exits 0 in systemd 252 attached or not: its output is
		// the answer.
		after := r.step(t, k+".is-attached-after")
		assert.Equal(t, "detached", strings.TrimSpace(after.Stdout), "%s", after)
		for _, u := range s.units {
			props := unitProps(r.step(t, k+".gone."+u).Stdout)
			assert.Equal(t, "not-found", props["LoadState"], "unit %s left behind: %v", u, props)
			assert.Equal(t, wantActive, props["ActiveState"], "unit %s left behind: %v", u, props)
		}
	})
}

// journalOf returns the journal recorded for unit in scenario k, for
// failure messages.
func (r *run) journalOf(k, unit string) string {
	if st, ok := r.steps[k+".journal."+unit]; ok {
		return fmt.Sprintf("--- journal of %s in %s\n%s%s", unit, k, st.Stdout, r.journalLines(unit))
	}
	return "(no journal recorded for " + unit + ")\n" + r.journalLines(unit)
}

// parseOSRelease reads KEY=VALUE lines as os-release(5) defines them (values
// optionally in single or double quotes, backslash escapes in double quotes);
// other lines (portablectl's headings, unit files) are ignored.
func parseOSRelease(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k == "" || strings.ToUpper(k) != k || strings.ContainsAny(k, " \t[") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			q := v[0]
			v = v[1 : len(v)-1]
			if q == '"' {
				var b strings.Builder
				for i := 0; i < len(v); i++ {
					if v[i] == '\\' && i+1 < len(v) {
						i++
					}
					b.WriteByte(v[i])
				}
				v = b.String()
			}
		}
		if _, seen := m[k]; !seen {
			m[k] = v
		}
	}
	return m
}
