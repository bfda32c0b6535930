# A stand-in for the nixpkgs flake input, with exactly what flake.nix uses,
# so that the flake's outputs evaluate (and the demo builds) here, where
# nixpkgs cannot be fetched:
#
#   let self = (import ./flake.nix).outputs { inherit self; nixpkgs = stub; }; in ...
#
# buildGoModule does not build: it checks the arguments nix/package.nix
# passes (static, subPackages, version stamp, vendorHash shape) and returns
# the mkportable the harness built,
# as a derivation-like set with `system`, as nixpkgs' would have. Tools that
# only run in the nixpkgs-based checks (squashfs-tools, the VM test) are
# placeholders: those checks are instantiated, not built.
{
  mkportable,
  busybox,
  pkgsLite,
  # A store path holding demo_1.0.raw as nixpkgs' portableService would have
  # written it (the test makes one with nixpkgs' recipe on the host), or null.
  nixpkgsImage ? null,
}:

let
  hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  lib = {
    inherit hasPrefix;
    removePrefix =
      p: s:
      if hasPrefix p s then builtins.substring (builtins.stringLength p) (builtins.stringLength s) s else s;
    # Enough for the single-character separators flake.nix and package.nix use.
    splitString = sep: s: builtins.filter builtins.isString (builtins.split "[${sep}]" s);
    platforms.linux = [
      "x86_64-linux"
      "aarch64-linux"
    ];
    warn = msg: v: builtins.trace "warning: ${msg}" v;
  };

  # A derivation (flake outputs such as formatter must be derivations) that
  # stands for a nixpkgs tool; never built here.
  placeholderTool = name: pkgsLite.runCommand "stub-${name}" { } "echo placeholder for nixpkgs' ${name} > $out";

  base =
    system: final:
    let
      callPackage =
        fn: args:
        let
          f = if builtins.isFunction fn then fn else import fn;
        in
        f (builtins.intersectAttrs (builtins.functionArgs f) final // args);
    in
    {
      inherit lib system callPackage;
      stdenv.hostPlatform.system = system;

      buildGoModule =
        args:
        assert args.env.CGO_ENABLED == 0;
        assert args.subPackages == [ "cmd/mkportable" ];
        assert builtins.elem "-X main.version=${args.version}" args.ldflags;
        assert builtins.match "sha256-[A-Za-z0-9+/]{43}=" args.vendorHash != null;
        {
          type = "derivation";
          name = "${args.pname}-${args.version}";
          inherit system;
          # The arguments are kept for the tests to use (test/nix): they build
          # src the way buildGoModule would.
          inherit (args)
            pname
            version
            meta
            src
            vendorHash
            ldflags
            subPackages
            env
            ;
          outPath = "${mkportable}";
        };

      inherit busybox;
      writeText = builtins.toFile;
      inherit (pkgsLite) closureInfo;
      # The script stays readable as buildCommand, as with nixpkgs' runCommand
      # (the test runs the checks' scripts on the host, where squashfs-tools
      # are).
      runCommand = name: env: script: pkgsLite.runCommand name env script // { buildCommand = script; };

      # nixpkgs' own portableService, for the equivalence check.
      portableService =
        args:
        if nixpkgsImage != null then
          {
            type = "derivation";
            name = "${args.pname}-img-${args.version}";
            outPath = builtins.storePath nixpkgsImage;
          }
        else
          pkgsLite.runCommand "${args.pname}-img-${args.version}" { } "mkdir $out; touch $out/${args.pname}_${args.version}.raw";

      testers.runNixOSTest =
        test:
        pkgsLite.runCommand "nixos-test-${test.name}" {
          script = test.testScript;
        } ''echo "$script" > $out'';

      mkShell = args: pkgsLite.runCommand "dev-shell" { packages = args.packages; } "touch $out";

      squashfs-tools = placeholderTool "squashfs-tools";
      squashfs-tools-ng = placeholderTool "squashfs-tools-ng";
      go = placeholderTool "go";
      gopls = placeholderTool "gopls";
      nixfmt = placeholderTool "nixfmt";
      nixfmt-tree = placeholderTool "nixfmt-tree";
    };

  # nixpkgs' overlay fixpoint: each overlay sees the final set and the one
  # before it.
  mkPkgs =
    system: overlays:
    let
      final =
        builtins.foldl' (prev: overlay: prev // overlay final prev) (base system final) overlays
        // {
          extend = overlay: mkPkgs system (overlays ++ [ overlay ]);
        };
    in
    final;
in
{
  legacyPackages = {
    x86_64-linux = mkPkgs "x86_64-linux" [ ];
    aarch64-linux = mkPkgs "aarch64-linux" [ ];
  };
}
