package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// service is an image whose units systemd should run: main serves page at
// url and logs mainLog to its journal while doing so.
type service struct {
	key     string   // step-name prefix, unique per image
	image   string   // path inside the container
	units   []string // every unit file the image ships for its name
	enabled []string // units with an [Install] section: must be active
	oneshot []string // Type=oneshot units: ran to completion, Result=success
	main    string   // the unit that serves url
	url     string
	page    string // expected in the fetched page
	mainLog string // expected in main's journal once the page was fetched
	// probe, if set, is a oneshot unit of the image started after the page
	// answered; its journal must contain probeLog (the demo's health
	// check fetches the page itself).
	probe    string
	probeLog string
	// osRelease is what portabled must read from the image.
	osRelease map[string]string
}

// planInspect: what portabled and systemd-dissect read from the image.
func (s service) planInspect(p *plan) {
	p.step(s.key+".inspect", "portablectl", "inspect", "--cat", s.image)
	p.step(s.key+".dissect", "systemd-dissect", s.image)
}

func (s service) checkInspect(t *testing.T, r *run) {
	t.Run("portablectl-inspect", func(t *testing.T) {
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
	t.Run("systemd-dissect", func(t *testing.T) {
		st := r.step(t, s.key+".dissect")
		require.Equal(t, 0, st.RC, "%s", st)
		assert.Regexp(t, `(?m)^ro\s+root\s.*\ssquashfs\s`, st.Stdout, "one read-only squashfs root\n%s", st)
		// dissect.c (252) marks an image "portable service" only when its
		// os-release has PORTABLE_PREFIXES=.
		assert.Contains(t, st.Stdout, "✓ portable service", "%s", st)
	})
}

// denies reports whether profile takes the network from the service; see
// checkNetworkDenied.
func denies(profile string) bool { return profile == "strict" || profile == "nonetwork" }

// A run's mode is a profile name for --profile=, "" for portablectl's
// default, or runtimeMode: the default profile attached with --runtime, as
// NixOS's own test (nixos/tests/systemd-portabled.nix) does; the units then
// live under /run and are gone at reboot.
const runtimeMode = "runtime"

// copyMode attaches with the default profile and --copy=copy: portabled
// copies the profile drop-in too instead of linking it (portablectl(1)
// --copy=), so the units must not depend on anything but their copies.
const copyMode = "copy"

// enableMode attaches and detaches with --enable as well as --now
// (portablectl(1)): the units with an [Install] section are enabled while
// attached, and disabled again by detach.
const enableMode = "enable"

// reattachMode attaches, then at once reattaches the same image with
// `portablectl reattach --now` (what an upgrade in place does): the units
// are replaced and restarted, and must come up as after an attach.
const reattachMode = "reattach"

func attachFlags(mode string) []string {
	switch mode {
	case "", reattachMode:
		return nil
	case runtimeMode:
		return []string{"--runtime"}
	case copyMode:
		return []string{"--copy=copy"}
	case enableMode:
		return []string{"--enable"}
	default:
		return []string{"--profile=" + mode}
	}
}

func profileOf(mode string) string {
	switch mode {
	case "", runtimeMode, copyMode, enableMode, reattachMode:
		return "default"
	}
	return mode
}

func attachedDir(mode string) string {
	if mode == runtimeMode {
		return "/run/systemd/system.attached/"
	}
	return "/etc/systemd/system.attached/"
}

// planRun attaches the image with profile ("" = portablectl's default),
// lets the units settle, fetches the page, reads the journal, detaches.
func (s service) planRun(p *plan, profile string) {
	k := s.runKey(profile)
	attach := append([]string{"portablectl", "attach", "--now"}, attachFlags(profile)...)
	detach := []string{"portablectl", "detach", "--now"}
	switch profile {
	case runtimeMode:
		detach = append(detach, "--runtime")
	case enableMode:
		detach = append(detach, "--enable")
	}
	p.call("mark", k)
	p.step(k+".attach", append(attach, s.image)...)
	if profile == reattachMode {
		p.step(k+".reattach", "portablectl", "reattach", "--now", s.image)
	}
	if profile == enableMode {
		p.step(k+".wants", "find", attachedDir(profile), "-path", "*.wants/*")
	}
	// Under a denying profile wait for main's failure and try the page
	// briefly; otherwise wait for the page, which proves the service up,
	// and only then read the units' states.
	for _, u := range s.units {
		if denies(profile) && u == s.main {
			p.call("settle", u, "failed")
		} else {
			p.call("settle", u)
		}
	}
	if denies(profile) {
		p.step(k+".fetch", "fetch", s.url, "3")
	} else {
		p.step(k+".fetch", "fetch", s.url, "50")
	}
	p.step(k+".is-active", append([]string{"systemctl", "is-active"}, s.enabled...)...)
	for _, u := range s.units {
		if contains(s.oneshot, u) {
			// A timer may have started it again meanwhile (a loaded
			// machine, a short OnActiveSec=): let that run finish too.
			p.call("settle", u)
		}
		p.step(k+".state."+u, "systemctl", "show",
			"-p", "LoadState", "-p", "ActiveState", "-p", "SubState", "-p", "Result",
			"-p", "ExecMainCode", "-p", "ExecMainStatus", "-p", "NRestarts", u)
	}
	if s.probe != "" && !denies(profile) {
		p.step(k+".probe", "systemctl", "start", s.probe)
	}
	p.step(k+".is-attached", "portablectl", "is-attached", s.image)
	for _, u := range s.units {
		// Wait for the line the check looks for (journald is asynchronous).
		want := ""
		switch {
		case u == s.main && denies(profile):
			want = "Address family not supported by protocol"
		case u == s.main:
			want = s.mainLog
		case u == s.probe && !denies(profile):
			want = s.probeLog
		}
		p.step(k+".journal."+u, "journal", k, u, want)
	}
	p.step(k+".detach", append(detach, s.image)...)
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
// the profile, every enabled unit active and every oneshot done, the page
// served, the journal written, "running", then detached and gone.
func (s service) checkRuns(t *testing.T, r *run, profile string) {
	k := s.runKey(profile)
	s.checkAttached(t, r, k, profile)
	if profile == reattachMode {
		t.Run("reattach", func(t *testing.T) {
			st := r.step(t, k+".reattach")
			require.Equal(t, 0, st.RC, "%s", st)
		})
	}
	if profile == enableMode {
		t.Run("enabled", func(t *testing.T) {
			// portabled enables a unit by its [Install] section, with
			// the .wants symlink beside the attached copy (systemd 252's
			// systemctl is-enabled still says "disabled" for those, so
			// the symlinks are what shows it), and detach --enable
			// removes them.
			attach, wants, detach := r.step(t, k+".attach"), r.step(t, k+".wants"), r.step(t, k+".detach")
			dir := regexp.QuoteMeta(attachedDir(profile))
			for _, u := range s.enabled {
				link := dir + `[^ "]+\.wants/` + regexp.QuoteMeta(u)
				assert.Regexp(t, "Created symlink "+link+" → "+dir+regexp.QuoteMeta(u)+`\.`, attach.Stderr, "%s", attach)
				assert.Regexp(t, "(?m)^"+link+"$", wants.Stdout, "%s", wants)
				assert.Regexp(t, `Removed "`+link+`"`, detach.Stderr, "%s", detach)
			}
			assert.Len(t, strings.Fields(wants.Stdout), len(s.enabled), "only units with [Install] are enabled\n%s", wants)
		})
	}
	t.Run("serves", func(t *testing.T) {
		st := r.step(t, k+".fetch")
		require.Equal(t, 0, st.RC, "%s\n%s", st, r.journalOf(k, s.main))
		assert.Contains(t, st.Stdout, s.page, "%s", st)
	})
	t.Run("units", func(t *testing.T) {
		// systemctl is-active prints one state per unit, in argument
		// order; its exit code only says whether at least one is active
		// (systemctl(1)), so the printed states are the answer.
		st := r.step(t, k+".is-active")
		assert.Equal(t, 0, st.RC, "%s", st)
		assert.Equal(t, strings.Repeat("active\n", len(s.enabled)), st.Stdout, "%s", st)
		for _, u := range s.enabled {
			props := unitProps(r.step(t, k+".state."+u).Stdout)
			assert.Equal(t, "active", props["ActiveState"], "%s is not active: %v\n%s", u, props, r.journalOf(k, u))
		}
		for _, u := range s.oneshot {
			props := unitProps(r.step(t, k+".state."+u).Stdout)
			assert.Equal(t, "success", props["Result"], "%s: %v\n%s", u, props, r.journalOf(k, u))
			assert.Equal(t, "inactive", props["ActiveState"], "%s ran to completion: %v\n%s", u, props, r.journalOf(k, u))
		}
		props := unitProps(r.step(t, k+".state."+s.main).Stdout)
		assert.Equal(t, "running", props["SubState"], "%s: %v", s.main, props)
		assert.Equal(t, "0", props["NRestarts"], "%s never restarted: %v\n%s", s.main, props, r.journalOf(k, s.main))
	})
	t.Run("journal", func(t *testing.T) {
		j := r.step(t, k+".journal."+s.main)
		assert.Contains(t, j.Stdout, s.mainLog, "%s", j)
		if s.probe != "" {
			st := r.step(t, k+".probe")
			require.Equal(t, 0, st.RC, "%s\n%s", st, r.journalOf(k, s.probe))
			pj := r.step(t, k+".journal."+s.probe)
			assert.Contains(t, pj.Stdout, s.probeLog, "%s's output reached the journal\n%s", s.probe, pj)
		}
	})
	t.Run("is-attached", func(t *testing.T) {
		st := r.step(t, k+".is-attached")
		// "running": attached, and a unit is up (portablectl is-attached);
		// "running-runtime" when attached with --runtime.
		want := "running"
		if profile == runtimeMode {
			want += "-runtime"
		}
		assert.Equal(t, 0, st.RC, "%s", st)
		assert.Equal(t, want, strings.TrimSpace(st.Stdout), "%s", st)
	})
	s.checkDetached(t, r, k, "inactive")
}

// checkNetworkDenied asserts what systemd 252 does to a service that opens
// an AF_INET socket under the strict and nonetwork profiles: their
// service.conf sets RestrictAddressFamilies=AF_UNIX (strict) or AF_UNIX
// AF_NETLINK (nonetwork), so socket(AF_INET) fails with EAFNOSUPPORT
// (seccomp, systemd.exec(5)); busybox httpd exits 1 on that, the unit
// fails, and nothing listens. (Their PrivateNetwork=yes and IPAddressDeny=any
// would stop it too, later; the address family filter is what hits first.)
// Attach and detach work as usual: the profile is applied, not refused.
// The unit ends with Result=exit-code. A unit with Restart=on-failure gets
// wantRestarts restarts first: systemd's default start limit
// (DefaultStartLimitBurst=5 in DefaultStartLimitIntervalSec=10s,
// systemd-system.conf(5)) then stops it with "Start request repeated too
// quickly".
func (s service) checkNetworkDenied(t *testing.T, r *run, profile string, wantRestarts int) {
	k := s.runKey(profile)
	s.checkAttached(t, r, k, profile)
	t.Run("fails-at-socket", func(t *testing.T) {
		st := r.step(t, k+".state."+s.main)
		props := unitProps(st.Stdout)
		j := r.journalOf(k, s.main)
		assert.Equal(t, "failed", props["ActiveState"], "%v\n%s\n%s", props, st, j)
		assert.Equal(t, "exit-code", props["Result"], "%v\n%s", props, j)
		assert.Equal(t, "1", props["ExecMainStatus"], "%v\n%s", props, j)
		assert.Equal(t, strconv.Itoa(wantRestarts), props["NRestarts"], "%v\n%s", props, j)
		if wantRestarts > 0 {
			assert.Contains(t, j, "Start request repeated too quickly", "the start limit ended the restarts")
		}
		// It failed at the socket, after the profile's namespace setup
		// had worked.
		assert.Contains(t, j, "Address family not supported by protocol", "socket(AF_INET) refused")
		assert.NotContains(t, j, "226/NAMESPACE")
	})
	t.Run("serves-nothing", func(t *testing.T) {
		st := r.step(t, k+".fetch")
		assert.NotEqual(t, 0, st.RC, "nothing may answer on %s\n%s", s.url, st)
		assert.Contains(t, st.Stderr, "Couldn't connect to server", "%s", st)
	})
	t.Run("other-units", func(t *testing.T) {
		st := r.step(t, k+".is-active")
		var want strings.Builder
		for _, u := range s.enabled {
			if u == s.main {
				want.WriteString("failed\n")
			} else {
				want.WriteString("active\n")
			}
		}
		assert.Equal(t, want.String(), st.Stdout, "is-active of %v\n%s", s.enabled, st)
		// Units that open no socket of their own are unaffected.
		for _, u := range s.enabled {
			if u == s.main {
				continue
			}
			props := unitProps(r.step(t, k+".state."+u).Stdout)
			assert.Equal(t, "active", props["ActiveState"], "%s: %v\n%s", u, props, r.journalOf(k, u))
		}
	})
	s.checkDetached(t, r, k, "failed")
}

func (s service) checkAttached(t *testing.T, r *run, k, mode string) {
	t.Run("attach", func(t *testing.T) {
		st := r.step(t, k+".attach")
		require.Equal(t, 0, st.RC, "%s", st)
		dir := attachedDir(mode)
		// portablectl logs what it did on stderr.
		for _, u := range s.units {
			assert.Contains(t, st.Stderr, "Copied "+dir+u+".", "%s", st)
			props := unitProps(r.step(t, k+".state."+u).Stdout)
			assert.Equal(t, "loaded", props["LoadState"], "unit %s: %v", u, props)
			if !strings.HasSuffix(u, ".service") {
				continue
			}
			// The profile (a service.conf) is a drop-in of every attached
			// service; timers and sockets get only 20-portable.conf.
			if mode == copyMode {
				// systemd 252's portablectl reports a copied file as
				// "Copied SOURCE → DEST." and a linked one as "DEST →
				// SOURCE" (as the other modes' check below expects).
				assert.Contains(t, st.Stderr, "Copied /usr/lib/systemd/portable/profile/"+profileOf(mode)+
					"/service.conf → "+dir+u+".d/10-profile.conf.",
					"unit %s gets a copy of profile %s\n%s", u, profileOf(mode), st)
				continue
			}
			assert.Contains(t, st.Stderr, dir+u+".d/10-profile.conf → /usr/lib/systemd/portable/profile/"+
				profileOf(mode)+"/service.conf", "unit %s runs with profile %s\n%s", u, profileOf(mode), st)
		}
	})
}

// checkDetached: detach --now stops and removes the units. A unit that had
// failed stays known to systemd as "failed" (until reset-failed) but its
// unit file is gone: LoadState=not-found either way.
func (s service) checkDetached(t *testing.T, r *run, k, wantMainActive string) {
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
			if u == s.main {
				assert.Equal(t, wantMainActive, props["ActiveState"], "unit %s: %v", u, props)
			} else {
				assert.Equal(t, "inactive", props["ActiveState"], "unit %s left behind: %v", u, props)
			}
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
// other lines (portablectl's headings, unit files) are ignored, and the
// first occurrence of a key wins (portablectl --cat prints os-release first).
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
