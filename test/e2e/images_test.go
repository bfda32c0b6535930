package e2e

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mkportable/mkportable/internal/testutil"
)

// handMade describes a portable service tree written by the test itself,
// independent of the project's builder: busybox httpd serving one page on a
// loopback port, the layout of portable-services.md.
type handMade struct {
	name  string // image name: unit prefix and PORTABLE_PREFIXES
	port  int
	token string // the page's content, unique per image
}

func (h handMade) unit() string { return h.name + ".service" }
func (h handMade) url() string  { return fmt.Sprintf("http://127.0.0.1:%d/", h.port) }

// upLine is what the service prints to its journal before it serves.
func (h handMade) upLine() string { return h.name + " is up: " + h.token }

// write lays the tree out under dir.
func (h handMade) write(t *testing.T, dir string) {
	t.Helper()
	bb := staticBusybox(t)
	for _, d := range []string{"proc", "sys", "dev", "run", "tmp", "var/tmp",
		"etc/systemd/system", "opt/demo/bin", "srv/www"} {
		mkdirAll(t, filepath.Join(dir, d))
	}
	writeFile(t, filepath.Join(dir, "etc/machine-id"), "")
	writeFile(t, filepath.Join(dir, "etc/resolv.conf"), "")
	writeFile(t, filepath.Join(dir, "etc/os-release"), fmt.Sprintf(
		"ID=e2e\nPRETTY_NAME=\"hand-made %s\"\nVERSION_ID=1\nPORTABLE_PRETTY_NAME=\"e2e %s\"\nPORTABLE_PREFIXES=%s\n",
		h.name, h.name, h.name))
	writeFile(t, filepath.Join(dir, "srv/www/index.html"), h.token+"\n")
	copyFile(t, bb, filepath.Join(dir, "opt/demo/bin/busybox"), 0o755)
	writeFile(t, filepath.Join(dir, "etc/systemd/system", h.unit()), fmt.Sprintf(`[Unit]
Description=hand-made e2e service %[1]s

[Service]
ExecStart=/opt/demo/bin/busybox sh -c 'echo "%[2]s"; exec /opt/demo/bin/busybox httpd -f -v -p 127.0.0.1:%[3]d -h /srv/www'

[Install]
WantedBy=multi-user.target
`, h.name, h.upLine(), h.port))
}

// mksquashfs packs src with squashfs-tools, the reference writer: what the
// harness proves with these images does not depend on the project's writer.
func mksquashfs(t *testing.T, src, dst string, extra ...string) {
	t.Helper()
	args := append([]string{src, dst, "-noappend", "-all-root", "-quiet"}, extra...)
	if out, err := exec.Command("mksquashfs", args...).CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var (
	busyboxOnce sync.Once
	busyboxPath string
	busyboxErr  error
)

// staticBusybox finds a statically linked busybox (Debian's busybox-static):
// the image has no libc, so a dynamic one would not start.
func staticBusybox(t *testing.T) string {
	t.Helper()
	busyboxOnce.Do(func() {
		for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
			f, err := elf.Open(p)
			if err != nil {
				busyboxErr = fmt.Errorf("opening %s: %w", p, err)
				continue
			}
			dynamic := false
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					dynamic = true
				}
			}
			_ = f.Close()
			if dynamic {
				busyboxErr = fmt.Errorf("%s is dynamically linked (install busybox-static)", p)
				continue
			}
			busyboxPath, busyboxErr = p, nil
			return
		}
	})
	if busyboxPath == "" {
		testutil.Unavailable(t, fmt.Sprintf("needs a static busybox: %v", busyboxErr))
	}
	return busyboxPath
}

func mkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	mkdirAll(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
