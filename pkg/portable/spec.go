package portable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mkportable/mkportable/pkg/closure"
)

// Defaults nixpkgs' portableService uses for its mksquashfs call.
const (
	DefaultCompression = "xz -Xdict-size 100%"
	DefaultBlockSize   = "1M"
)

// ErrSpec is wrapped by every error decoding the attrs.
var ErrSpec = errors.New("portable: bad attrs")

// Symlink is one {object, symlink} pair: a symlink at Symlink (an absolute
// path in the image) pointing at Object.
type Symlink struct {
	Object  string `json:"object"`
	Symlink string `json:"symlink"`
}

// Spec is what a portable-service derivation hands its builder: the
// structured attrs (.attrs.json) decoded strictly, or the same built from
// command-line flags.
type Spec struct {
	Pname       string
	Version     string
	Units       []string // unit files: store paths, paths below one, or plain files outside Nix
	Description *string  // nil: no PORTABLE_PRETTY_NAME
	Homepage    *string  // nil: no HOME_URL
	Symlinks    []Symlink
	Contents    []string // store paths (or paths below one) put into the image with their closure
	Compression string   // mksquashfs -comp words; "" means DefaultCompression
	BlockSize   string   // mksquashfs -b; "" means DefaultBlockSize

	// The closure, in one of two forms (Graph wins when both are given):
	// ClosureInfo is a closureInfo output directory (its store-paths file),
	// Graph the entries of exportReferencesGraph.closure.
	ClosureInfo string
	Graph       []closure.Entry
	// ClosureFile is a store-paths file given on the command line.
	ClosureFile string

	VerifyNarHash bool
	// Out is the output directory: outputs.out in the attrs.
	Out string
}

// ownKeys are the attrs the builder reads; each decodes into one field.
var ownKeys = map[string]func(s *Spec, raw json.RawMessage) error{
	"pname":              func(s *Spec, r json.RawMessage) error { return strict(r, &s.Pname) },
	"version":            func(s *Spec, r json.RawMessage) error { return strict(r, &s.Version) },
	"units":              func(s *Spec, r json.RawMessage) error { return strict(r, &s.Units) },
	"description":        func(s *Spec, r json.RawMessage) error { return strict(r, &s.Description) },
	"homepage":           func(s *Spec, r json.RawMessage) error { return strict(r, &s.Homepage) },
	"symlinks":           func(s *Spec, r json.RawMessage) error { return strict(r, &s.Symlinks) },
	"contents":           func(s *Spec, r json.RawMessage) error { return strict(r, &s.Contents) },
	"squash-compression": func(s *Spec, r json.RawMessage) error { return strict(r, &s.Compression) },
	"squash-block-size":  func(s *Spec, r json.RawMessage) error { return strict(r, &s.BlockSize) },
	"closureInfo":        func(s *Spec, r json.RawMessage) error { return strict(r, &s.ClosureInfo) },
	"verifyNarHash":      func(s *Spec, r json.RawMessage) error { return strict(r, &s.VerifyNarHash) },
	// exportReferencesGraph.closure: Nix adds fields (closureSize, ...) the
	// builder has no use for; only this key is decoded leniently.
	"closure": func(s *Spec, r json.RawMessage) error {
		if err := json.Unmarshal(r, &s.Graph); err != nil {
			return err
		}
		if s.Graph == nil {
			s.Graph = []closure.Entry{}
		}
		return nil
	},
	"outputs": func(s *Spec, r json.RawMessage) error {
		var outs map[string]string
		if err := strict(r, &outs); err != nil {
			return err
		}
		s.Out = outs["out"]
		return nil
	},
}

// nixKeys are derivation attributes Nix itself interprets; they reach the
// attrs file too and are accepted without being read.
var nixKeys = map[string]bool{
	"name": true, "system": true, "builder": true, "args": true,
	"exportReferencesGraph": true, "__structuredAttrs": true,
	"preferLocalBuild": true, "allowSubstitutes": true, "passAsFile": true,
	"__sandboxProfile": true, "__impureHostDeps": true, "__propagatedImpureHostDeps": true,
	"impureEnvVars": true, "outputHashMode": true, "outputHash": true, "outputHashAlgo": true,
	"allowedReferences": true, "allowedRequisites": true,
	"disallowedReferences": true, "disallowedRequisites": true,
	"outputChecks": true, "unsafeDiscardReferences": true,
	"requiredSystemFeatures": true, "__noChroot": true,
}

// strict decodes one value, refusing unknown object fields and trailing data.
func strict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// Decode reads structured attrs strictly: a key that is neither the
// builder's nor Nix's is an error naming it (all of them, with the nearest
// known key as a hint), as is a value of the wrong type.
func Decode(r io.Reader) (*Spec, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: reading: %w", ErrSpec, err)
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %w", ErrSpec, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrSpec)
	}
	if top == nil {
		return nil, fmt.Errorf("%w: not a JSON object: null", ErrSpec)
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := &Spec{}
	var errs []error
	for _, k := range keys {
		if set, ok := ownKeys[k]; ok {
			if err := set(s, top[k]); err != nil {
				errs = append(errs, fmt.Errorf("%w: key %q: %w", ErrSpec, k, err))
			}
			continue
		}
		if nixKeys[k] {
			continue
		}
		hint := ""
		if near := nearestKey(k); near != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", near)
		}
		errs = append(errs, fmt.Errorf("%w: unknown key %q%s", ErrSpec, k, hint))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// DecodeFile reads the attrs file at name.
func DecodeFile(name string) (*Spec, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading attrs: %w", err)
	}
	defer f.Close()
	s, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// nearestKey returns the builder key closest to k by edit distance, if it
// is close enough to be a likely typo.
func nearestKey(k string) string {
	best, bestD := "", 3
	for cand := range ownKeys {
		if d := editDistance(strings.ToLower(k), strings.ToLower(cand)); d < bestD || (d == bestD && best != "" && cand < best) {
			best, bestD = cand, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// UnitName is the name a unit file gets in /etc/systemd/system: the store
// path's name without the hash for a store path ("/nix/store/<hash>-demo.service"
// -> "demo.service"), the base name for anything else (a file below a store
// path, or a plain file outside Nix).
func UnitName(p string) string {
	if name, err := closure.ParseStorePath(p); err == nil {
		return name
	}
	return filepath.Base(p)
}

// ImageFileName is the output file name: "<pname>_<version>.raw", which
// systemd reads back as the image name pname (cut at the first "_").
func (s *Spec) ImageFileName() string {
	return s.Pname + "_" + s.Version + ".raw"
}

func (s *Spec) compression() string {
	if strings.TrimSpace(s.Compression) == "" {
		return DefaultCompression
	}
	return s.Compression
}

func (s *Spec) blockSize() string {
	if strings.TrimSpace(s.BlockSize) == "" {
		return DefaultBlockSize
	}
	return s.BlockSize
}

// hasClosure reports whether the spec names a closure in any form.
func (s *Spec) hasClosure() bool {
	return s.Graph != nil || s.ClosureInfo != "" || s.ClosureFile != ""
}
