# For users without flakes:
#
#   nix-build nix -A demo-portable
#   nix-build nix -A mkportable
#   pkgs = import <nixpkgs> { overlays = [ (import ./nix/overlay.nix { }) ]; }
#
# `pkgs` defaults to <nixpkgs> from NIX_PATH; pass another package set to pin it.
{
  pkgs ? import <nixpkgs> { },
}:

let
  overlaid = pkgs.extend (import ./overlay.nix { });
in
{
  inherit (overlaid) mkportable portableService;
  demo-portable = overlaid.portableService (
    import ./demo.nix {
      inherit (overlaid) busybox writeText;
    }
  );
}
