// Package squashfs writes (and reads) SquashFS 4.0 images, the format the
// Linux kernel mounts and systemd-portabled attaches.
//
// # Writing
//
// The Writer is shaped like archive/tar: NewWriter, then WriteHeader for each
// entry and Write for a regular file's data, then Close. AddFS adds a whole
// fs.FS (DirFS gives a real directory with lstat semantics). Entries may come
// in any order; missing parent directories are created (mode 0755, owned by
// root) and take the mode of a later TypeDir header for them. Names are
// slash paths relative to the image root; empty, "." and ".." components,
// NUL bytes and components longer than 255 bytes are ErrInvalidName, a name
// given twice is ErrDuplicate. Errors are sticky.
//
// What an image holds (section names of squashfs-tools-ng doc/format.adoc):
//   - directories, regular files of any size (extended file inodes beyond
//     4 GiB, for hard links and for sparse files), symlinks (targets stored
//     verbatim), hard links (one inode, link count = names), character and
//     block devices (12-bit major, 20-bit minor), fifos and sockets;
//   - one modification time (Options.ModTime) for every inode and the
//     superblock; the clock is never read;
//   - owners through the id table;
//   - file data in blocks of Options.BlockSize, each compressed separately
//     and stored raw when compression does not make it smaller; full blocks
//     of zeros stored sparse (no data); tail ends (and files smaller than a
//     block) packed into fragment blocks ("Data and Fragment Blocks");
//   - duplicates stored once: files whose full blocks equal an earlier
//     file's share that file's blocks (the copy just written is rolled back),
//     and equal tail ends share one place in a fragment block;
//   - inode and directory tables in 8 KiB metadata blocks, directory
//     listings split into headers as the format requires, with a directory
//     index entry every 8 KiB of listing as mksquashfs makes them (the kernel
//     uses the index in lookup and readdir; the same rule gives the same
//     basic or extended directory inodes as mksquashfs, which sqfsdiff
//     compares);
//   - the compressor options record when the compressor has non-default
//     settings; with compress "none" every block is raw and the superblock
//     says so;
//   - the image padded to a multiple of 4 KiB (BytesUsed is the unpadded
//     size).
//
// # Root directory
//
// Options.RootMode, when non-zero, is the root's mode whatever a "." header
// says (as mksquashfs -root-mode). When it is zero, an explicit "." (or "")
// TypeDir header sets the root's mode; without one the root is 0755. The
// owner of the root comes from the "." header (root by default).
//
// # Determinism
//
// The image is a function of the entries, their data, the order in which
// file data arrives, and Options; not of the clock, map order or the number
// of workers. Data blocks are compressed on Options.Workers goroutines but
// written in the order they were submitted; duplicate detection (SHA-256 of
// the data) happens in that same order. Tables are sorted (directory entries
// by name bytes, ids numerically) and written at Close.
//
// # Memory
//
// File data is never held beyond a bounded set of buffers: at most
// 2 x Workers + 3 blocks are in flight, each with an input buffer of
// BlockSize bytes and a compressed output buffer of about the same size, plus
// a 1 MiB output buffer and one zero block. With 1 MiB blocks and 2 workers
// that is about 16 MiB, whatever the data size, plus what the compressor
// keeps per concurrent call (an xz encoder's dictionary and match finder).
//
// Besides, every entry costs memory until Close: at most 512 bytes plus the
// length of its name (the tree node, the name index, the duplicate and tail
// indexes, its share of the directory table), and every full data block of a
// file costs 4 bytes (its size word in the inode). TestWriterMemoryPerEntry
// measures the per-entry cost on 100,000 entries.
//
// # Not supported
//
// Extended attributes (the image says it has none), the NFS export table
// (optional; images are not NFS-exportable), appending to an image, and
// storing a file's tail as a short block instead of a fragment. The image
// must start at w's current offset and w must seek; with a Truncate method
// (as *os.File has) the output ends exactly at the padded image size,
// otherwise bytes left by rolled back duplicates past the end are zeroed.
package squashfs
