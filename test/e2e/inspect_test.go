package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// inspectReport is `mkportable inspect --json`'s output (the contract in
// the team brief); the test reads only what it compares with systemd.
type inspectReport struct {
	Image     string            `json:"image"`
	Name      string            `json:"name"`
	OSRelease map[string]string `json:"osRelease"`
	Units     []struct {
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"units"`
	StorePaths []string `json:"storePaths"`
	Problems   []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"problems"`
	OK bool `json:"ok"`

	exitCode int    // 0 ok, 1 problems, anything else: inspect itself failed
	raw      string // stdout + stderr, for failure messages
}

func (r inspectReport) codes() []string {
	c := make([]string, 0, len(r.Problems))
	for _, p := range r.Problems {
		c = append(c, p.Code)
	}
	sort.Strings(c)
	return c
}

// message returns the message of the first problem with code.
func (r inspectReport) message(code string) string {
	for _, p := range r.Problems {
		if p.Code == code {
			return p.Message
		}
	}
	return ""
}

// mkportableInspect runs `mkportable inspect --json image` on the host.
func mkportableInspect(t *testing.T, mkportable, image string) inspectReport {
	t.Helper()
	cmd := exec.Command(mkportable, "inspect", "--json", image)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	rep := inspectReport{raw: "$ mkportable inspect --json " + image + "\n" + stdout.String() + stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		rep.exitCode = ee.ExitCode()
	default:
		t.Fatalf("running %s inspect: %v", mkportable, err)
	}
	if rep.exitCode > 1 {
		t.Fatalf("mkportable inspect failed (exit %d):\n%s", rep.exitCode, rep.raw)
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("mkportable inspect --json printed no JSON object: %v\n%s", err, rep.raw)
	}
	return rep
}

// unitFileOf reads a file from the image with unsquashfs (squashfs-tools),
// independent of the project's reader.
func unitFileOf(t *testing.T, image, path string) string {
	t.Helper()
	out, err := exec.Command("unsquashfs", "-cat", image, strings.TrimPrefix(path, "/")).Output()
	if err != nil {
		t.Fatalf("unsquashfs -cat %s %s: %v", image, path, err)
	}
	return string(out)
}

// hasInstall reports whether a unit file has an [Install] section with a
// WantedBy=/RequiredBy=: a unit its author means to be enabled and running.
func hasInstall(unit string) bool {
	section := ""
	for _, l := range strings.Split(unit, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			section = l
			continue
		}
		if section == "[Install]" && (strings.HasPrefix(l, "WantedBy=") || strings.HasPrefix(l, "RequiredBy=")) {
			return true
		}
	}
	return false
}

func isOneshot(unit string) bool {
	for _, l := range strings.Split(unit, "\n") {
		if strings.ReplaceAll(strings.TrimSpace(l), " ", "") == "Type=oneshot" {
			return true
		}
	}
	return false
}
