package squashfs

// On-disk constants of SquashFS 4.0. Section names refer to squashfs-tools-ng's
// doc/format.adoc, the most complete description of the format; the Linux
// kernel's fs/squashfs/squashfs_fs.h defines the same values.

// Superblock (format.adoc "The Superblock").
const (
	// Magic is "hsqs" read as a little-endian uint32.
	Magic = 0x73717368
	// SuperblockSize is the size of the superblock at offset 0.
	SuperblockSize = 96
	// VersionMajor and VersionMinor identify SquashFS 4.0, the only
	// version the Linux kernel reads.
	VersionMajor = 4
	VersionMinor = 0
	// NoTable marks an absent table (xattr id table, export table) in the
	// superblock.
	NoTable = 0xFFFFFFFFFFFFFFFF
	// PadSize is the multiple the image size is padded to, so a loop device
	// (which works in 4 KiB units on most setups) sees the whole image.
	PadSize = 4096
)

// Block sizes (format.adoc "The Superblock": block_size, block_log).
const (
	MinBlockSize     = 4 << 10
	MaxBlockSize     = 1 << 20
	DefaultBlockSize = 128 << 10
)

// Superblock flags (format.adoc "The Superblock": flags).
const (
	FlagUncompressedInodes    uint16 = 0x0001
	FlagUncompressedData      uint16 = 0x0002
	FlagCheck                 uint16 = 0x0004 // unused since 4.0
	FlagUncompressedFragments uint16 = 0x0008
	FlagNoFragments           uint16 = 0x0010
	FlagAlwaysFragments       uint16 = 0x0020
	FlagDuplicates            uint16 = 0x0040
	FlagExportable            uint16 = 0x0080
	FlagUncompressedXattrs    uint16 = 0x0100
	FlagNoXattrs              uint16 = 0x0200
	FlagCompressorOptions     uint16 = 0x0400
	FlagUncompressedIDs       uint16 = 0x0800
)

// Metadata blocks (format.adoc "Metadata Blocks"): at most 8 KiB of payload,
// preceded by a 16-bit header whose top bit marks the payload as stored
// uncompressed and whose low 15 bits give the stored size.
const (
	MetadataBlockSize     = 8192
	metadataUncompressed  = 0x8000
	metadataSizeMask      = 0x7FFF
	dataBlockUncompressed = 1 << 24 // data block size word (format.adoc "Data and Fragment Blocks")
	dataBlockSizeMask     = dataBlockUncompressed - 1
)

// Inode types (format.adoc "Inode Table": inode_type). Extended types are the
// basic type plus 7.
const (
	inodeBasicDir     = 1
	inodeBasicFile    = 2
	inodeBasicSymlink = 3
	inodeBasicBlock   = 4
	inodeBasicChar    = 5
	inodeBasicFifo    = 6
	inodeBasicSocket  = 7
	inodeExtDir       = 8
	inodeExtFile      = 9
	inodeExtSymlink   = 10
	inodeExtBlock     = 11
	inodeExtChar      = 12
	inodeExtFifo      = 13
	inodeExtSocket    = 14
)

// Directory table limits (format.adoc "Directory Table").
const (
	// dirMaxEntriesPerHeader: a header's count field stores count-1 and the
	// kernel rejects more than 256 entries per header (SQUASHFS_DIR_COUNT).
	dirMaxEntriesPerHeader = 256
	// dirInodeOffsetRange: an entry stores its inode number as a signed
	// 16-bit difference from the header's base inode number.
	dirInodeOffsetMin = -32768
	dirInodeOffsetMax = 32767
	// MaxNameLen is the longest name an entry can hold (name_size is
	// stored minus one in a u16, but the kernel caps names at 256 and
	// Linux file names at 255).
	MaxNameLen = 255
)

// fragmentNone is the fragment index of a file without a tail fragment
// (format.adoc "File Inodes": frag_index = 0xFFFFFFFF).
const fragmentNone = 0xFFFFFFFF
