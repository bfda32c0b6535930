package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mkportable/mkportable/pkg/portable"
	"github.com/mkportable/mkportable/pkg/squashfs"
)

// buildList is a repeatable string flag.
type buildList []string

func (l *buildList) String() string     { return strings.Join(*l, ",") }
func (l *buildList) Set(v string) error { *l = append(*l, v); return nil }

// buildOptString is a string flag that remembers whether it was given, so that
// --description "" differs from no --description (null in the attrs).
type buildOptString struct {
	v   string
	set bool
}

func (o *buildOptString) String() string     { return o.v }
func (o *buildOptString) Set(v string) error { o.v, o.set = v, true; return nil }

const buildUsage = `usage: mkportable build [flags]

As a Nix builder (__structuredAttrs = true; args = [ "build" ]) it reads the
attrs from $NIX_ATTRS_JSON_FILE, or $NIX_BUILD_TOP/.attrs.json when that file
does not exist, and writes outputs.out/<pname>_<version>.raw.

Outside Nix, either --attrs FILE, or the spec from flags:
  mkportable build --pname demo --version 1.0 --unit demo.service \
      [--contents STORE_PATH ... --closure STORE_PATHS_FILE] --out DIR

SOURCE_DATE_EPOCH, when set, is the image's modification time (default 0).

flags:
`

// runBuild is `mkportable build`.
func runBuild(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("build", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		_, _ = fmt.Fprint(stderr, buildUsage)
		fl.PrintDefaults()
	}
	var (
		attrs, out, pname, version, closureFile, comp, blockSize, storeRoot string
		units, symlinks, contents                                           buildList
		description, homepage                                               buildOptString
		verify                                                              bool
		workers                                                             int
	)
	fl.StringVar(&attrs, "attrs", "", "structured attrs `FILE` (.attrs.json) to build from")
	fl.StringVar(&out, "out", "", "output `DIR` (default: outputs.out of the attrs)")
	fl.StringVar(&pname, "pname", "", "image `NAME`: [A-Za-z0-9.-], no '_'")
	fl.StringVar(&version, "version", "", "image `VERSION`")
	fl.Var(&units, "unit", "unit `FILE` (repeatable); its name is the store name without hash, or the base name")
	fl.Var(&description, "description", "`TEXT` for PORTABLE_PRETTY_NAME in os-release")
	fl.Var(&homepage, "homepage", "`URL` for HOME_URL in os-release")
	fl.Var(&symlinks, "symlink", "`OBJECT:LINK` (repeatable): symlink LINK in the image pointing at OBJECT")
	fl.Var(&contents, "contents", "store `PATH` (repeatable) to include with its closure")
	fl.StringVar(&closureFile, "closure", "", "store-paths `FILE` listing the closure (e.g. nix-store -qR ROOTS > FILE), or a closureInfo directory")
	fl.StringVar(&comp, "comp", "", "`COMPRESSOR` as mksquashfs -comp takes it (default \""+portable.DefaultCompression+"\")")
	fl.StringVar(&blockSize, "block-size", "", "`SIZE` as mksquashfs -b takes it (default "+portable.DefaultBlockSize+")")
	fl.BoolVar(&verify, "verify-nar-hash", false, "check each store path against the NAR hash Nix recorded (exportReferencesGraph attrs only)")
	fl.StringVar(&storeRoot, "store-root", "", "`DIR` holding nix/store to read store paths from (default /; for tests)")
	fl.IntVar(&workers, "workers", 0, "compression workers (default GOMAXPROCS; the image does not depend on it)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fl.Arg(0))
	}
	given := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { given[f.Name] = true })
	specFlags := []string{"pname", "version", "unit", "description", "homepage", "symlink", "contents", "closure", "comp", "block-size"}
	fromFlags := false
	for _, n := range specFlags {
		if given[n] {
			fromFlags = true
		}
	}

	var spec *portable.Spec
	asBuilder := false
	switch {
	case attrs != "" && fromFlags:
		return fmt.Errorf("%w: --attrs cannot be combined with spec flags (--pname, --unit, ...)", errUsage)
	case attrs != "":
		s, err := portable.DecodeFile(attrs)
		if err != nil {
			return err
		}
		spec = s
	case fromFlags:
		spec = &portable.Spec{
			Pname: pname, Version: version, Units: units, Contents: contents,
			Compression: comp, BlockSize: blockSize, ClosureFile: closureFile,
		}
		if description.set {
			spec.Description = &description.v
		}
		if homepage.set {
			spec.Homepage = &homepage.v
		}
		for _, sl := range symlinks {
			obj, link, ok := strings.Cut(sl, ":")
			if !ok {
				return fmt.Errorf("%w: --symlink %q: want OBJECT:LINK", errUsage, sl)
			}
			spec.Symlinks = append(spec.Symlinks, portable.Symlink{Object: obj, Symlink: link})
		}
		// Unit files given relative to the working directory.
		for i, u := range spec.Units {
			if !filepath.IsAbs(u) {
				if abs, err := filepath.Abs(u); err == nil {
					spec.Units[i] = abs
				}
			}
		}
	default:
		name, ok := nixAttrsFile()
		if !ok {
			fl.Usage()
			return fmt.Errorf("%w: no attrs: not running as a Nix builder, and neither --attrs nor --pname/--unit given", errUsage)
		}
		s, err := portable.DecodeFile(name)
		if err != nil {
			return err
		}
		spec, asBuilder = s, true
	}

	if out == "" {
		out = spec.Out
	}
	if out == "" {
		return fmt.Errorf("%w: no output directory: give --out DIR (or outputs.out in the attrs)", errUsage)
	}
	mtime, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	opts := portable.BuildOptions{
		Options:       portable.Options{StoreRoot: storeRoot},
		Log:           stderr,
		Workers:       workers,
		ModTime:       mtime,
		VerifyNarHash: verify,
	}
	// Nix gives a builder a pseudo-terminal for its output, so a progress
	// line would be drawn over and over into the build log: not as a builder.
	showProgress := isTerminal(stderr) && !asBuilder
	opts.Watch = func(stats func() squashfs.Stats) func() {
		p := startProgress(stderr, showProgress, 200*time.Millisecond, func() progressStats {
			st := stats()
			return progressStats{Entries: st.Entries, BytesIn: st.BytesIn, BytesOut: st.BytesOut}
		})
		return p.stop
	}
	_, err = portable.Run(spec, out, opts)
	return err
}

// nixAttrsFile finds the structured attrs of a Nix build. Nix 2.8 sets
// NIX_ATTRS_JSON_FILE to the host-side path even inside the sandbox, where
// the file is at $NIX_BUILD_TOP/.attrs.json instead.
func nixAttrsFile() (string, bool) {
	if p := os.Getenv("NIX_ATTRS_JSON_FILE"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	if top := os.Getenv("NIX_BUILD_TOP"); top != "" {
		p := filepath.Join(top, ".attrs.json")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// sourceDateEpoch honours SOURCE_DATE_EPOCH (reproducible-builds.org) as the
// image's timestamps; unset means 0, what nixpkgs' mksquashfs call uses.
// Inside a structured-attrs Nix build it is unset unless the derivation sets it.
func sourceDateEpoch() (int64, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<32-1 {
		return 0, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970 that fit 32 bits", v)
	}
	return n, nil
}
