package closure

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/storepath"
)

// StoreDir is the only store directory the image layout supports: the paths
// land at the same place inside the image, and binaries built by Nix have
// it compiled in.
const StoreDir = storepath.StoreDir

// Sentinel errors; the returned errors wrap them with the path at fault.
var (
	ErrNotStorePath    = errors.New("closure: not a store path")
	ErrMissing         = errors.New("closure: store path missing on disk")
	ErrNotInGraph      = errors.New("closure: store path not in the references graph")
	ErrConflict        = errors.New("closure: conflicting entries for one store path")
	ErrNarHashMismatch = errors.New("closure: NAR hash mismatch")
)

// Entry is one node of an exportReferencesGraph: Nix writes these objects
// into the structured attrs. Fields Nix adds beyond these (closureSize,
// deriver, registrationTime, signatures, ...) are ignored when decoding.
type Entry struct {
	Path       string   `json:"path"`
	NarHash    string   `json:"narHash,omitempty"`
	NarSize    uint64   `json:"narSize,omitempty"`
	References []string `json:"references"`
}

// ParseStorePath checks that p is a store path itself (not a file below one):
// "/nix/store/<32 nixbase32 chars>-<name>". It returns the name part.
func ParseStorePath(p string) (string, error) {
	sp, err := storepath.FromAbsolutePath(p)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrNotStorePath, p, err)
	}
	// FromAbsolutePath does not insist on the store directory being
	// followed by exactly one "/"; re-render and compare to refuse
	// "/nix/storeX..." or "/nix/store//..." spellings.
	if sp.Absolute() != p {
		return "", fmt.Errorf("%w: %q", ErrNotStorePath, p)
	}
	return sp.Name, nil
}

// SplitStorePath splits a path at or below a store path into the store path
// and the rest ("/nix/store/h-busybox/bin/sh" -> "/nix/store/h-busybox",
// "/bin/sh"). ok is false when p is not below a valid store path.
func SplitStorePath(p string) (storePath, rest string, ok bool) {
	prefix := StoreDir + "/"
	if !strings.HasPrefix(p, prefix) {
		return "", "", false
	}
	end := strings.IndexByte(p[len(prefix):], '/')
	if end < 0 {
		storePath = p
	} else {
		storePath, rest = p[:len(prefix)+end], p[len(prefix)+end:]
	}
	if _, err := ParseStorePath(storePath); err != nil {
		return "", "", false
	}
	return storePath, rest, true
}

// Set is a sorted, de-duplicated set of store paths, with the graph entry of
// each path when the set came from a references graph.
type Set struct {
	paths   []string
	entries map[string]Entry
}

// NewSet validates paths and returns them as a Set. Every invalid path is
// reported, not just the first.
func NewSet(paths []string) (*Set, error) {
	var errs []error
	seen := make(map[string]bool, len(paths))
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if _, err := ParseStorePath(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Strings(out)
	return &Set{paths: out}, nil
}

// Paths returns the store paths, sorted byte-wise. The slice is shared; do
// not modify it.
func (s *Set) Paths() []string {
	if s == nil {
		return nil
	}
	return s.paths
}

// Len is the number of store paths.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.paths)
}

// Contains reports whether p is one of the store paths.
func (s *Set) Contains(p string) bool {
	if s == nil {
		return false
	}
	i := sort.SearchStrings(s.paths, p)
	return i < len(s.paths) && s.paths[i] == p
}

// Entry returns the graph entry of p, if the set came from a graph.
func (s *Set) Entry(p string) (Entry, bool) {
	if s == nil || s.entries == nil {
		return Entry{}, false
	}
	e, ok := s.entries[p]
	return e, ok
}

// ReadStorePaths reads a closureInfo `store-paths` file: one absolute store
// path per line (nixpkgs writes them sorted; the order is not relied on).
// Blank lines are skipped; name is used in error messages.
func ReadStorePaths(r io.Reader, name string) (*Set, error) {
	var paths []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	var errs []error
	for sc.Scan() {
		line++
		p := strings.TrimSpace(sc.Text())
		if p == "" {
			continue
		}
		if _, err := ParseStorePath(p); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		paths = append(paths, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewSet(paths)
}

// ReadStorePathsFile reads a `store-paths` file. If name is a directory (a
// closureInfo output), its `store-paths` file is read.
func ReadStorePathsFile(name string) (*Set, error) {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		name = filepath.Join(name, "store-paths")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading closure: %w", err)
	}
	defer f.Close()
	return ReadStorePaths(f, name)
}

// Graph is an exportReferencesGraph: store paths and their references.
type Graph struct {
	entries map[string]Entry
}

// NewGraph validates the entries (every path and every reference must be a
// store path; one path listed twice must have the same data) and indexes
// them. All problems are reported at once.
func NewGraph(entries []Entry) (*Graph, error) {
	g := &Graph{entries: make(map[string]Entry, len(entries))}
	var errs []error
	for i, e := range entries {
		if _, err := ParseStorePath(e.Path); err != nil {
			errs = append(errs, fmt.Errorf("graph entry %d: %w", i, err))
			continue
		}
		bad := false
		for _, r := range e.References {
			if _, err := ParseStorePath(r); err != nil {
				errs = append(errs, fmt.Errorf("references of %s: %w", e.Path, err))
				bad = true
			}
		}
		if bad {
			continue
		}
		refs := append([]string(nil), e.References...)
		sort.Strings(refs)
		refs = dedup(refs)
		e.References = refs
		if old, dup := g.entries[e.Path]; dup {
			if !sameEntry(old, e) {
				errs = append(errs, fmt.Errorf("%w: %s", ErrConflict, e.Path))
			}
			continue
		}
		g.entries[e.Path] = e
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return g, nil
}

func sameEntry(a, b Entry) bool {
	if a.Path != b.Path || a.NarHash != b.NarHash || a.NarSize != b.NarSize || len(a.References) != len(b.References) {
		return false
	}
	for i := range a.References {
		if a.References[i] != b.References[i] {
			return false
		}
	}
	return true
}

func dedup(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// Len is the number of distinct paths in the graph.
func (g *Graph) Len() int { return len(g.entries) }

// All returns every path of the graph as a Set (exportReferencesGraph
// already lists exactly the closure of its roots).
func (g *Graph) All() *Set {
	s := &Set{entries: g.entries}
	for p := range g.entries {
		s.paths = append(s.paths, p)
	}
	sort.Strings(s.paths)
	return s
}

// Closure returns the closure of roots: the roots and everything they
// reference, transitively. A root or reference missing from the graph is an
// error naming it (all of them are reported).
func (g *Graph) Closure(roots ...string) (*Set, error) {
	s := &Set{entries: make(map[string]Entry)}
	var errs []error
	missing := map[string]bool{}
	stack := append([]string(nil), roots...)
	from := map[string]string{} // reference -> a path referencing it, for messages
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, done := s.entries[p]; done || missing[p] {
			continue
		}
		e, ok := g.entries[p]
		if !ok {
			missing[p] = true
			if by, ok := from[p]; ok {
				errs = append(errs, fmt.Errorf("%w: %s (referenced by %s)", ErrNotInGraph, p, by))
			} else {
				errs = append(errs, fmt.Errorf("%w: %s", ErrNotInGraph, p))
			}
			continue
		}
		s.entries[p] = e
		s.paths = append(s.paths, p)
		for _, r := range e.References {
			if _, ok := from[r]; !ok {
				from[r] = p
			}
			stack = append(stack, r) // a self-reference is skipped by the done check
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Strings(s.paths)
	return s, nil
}

// HostPath is where store path p is on disk when the store is rooted at root
// ("" or "/" for the real store; tests use a directory holding nix/store).
func HostPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}

// CheckExist lstats every path below root (store paths can be directories,
// regular files or symlinks, so the path itself is checked, not its target)
// and reports every missing one.
func (s *Set) CheckExist(root string) error {
	var errs []error
	var missing []string
	for _, p := range s.Paths() {
		if _, err := os.Lstat(HostPath(root, p)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				missing = append(missing, p)
			} else {
				errs = append(errs, fmt.Errorf("checking %s: %w", p, err))
			}
		}
	}
	if len(missing) > 0 {
		// One error for all of them: a store that lacks paths usually
		// lacks many, and the list is what the user needs.
		errs = append([]error{fmt.Errorf("%w: %s", ErrMissing, strings.Join(missing, ", "))}, errs...)
	}
	return errors.Join(errs...)
}

// ReadRegistration reads the `registration` file of a nixpkgs closureInfo
// output: for each path, the lines path, narHash, narSize, deriver (empty),
// the number of references and the references - the input format of
// `nix-store --load-db` / `--register-validity --hash-given`, which nixpkgs'
// closure-info.nix writes from exportReferencesGraph. name is used in
// error messages.
func ReadRegistration(r io.Reader, name string) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return sc.Text(), true
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	var out []Entry
	for {
		p, ok := next()
		if !ok {
			break
		}
		if p == "" && len(out) > 0 {
			// A trailing empty line (nixpkgs strips it, others may not).
			if _, more := next(); !more {
				break
			}
			return nil, bad("unexpected empty line")
		}
		if _, err := ParseStorePath(p); err != nil {
			return nil, bad("%v", err)
		}
		hash, ok1 := next()
		sizeStr, ok2 := next()
		_, ok3 := next() // deriver
		countStr, ok4 := next()
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, bad("truncated entry for %s", p)
		}
		size, err := strconv.ParseUint(sizeStr, 10, 64)
		if err != nil {
			return nil, bad("narSize %q of %s: not a number", sizeStr, p)
		}
		count, err := strconv.Atoi(countStr)
		if err != nil || count < 0 {
			return nil, bad("reference count %q of %s: not a number", countStr, p)
		}
		e := Entry{Path: p, NarHash: hash, NarSize: size, References: []string{}}
		for i := 0; i < count; i++ {
			ref, ok := next()
			if !ok {
				return nil, bad("truncated references of %s", p)
			}
			e.References = append(e.References, ref)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

// ReadClosureInfo reads a closureInfo output directory: its `store-paths`
// is the closure; when its `registration` file is there too (nixpkgs'
// closureInfo writes one), each path also gets its narHash and narSize, so
// the NAR hashes can be verified as with exportReferencesGraph. Every path
// of store-paths must then be registered.
func ReadClosureInfo(dir string) (*Set, error) {
	set, err := ReadStorePathsFile(filepath.Join(dir, "store-paths"))
	if err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "registration")
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading closure: %w", err)
	}
	defer f.Close()
	entries, err := ReadRegistration(f, name)
	if err != nil {
		return nil, err
	}
	g, err := NewGraph(entries)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var missing []string
	set.entries = make(map[string]Entry, set.Len())
	for _, p := range set.Paths() {
		e, ok := g.entries[p]
		if !ok {
			missing = append(missing, p)
			continue
		}
		set.entries[p] = e
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s lacks %s", ErrNotInGraph, name, strings.Join(missing, ", "))
	}
	return set, nil
}
