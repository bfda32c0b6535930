package squashfs

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// The data block pipeline (format.adoc "Data and Fragment Blocks").
//
// The Writer fills block buffers with file data and fragment blocks with tail
// ends; every full buffer is submitted in order. Workers compress submitted
// buffers concurrently; a single ordered stage waits for each in submission
// order and appends it to the image. The bytes written are thus the same for
// any number of workers: each block's compressed form depends only on its
// contents, and the order only on the order of submission.
//
// A fixed set of buffers circulates through a free list, so memory is bounded
// by (2 x workers + 3) blocks of input plus their compressed output, whatever
// the amount of data: the Writer blocks when all buffers are in flight.

type blockKind uint8

const (
	kindData     blockKind = iota // a full block of one file
	kindFragment                  // a fragment block of packed tail ends
)

// dataBlock is one buffer travelling through the pipeline.
type dataBlock struct {
	kind   blockKind
	in     []byte    // uncompressed contents, cap = block size
	out    []byte    // compressed form (valid when size has no raw bit)
	node   *treeNode // kindData: the file the block belongs to
	size   uint32    // the size word: stored bytes | dataBlockUncompressed, 0 = sparse
	digest [32]byte  // kindData: SHA-256 of in, for duplicate detection
	err    error
	done   chan struct{}
}

type blockPipeline struct {
	comp      compress.Compressor
	raw       bool // "none": store every block raw, never compress
	blockSize int
	out       *imageOutput

	free  chan *dataBlock
	jobs  chan *dataBlock
	order chan *dataBlock

	workers sync.WaitGroup
	stage   chan struct{} // closed when the ordered stage has finished

	errMu sync.Mutex
	err   error

	bytesOut atomic.Int64

	// Ordered stage state (touched only by its goroutine until stage is
	// closed).
	zero       []byte
	zeroDigest [32]byte
	fileHash   hash.Hash
	sum        []byte
	dedup      map[[32]byte]*treeNode
	frags      []fragEntry
}

func newBlockPipeline(out *imageOutput, comp compress.Compressor, blockSize, workers int) *blockPipeline {
	n := 2*workers + 3
	p := &blockPipeline{
		comp:      comp,
		raw:       comp.Uncompressed(),
		blockSize: blockSize,
		out:       out,
		free:      make(chan *dataBlock, n),
		jobs:      make(chan *dataBlock, n),
		order:     make(chan *dataBlock, n),
		stage:     make(chan struct{}),
		zero:      make([]byte, blockSize),
		fileHash:  sha256.New(),
		dedup:     make(map[[32]byte]*treeNode),
	}
	p.zeroDigest = sha256.Sum256(p.zero)
	for i := 0; i < n; i++ {
		// Input buffers are allocated on first use, so a small image does not
		// pay for 2 x workers + 3 blocks.
		p.free <- &dataBlock{done: make(chan struct{}, 1)}
	}
	p.workers.Add(workers)
	for i := 0; i < workers; i++ {
		go p.work()
	}
	go p.run()
	return p
}

// get returns an empty buffer of the given kind, waiting while all are in
// flight.
func (p *blockPipeline) get(kind blockKind) *dataBlock {
	b := <-p.free
	if b.in == nil {
		b.in = make([]byte, 0, p.blockSize)
	}
	b.kind = kind
	return b
}

// submit queues a filled buffer; the ordered stage writes it after every
// buffer submitted before it.
func (p *blockPipeline) submit(b *dataBlock) {
	p.order <- b
	p.jobs <- b
}

// shutdown waits until everything submitted is written and stops the
// goroutines.
func (p *blockPipeline) shutdown() error {
	close(p.jobs)
	close(p.order)
	<-p.stage
	p.workers.Wait()
	return p.failed()
}

func (p *blockPipeline) failed() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

func (p *blockPipeline) fail(err error) {
	p.errMu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.errMu.Unlock()
}

func (p *blockPipeline) work() {
	defer p.workers.Done()
	for b := range p.jobs {
		p.compress(b)
		b.done <- struct{}{}
	}
}

// compress computes b's size word and compressed form. A full data block of
// zeros is stored sparse: size word 0 and no bytes (format.adoc "Data and
// Fragment Blocks": a block of on-disk size 0 reads as a block of zeros). A
// block whose compressed form is not smaller is stored raw, with bit 24 set;
// the kernel rejects a "compressed" block that expands.
func (p *blockPipeline) compress(b *dataBlock) {
	if b.kind == kindData {
		if bytes.Equal(b.in, p.zero[:len(b.in)]) {
			b.size = 0
			b.digest = p.zeroDigest
			return
		}
		b.digest = sha256.Sum256(b.in)
	}
	if !p.raw {
		out, err := p.comp.Compress(b.out[:0], b.in)
		b.out = out
		if err != nil {
			b.err = fmt.Errorf("squashfs: compressing a data block: %w", err)
			return
		}
		if len(out) < len(b.in) {
			b.size = uint32(len(out))
			return
		}
	}
	b.size = uint32(len(b.in)) | dataBlockUncompressed
}

// run is the ordered stage.
func (p *blockPipeline) run() {
	defer close(p.stage)
	for b := range p.order {
		<-b.done
		if p.failed() == nil {
			if err := p.emit(b); err != nil {
				p.fail(err)
			}
		}
		b.in = b.in[:0]
		b.node = nil
		b.err = nil
		p.free <- b
	}
	p.dedup = nil // no more files: let Close reuse the memory
}

func (p *blockPipeline) emit(b *dataBlock) error {
	if b.err != nil {
		return b.err
	}
	start := p.out.pos()
	if b.size != 0 {
		data := b.out
		if b.size&dataBlockUncompressed != 0 {
			data = b.in
		}
		if _, err := p.out.Write(data); err != nil {
			return err
		}
	}
	if b.kind == kindFragment {
		p.frags = append(p.frags, fragEntry{Start: uint64(start), Size: b.size})
		p.bytesOut.Store(p.out.pos())
		return nil
	}
	n := b.node
	if len(n.blocks) == 0 {
		n.start = uint64(start)
	}
	n.blocks = append(n.blocks, b.size)
	p.fileHash.Write(b.digest[:])
	if len(n.blocks) == cap(n.blocks) {
		if err := p.finishFile(n); err != nil {
			return err
		}
	}
	p.bytesOut.Store(p.out.pos())
	return nil
}

// finishFile runs when the last full block of n has been written. If an
// earlier file had exactly the same full blocks (same digests in the same
// order), n shares that file's blocks and its own copies are dropped by
// rolling the output back to where they started: nothing was written after
// them, since a file's blocks are consecutive in the submission order and this
// is the last of them. The tail end is handled separately (Writer.packTail).
func (p *blockPipeline) finishFile(n *treeNode) error {
	p.sum = p.fileHash.Sum(p.sum[:0])
	p.fileHash.Reset()
	var key [32]byte
	copy(key[:], p.sum)
	prev, dup := p.dedup[key]
	if !dup {
		p.dedup[key] = n
		return nil
	}
	if err := p.out.rollback(int64(n.start)); err != nil {
		return err
	}
	n.start = prev.start
	n.blocks = prev.blocks
	return nil
}
