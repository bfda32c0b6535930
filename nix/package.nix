# mkportable itself, built with nixpkgs' buildGoModule. The binary must be
# statically linked: it is the builder of every portable service image and
# runs in the sandbox with nothing else (no loader, no libc).
#
#   pkgs.callPackage ./package.nix { }
#
# vendorHash is the NAR hash of `go mod vendor`'s output for this source; it
# changes whenever go.mod, go.sum or the set of imported packages changes.
# Recompute it with nix/update-vendor-hash.sh (docs/portable-service.md,
# "Maintaining the Nix package").
{
  lib,
  buildGoModule,
  version ? "0.1.0",
}:

let
  root = toString ../.;

  # Only what `go build` and `go mod vendor` read: editing the Nix files, the
  # docs or the README does not rebuild mkportable. The same set is vendored by
  # update-vendor-hash.sh; keep the two in step (both leave out only
  # directories without Go code).
  excluded = [
    ".git"
    ".ci"
    "docs"
    "nix"
    "flake.nix"
    "flake.lock"
    "README.md"
  ];
  src = builtins.path {
    name = "mkportable-source";
    path = ../.;
    filter =
      path: type:
      let
        rel = lib.removePrefix "${root}/" (toString path);
        top = builtins.head (lib.splitString "/" rel);
      in
      !(builtins.elem top excluded) && !(lib.hasPrefix "result" top);
  };
in
buildGoModule {
  pname = "mkportable";
  inherit version src;

  vendorHash = "sha256-sY5hu8Sz/ws2zx2q/rd6toiXn+Yv9ebUzJ31P5Kf6MY=";

  subPackages = [ "cmd/mkportable" ];

  # No cgo: a static binary. (`env`, not a top-level CGO_ENABLED: buildGoModule
  # reads env.CGO_ENABLED and rejects the same name in both places.)
  env.CGO_ENABLED = 0;

  # The tests run in CI (.ci/run): as root, with squashfs-tools, the kernel's
  # squashfs driver and Nix. In the build sandbox they run as an unprivileged
  # user without those tools, where most would skip and the ones that rely on
  # root's permissions fail (found by running them as an unprivileged user,
  # e.g. pack's unreadable-directory cases). The package only builds.
  doCheck = false;

  ldflags = [
    "-s"
    "-w"
    "-X main.version=${version}"
  ];

  meta = {
    description = "Writes systemd portable service images (SquashFS) from Nix closures; the builder of portableService";
    homepage = "https://github.com/mkportable/mkportable";
    mainProgram = "mkportable";
    platforms = lib.platforms.linux;
  };
}
