# A drop-in replacement for nixpkgs' `pkgs.portableService`
# (pkgs/build-support/portable-service/default.nix): same arguments, same
# output ($out/<pname>_<version>.raw), but the image is written by the static
# `mkportable` binary acting as the derivation's builder. No shell, no stdenv,
# no copy of the closure: this file uses builtins only, so it evaluates with or
# without nixpkgs (the flake, the overlay and the tests all import it).
#
# Everything is validated in Go (`mkportable build`): unit names against
# systemd's prefix rule, symlink targets, pname/version, compression options.
# Nix only transports the arguments, as structured attributes (.attrs.json).
#
#   import ./portable-service.nix { mkportable = <drv or path with bin/mkportable>; }
#   callPackage ./portable-service.nix { }
{
  # mkportable: a derivation or path holding bin/mkportable (statically linked:
  # it runs in the build sandbox with nothing else).
  mkportable,
  # nixpkgs' closureInfo. When given, the closure reaches the builder as a
  # closureInfo output (its `store-paths` file), as in nixpkgs. When null (the
  # default), Nix hands the closure over through exportReferencesGraph: no extra
  # derivation, and each path comes with its narHash, which `verifyNarHash`
  # checks while the image is written.
  closureInfo ? null,
  # nixpkgs' lib, only used for lib.warn (which honours NIX_ABORT_ON_WARN).
  lib ? null,
  ...
}:

let
  warn =
    msg: value:
    if lib != null && lib ? warn then lib.warn msg value else builtins.trace "warning: ${msg}" value;

  # The builder runs on the platform mkportable was built for. Taken from the
  # derivation when there is one: builtins.currentSystem is not available in
  # pure (flake) evaluation.
  system =
    if builtins.isAttrs mkportable && mkportable ? system then
      mkportable.system
    else
      builtins.currentSystem;

  storePrefix = builtins.storeDir + "/";

  # "/nix/store/<hash>-busybox/bin/busybox" -> "/nix/store/<hash>-busybox",
  # keeping the string context. exportReferencesGraph and closureInfo take
  # store paths only, while a symlink's object may point into one.
  storePathOf =
    s:
    let
      rest = builtins.substring (builtins.stringLength storePrefix) (builtins.stringLength s) s;
      name = builtins.head (builtins.match "([^/]*)(/.*)?" rest);
    in
    builtins.substring 0 (builtins.stringLength storePrefix + builtins.stringLength name) s;

  # Only strings that carry a store reference can be closure roots. Anything
  # else (a symlink object "/run/foo", a unit "/etc/foo.service") is passed on
  # as written and judged by mkportable, which names it in its error.
  rootOf =
    x:
    let
      s = "${x}";
    in
    if builtins.hasContext s && builtins.substring 0 (builtins.stringLength storePrefix) s == storePrefix then
      [ (storePathOf s) ]
    else
      [ ];
in

{
  # The name and version of the portable service: the image is
  # $out/${pname}_${version}.raw, and systemd names the image `pname`.
  pname,
  version,
  # Unit files (derivations, paths, or files inside a store path); each is
  # copied to /etc/systemd/system under its store name without the hash
  # ("demo.service").
  units,
  # Written to /etc/os-release.
  description ? null,
  homepage ? null,
  # [ { object = "${pkgs.busybox}/bin"; symlink = "/bin"; } ]: symlinks in the
  # image's root file system pointing at `object`.
  symlinks ? [ ],
  # Further store paths copied into the image with their closure.
  contents ? [ ],
  # mksquashfs' -comp and -b arguments, as nixpkgs takes them.
  squash-compression ? "xz -Xdict-size 100%",
  squash-block-size ? "1M",
  # Accepted so that existing calls work unchanged; mkportable writes the
  # SquashFS image itself, so no squashfs-tools is used.
  squashfsTools ? null,
  squashfs-tools ? null,
  # New: check every store path's NAR hash against the one Nix recorded while
  # reading it into the image (exportReferencesGraph only: a closureInfo
  # carries no hashes).
  verifyNarHash ? false,
}:

let
  unusedTools = builtins.filter (n: n != null) [
    (if squashfsTools != null then "squashfsTools" else null)
    (if squashfs-tools != null then "squashfs-tools" else null)
  ];

  unitPaths = map (u: "${u}") units;
  contentPaths = map (c: "${c}") contents;
  # A unit may also be a file inside a store path ("${pkg}/lib/systemd/
  # system/demo.service"): its store path is the root.
  roots =
    builtins.concatMap rootOf (unitPaths ++ contentPaths)
    ++ builtins.concatMap (s: if builtins.isAttrs s && s ? object then rootOf s.object else [ ]) symlinks;

  imageName = "${pname}_${version}.raw";

  attrs =
    {
      name = "${pname}-img-${version}";
      inherit system;
      builder = "${mkportable}/bin/mkportable";
      args = [ "build" ];
      __structuredAttrs = true;

      inherit
        pname
        version
        description
        homepage
        symlinks
        squash-compression
        squash-block-size
        ;
      units = unitPaths;
      contents = contentPaths;
    }
    // (
      if closureInfo == null then
        { exportReferencesGraph.closure = roots; }
      else
        { closureInfo = "${closureInfo { rootPaths = roots; }}"; }
    )
    // (if verifyNarHash then { verifyNarHash = true; } else { });

  drv = derivation attrs;

  image = "${drv.outPath}/${imageName}";

  # What stdenv.mkDerivation's passthru would add. `derivation` has no passthru
  # mechanism, but `//` on its result keeps type, drvPath and outPath, so the
  # merged set still builds with nix-build and in flake outputs.
  passthru = {
    inherit image imageName;
  };

  meta = {
    description =
      if description != null then description else "systemd portable service image ${pname} ${version}";
    platforms = [ system ];
  }
  // (if homepage != null then { inherit homepage; } else { });

  result = drv // passthru // { inherit passthru meta; };
in
if unusedTools != [ ] then
  warn "portableService (mkportable): ${builtins.concatStringsSep " and " unusedTools} ${
    if builtins.length unusedTools > 1 then "are" else "is"
  } ignored: mkportable writes the SquashFS image itself" result
else
  result
