package squashfs

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// idTable is the list of distinct user and group ids (format.adoc "ID
// Table"); inodes store 16-bit indexes into it. The ids are kept sorted, so
// the table depends only on the set of ids, not on the order entries came in.
type idTable struct {
	ids   []uint32
	index map[uint32]uint16
}

// newIDTable builds the table for the given ids (duplicates allowed).
func newIDTable(ids []uint32) (*idTable, error) {
	s := slices.Clone(ids)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) > 0xFFFF {
		return nil, fmt.Errorf("squashfs: %d distinct uids/gids, the superblock counts at most 65535", len(s))
	}
	t := &idTable{ids: s, index: make(map[uint32]uint16, len(s))}
	for i, id := range s {
		t.index[id] = uint16(i)
	}
	return t, nil
}

// lookup returns the table index of id, which must be in the table.
func (t *idTable) lookup(id uint32) uint16 { return t.index[id] }

// encode returns the table's records: one little-endian u32 per id, to be
// stored as a lookup table (format.adoc "Storing Lookup Tables").
func (t *idTable) encode() []byte {
	b := make([]byte, 0, 4*len(t.ids))
	for _, id := range t.ids {
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	return b
}
