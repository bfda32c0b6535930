package squashfs

import "encoding/binary"

// fragEntry locates one fragment block (format.adoc "Fragment Table"): its
// absolute start in the image and its size word (bit 24 set when stored
// uncompressed).
type fragEntry struct {
	Start uint64
	Size  uint32
}

// encodeFragmentTable returns the fragment table records, 16 bytes each (u64
// start, u32 size, u32 unused = 0), to be stored as a lookup table
// (format.adoc "Storing Lookup Tables").
func encodeFragmentTable(frags []fragEntry) []byte {
	b := make([]byte, 0, 16*len(frags))
	for _, f := range frags {
		b = binary.LittleEndian.AppendUint64(b, f.Start)
		b = binary.LittleEndian.AppendUint32(b, f.Size)
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	return b
}
