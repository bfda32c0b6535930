// Package treegen writes directory trees that exercise every corner of a
// SquashFS writer onto disk: odd names, huge and deep directories, block
// boundaries, sparse and > 4 GiB files, hard links, dangling symlinks, every
// permission bit pattern, special files and duplicate content.
//
// The tree is a pure function of Options (names, types, modes, sizes,
// contents, link structure): the round-trip tests pack it and compare what
// three readers see against the tree on disk, the golden test hashes the
// image of a small one, and the benchmark can add it to its corpus.
// Timestamps and owners are deliberately scrambled (when root) because the
// packer must replace them with a fixed time and root ownership.
package treegen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Options selects what Generate writes. The zero value writes an almost
// empty tree; start from Full or Small.
type Options struct {
	// Seed makes the content and the random choices reproducible.
	Seed uint64
	// BlockSizes lists the block sizes for which files of exactly k × size
	// and ± 1 byte are written (k = 1..3; k = 1 for sizes ≥ 1 MiB).
	BlockSizes []int
	// BigDir is the number of entries in big/ (0: no big directory).
	BigDir int
	// Depth is the nesting depth of deep/ (0: none).
	Depth int
	// AllModes writes one empty file per permission pattern 0000..07777
	// (4096 files) into modes/; otherwise a representative sweep of 24.
	AllModes bool
	// Devices adds character and block devices (needs root).
	Devices bool
	// Scramble gives files non-root owners and random mtimes (owners only
	// when root), so a packer that leaks either is caught.
	Scramble bool
	// HugeSparse adds huge/sparse-4g: 4 GiB + 12345 bytes, zero except for
	// 4 KiB of random data 1000 bytes past the 4 GiB mark (so a reader that
	// truncates offsets to 32 bits reads the wrong bytes). Costs no disk.
	HugeSparse bool
	// DataBytes is the approximate amount of random and compressible
	// content in misc files besides the boundary and sparse files.
	DataBytes int
}

// Full is the tree the round-trip tests use: everything except the huge
// sparse file (add it with HugeSparse) and devices (add with Devices when
// root). About 14,400 entries and 8 MB of data (plus 12 MB of holes).
func Full(seed uint64) Options {
	return Options{
		Seed:       seed,
		BlockSizes: []int{4096, 128 << 10, 1 << 20},
		BigDir:     10000,
		Depth:      100,
		AllModes:   true,
		Scramble:   true,
		DataBytes:  1 << 20,
	}
}

// Small is a tree of about 150 entries and 300 KB with every entry type
// except devices, for golden hashes and quick tests. It does not depend on
// running as root.
func Small(seed uint64) Options {
	return Options{
		Seed:       seed,
		BlockSizes: []int{4096},
		BigDir:     300,
		Depth:      12,
		DataBytes:  64 << 10,
	}
}

// Summary counts what Generate wrote.
type Summary struct {
	Dirs, Files, Symlinks, HardLinks, Specials int
	// Bytes is the apparent size of all regular files (each inode once).
	Bytes int64
}

// Entries is the number of directory entries written, the root excluded.
func (s Summary) Entries() int {
	return s.Dirs + s.Files + s.Symlinks + s.HardLinks + s.Specials
}

// gen carries the state of one Generate call.
type gen struct {
	root    string
	rng     *rand.Rand
	opts    Options
	sum     Summary
	dirMode map[string]uint32 // modes applied after filling, deepest first
	dirs    []string
}

// Generate writes the tree described by opts into dir, which must be empty
// or not exist.
func Generate(dir string, opts Options) (Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("treegen: creating %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Summary{}, fmt.Errorf("treegen: reading %s: %w", dir, err)
	}
	if len(ents) != 0 {
		return Summary{}, fmt.Errorf("treegen: %s is not empty", dir)
	}
	// Chmod sets modes exactly; the umask only matters for what we do not
	// chmod, and we chmod everything.
	g := &gen{root: dir, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), opts: opts, dirMode: map[string]uint32{}}
	steps := []func() error{
		g.names, g.empties, g.boundaries, g.sparse, g.huge, g.links,
		g.modes, g.special, g.dedup, g.misc, g.big, g.deep,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return g.sum, err
		}
	}
	// Directory modes last, deepest first, so a 0000 directory is filled
	// before it loses its permissions (which matters when not root).
	for i := len(g.dirs) - 1; i >= 0; i-- {
		p := g.dirs[i]
		if err := syscall.Chmod(g.path(p), g.dirMode[p]); err != nil {
			return g.sum, fmt.Errorf("treegen: chmod %s: %w", p, err)
		}
	}
	if err := syscall.Chmod(dir, 0o755); err != nil {
		return g.sum, fmt.Errorf("treegen: chmod %s: %w", dir, err)
	}
	return g.sum, nil
}

func (g *gen) path(rel string) string { return filepath.Join(g.root, filepath.FromSlash(rel)) }

// mkdir creates rel (parents must exist) and records its final mode.
func (g *gen) mkdir(rel string, mode uint32) error {
	if err := os.Mkdir(g.path(rel), 0o700); err != nil {
		return fmt.Errorf("treegen: mkdir %s: %w", rel, err)
	}
	g.dirs = append(g.dirs, rel)
	g.dirMode[rel] = mode
	g.sum.Dirs++
	return g.scramble(rel)
}

// file writes a regular file with the given content and exact mode.
func (g *gen) file(rel string, data []byte, mode uint32) error {
	p := g.path(rel)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return fmt.Errorf("treegen: writing %s: %w", rel, err)
	}
	// Owner first: chown(2) clears the setuid and setgid bits.
	if err := g.scramble(rel); err != nil {
		return err
	}
	if err := syscall.Chmod(p, mode); err != nil {
		return fmt.Errorf("treegen: chmod %s: %w", rel, err)
	}
	g.sum.Files++
	g.sum.Bytes += int64(len(data))
	return nil
}

func (g *gen) symlink(rel, target string) error {
	if err := os.Symlink(target, g.path(rel)); err != nil {
		return fmt.Errorf("treegen: symlink %s: %w", rel, err)
	}
	g.sum.Symlinks++
	return g.scramble(rel)
}

func (g *gen) link(oldRel, newRel string) error {
	// os.Link is linkat(2) without AT_SYMLINK_FOLLOW: linking a symlink
	// links the symlink itself.
	if err := os.Link(g.path(oldRel), g.path(newRel)); err != nil {
		return fmt.Errorf("treegen: link %s to %s: %w", newRel, oldRel, err)
	}
	g.sum.HardLinks++
	return nil
}

// scramble gives rel a random mtime and, as root, a non-root owner.
func (g *gen) scramble(rel string) error {
	if !g.opts.Scramble {
		return nil
	}
	p := g.path(rel)
	if os.Geteuid() == 0 {
		uid, gid := 1000+g.rng.IntN(60000), 1000+g.rng.IntN(60000)
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("treegen: chown %s: %w", rel, err)
		}
	}
	// Times between 1970 and 2106 (a squashfs mtime is an unsigned 32-bit
	// count), so a packer that copies them would be caught.
	sec := int64(g.rng.Uint32())
	ts := []unix.Timespec{{Sec: sec}, {Sec: sec}}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("treegen: setting times of %s: %w", rel, err)
	}
	return nil
}

// random returns n pseudo-random bytes (incompressible).
func (g *gen) random(n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.rng.Uint64())
	}
	return b[:n]
}

var words = strings.Fields(`squashfs inode fragment block directory metadata
superblock portable service nix store closure systemd unit image compress
table lookup export xattr symlink device socket fifo the of and a to in is`)

// text returns n bytes of word soup: compressible, like real files.
func (g *gen) text(n int) []byte {
	var b strings.Builder
	b.Grow(n + 16)
	for b.Len() < n {
		b.WriteString(words[g.rng.IntN(len(words))])
		if g.rng.IntN(12) == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	return []byte(b.String()[:n])
}

// content is random or compressible data, chosen by the rng.
func (g *gen) content(n int) []byte {
	if g.rng.IntN(2) == 0 {
		return g.random(n)
	}
	return g.text(n)
}

// names: UTF-8 names and names of exactly 255 bytes (NAME_MAX), as file,
// directory and symlink.
func (g *gen) names() error {
	if err := g.mkdir("names", 0o755); err != nil {
		return err
	}
	utf := []string{
		"ünïcödé", "名前のファイル", "emoji-😀-🎉", "ελληνικά", "кириллица",
		"with space", "tab\there", "quote'\"", "dash-leading", "-starts-with-dash",
		"#hash", "%percent", "~tilde", "a", "Z", ".hidden", "..dots",
	}
	for i, n := range utf {
		if err := g.file("names/"+n, g.text(10+i), 0o644); err != nil {
			return err
		}
	}
	long := strings.Repeat("L", 255)
	// 85 three-byte runes: exactly 255 bytes of UTF-8.
	longUTF := strings.Repeat("語", 85)
	// 251 ASCII bytes + one 4-byte rune: 255 bytes, a multi-byte rune at the end.
	longMixed := strings.Repeat("m", 251) + "😀"
	for _, n := range []string{long, longUTF, longMixed} {
		if len(n) != 255 {
			return fmt.Errorf("treegen: long name has %d bytes", len(n))
		}
	}
	if err := g.file("names/"+long, g.text(255), 0o644); err != nil {
		return err
	}
	if err := g.file("names/"+longUTF, nil, 0o600); err != nil {
		return err
	}
	if err := g.mkdir("names/"+longMixed, 0o755); err != nil {
		return err
	}
	if err := g.file("names/"+longMixed+"/"+long, []byte("deep long"), 0o644); err != nil {
		return err
	}
	return g.symlink("names/"+strings.Repeat("s", 255), long)
}

// empties: empty files and directories, including an empty file in an
// otherwise empty directory and nested empty directories.
func (g *gen) empties() error {
	for _, d := range []string{"empty", "empty/dir", "empty/dir2", "empty/nested", "empty/nested/a", "empty/nested/a/b"} {
		if err := g.mkdir(d, 0o755); err != nil {
			return err
		}
	}
	for _, f := range []string{"empty/file", "empty/nested/a/file", "empty/zero-length-600"} {
		if err := g.file(f, nil, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// boundaries: files of exactly k × block size and ± 1 byte, where data
// blocks, fragments and tail ends meet.
func (g *gen) boundaries() error {
	if len(g.opts.BlockSizes) == 0 {
		return nil
	}
	if err := g.mkdir("boundary", 0o755); err != nil {
		return err
	}
	for _, bs := range g.opts.BlockSizes {
		dir := fmt.Sprintf("boundary/bs%d", bs)
		if err := g.mkdir(dir, 0o755); err != nil {
			return err
		}
		// k = 1..3 below 1 MiB; at 1 MiB k = 1 only, to keep the tree
		// small enough for the pure-Go xz in the test suite.
		maxK := 3
		if bs >= 1<<20 {
			maxK = 1
		}
		for k := 1; k <= maxK; k++ {
			for _, d := range []int{-1, 0, 1} {
				n := k*bs + d
				if err := g.file(fmt.Sprintf("%s/k%d%+d", dir, k, d), g.content(n), 0o644); err != nil {
					return err
				}
			}
		}
		// One byte and one byte short of a block: all fragment.
		if err := g.file(dir+"/one", []byte{byte(bs)}, 0o644); err != nil {
			return err
		}
		if err := g.file(dir+"/block-1", g.content(bs-1), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sparse: files with holes. Holes start and end on 1 MiB boundaries, so they
// are whole zero blocks for every block size up to 1 MiB; plus a file that
// is zero but not a hole (written zeros), and one that is all hole.
func (g *gen) sparse() error {
	if err := g.mkdir("sparse", 0o755); err != nil {
		return err
	}
	const mib = 1 << 20
	type piece struct {
		off int64
		n   int
	}
	files := []struct {
		name  string
		size  int64
		data  []piece
		zeros bool
	}{
		{name: "hole-middle", size: 4*mib + 200<<10 + 777, data: []piece{{0, 300 << 10}, {4 * mib, 200<<10 + 777}}},
		{name: "hole-start", size: 2*mib + 100<<10, data: []piece{{2 * mib, 100 << 10}}},
		{name: "hole-end", size: 4 * mib, data: []piece{{0, 1000}}},
		{name: "all-hole", size: 3*mib + 5},
		{name: "written-zeros", size: 2*mib + 3, zeros: true},
	}
	for _, f := range files {
		rel := "sparse/" + f.name
		p := g.path(rel)
		fh, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("treegen: creating %s: %w", rel, err)
		}
		if f.zeros {
			_, err = fh.Write(make([]byte, f.size))
		} else {
			err = fh.Truncate(f.size)
		}
		for _, pc := range f.data {
			if err == nil {
				_, err = fh.WriteAt(g.content(pc.n), pc.off)
			}
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("treegen: writing %s: %w", rel, err)
		}
		if err := g.scramble(rel); err != nil {
			return err
		}
		if err := syscall.Chmod(p, 0o644); err != nil {
			return fmt.Errorf("treegen: chmod %s: %w", rel, err)
		}
		g.sum.Files++
		g.sum.Bytes += f.size
	}
	return nil
}

// HugeSize is the size of huge/sparse-4g; HugeDataOffset and HugeDataLen
// locate its only non-zero bytes.
const (
	HugeSize       = 4<<30 + 12345
	HugeDataOffset = 4<<30 + 1000
	HugeDataLen    = 4096
)

func (g *gen) huge() error {
	if !g.opts.HugeSparse {
		return nil
	}
	if err := g.mkdir("huge", 0o755); err != nil {
		return err
	}
	rel := "huge/sparse-4g"
	fh, err := os.OpenFile(g.path(rel), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("treegen: creating %s: %w", rel, err)
	}
	err = fh.Truncate(HugeSize)
	if err == nil {
		_, err = fh.WriteAt(g.random(HugeDataLen), HugeDataOffset)
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("treegen: writing %s: %w", rel, err)
	}
	g.sum.Files++
	g.sum.Bytes += HugeSize
	return syscall.Chmod(g.path(rel), 0o644)
}

// links: hard links (across directories, to an empty file, to a symlink)
// and symlinks: dangling absolute /nix/store targets, to directories
// (relative and absolute), chains, a long target and a UTF-8 target.
func (g *gen) links() error {
	for _, d := range []string{"links", "links/a", "links/b", "links/target-dir"} {
		if err := g.mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := g.file("links/a/shared", g.content(3000), 0o755); err != nil {
		return err
	}
	if err := g.file("links/target-dir/inside", []byte("inside\n"), 0o644); err != nil {
		return err
	}
	if err := g.file("links/a/empty-shared", nil, 0o600); err != nil {
		return err
	}
	if err := g.file("links/a/big-shared", g.content(300<<10), 0o644); err != nil {
		return err
	}
	hash := "0c5nc3kjr3k4prxq1xb7k6bn2sml3zzc"
	syms := [][2]string{
		{"links/nix-bin", "/nix/store/" + hash + "-hello-2.12.1/bin/hello"},
		{"links/nix-dir", "/nix/store/" + hash + "-glibc-2.39-52"},
		{"links/rel-dir", "target-dir"},
		{"links/rel-up", "../links/target-dir/inside"},
		{"links/abs-dir", "/links/target-dir"},
		{"links/dangling-rel", "does/not/exist"},
		{"links/chain1", "chain2"},
		{"links/chain2", "target-dir"},
		{"links/loop1", "loop2"},
		{"links/loop2", "loop1"},
		{"links/self", "self"},
		{"links/dot", "."},
		{"links/utf8-target", "名前/ünï"},
		{"links/long-target", "/nix/store/" + hash + "-x/" + strings.Repeat("p/", 1000) + "end"},
	}
	for _, s := range syms {
		if err := g.symlink(s[0], s[1]); err != nil {
			return err
		}
	}
	hl := [][2]string{
		{"links/a/shared", "links/b/shared-again"},
		{"links/a/shared", "links/shared-third"},
		{"links/a/empty-shared", "links/b/empty-shared"},
		{"links/a/big-shared", "links/b/big-shared"},
		{"links/nix-bin", "links/b/hardlinked-symlink"},
	}
	for _, l := range hl {
		if err := g.link(l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}

// modes: every permission pattern on empty files (all 4096 of 0000..07777
// when AllModes: they are empty files, so the exhaustive sweep costs 4096
// inodes and catches any bit-mapping error; a sweep can miss a bit pair),
// and a sweep over directories (a 0000 or sticky directory with content).
func (g *gen) modes() error {
	if err := g.mkdir("modes", 0o755); err != nil {
		return err
	}
	var fileModes []uint32
	if g.opts.AllModes {
		for m := uint32(0); m <= 0o7777; m++ {
			fileModes = append(fileModes, m)
		}
	} else {
		// Each bit alone, plus common and extreme combinations.
		for b := uint32(0); b < 12; b++ {
			fileModes = append(fileModes, 1<<b)
		}
		fileModes = append(fileModes, 0, 0o644, 0o755, 0o600, 0o444, 0o777, 0o1777, 0o2755, 0o4755, 0o6755, 0o7777, 0o7000)
	}
	for _, m := range fileModes {
		data := []byte(nil)
		if m%64 == 0 {
			data = []byte(fmt.Sprintf("mode %04o\n", m))
		}
		if err := g.file(fmt.Sprintf("modes/m%04o", m), data, m); err != nil {
			return err
		}
	}
	for _, m := range []uint32{0, 0o111, 0o500, 0o555, 0o700, 0o711, 0o750, 0o755, 0o777, 0o1777, 0o2755, 0o3777, 0o4755, 0o7777, 0o1000} {
		d := fmt.Sprintf("modes/d%04o", m)
		if err := g.mkdir(d, m); err != nil {
			return err
		}
		if err := g.file(d+"/f", []byte(d), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// special: fifo and socket always; character and block devices with major
// and minor numbers that need the full 12/20-bit encoding when Devices.
func (g *gen) special() error {
	if err := g.mkdir("special", 0o755); err != nil {
		return err
	}
	if err := syscall.Mkfifo(g.path("special/fifo"), 0o644); err != nil {
		return fmt.Errorf("treegen: mkfifo special/fifo: %w", err)
	}
	if err := syscall.Chmod(g.path("special/fifo"), 0o640); err != nil {
		return err
	}
	g.sum.Specials++
	if err := g.socket("special/socket"); err != nil {
		return err
	}
	g.sum.Specials++
	if !g.opts.Devices {
		return nil
	}
	devs := []struct {
		name         string
		typ          uint32
		major, minor uint32
		mode         uint32
	}{
		{"null-like", syscall.S_IFCHR, 1, 3, 0o666},
		{"tty-like", syscall.S_IFCHR, 136, 300, 0o620},
		{"loop-like", syscall.S_IFBLK, 7, 5, 0o660},
		{"max-dev", syscall.S_IFBLK, 4095, 1<<20 - 1, 0o600},
		{"zero-dev", syscall.S_IFCHR, 0, 0, 0o644},
	}
	for _, d := range devs {
		rel := "special/" + d.name
		if err := syscall.Mknod(g.path(rel), d.typ|d.mode, int(mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("treegen: mknod %s: %w", rel, err)
		}
		if err := syscall.Chmod(g.path(rel), d.mode); err != nil {
			return err
		}
		g.sum.Specials++
	}
	return nil
}

// mkdev encodes a Linux dev_t as glibc's makedev does.
func mkdev(major, minor uint32) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0xfff)<<8 | (ma&^0xfff)<<32 | mi&0xff | (mi&^0xff)<<12
}

// socket leaves a Unix socket file at rel (it stays after the listener
// closes once unlinking is disabled).
func (g *gen) socket(rel string) error {
	p := g.path(rel)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		return fmt.Errorf("treegen: creating socket %s: %w", rel, err)
	}
	l.SetUnlinkOnClose(false)
	if err := l.Close(); err != nil {
		return fmt.Errorf("treegen: closing socket %s: %w", rel, err)
	}
	return syscall.Chmod(p, 0o755)
}

// dedup: identical files (whole blocks and fragment-sized), files that
// share a size but not content, share the first block but not the tail, or
// share the tail but not the first block — where a dedup that compares too
// little would merge different files.
func (g *gen) dedup() error {
	if err := g.mkdir("dup", 0o755); err != nil {
		return err
	}
	bigA := g.content(200<<10 + 123)
	small := g.text(777)
	for i := 0; i < 4; i++ {
		if err := g.file(fmt.Sprintf("dup/big-copy%d", i), bigA, 0o644); err != nil {
			return err
		}
		if err := g.file(fmt.Sprintf("dup/small-copy%d", i), small, 0o644); err != nil {
			return err
		}
	}
	sameSize := append([]byte(nil), bigA...)
	sameSize[len(sameSize)/2] ^= 0xff
	sameHead := append(append([]byte(nil), bigA[:len(bigA)-100]...), g.random(100)...)
	sameTail := append(g.random(1000), bigA[1000:]...)
	smallOther := append([]byte(nil), small...)
	smallOther[0] ^= 1
	others := []struct {
		name string
		data []byte
	}{{"same-size", sameSize}, {"same-head", sameHead}, {"same-tail", sameTail}, {"small-other", smallOther}}
	for _, o := range others {
		if err := g.file("dup/"+o.name, o.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// misc: random and compressible files of assorted sizes, to about
// DataBytes in total.
func (g *gen) misc() error {
	if g.opts.DataBytes <= 0 {
		return nil
	}
	if err := g.mkdir("misc", 0o755); err != nil {
		return err
	}
	total := 0
	for i := 0; total < g.opts.DataBytes; i++ {
		// Log-uniform sizes from 1 byte to 512 KiB.
		n := 1 << g.rng.IntN(20)
		n += g.rng.IntN(n)
		if n > g.opts.DataBytes-total {
			n = g.opts.DataBytes - total
		}
		mode := []uint32{0o644, 0o755, 0o600, 0o444}[g.rng.IntN(4)]
		if err := g.file(fmt.Sprintf("misc/f%04d", i), g.content(n), mode); err != nil {
			return err
		}
		total += n
	}
	return nil
}

// big: one directory of BigDir entries (files, a few symlinks and
// subdirectories) with names of varying length, so the directory table
// needs many headers, spans metadata blocks and gets a directory index.
func (g *gen) big() error {
	if g.opts.BigDir <= 0 {
		return nil
	}
	if err := g.mkdir("big", 0o755); err != nil {
		return err
	}
	for i := 0; i < g.opts.BigDir; i++ {
		name := fmt.Sprintf("e%05d-%s", i, strings.Repeat("x", g.rng.IntN(40)))
		rel := "big/" + name
		var err error
		switch {
		case i%97 == 0:
			err = g.mkdir(rel, 0o755)
		case i%31 == 0:
			err = g.symlink(rel, fmt.Sprintf("e%05d", i-1))
		default:
			var data []byte
			if i%3 != 0 {
				data = g.text(g.rng.IntN(200))
			}
			err = g.file(rel, data, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// deep: Depth nested directories with a file at every tenth level and at
// the bottom, plus a symlink at the bottom pointing to the top.
func (g *gen) deep() error {
	if g.opts.Depth <= 0 {
		return nil
	}
	rel := "deep"
	if err := g.mkdir(rel, 0o755); err != nil {
		return err
	}
	for i := 1; i <= g.opts.Depth; i++ {
		rel += fmt.Sprintf("/l%03d", i)
		if err := g.mkdir(rel, 0o755); err != nil {
			return err
		}
		if i%10 == 0 {
			if err := g.file(rel+"/file", []byte(rel), 0o644); err != nil {
				return err
			}
		}
	}
	if err := g.file(rel+"/bottom", g.content(5000), 0o644); err != nil {
		return err
	}
	return g.symlink(rel+"/top", strings.Repeat("../", g.opts.Depth)+"names")
}
