package portable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/mkportable/mkportable/pkg/closure"
)

// Kind is the type of an image entry.
type Kind uint8

const (
	// KindDir is a directory.
	KindDir Kind = iota + 1
	// KindFile is a regular file: Data, or the host file Source.
	KindFile
	// KindSymlink is a symbolic link to Target (stored verbatim).
	KindSymlink
	// KindTree is a store path that is a directory: the host directory
	// Source is streamed into the image at Path with everything below it.
	KindTree
)

func (k Kind) String() string {
	switch k {
	case KindDir:
		return "dir"
	case KindFile:
		return "file"
	case KindSymlink:
		return "symlink"
	case KindTree:
		return "tree"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Entry is one item of the image tree Plan computes.
type Entry struct {
	Path   string      // slash path relative to the image root: "etc/os-release"
	Kind   Kind        //
	Mode   fs.FileMode // permission bits
	Data   []byte      // KindFile with generated content
	Source string      // KindFile copied from the host (Data nil), KindTree's host directory
	Size   int64       // KindFile: the number of bytes
	Target string      // KindSymlink
	// StorePath is set on the entry of a closure path itself
	// ("/nix/store/<hash>-<name>"), whose NAR hash the build may check.
	StorePath string
}

// Scaffold directories and files every portable image carries: the mount
// points portabled and the service's sandbox bind over (a read-only image
// cannot create them at run time) and the unit directory. nixpkgs'
// portableService makes the same ones.
var (
	scaffoldDirs = []string{
		"proc", "sys", "dev", "run", "tmp",
		"var", "var/tmp", "var/lib", "var/cache", "var/log",
		"etc", "etc/systemd", "etc/systemd/system",
	}
	// Empty files the host's versions are bound over (profiles bind
	// /etc/resolv.conf and /etc/machine-id).
	scaffoldEmptyFiles = []string{"etc/resolv.conf", "etc/machine-id"}
)

const osReleasePath = "etc/os-release"

// scaffoldPaths maps every scaffold path (and /nix, /nix/store) to whether
// it is a directory.
func scaffoldPaths() map[string]bool {
	m := map[string]bool{"nix": true, "nix/store": true, osReleasePath: false}
	for _, d := range scaffoldDirs {
		m[d] = true
	}
	for _, f := range scaffoldEmptyFiles {
		m[f] = false
	}
	return m
}

// roots are the store paths the image's /nix/store is the closure of: the
// units (as nixpkgs puts them in the closure too), contents, and the store
// paths symlink objects point into.
func roots(s *Spec) []string {
	var r []string
	add := func(p string) {
		if sp, _, ok := closure.SplitStorePath(p); ok {
			r = append(r, sp)
		}
	}
	for _, u := range s.Units {
		add(u)
	}
	for _, c := range s.Contents {
		add(c)
	}
	for _, l := range s.Symlinks {
		add(l.Object)
	}
	return r
}

// Resolve computes the closure the image's /nix/store holds: the closure of
// the roots through the exportReferencesGraph entries, or the store-paths
// file of a closureInfo (which must list every root). Every path must exist
// below opts.StoreRoot. Without any closure, only units may be store paths
// (they are copied into /etc/systemd/system but not into /nix/store).
func Resolve(s *Spec, opts Options) (*closure.Set, error) {
	var p Problems
	rs := roots(s)
	var set *closure.Set
	var err error
	switch {
	case s.Graph != nil:
		var g *closure.Graph
		if g, err = closure.NewGraph(s.Graph); err == nil {
			set, err = g.Closure(rs...)
		}
	case s.ClosureInfo != "" || s.ClosureFile != "":
		name := s.ClosureFile
		if name == "" {
			name = opts.hostPath(s.ClosureInfo)
		}
		if fi, statErr := os.Stat(name); statErr == nil && fi.IsDir() {
			set, err = closure.ReadClosureInfo(name)
		} else {
			set, err = closure.ReadStorePathsFile(name)
		}
		if err == nil {
			for _, r := range rs {
				if !set.Contains(r) {
					p.add("%s is not in the closure %s", r, name)
				}
			}
		}
	default:
		set, _ = closure.NewSet(nil)
		for _, c := range s.Contents {
			p.add("contents %s: no closure given (closureInfo, exportReferencesGraph or --closure FILE, e.g. from nix-store -qR)", c)
		}
		for _, l := range s.Symlinks {
			if _, _, ok := closure.SplitStorePath(l.Object); ok {
				p.add("symlink %s -> %s: no closure given to include the object's store path", l.Symlink, l.Object)
			}
		}
	}
	if err != nil {
		p = append(p, flatten(err)...)
	}
	if set != nil && len(p) == 0 {
		if err := set.CheckExist(opts.StoreRoot); err != nil {
			p = append(p, flatten(err)...)
		}
	}
	if len(p) > 0 {
		return nil, p
	}
	return set, nil
}

// flatten turns a joined error into its parts so Problems lists each.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Prepare validates the spec and resolves its closure, reporting the
// problems of both at once.
func Prepare(s *Spec, opts Options) (*closure.Set, error) {
	var p Problems
	if err := Validate(s, opts); err != nil {
		p = append(p, flatten(err)...)
	}
	set, err := Resolve(s, opts)
	if err != nil {
		p = append(p, flatten(err)...)
	}
	if len(p) > 0 {
		return nil, p
	}
	return set, nil
}

// Plan computes the image tree: the scaffold, /etc/os-release, the units as
// regular files in /etc/systemd/system, the symlinks merged into the tree
// wherever they point (their parent directories created: no mksquashfs-style
// "nix_1" renames), and /nix/store/<path> for each closure path. Entries are
// sorted by path, so parents come first. It reads nothing but the metadata of
// the units and the closure's top-level paths.
func Plan(s *Spec, set *closure.Set, opts Options) ([]Entry, error) {
	t := &tree{entries: map[string]*Entry{}}
	for _, d := range scaffoldDirs {
		t.dir(d)
	}
	for _, f := range scaffoldEmptyFiles {
		t.add(Entry{Path: f, Kind: KindFile, Mode: 0o644, Data: []byte{}})
	}
	osr := OSRelease(s)
	t.add(Entry{Path: osReleasePath, Kind: KindFile, Mode: 0o644, Data: osr, Size: int64(len(osr))})
	for _, u := range s.Units {
		src := opts.hostPath(u)
		fi, err := os.Stat(src)
		if err != nil {
			t.fail(fmt.Errorf("unit %s: %w", u, err))
			continue
		}
		if !fi.Mode().IsRegular() {
			t.fail(fmt.Errorf("%w: unit %s: not a regular file", ErrInvalid, u))
			continue
		}
		// Units are copied, never linked: an absolute symlink into
		// /nix/store would be resolved on the host by portabled.
		t.add(Entry{Path: "etc/systemd/system/" + UnitName(u), Kind: KindFile, Mode: 0o644, Source: src, Size: fi.Size()})
	}
	for _, l := range s.Symlinks {
		rel := strings.TrimPrefix(path.Clean(l.Symlink), "/")
		t.dir(path.Dir(rel))
		t.add(Entry{Path: rel, Kind: KindSymlink, Mode: 0o777, Target: l.Object})
	}
	t.dir("nix/store")
	for _, sp := range set.Paths() {
		src := closure.HostPath(opts.StoreRoot, sp)
		rel := strings.TrimPrefix(sp, "/")
		fi, err := os.Lstat(src)
		if err != nil {
			t.fail(fmt.Errorf("store path %s: %w", sp, err))
			continue
		}
		switch {
		case fi.IsDir():
			t.add(Entry{Path: rel, Kind: KindTree, Mode: storeMode(fi.Mode()).Perm(), Source: src, StorePath: sp})
		case fi.Mode().IsRegular():
			t.add(Entry{Path: rel, Kind: KindFile, Mode: storeMode(fi.Mode()).Perm(), Source: src, Size: fi.Size(), StorePath: sp})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				t.fail(fmt.Errorf("store path %s: %w", sp, err))
				continue
			}
			t.add(Entry{Path: rel, Kind: KindSymlink, Mode: 0o777, Target: target, StorePath: sp})
		default:
			t.fail(fmt.Errorf("%w: store path %s: unsupported file type %v", ErrInvalid, sp, fi.Mode().Type()))
		}
	}
	if len(t.errs) > 0 {
		return nil, t.errs
	}
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// tree collects entries and refuses collisions (Validate reports them
// first with better messages; this is the backstop).
type tree struct {
	entries map[string]*Entry
	errs    Problems
}

var errCollision = errors.New("portable: two image entries at one path")

func (t *tree) fail(err error) { t.errs = append(t.errs, err) }

// dir ensures the directory p and its parents exist (mode 0755).
func (t *tree) dir(p string) {
	if p == "." || p == "" {
		return
	}
	t.dir(path.Dir(p))
	if e, ok := t.entries[p]; ok {
		if e.Kind != KindDir {
			t.fail(fmt.Errorf("%w: /%s is a %s but must be a directory", errCollision, p, e.Kind))
		}
		return
	}
	t.entries[p] = &Entry{Path: p, Kind: KindDir, Mode: 0o755}
}

func (t *tree) add(e Entry) {
	t.dir(path.Dir(e.Path))
	if old, ok := t.entries[e.Path]; ok {
		t.fail(fmt.Errorf("%w: /%s (%s and %s)", errCollision, e.Path, old.Kind, e.Kind))
		return
	}
	// Nothing can be below e yet: anything added below a path first makes
	// it a directory entry (dir above), which the check above refuses.
	t.entries[e.Path] = &e
}
