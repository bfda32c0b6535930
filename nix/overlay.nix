# The nixpkgs overlay: adds `mkportable` and replaces `portableService`, so
# every pkgs.portableService call in the overlaid package set builds with
# mkportable, unchanged. The flake's overlays.default is this file.
{
  version ? "0.1.0",
}:
final: prev: {
  mkportable = final.callPackage ./package.nix { inherit version; };
  # closureInfo = null: the closure comes from exportReferencesGraph (no
  # extra derivation, and NAR hashes for verifyNarHash). callPackage would
  # otherwise pass nixpkgs' closureInfo.
  portableService = final.callPackage ./portable-service.nix { closureInfo = null; };
}
