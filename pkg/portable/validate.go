package portable

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mkportable/mkportable/pkg/closure"
	"github.com/mkportable/mkportable/pkg/squashfs"
	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// ErrInvalid is wrapped by every validation problem.
var ErrInvalid = errors.New("portable: invalid")

// Problems is every violation Validate found; its message lists them all,
// one per line, so a build fails once with the complete list.
type Problems []error

func (p Problems) Error() string {
	if len(p) == 1 {
		return p[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(p))
	for _, e := range p {
		msg := e.Error()
		// The sentinel's text once in front of every line is noise; the
		// problems still wrap it for errors.Is.
		msg = strings.TrimPrefix(msg, ErrInvalid.Error()+": ")
		b.WriteString("\n  - ")
		b.WriteString(strings.ReplaceAll(msg, "\n", "\n    "))
	}
	return b.String()
}

// Unwrap gives errors.Is/As access to every problem.
func (p Problems) Unwrap() []error { return p }

func (p *Problems) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
}

func (p Problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

// Options locate the inputs on disk.
type Options struct {
	// StoreRoot is the directory holding nix/store: "" for the real
	// /nix/store; tests point it at a copy of a store. Paths outside the
	// store (unit files given as plain files) are not re-rooted.
	StoreRoot string
}

func (o Options) hostPath(p string) string {
	if strings.HasPrefix(p, closure.StoreDir+"/") {
		return closure.HostPath(o.StoreRoot, p)
	}
	return p
}

// portableSuffixes are the unit types portabled copies out of an image
// (src/portable/portable.c, unit_match); anything else is ignored by it.
var portableSuffixes = []string{".service", ".socket", ".target", ".timer", ".path"}

// unitTypes are every systemd unit type (src/basic/unit-def.c), for the
// unit_name_is_valid check, which precedes the portable suffix filter.
var unitTypes = map[string]bool{
	"service": true, "mount": true, "swap": true, "socket": true, "target": true,
	"device": true, "automount": true, "timer": true, "path": true, "slice": true, "scope": true,
}

// unitNameMax is UNIT_NAME_MAX (src/basic/unit-name.h): names must be shorter.
const unitNameMax = 256

// UnitNameValid reports whether name is a valid unit name, following
// systemd's unit_name_is_valid (src/basic/unit-name.c) with
// UNIT_NAME_ANY: a known type after the last ".", a non-empty prefix of
// [A-Za-z0-9:_.\-] with "@", no "@" first, fewer than 256 bytes.
func UnitNameValid(name string) bool {
	if name == "" || len(name) >= unitNameMax {
		return false
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || !unitTypes[name[dot+1:]] {
		return false
	}
	for i := 0; i < dot; i++ {
		c := name[i]
		if !isAlnum(rune(c)) && !strings.ContainsRune(":-_.\\@", rune(c)) {
			return false
		}
	}
	return name[0] != '@'
}

// PrefixMatch is portabled's prefix rule (src/portable/portable.c,
// prefix_match): the unit name starts with the prefix and the next character
// is '-', '.', '@' or the end of the name. nixpkgs only checks "starts
// with", which lets demox.service through for image demo; portabled then
// silently ignores it.
func PrefixMatch(unit, prefix string) bool {
	if !strings.HasPrefix(unit, prefix) {
		return false
	}
	rest := unit[len(prefix):]
	return rest == "" || rest[0] == '-' || rest[0] == '.' || rest[0] == '@'
}

// PortableUnit reports whether portabled takes unit file name for an image
// named image: a valid unit name with a portable suffix matching the prefix.
func PortableUnit(name, image string) bool {
	if !UnitNameValid(name) {
		return false
	}
	return hasPortableSuffix(name) && PrefixMatch(name, image)
}

// Validate checks the spec against systemd's rules and reports every
// violation at once. It stats the unit files (they must be regular and
// non-empty) and nothing else; closure problems are Resolve's.
func Validate(s *Spec, opts Options) error {
	var p Problems
	validatePname(&p, s.Pname)
	validateVersion(&p, s.Version)
	if s.Pname != "" && s.Version != "" {
		if n := len(s.ImageFileName()); n > 255 {
			p.add("image file name %q is %d bytes, longer than a file name may be (255)", s.ImageFileName(), n)
		}
	}
	for _, f := range []struct {
		key string
		v   *string
	}{{"description", s.Description}, {"homepage", s.Homepage}} {
		if f.v == nil {
			continue
		}
		if !utf8.ValidString(*f.v) {
			p.add("%s: not valid UTF-8 (os-release is UTF-8)", f.key)
			continue
		}
		for _, r := range *f.v {
			// os-release(5): no non-printable characters. White space
			// (newlines too) is folded to spaces by OSRelease.
			if unicode.IsControl(r) && !unicode.IsSpace(r) {
				p.add("%s: control character %U is not allowed in os-release", f.key, r)
				break
			}
		}
	}

	scaffold := scaffoldPaths()
	unitPaths := validateUnits(&p, s, opts)
	validateSymlinks(&p, s, scaffold, unitPaths)

	for i, c := range s.Contents {
		if _, _, ok := closure.SplitStorePath(c); !ok {
			p.add("contents[%d]: %q is not a store path", i, c)
		}
	}

	bs, err := squashfs.ParseBlockSize(s.blockSize())
	if err != nil {
		p.add("squash-block-size: %v", err)
		bs = squashfs.MaxBlockSize // still check the compressor's own options
	}
	if _, err := compress.Parse(s.compression(), bs); err != nil {
		p.add("squash-compression: %v", err)
	}
	return p.err()
}

func validatePname(p *Problems, pname string) {
	switch {
	case pname == "":
		p.add("pname: missing or empty")
		return
	case pname == "." || pname == "..":
		p.add("pname %q: not a usable image name", pname)
		return
	case strings.HasPrefix(pname, "."):
		// Hidden files are skipped when portabled discovers images.
		p.add("pname %q: must not start with '.'", pname)
	}
	for _, r := range pname {
		if r == '_' {
			p.add("pname %q: contains '_', but systemd cuts the image name at the first '_' (%q)", pname, pname[:strings.IndexByte(pname, '_')])
			return
		}
		if !isAlnum(r) && r != '.' && r != '-' {
			p.add("pname %q: character %q not allowed (only A-Z a-z 0-9 . -)", pname, r)
			return
		}
	}
}

func validateVersion(p *Problems, v string) {
	if v == "" {
		p.add("version: missing or empty (the image file is <pname>_<version>.raw)")
		return
	}
	if !utf8.ValidString(v) {
		p.add("version %q: not valid UTF-8", v)
		return
	}
	for _, r := range v {
		switch {
		case r == '/':
			p.add("version %q: contains '/', which cannot be in a file name", v)
			return
		case unicode.IsSpace(r) || unicode.IsControl(r):
			p.add("version %q: contains white space or a control character", v)
			return
		}
	}
}

// validateUnits checks the unit files and returns their image paths.
func validateUnits(p *Problems, s *Spec, opts Options) map[string]bool {
	paths := map[string]bool{}
	if len(s.Units) == 0 {
		p.add("units: none given; portabled attaches an image only through its units")
	}
	seen := map[string]string{}
	for _, u := range s.Units {
		name := UnitName(u)
		if prev, dup := seen[name]; dup {
			p.add("unit %s: duplicate unit name (also from %s)", name, prev)
			continue
		}
		seen[name] = u
		paths["etc/systemd/system/"+name] = true
		switch {
		case !UnitNameValid(name):
			p.add("unit %s (%s): not a valid systemd unit name", name, u)
		case !hasPortableSuffix(name):
			p.add("unit %s: portabled only takes %s units", name, strings.Join(portableSuffixes, " "))
		case s.Pname != "" && !PrefixMatch(name, s.Pname):
			p.add("unit %s: name must be %q followed by '-', '.', '@' or nothing (systemd's prefix rule), or portabled ignores it", name, s.Pname)
		}
		fi, err := os.Stat(opts.hostPath(u))
		switch {
		case err != nil && errors.Is(err, os.ErrNotExist) && s.hasClosure() && isStorePath(u):
			// A unit is a closure root: Resolve reports the missing
			// store path once, with the others.
		case err != nil:
			p.add("unit %s: %v", name, err)
		case fi.IsDir():
			p.add("unit %s: %s is a directory, not a unit file", name, u)
		case !fi.Mode().IsRegular():
			p.add("unit %s: %s is not a regular file", name, u)
		case fi.Size() == 0:
			p.add("unit %s: %s is empty", name, u)
		}
	}
	return paths
}

func hasPortableSuffix(name string) bool {
	for _, s := range portableSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// validateSymlinks checks each symlink's path: absolute, clean, no "..",
// not inside /nix/store (the closure owns it), not on or above anything the
// scaffold, the units or another symlink put there, and not below a file.
func validateSymlinks(p *Problems, s *Spec, scaffold map[string]bool, units map[string]bool) {
	links := map[string]int{}
	var order []string
	for i, l := range s.Symlinks {
		where := fmt.Sprintf("symlinks[%d] (%s -> %s)", i, l.Symlink, l.Object)
		lp := l.Symlink
		switch {
		case !strings.HasPrefix(lp, "/"):
			p.add("%s: the symlink path must be absolute", where)
			continue
		case hasDotDot(lp):
			p.add("%s: the symlink path must not contain \"..\" (or \".\") components", where)
			continue
		case path.Clean(lp) != lp:
			p.add("%s: the symlink path is not clean (want %s)", where, path.Clean(lp))
			continue
		case strings.ContainsRune(lp, 0):
			p.add("%s: NUL in the symlink path", where)
			continue
		}
		rel := strings.TrimPrefix(path.Clean(lp), "/")
		if rel == "" || rel == "." {
			p.add("%s: the symlink cannot replace the image root", where)
			continue
		}
		if rel == "nix" || rel == "nix/store" || strings.HasPrefix(rel, "nix/store/") {
			p.add("%s: /nix/store holds the closure; a symlink cannot be placed there", where)
			continue
		}
		if conflict := collides(rel, scaffold, units); conflict != "" {
			p.add("%s: collides with /%s of the image scaffold", where, conflict)
			continue
		}
		if j, dup := links[rel]; dup {
			p.add("%s: same path as symlinks[%d]", where, j)
			continue
		}
		for _, other := range order {
			if strings.HasPrefix(rel, other+"/") || strings.HasPrefix(other, rel+"/") {
				p.add("%s: one of symlinks[%d] and symlinks[%d] would have to be a directory", where, links[other], i)
			}
		}
		links[rel] = i
		order = append(order, rel)

		switch o := l.Object; {
		case o == "":
			p.add("%s: empty object", where)
		case !strings.HasPrefix(o, "/"):
			p.add("%s: the object must be an absolute path", where)
		case strings.HasPrefix(o, closure.StoreDir+"/"):
			if _, _, ok := closure.SplitStorePath(o); !ok {
				p.add("%s: object is not a valid store path", where)
			}
		}
	}
}

// collides reports the scaffold (or unit) path a symlink at rel would
// clash with: the same path, a scaffold entry below it (the symlink would
// have to be a directory), or a scaffold file above it.
func collides(rel string, scaffold, units map[string]bool) string {
	var hits []string
	check := func(q string, isDir bool) {
		switch {
		case q == rel:
			hits = append(hits, q)
		case strings.HasPrefix(q, rel+"/"):
			hits = append(hits, q)
		case !isDir && strings.HasPrefix(rel, q+"/"):
			hits = append(hits, q)
		}
	}
	for q, isDir := range scaffold {
		check(q, isDir)
	}
	for q := range units {
		check(q, false)
	}
	if len(hits) == 0 {
		return ""
	}
	sort.Strings(hits)
	return hits[0]
}

func hasDotDot(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == ".." || c == "." {
			return true
		}
	}
	return false
}

// isStorePath reports whether p is a store path or below one.
func isStorePath(p string) bool {
	_, _, ok := closure.SplitStorePath(p)
	return ok
}

// isAlnum reports whether r is an ASCII letter or digit.
func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
