package deflate

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A small, separate inflater that records each block's type and code
// lengths, so the tests can check properties the standard decoder does not
// report (RFC 1951 3.2.3 block headers, 3.2.7 code lengths).

type bitReader struct {
	b   []byte
	pos int // bit position
}

func (r *bitReader) bits(n int) (uint32, bool) {
	if (r.pos+n+7)>>3 > len(r.b) {
		return 0, false
	}
	var v uint32
	for i := 0; i < n; i++ {
		v |= uint32(r.b[r.pos>>3]>>(r.pos&7)&1) << i
		r.pos++
	}
	return v, true
}

// huffDecoder decodes canonical codes one bit at a time (slow and simple).
type huffDecoder struct {
	count  [16]int
	symbol []int
}

func newHuffDecoder(lens []uint8) (*huffDecoder, bool) {
	d := &huffDecoder{}
	for _, l := range lens {
		if l > 15 {
			return nil, false
		}
		d.count[l]++
	}
	d.count[0] = 0
	var offs [16]int
	for l := 1; l < 16; l++ {
		offs[l] = offs[l-1] + d.count[l-1]
	}
	d.symbol = make([]int, len(lens))
	for s, l := range lens {
		if l != 0 {
			d.symbol[offs[l]] = s
			offs[l]++
		}
	}
	return d, true
}

func (d *huffDecoder) decode(r *bitReader) (int, bool) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, ok := r.bits(1)
		if !ok {
			return 0, false
		}
		code |= int(b)
		count := d.count[l]
		if code-first < count {
			return d.symbol[index+code-first], true
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, false
}

// kraft returns the Kraft sum of lens scaled by 2^15 (2^15 = complete).
func kraft(lens []uint8) int {
	k := 0
	for _, l := range lens {
		if l != 0 {
			k += 1 << (15 - l)
		}
	}
	return k
}

type blockInfo struct {
	final   bool
	btype   uint32
	maxLen  uint8 // longest literal/length or distance code
	kraftLL int
	kraftD  int
}

// walkStream inflates a raw deflate stream, returning the output and the
// blocks it consists of.
func walkStream(t *testing.T, data []byte) ([]byte, []blockInfo) {
	t.Helper()
	r := &bitReader{b: data}
	var out []byte
	var blocks []blockInfo
	need := func(v uint32, ok bool) uint32 {
		t.Helper()
		require.True(t, ok, "stream ends early at bit %d", r.pos)
		return v
	}
	for {
		final := need(r.bits(1)) == 1
		btype := need(r.bits(2))
		bi := blockInfo{final: final, btype: btype}
		switch btype {
		case 0:
			r.pos = (r.pos + 7) &^ 7
			n := need(r.bits(16))
			nn := need(r.bits(16))
			require.Equal(t, n^0xffff, nn, "stored block NLEN")
			for i := uint32(0); i < n; i++ {
				out = append(out, byte(need(r.bits(8))))
			}
		case 1, 2:
			var ll, dl []uint8
			if btype == 1 {
				ll = make([]uint8, 288)
				for i := range ll {
					ll[i] = fixedLitLen(i)
				}
				dl = make([]uint8, 30)
				for i := range dl {
					dl[i] = 5
				}
			} else {
				hlit := int(need(r.bits(5))) + 257
				hdist := int(need(r.bits(5))) + 1
				hclen := int(need(r.bits(4))) + 4
				var cl [19]uint8
				for i := 0; i < hclen; i++ {
					cl[codeLenOrder[i]] = uint8(need(r.bits(3)))
				}
				require.Equal(t, 1<<15, kraft(cl[:]), "code-length code must be complete (zlib rejects others)")
				cd, ok := newHuffDecoder(cl[:])
				require.True(t, ok)
				var lens []uint8
				for len(lens) < hlit+hdist {
					sym, ok := cd.decode(r)
					require.True(t, ok, "bad code-length symbol")
					switch {
					case sym < 16:
						lens = append(lens, uint8(sym))
					case sym == 16:
						require.NotEmpty(t, lens, "repeat with no previous length")
						prev := lens[len(lens)-1]
						for n := 3 + need(r.bits(2)); n > 0; n-- {
							lens = append(lens, prev)
						}
					case sym == 17:
						for n := 3 + need(r.bits(3)); n > 0; n-- {
							lens = append(lens, 0)
						}
					default:
						for n := 11 + need(r.bits(7)); n > 0; n-- {
							lens = append(lens, 0)
						}
					}
				}
				require.Len(t, lens, hlit+hdist, "code lengths overrun HLIT+HDIST")
				ll, dl = lens[:hlit], lens[hlit:]
				bi.kraftLL, bi.kraftD = kraft(ll), kraft(dl)
			}
			for _, l := range append(append([]uint8{}, ll...), dl...) {
				bi.maxLen = max(bi.maxLen, l)
			}
			lld, ok := newHuffDecoder(ll)
			require.True(t, ok, "literal/length code longer than 15 bits")
			dd, ok := newHuffDecoder(dl)
			require.True(t, ok, "distance code longer than 15 bits")
			for {
				sym, ok := lld.decode(r)
				require.True(t, ok, "bad literal/length symbol")
				if sym < 256 {
					out = append(out, byte(sym))
					continue
				}
				if sym == 256 {
					break
				}
				require.Less(t, sym, 286)
				li := sym - 257
				length := int(lengthBase[li]) + int(need(r.bits(int(lengthExtra[li]))))
				ds, ok := dd.decode(r)
				require.True(t, ok, "bad distance symbol")
				require.Less(t, ds, 30)
				dist := int(distBase[ds]) + int(need(r.bits(int(distExtra[ds]))))
				require.LessOrEqual(t, dist, len(out), "distance before the start")
				for i := 0; i < length; i++ {
					out = append(out, out[len(out)-dist])
				}
			}
		default:
			t.Fatalf("reserved block type 3")
		}
		blocks = append(blocks, bi)
		if final {
			require.Equal(t, len(data), (r.pos+7)>>3, "bytes after the final block")
			return out, blocks
		}
	}
}

// TestStreamStructure checks what the standard decoder does not: every
// Huffman code is at most 15 bits and complete, and the stream has exactly
// one final block, its last.
func TestStreamStructure(t *testing.T) {
	for name, src := range testInputs() {
		for _, level := range []int{6, 9} {
			e, err := NewEncoder(level)
			require.NoError(t, err)
			z := e.AppendZlib(nil, src)
			out, blocks := walkStream(t, z[2:len(z)-4])
			require.True(t, bytes.Equal(src, out), "%s level %d: our inflater decodes something else", name, level)
			for i, b := range blocks {
				assert.Equal(t, i == len(blocks)-1, b.final, "%s level %d block %d final flag", name, level, i)
				assert.LessOrEqual(t, b.maxLen, uint8(15), "%s level %d block %d", name, level, i)
				if b.btype == 2 {
					assert.Equal(t, 1<<15, b.kraftLL, "%s level %d block %d: literal/length code complete", name, level, i)
					assert.Equal(t, 1<<15, b.kraftD, "%s level %d block %d: distance code complete", name, level, i)
				}
			}
		}
	}
}

// TestStreamBlockTypes: incompressible data goes into stored blocks, a
// short text into a fixed-code block, a long text into dynamic blocks.
func TestStreamBlockTypes(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	random := make([]byte, 200000)
	rng.Read(random)
	e, err := NewEncoder(9)
	require.NoError(t, err)
	types := func(src []byte) map[uint32]int {
		z := e.AppendZlib(nil, src)
		_, blocks := walkStream(t, z[2:len(z)-4])
		m := map[uint32]int{}
		for _, b := range blocks {
			m[b.btype]++
		}
		return m
	}
	assert.Equal(t, map[uint32]int{0: 4}, types(random), "200000 random bytes: four stored blocks of at most 65535")
	assert.Equal(t, map[uint32]int{1: 1}, types([]byte("hello, hello, hello world")))
	text := types(testInputs()["text"])
	assert.NotZero(t, text[2], "text: dynamic blocks")
	assert.Len(t, text, 1, "text: dynamic blocks only")
}

// TestBuildLengthsLimit: Fibonacci frequencies make the unrestricted
// Huffman tree as deep as there are symbols; the limited code must still
// be complete and within the limit, and never give a rarer symbol a
// shorter code.
func TestBuildLengthsLimit(t *testing.T) {
	freq := make([]uint32, 40)
	a, b := uint32(1), uint32(1)
	for i := range freq {
		freq[i] = a
		a, b = b, a+b
	}
	var hs huffScratch
	for _, limit := range []int{7, 15} {
		lens := make([]uint8, len(freq))
		hs.buildLengths(freq, limit, lens)
		assert.Equal(t, 1<<15, kraft(lens), "limit %d: complete code", limit)
		for i, l := range lens {
			assert.LessOrEqual(t, int(l), limit)
			assert.NotZero(t, l, "symbol %d used but has no code", i)
			if i > 0 {
				assert.LessOrEqual(t, l, lens[i-1], "more frequent symbol %d has a longer code", i)
			}
		}
	}
	// One used symbol still gets a complete two-symbol code.
	lens := make([]uint8, 19)
	one := make([]uint32, 19)
	one[8] = 100
	hs.buildLengths(one, 7, lens)
	assert.Equal(t, 1<<15, kraft(lens))
	assert.Equal(t, uint8(1), lens[8])
}
