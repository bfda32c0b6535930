// Package portable is the systemd portable-service model: the Spec a Nix
// derivation (or the command line) describes, the rules systemd applies to
// such an image, the image tree, and the build that streams it into a
// SquashFS file.
//
//	spec := Decode(.attrs.json)            strict: a typo in a key fails the build
//	Validate(spec)                          systemd's rules, every violation at once
//	set := Resolve(spec)                    the closure: store-paths file or references graph
//	entries := Plan(spec, set)              scaffold, os-release, units, symlinks, /nix/store
//	Build(spec, set, outDir)                one pass from /nix/store into the image
//
// The rules follow systemd's sources, cited where they are implemented:
// src/portable/portable.c (prefix_match, unit_match), src/basic/unit-name.c
// (unit_name_is_valid) and os-release(5).
package portable
