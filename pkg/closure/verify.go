package closure

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/nix-community/go-nix/pkg/nar"
)

// NarHash serialises the file tree at dir as a NAR (go-nix pkg/nar, the
// format `nix-store --dump` writes) and returns its SHA-256 digest and size.
func NarHash(dir string) (digest []byte, size uint64, err error) {
	h := sha256.New()
	cw := &countingWriter{w: h}
	if err := nar.DumpPath(cw, dir); err != nil {
		return nil, 0, fmt.Errorf("serialising %s as NAR: %w", dir, err)
	}
	return h.Sum(nil), cw.n, nil
}

type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

// VerifyNarHash checks that the tree at hostPath (store path storePath on
// disk) serialises to the NAR hash want, in any encoding Nix prints
// ("sha256:<nixbase32>", "sha256-<base64>", base16). narSize, when not 0,
// is checked too. The error names storePath.
func VerifyNarHash(hostPath, storePath, want string, narSize uint64) error {
	e := Entry{Path: storePath, NarHash: want, NarSize: narSize}
	if _, err := e.wantDigest(); err != nil {
		return err
	}
	got, size, err := NarHash(hostPath)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", storePath, err)
	}
	return e.compare(got, size)
}

// VerifyNarHashes checks every path of s that has a recorded narHash (only
// graph entries have one) with up to workers paths in parallel, and reports
// every mismatch. It returns how many paths were checked.
func (s *Set) VerifyNarHashes(root string, workers int) (int, error) {
	if workers < 1 {
		workers = 1
	}
	var todo []Entry
	for _, p := range s.Paths() {
		if e, ok := s.Entry(p); ok && e.NarHash != "" {
			todo = append(todo, e)
		}
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers && w < len(todo); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				e := todo[i]
				errs[i] = VerifyNarHash(HostPath(root, e.Path), e.Path, e.NarHash, e.NarSize)
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	return len(todo), errors.Join(errs...)
}
