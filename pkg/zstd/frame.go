package zstd

// frameMagic is Magic_Number 0xFD2FB528, written little-endian (RFC 8878
// section 3.1.1).
const frameMagic = 0xFD2FB528

// appendFrameHeader appends the frame header of a single-segment frame
// (section 3.1.1.1): the magic number, a Frame_Header_Descriptor with
// Single_Segment_Flag set, no checksum and no dictionary, and
// Frame_Content_Size in the smallest field that holds contentSize. With
// Single_Segment_Flag there is no Window_Descriptor: the window is the
// content size, and FCS_Field_Size 0 means a 1-byte field (0..255), 1 a
// 2-byte field holding the size minus 256, 2 and 3 four and eight bytes.
func appendFrameHeader(dst []byte, contentSize int) []byte {
	m := uint32(frameMagic)
	dst = append(dst, byte(m), byte(m>>8), byte(m>>16), byte(m>>24))
	const singleSegment = 1 << 5
	v := uint64(contentSize)
	switch {
	case v < 256:
		return append(dst, singleSegment, byte(v))
	case v < 65536+256:
		v -= 256
		return append(dst, 1<<6|singleSegment, byte(v), byte(v>>8))
	case v <= 0xFFFFFFFF:
		return append(dst, 2<<6|singleSegment, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	default:
		return append(dst, 3<<6|singleSegment, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
			byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
	}
}
