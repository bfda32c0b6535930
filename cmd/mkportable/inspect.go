package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mkportable/mkportable/pkg/portable"
	"github.com/mkportable/mkportable/pkg/squashfs"
)

// Problem codes of `mkportable inspect` (stable: tests and scripts match on
// them).
const (
	codeNoOSRelease       = "no-os-release"
	codeNoID              = "no-id"
	codePrefixNotListed   = "prefix-not-listed"
	codeNoMatchingUnit    = "no-matching-unit"
	codeMissingMountPoint = "missing-mount-point"
	codeNoMachineID       = "no-machine-id"
	codeNoResolvConf      = "no-resolv-conf"
	codeBadUnitFile       = "bad-unit-file"
	codeUnreadableImage   = "unreadable-image"
)

type inspectUnit struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

type inspectProblem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// inspectReport is the --json output (one object).
type inspectReport struct {
	Image         string            `json:"image"`
	Name          string            `json:"name"`
	OSRelease     map[string]string `json:"osRelease"`
	OSReleasePath string            `json:"osReleasePath"`
	Units         []inspectUnit     `json:"units"`
	StorePaths    []string          `json:"storePaths"`
	Problems      []inspectProblem  `json:"problems"`
	OK            bool              `json:"ok"`
}

func (r *inspectReport) problem(code, format string, args ...any) {
	r.Problems = append(r.Problems, inspectProblem{Code: code, Message: fmt.Sprintf(format, args...)})
}

// errInspectProblems makes the command exit 1 after printing the report.
var errInspectProblems = errors.New("systemd would refuse the image or the service could not start")

const inspectUsage = `usage: mkportable inspect [--json] IMAGE.raw

Shows the image's os-release, the unit files portabled would attach and the
store paths, and checks what systemd-portabled checks and what makes a
portable service fail at start. Exits 1 when there is a problem.

flags:
`

// runInspect is `mkportable inspect`.
func runInspect(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		_, _ = fmt.Fprint(stderr, inspectUsage)
		fl.PrintDefaults()
	}
	asJSON := fl.Bool("json", false, "print one JSON object instead of the report")
	pos, err := parseInterspersed(fl, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if len(pos) != 1 {
		fl.Usage()
		return fmt.Errorf("%w: want exactly one IMAGE.raw", errUsage)
	}
	rep := inspectImage(pos[0])
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printInspect(stdout, rep); err != nil {
		return err
	}
	if !rep.OK {
		codes := make([]string, 0, len(rep.Problems))
		for _, p := range rep.Problems {
			codes = append(codes, p.Code)
		}
		return fmt.Errorf("%w (%s)", errInspectProblems, strings.Join(codes, ", "))
	}
	return nil
}

// imageName is how systemd names an image file: the file name cut at the
// first "_", else without ".raw" (src/shared/discover-image.c).
func imageName(file string) string {
	base := filepath.Base(file)
	if i := strings.IndexByte(base, '_'); i >= 0 {
		return base[:i]
	}
	return strings.TrimSuffix(base, ".raw")
}

// mountPoints are the directories the service's namespace mounts over; a
// read-only image cannot have them created at start (the service then fails
// with 226/NAMESPACE).
var mountPoints = []string{"proc", "sys", "dev", "run", "tmp", "var/tmp"}

// unitDirs are where portabled looks for units in the image, in order
// (src/portable/portable.c searches the image's unit paths; NixOS hosts only
// honour /etc/systemd/system, nixpkgs issue 514579).
var unitDirs = []string{"etc/systemd/system", "usr/lib/systemd/system"}

func inspectImage(file string) *inspectReport {
	rep := &inspectReport{
		Image:      file,
		Name:       imageName(file),
		OSRelease:  map[string]string{},
		Units:      []inspectUnit{},
		StorePaths: []string{},
		Problems:   []inspectProblem{},
	}
	r, err := squashfs.OpenImage(file)
	if err != nil {
		rep.problem(codeUnreadableImage, "%v", err)
		return rep
	}
	defer func() { _ = r.Close() }()

	checkOSRelease(r, rep)
	checkUnits(r, rep)
	for _, mp := range mountPoints {
		fi, err := r.Stat(mp)
		switch {
		case err != nil:
			rep.problem(codeMissingMountPoint, "/%s is missing: the service's mount namespace needs it", mp)
		case !fi.IsDir():
			rep.problem(codeMissingMountPoint, "/%s is not a directory: the service's mount namespace needs one", mp)
		}
	}
	if _, err := r.Lstat("etc/machine-id"); err != nil {
		rep.problem(codeNoMachineID, "/etc/machine-id is missing: the host's is bound over it at start")
	}
	if _, err := r.Lstat("etc/resolv.conf"); err != nil {
		rep.problem(codeNoResolvConf, "/etc/resolv.conf is missing: the portable profiles bind the host's over it")
	}
	if ents, err := r.ReadDir("nix/store"); err == nil {
		for _, e := range ents {
			rep.StorePaths = append(rep.StorePaths, "/nix/store/"+e.Name())
		}
		sort.Strings(rep.StorePaths)
	}
	rep.OK = len(rep.Problems) == 0
	return rep
}

// maxOSReleaseSize bounds how much of an os-release file inspect reads: the
// image's inode states the size, and a hostile image must not make inspect
// allocate whatever it claims. Real os-release files are well under 1 KiB.
const maxOSReleaseSize = 1 << 20

// readSmallFile reads name from the image, failing when it is larger than max
// bytes instead of reading it.
func readSmallFile(r *squashfs.Reader, name string, max int64) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading /%s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("/%s is larger than %d bytes", name, max)
	}
	return b, nil
}

// checkOSRelease reads /etc/os-release, else /usr/lib/os-release, as
// portabled does (symlinks resolved inside the image by the reader).
func checkOSRelease(r *squashfs.Reader, rep *inspectReport) {
	var data []byte
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := readSmallFile(r, p, maxOSReleaseSize)
		if err == nil {
			data, rep.OSReleasePath = b, "/"+p
			break
		}
	}
	if rep.OSReleasePath == "" {
		rep.problem(codeNoOSRelease, "neither /etc/os-release nor /usr/lib/os-release is a readable file: portabled refuses the image")
		return
	}
	rep.OSRelease = portable.ParseOSRelease(data)
	if rep.OSRelease["ID"] == "" {
		rep.problem(codeNoID, "%s has no ID=: portabled (systemd >= 251) refuses the image", rep.OSReleasePath)
	}
	if prefixes, ok := rep.OSRelease["PORTABLE_PREFIXES"]; ok {
		listed := false
		for _, p := range strings.Fields(prefixes) {
			if p == rep.Name {
				listed = true
			}
		}
		if !listed {
			rep.problem(codePrefixNotListed, "PORTABLE_PREFIXES=%q does not list the image name %q: portabled refuses to attach it under that name", prefixes, rep.Name)
		}
	}
}

// checkUnits lists the units portabled would take for this image name and
// checks that each is a usable file.
func checkUnits(r *squashfs.Reader, rep *inspectReport) {
	seen := map[string]bool{}
	for _, dir := range unitDirs {
		ents, err := r.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if seen[name] || !portable.PortableUnit(name, rep.Name) {
				continue
			}
			p := path.Join(dir, name)
			// portabled takes regular files and symlinks only
			// (portable.c: DT_REG, DT_LNK); anything else is skipped.
			fi, err := r.Lstat(p)
			if err != nil || (!fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0) {
				continue
			}
			seen[name] = true
			rep.Units = append(rep.Units, inspectUnit{Name: name, Path: "/" + p})
			if fi.Mode()&fs.ModeSymlink != 0 {
				target, err := r.ReadLink(p)
				if err == nil && strings.HasPrefix(target, "/") {
					rep.problem(codeBadUnitFile, "/%s is a symlink to %s: an absolute link is followed on the host, not in the image", p, target)
					continue
				}
				if fi, err = r.Stat(p); err != nil || !fi.Mode().IsRegular() {
					rep.problem(codeBadUnitFile, "/%s is a symlink that does not lead to a regular file in the image", p)
					continue
				}
			}
			if fi.Size() == 0 {
				rep.problem(codeBadUnitFile, "/%s is empty", p)
			}
		}
	}
	if len(rep.Units) == 0 {
		rep.problem(codeNoMatchingUnit, "no .service/.socket/.target/.timer/.path unit in /%s named %q followed by '-', '.', '@' or nothing: portabled has nothing to attach",
			strings.Join(unitDirs, " or /"), rep.Name)
	}
}

func printInspect(out io.Writer, rep *inspectReport) error {
	w := &strings.Builder{}
	fmt.Fprintf(w, "image:       %s\n", rep.Image)
	fmt.Fprintf(w, "name:        %s\n", rep.Name)
	if rep.OSReleasePath != "" {
		fmt.Fprintf(w, "os-release:  %s\n", rep.OSReleasePath)
		keys := make([]string, 0, len(rep.OSRelease))
		for k := range rep.OSRelease {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s=%q\n", k, rep.OSRelease[k])
		}
	} else {
		fmt.Fprintf(w, "os-release:  (none)\n")
	}
	fmt.Fprintf(w, "units (%d):\n", len(rep.Units))
	for _, u := range rep.Units {
		fmt.Fprintf(w, "  %-30s %s\n", u.Name, u.Path)
	}
	fmt.Fprintf(w, "store paths (%d):\n", len(rep.StorePaths))
	for _, p := range rep.StorePaths {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if rep.OK {
		fmt.Fprintf(w, "ok: portabled would accept this image\n")
	} else {
		fmt.Fprintf(w, "problems (%d):\n", len(rep.Problems))
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  %-20s %s\n", p.Code, p.Message)
		}
	}
	_, err := io.WriteString(out, w.String())
	return err
}
