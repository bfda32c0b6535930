// Package closure reads the set of Nix store paths an image must contain: the
// `store-paths` file of a nixpkgs closureInfo output, or the entries Nix
// writes for `exportReferencesGraph` into a structured-attrs derivation's
// .attrs.json ({path, narHash, narSize, references, ...}).
//
// Every path is validated with go-nix's storepath package (which also pins the
// store directory to /nix/store), de-duplicated and sorted byte-wise, so the
// image built from a Set does not depend on the order Nix listed the paths
// in. A Graph computes the closure of given roots; a path's references may
// include the path itself (Nix records self-references), which the walk
// tolerates.
//
// # NAR hash verification
//
// VerifyNarHash re-serialises a path as a NAR (go-nix pkg/nar) into SHA-256
// and compares the digest with the narHash Nix recorded. This is a second
// read of the files, deliberately separate from the image build's pass:
//
//   - a NAR hash is one sequential SHA-256 over the whole serialisation, in
//     NAR order (depth-first, entries sorted byte-wise, the executable bit of
//     each file). The squashfs writer's AddFS promises neither that order nor
//     that it reads files from one goroutine, so teeing its reads into a NAR
//     stream would silently compute the wrong hash the day its walk changes;
//   - verifying before the image is written means a mismatch fails the build
//     before any output byte exists, and the message names the bad path;
//   - the cost is bounded: SHA-256 runs at GB/s and the build that follows
//     reads the same files from the page cache the verification just filled.
//
// Verification therefore stays opt-in (--verify-nar-hash or the attr
// verifyNarHash): Nix has already checked the store when it registered
// the paths, so the check guards against a store modified behind Nix's back.
package closure
