package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mkportable/mkportable/internal/outfile"
	"github.com/mkportable/mkportable/pkg/squashfs"
	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

const packUsage = `usage: mkportable pack [flags] SRC_DIR OUT_FILE

Pack the contents of SRC_DIR into the SquashFS image OUT_FILE, as
'mksquashfs SRC_DIR OUT_FILE -noappend -all-root' does: every entry owned by
root, one fixed modification time, the root directory's mode from SRC_DIR
(or --root-mode). Like mksquashfs, a SRC_DIR that is not a directory (a
file, or a symlink: write LINK/ to pack the directory a link points to)
becomes the only entry of a root directory of mode 0777, and OUT_FILE may be
inside SRC_DIR (the image never contains itself). Flags may come
before or after the arguments; -flag and --flag are the same.

flags:
`

// packConfig is the parsed command line of `mkportable pack`.
type packConfig struct {
	src, out    string
	comp        compress.Compressor
	blockSize   int
	jobs        int
	mtime       int64
	rootMode    os.FileMode // 0: SRC_DIR's mode
	hasRootMode bool
	noHardlinks bool
	quiet       bool
}

// parsePackArgs turns pack's arguments into a packConfig; every error is a
// usage error (exit status 2).
func parsePackArgs(args []string, stderr io.Writer) (*packConfig, error) {
	fl := flag.NewFlagSet("pack", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), packUsage)
		fl.PrintDefaults()
	}
	comp := fl.String("comp", "gzip", "compressor: xz, gzip, zstd, lz4 or none, with mksquashfs `options` (\"xz -Xdict-size 100%\")")
	bs := "128K"
	fl.StringVar(&bs, "b", bs, "block `size`: 4K ... 1M, or a byte count")
	fl.StringVar(&bs, "block-size", bs, "block `size` (same as -b)")
	jobs := fl.Int("jobs", 0, "compression workers (0: one per CPU); the image is the same for any value")
	mtime := fl.Int64("mtime", 0, "modification time of every entry and of the image, in `seconds` since 1970 (0 ... 4294967295)")
	rootMode := fl.String("root-mode", "", "octal `mode` of the root directory (default: SRC_DIR's mode)")
	noHardlinks := fl.Bool("no-hardlinks", false, "store every name of a hard-linked file as its own file")
	quiet := fl.Bool("quiet", false, "print nothing on success")
	pos, err := parseInterspersed(fl, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, err
	}
	if err != nil {
		// The flag package already printed the problem and the usage.
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if len(pos) != 2 {
		fl.Usage()
		return nil, fmt.Errorf("%w: want SRC_DIR and OUT_FILE, got %d arguments", errUsage, len(pos))
	}
	c := &packConfig{src: pos[0], out: pos[1], jobs: *jobs, mtime: *mtime, noHardlinks: *noHardlinks, quiet: *quiet}
	if c.blockSize, err = squashfs.ParseBlockSize(bs); err != nil {
		return nil, fmt.Errorf("%w: -b: %w", errUsage, err)
	}
	if c.comp, err = compress.Parse(*comp, c.blockSize); err != nil {
		return nil, fmt.Errorf("%w: --comp: %w", errUsage, err)
	}
	if c.jobs < 0 {
		return nil, fmt.Errorf("%w: --jobs %d: want 0 or more", errUsage, c.jobs)
	}
	// The format stores times as unsigned 32-bit seconds (format.adoc "The
	// Superblock": modification_time; every inode header: mtime).
	if c.mtime < 0 || c.mtime > math.MaxUint32 {
		return nil, fmt.Errorf("%w: --mtime %d: want 0 ... %d (unsigned 32-bit seconds)", errUsage, c.mtime, uint32(math.MaxUint32))
	}
	if *rootMode != "" {
		if c.rootMode, err = parseMode(*rootMode); err != nil {
			return nil, fmt.Errorf("%w: --root-mode: %w", errUsage, err)
		}
		// squashfs.Options.RootMode 0 means "not set", so a root of mode
		// 0000 cannot be asked for; refuse it rather than ignore it.
		if c.rootMode == 0 {
			return nil, fmt.Errorf("%w: --root-mode 0: a root directory of mode 0000 is not supported", errUsage)
		}
		c.hasRootMode = true
	}
	return c, nil
}

// progressInterval is how often the progress line is redrawn (a variable
// so a test can see it drawn while packing a small tree).
var progressInterval = 250 * time.Millisecond

// runPack implements `mkportable pack`.
func runPack(args []string, stdout, stderr io.Writer) error {
	c, err := parsePackArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return pack(c, stdout, stderr)
}

// pack writes the image; on any failure neither OUT_FILE nor its
// temporary is left behind (outfile).
func pack(c *packConfig, stdout, stderr io.Writer) error {
	start := time.Now()
	// lstat, as mksquashfs does: SRC itself is never followed, but "link/"
	// resolves to the directory link points to.
	st, err := os.Lstat(c.src)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	// Without --root-mode, RootMode 0 lets the "." entry AddFS writes
	// give the root SRC_DIR's mode, as mksquashfs does.
	rootMode := c.rootMode
	add := squashfs.AddOptions{NoHardlinks: c.noHardlinks}
	if !st.IsDir() {
		// A single source that is not a directory (a file, a device, a
		// symlink, also one to a directory) becomes the one entry of a
		// root directory, under its base name; mksquashfs gives that
		// root mode 0777 unless -root-mode says otherwise.
		add.Prefix = filepath.Base(c.src)
		if !c.hasRootMode {
			rootMode = 0o777
		}
		if st.Mode()&fs.ModeSymlink != 0 && !c.quiet {
			if fi, err := os.Stat(c.src); err == nil && fi.IsDir() {
				fmt.Fprintf(stderr, "mkportable pack: note: %s is a symlink; the image holds the link itself, as mksquashfs's would (pack %s/ for the directory it points to)\n", c.src, c.src)
			}
		}
	}
	fsys := squashfs.DirFS(c.src)
	outDir, inside := outputDirIn(c.src, c.out)
	var skip []os.FileInfo
	if inside && st.IsDir() {
		// An older OUT_FILE is replaced only at the end; until then it is
		// part of the tree (and so is the temporary).
		if old, err := os.Stat(c.out); err == nil && old.Mode().IsRegular() {
			skip = append(skip, old)
		}
	}
	f, err := outfile.Create(c.out, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if inside && st.IsDir() {
		tmp, err := f.Stat()
		if err != nil {
			return fmt.Errorf("output %s: %w", c.out, err)
		}
		fsys = withoutOutput{fsys.(walkFS), outDir, append(skip, tmp)}
	}
	w, err := squashfs.NewWriter(f, squashfs.Options{
		BlockSize:  c.blockSize,
		Compressor: c.comp,
		Workers:    c.jobs,
		ModTime:    c.mtime,
		RootMode:   rootMode,
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", c.out, err)
	}
	stats := func() progressStats {
		s := w.Stats()
		return progressStats{Entries: s.Entries, BytesIn: s.BytesIn, BytesOut: s.BytesOut}
	}
	prog := startProgress(stderr, !c.quiet && isTerminal(stderr), progressInterval, stats)
	err = w.AddFS(fsys, add)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	prog.stop()
	if err != nil {
		// The writer's error names the entry at fault; this names the
		// image (e.g. for ENOSPC).
		return fmt.Errorf("packing %s into %s: %w", c.src, c.out, err)
	}
	if err := f.Commit(); err != nil {
		return err
	}
	if !c.quiet {
		s := stats()
		if fi, err := os.Stat(c.out); err == nil {
			s.BytesOut = fi.Size()
		}
		fmt.Fprintln(stdout, summaryLine(c.out, s, time.Since(start)))
	}
	return nil
}

// outputDirIn reports whether OUT_FILE's directory is SRC_DIR or below it
// (symlinks resolved on both sides), and if so its slash path relative to
// SRC_DIR ("." for SRC_DIR itself): the directory of the walk that holds
// the output.
func outputDirIn(src, out string) (string, bool) {
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return "", false
	}
	if r, err := filepath.EvalSymlinks(absSrc); err == nil {
		absSrc = r
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return "", false
	}
	dir := filepath.Dir(absOut)
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	rel, err := filepath.Rel(absSrc, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// walkFS is what AddFS uses of squashfs.DirFS.
type walkFS interface {
	fs.ReadDirFS
	fs.StatFS
	ReadLink(name string) (string, error)
}

// withoutOutput hides the files in skip (the image's temporary and the
// OUT_FILE it replaces) from the listing of directory dir, as mksquashfs
// leaves its own output out of the image: OUT_FILE may be inside SRC_DIR.
// Files are matched by identity (os.SameFile), not name.
type withoutOutput struct {
	walkFS
	dir  string
	skip []os.FileInfo
}

func (w withoutOutput) ReadDir(name string) ([]fs.DirEntry, error) {
	ents, err := w.walkFS.ReadDir(name)
	if err != nil || name != w.dir {
		return ents, err
	}
	out := ents[:0:0]
	for _, e := range ents {
		if e.Type().IsRegular() && w.skipped(e) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

func (w withoutOutput) skipped(e fs.DirEntry) bool {
	fi, err := e.Info()
	if err != nil {
		return false // AddFS asks again and reports the error
	}
	for _, s := range w.skip {
		if os.SameFile(fi, s) {
			return true
		}
	}
	return false
}
