package portable

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/mkportable/mkportable/internal/outfile"
	"github.com/mkportable/mkportable/pkg/closure"
	"github.com/mkportable/mkportable/pkg/squashfs"
	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// BuildOptions control Run and Build.
type BuildOptions struct {
	Options
	// Log receives one line per phase and the final summary; nil: silent.
	Log io.Writer
	// Watch, when not nil, is called once the image writer exists with a
	// function returning its live statistics (for a progress line); the
	// returned stop is called when writing ends.
	Watch func(stats func() squashfs.Stats) (stop func())
	// Workers compress blocks in parallel; 0 means GOMAXPROCS. The image
	// does not depend on it.
	Workers int
	// ModTime is every inode's and the superblock's modification time
	// (seconds since the epoch; 0 like nixpkgs' SOURCE_DATE_EPOCH=0).
	ModTime int64
	// VerifyNarHash forces NAR hash verification (the spec's verifyNarHash
	// turns it on too). It happens in the build's single pass over the
	// store: each store path's NAR serialisation is computed from the reads
	// that feed the image, and a mismatch fails the build (no image).
	VerifyNarHash bool
}

// Summary describes a finished build.
type Summary struct {
	Image      string // the image file written
	StorePaths int
	Files      int64 // regular files written
	Entries    int64 // inodes written (files, directories, symlinks)
	BytesIn    int64 // file data read
	BytesOut   int64 // image size
	Verified   int   // store paths whose NAR hash was checked
	Duration   time.Duration
}

func (o BuildOptions) logf(format string, args ...any) {
	if o.Log != nil {
		_, _ = fmt.Fprintf(o.Log, "mkportable: "+format+"\n", args...)
	}
}

// Run is the whole build: validate the spec and resolve its closure (every
// problem at once, before any output exists), plan the tree and write
// outDir/<pname>_<version>.raw, verifying NAR hashes on the way when asked.
// The image appears (by rename) only when everything passed.
func Run(s *Spec, outDir string, opts BuildOptions) (*Summary, error) {
	start := time.Now()
	set, err := Prepare(s, opts.Options)
	if err != nil {
		return nil, err
	}
	opts.logf("closure: %d store paths (%s)", set.Len(), closureSource(s))
	sum, err := Build(s, set, outDir, opts)
	if err != nil {
		return nil, err
	}
	sum.Duration = time.Since(start)
	if opts.VerifyNarHash || s.VerifyNarHash {
		if sum.Verified == 0 {
			opts.logf("verify: no NAR hashes recorded (a store-paths file carries none): nothing verified")
		} else {
			opts.logf("verify: NAR hashes of %d store paths match (checked while writing)", sum.Verified)
		}
	}
	ratio := 0.0
	if sum.BytesIn > 0 {
		ratio = 100 * float64(sum.BytesOut) / float64(sum.BytesIn)
	}
	opts.logf("wrote %s: %d store paths, %d files (%d entries), %s in, %s out (%.1f%%), %.2f s",
		sum.Image, sum.StorePaths, sum.Files, sum.Entries, human(sum.BytesIn), human(sum.BytesOut), ratio, sum.Duration.Seconds())
	return sum, nil
}

func closureSource(s *Spec) string {
	switch {
	case s.Graph != nil:
		return "exportReferencesGraph"
	case s.ClosureFile != "":
		return s.ClosureFile
	case s.ClosureInfo != "":
		return s.ClosureInfo + "/store-paths"
	}
	return "none given: units only"
}

func workers(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}

// Build plans the image of a validated spec and closure and writes it
// atomically to outDir/<pname>_<version>.raw: store files are streamed
// from the store into the writer (no staging copy), and a failure leaves no
// image behind.
func Build(s *Spec, set *closure.Set, outDir string, opts BuildOptions) (*Summary, error) {
	entries, err := Plan(s, set, opts.Options)
	if err != nil {
		return nil, err
	}
	opts.logf("plan: %d entries (%d unit files, %d symlinks, %d store paths)", len(entries), len(s.Units), len(s.Symlinks), set.Len())

	bs, err := squashfs.ParseBlockSize(s.blockSize())
	if err != nil {
		return nil, fmt.Errorf("%w: squash-block-size: %w", ErrInvalid, err)
	}
	comp, err := compress.Parse(s.compression(), bs)
	if err != nil {
		return nil, fmt.Errorf("%w: squash-compression: %w", ErrInvalid, err)
	}
	if opts.ModTime < 0 || opts.ModTime > 1<<32-1 {
		return nil, fmt.Errorf("%w: modification time %d does not fit the image's 32-bit field", ErrInvalid, opts.ModTime)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}
	dest := filepath.Join(outDir, s.ImageFileName())
	f, err := outfile.Create(dest, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Abort()

	nw := workers(opts.Workers)
	opts.logf("write: %s (%s, block size %s, %d workers)", dest, s.compression(), s.blockSize(), nw)
	w, err := squashfs.NewWriter(f, squashfs.Options{
		BlockSize:  bs,
		Compressor: comp,
		Workers:    nw,
		ModTime:    opts.ModTime,
		RootMode:   0o755,
	})
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", dest, err)
	}

	stop := func() {}
	if opts.Watch != nil {
		stop = opts.Watch(w.Stats)
	}
	var verify func(storePath string) (closure.Entry, bool)
	if opts.VerifyNarHash || s.VerifyNarHash {
		verify = func(p string) (closure.Entry, bool) {
			e, ok := set.Entry(p)
			return e, ok && e.NarHash != ""
		}
	}
	var files int64
	verified, err := writeEntries(w, entries, verify, &files)
	if err == nil {
		err = w.Close()
	}
	stop()
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", dest, err)
	}
	st := w.Stats()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", dest, err)
	}
	if err := f.Commit(); err != nil {
		return nil, err
	}
	return &Summary{
		Image:      dest,
		StorePaths: set.Len(),
		Entries:    st.Entries,
		BytesIn:    st.BytesIn,
		BytesOut:   size,
		Verified:   verified,
		Files:      files,
	}, nil
}

// writeEntries feeds the planned entries to the writer, all owned by root.
// When verify gives a recorded NAR hash for a store path, the path's NAR
// serialisation is computed from the same reads and checked right after the
// path is added; it returns how many paths were checked.
// files counts the regular files written.
func writeEntries(w *squashfs.Writer, entries []Entry, verify func(string) (closure.Entry, bool), files *int64) (int, error) {
	verified := 0
	for i := range entries {
		e := &entries[i]
		var ns *closure.NarStream
		var want closure.Entry
		if e.StorePath != "" && verify != nil {
			if ce, ok := verify(e.StorePath); ok {
				ns, want = closure.NewNarStream(), ce
			}
		}
		var err error
		switch e.Kind {
		case KindDir:
			err = w.WriteHeader(&squashfs.Header{Name: e.Path, Type: squashfs.TypeDir, Mode: e.Mode})
		case KindSymlink:
			err = w.WriteHeader(&squashfs.Header{Name: e.Path, Type: squashfs.TypeSymlink, Mode: e.Mode, Linkname: e.Target})
			if err == nil && ns != nil {
				err = ns.Symlink(".", e.Target)
			}
		case KindFile:
			err = writeFile(w, e, ns)
			*files++
		case KindTree:
			// AddFS makes every entry root-owned (mksquashfs -all-root);
			// storeFS gives the canonical store modes and feeds ns.
			// Hard links are stored as separate files: store optimisation
			// (nix-store --optimise) must not change the image.
			err = w.AddFS(storeFS{FS: squashfs.DirFS(e.Source), nar: ns, files: files}, squashfs.AddOptions{Prefix: e.Path, NoHardlinks: true})
			if err != nil {
				err = fmt.Errorf("adding %s: %w", e.Source, err)
			}
		default:
			err = fmt.Errorf("portable: entry %s: unknown kind %v", e.Path, e.Kind)
		}
		if ns != nil {
			if err != nil {
				ns.Abort()
			} else if err = want.Check(ns); err == nil {
				verified++
			}
		}
		if err != nil {
			return verified, err
		}
	}
	return verified, nil
}

func writeFile(w *squashfs.Writer, e *Entry, ns *closure.NarStream) error {
	if e.Source == "" {
		if err := w.WriteHeader(&squashfs.Header{Name: e.Path, Type: squashfs.TypeReg, Mode: e.Mode, Size: int64(len(e.Data))}); err != nil {
			return err
		}
		_, err := w.Write(e.Data)
		return err
	}
	src, err := os.Open(e.Source)
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.Source, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.Source, err)
	}
	if fi.Size() != e.Size || !fi.Mode().IsRegular() {
		return fmt.Errorf("reading %s: changed since it was planned (size %d, now %d)", e.Source, e.Size, fi.Size())
	}
	var r io.Reader = src
	if ns != nil {
		nw, err := ns.File(".", fi.Size(), fi.Mode()&0o100 != 0)
		if err != nil {
			return err
		}
		r = io.TeeReader(src, nw)
	}
	if err := w.WriteHeader(&squashfs.Header{Name: e.Path, Type: squashfs.TypeReg, Mode: e.Mode, Size: e.Size}); err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("copying %s: %w", e.Source, err)
	}
	return nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
