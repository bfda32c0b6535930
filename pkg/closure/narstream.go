package closure

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixhash"
)

// NarStream computes the NAR hash of a store path from events fed in NAR
// order (depth first, the entries of a directory sorted byte-wise, each
// directory before its contents) by something that reads the files anyway:
// the image build's walk over the store path. It saves the second read that
// VerifyNarHash needs.
//
// The NAR writer (go-nix pkg/nar) rejects events out of order, so a walk
// that strays from NAR order makes the check fail loudly instead of
// producing a hash that matches by accident.
type NarStream struct {
	h   hash.Hash
	cw  *countingWriter
	nw  *nar.Writer
	err error
}

// NewNarStream starts the NAR serialisation of one store path.
func NewNarStream() *NarStream {
	h := sha256.New()
	cw := &countingWriter{w: h}
	s := &NarStream{h: h, cw: cw}
	s.nw, s.err = nar.NewWriter(cw)
	return s
}

func narPath(p string) string {
	if p == "." || p == "" {
		return "/"
	}
	return "/" + p
}

func (s *NarStream) header(h *nar.Header) error {
	if s.err != nil {
		return s.err
	}
	if err := s.nw.WriteHeader(h); err != nil {
		s.err = fmt.Errorf("NAR serialisation at %s: %w", h.Path, err)
	}
	return s.err
}

// Dir records a directory at p, a slash path relative to the store path
// ("." for the store path itself).
func (s *NarStream) Dir(p string) error {
	return s.header(&nar.Header{Path: narPath(p), Type: nar.TypeDirectory})
}

// Symlink records a symlink at p with its target.
func (s *NarStream) Symlink(p, target string) error {
	return s.header(&nar.Header{Path: narPath(p), Type: nar.TypeSymlink, LinkTarget: target})
}

// File records a regular file at p of size bytes, executable when the
// owner may execute it (as `nix-store --dump` decides), and returns the
// writer its contents must be written to, exactly size bytes.
func (s *NarStream) File(p string, size int64, executable bool) (io.Writer, error) {
	if err := s.header(&nar.Header{Path: narPath(p), Type: nar.TypeRegular, Size: size, Executable: executable}); err != nil {
		return nil, err
	}
	return narContent{s}, nil
}

type narContent struct{ s *NarStream }

func (c narContent) Write(b []byte) (int, error) {
	if c.s.err != nil {
		return 0, c.s.err
	}
	n, err := c.s.nw.Write(b)
	if err != nil {
		c.s.err = fmt.Errorf("NAR serialisation: %w", err)
	}
	return n, err
}

// Sum finishes the serialisation and returns its SHA-256 digest and size.
func (s *NarStream) Sum() ([]byte, uint64, error) {
	if s.nw != nil {
		if err := s.nw.Close(); err != nil && s.err == nil {
			s.err = fmt.Errorf("NAR serialisation: %w", err)
		}
		s.nw = nil
	}
	if s.err != nil {
		return nil, 0, s.err
	}
	return s.h.Sum(nil), s.cw.n, nil
}

// Abort releases the NAR writer's goroutine when the stream is abandoned.
func (s *NarStream) Abort() {
	if s.nw != nil {
		_ = s.nw.Close()
		s.nw = nil
	}
}

// Check compares a finished stream with the narHash and narSize recorded
// for store path e.Path; the error names the path.
func (e Entry) Check(s *NarStream) error {
	got, size, err := s.Sum()
	if err != nil {
		return fmt.Errorf("verifying %s: %w", e.Path, err)
	}
	return e.compare(got, size)
}

// wantDigest parses the recorded narHash (any encoding Nix prints:
// "sha256:<nixbase32>", "sha256-<base64>", base16).
func (e Entry) wantDigest() ([]byte, error) {
	wh, err := nixhash.ParseAny(e.NarHash, nil)
	if err != nil {
		return nil, fmt.Errorf("narHash of %s: %q: %w", e.Path, e.NarHash, err)
	}
	if wh.Algo() != nixhash.SHA256 {
		return nil, fmt.Errorf("narHash of %s: %q: only sha256 NAR hashes are supported", e.Path, e.NarHash)
	}
	return wh.Digest(), nil
}

func (e Entry) compare(got []byte, size uint64) error {
	want, err := e.wantDigest()
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		gh := nixhash.MustNewHash(nixhash.SHA256, got)
		return fmt.Errorf("%w: %s: recorded %s, on disk %s", ErrNarHashMismatch, e.Path, e.NarHash,
			gh.Format(nixhash.NixBase32, true))
	}
	if e.NarSize != 0 && size != e.NarSize {
		return fmt.Errorf("%w: %s: recorded narSize %d, on disk %d", ErrNarHashMismatch, e.Path, e.NarSize, size)
	}
	return nil
}
