# pkgsLite: the few nixpkgs helpers the local tests need, written with
# builtins only (nixpkgs cannot be fetched on the test machines). The builder
# is Debian's static busybox, imported into the store by the nixtest harness.
{
  busybox,
  mkportable,
  system,
}:

let
  bb = "${busybox}/bin/busybox";
in
rec {
  inherit busybox mkportable system;

  # pkgs.writeText; text may reference store paths that are sources (like the
  # imported busybox), not derivation outputs.
  writeText = builtins.toFile;

  # pkgs.runCommand without stdenv: `script` runs under busybox sh with the
  # applets on PATH and $out set (a plain derivation, not structured attrs).
  runCommand =
    name: env: script:
    derivation (
      env
      // {
        inherit name system;
        builder = bb;
        args = [
          "sh"
          "-euc"
          ''
            mkdir -p "$NIX_BUILD_TOP/bin"
            ${bb} --install -s "$NIX_BUILD_TOP/bin"
            export PATH="$NIX_BUILD_TOP/bin"
            ${script}
          ''
        ];
      }
    );

  # The part of nixpkgs' closureInfo that mkportable reads: $out/store-paths,
  # every path of the closure of rootPaths, sorted, one per line. Each root's
  # graph comes from exportReferencesGraph in the non-structured form, a
  # validity registration: path, deriver (empty), count, that many references.
  closureInfo =
    { rootPaths }:
    runCommand "closure-info"
      {
        exportReferencesGraph = builtins.concatLists (
          builtins.genList (i: [
            "graph-${toString i}"
            (builtins.elemAt rootPaths i)
          ]) (builtins.length rootPaths)
        );
      }
      ''
        mkdir "$out"
        cat graph-* | awk '
          state == 0 { print; state = 1; next }
          state == 1 { state = 2; next }
          state == 2 { left = $0 + 0; state = left > 0 ? 3 : 0; next }
          state == 3 { left--; if (left == 0) state = 0 }
        ' | sort -u > "$out/store-paths"
      '';

  # Our portableService with the closure handed over as a closureInfo
  # (nixpkgs' way) instead of exportReferencesGraph.
  portableServiceWithClosureInfo = import ../../../nix/portable-service.nix {
    inherit mkportable closureInfo;
  };
}
