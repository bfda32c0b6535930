package lzma

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFillDistPricesMatchesPerSymbol checks the node-by-node distance
// price tables against pricing every distance on its own, bit by bit, as
// encodeDistance codes it, for adapted (random) probabilities.
func TestFillDistPricesMatchesPerSymbol(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, dictSize := range []int{minDictSize, 1 << 20, 3 << 20, maxDictSize} {
		e, err := NewEncoder(Options{DictSize: dictSize})
		require.NoError(t, err)
		for ls := range e.posSlots {
			for i := range e.posSlots[ls] {
				e.posSlots[ls][i] = prob(1 + rng.Intn(bitModelTotal-1))
			}
		}
		for i := range e.posSpecial {
			e.posSpecial[i] = prob(1 + rng.Intn(bitModelTotal-1))
		}
		e.fillDistPrices()
		slots := posSlot(uint32(dictSize-1)) + 1
		for ls := 0; ls < numLenToPosStates; ls++ {
			for s := uint32(0); s < slots; s++ {
				want := treePrice(e.posSlots[ls][:], numPosSlotBits, s)
				if s >= endPosModelIndex {
					want += (s>>1 - 1 - numAlignBits) << numBitPriceShiftBits
				}
				require.Equal(t, want, e.posSlotPrices[ls][s], "dict %d ls %d slot %d", dictSize, ls, s)
			}
			for d := uint32(0); d < numFullDistances; d++ {
				slot := posSlot(d)
				want := treePrice(e.posSlots[ls][:], numPosSlotBits, slot)
				if slot >= startPosModelIndex {
					footerBits := int(slot>>1) - 1
					base := (2 | slot&1) << uint(footerBits)
					// Bit by bit, lowest first, as encodeReverseTree.
					m, sym := uint32(1), d-base
					for i := 0; i < footerBits; i++ {
						b := sym & 1
						sym >>= 1
						want += priceBit(e.posSpecial[base-slot+m], b)
						m = m<<1 | b
					}
				}
				require.Equal(t, want, e.distPrices[ls][d], "dict %d ls %d dist %d", dictSize, ls, d)
			}
		}
	}
}
