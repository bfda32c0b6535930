// Package roundtrip holds the integration tests of the SquashFS writer and
// `mkportable pack`: generated corner-case trees (test/treegen) are packed
// with every compressor and read back by three independent readers — the
// Linux kernel (loop mount), unsquashfs (Debian squashfs-tools) and
// sqfsdiff (squashfs-tools-ng) against mksquashfs's image of the same
// tree — plus reproducibility and golden-hash checks.
//
// ROUNDTRIP_PACKER=mksquashfs runs every check against mksquashfs instead of
// mkportable, which proves the harness on the reference implementation.
package roundtrip
