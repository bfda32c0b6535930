// Package closure reads the set of Nix store paths an image must contain: the
// `store-paths` file of a nixpkgs closureInfo output (with its
// `registration` file, when present, for each path's narHash, narSize and
// references), or the entries Nix writes for `exportReferencesGraph` into a
// structured-attrs derivation's .attrs.json ({path, narHash, narSize,
// references, ...}).
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
// A NAR hash is one sequential SHA-256 over a path's NAR serialisation:
// depth first, the entries of each directory sorted byte-wise, with each
// file's executable flag. Two ways to compute it:
//
//   - NarStream is fed by a reader that is going through the files anyway.
//     The image build uses it: its walk over a store path (fs.WalkDir in
//     squashfs.AddFS) visits entries in exactly NAR order, so each file's
//     bytes are hashed as they are read into the image - one read, not two.
//     The NAR writer underneath (go-nix pkg/nar) rejects out-of-order
//     events, so a walk that changes order fails the check instead of
//     passing it by accident. A mismatch aborts the build before the image
//     is renamed into place, naming the path.
//   - VerifyNarHash (and Set.VerifyNarHashes, in parallel) re-reads a path
//     with go-nix's own serialiser, for a standalone check.
//
// Both are cross-checked against `nix hash path` in the tests. Verification
// is opt-in (--verify-nar-hash or the attr verifyNarHash): Nix has checked
// the store when it registered the paths, so this guards against a store
// modified behind Nix's back.
package closure
