{
  description = "mkportable: systemd portable service images from Nix closures, written by one static Go binary (a drop-in pkgs.portableService)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      # Without nixpkgs' lib on purpose: the outputs that need no packages
      # (overlays, lib) evaluate from this file alone, which the local tests
      # check (test/nix) with a stand-in for nixpkgs.
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );

      version = "0.1.0-" + (self.shortRev or self.dirtyShortRev or "dev");

      # nixpkgs as published, and with our overlay applied.
      upstreamFor = system: nixpkgs.legacyPackages.${system};
      pkgsFor = system: (upstreamFor system).extend self.overlays.default;

      # A unit's file name: its store path's name without the hash. Works for
      # derivations (pkgs.writeText) and plain store paths (builtins.toFile).
      unitName =
        u:
        let
          base = baseNameOf "${u}";
        in
        builtins.substring 33 (builtins.stringLength base) base;

      # nixpkgs renamed squashfsTools to squashfs-tools (the old name stays
      # as an alias for a while): take whichever the pinned revision has.
      squashfsToolsOf = pkgs: pkgs.squashfs-tools or pkgs.squashfsTools;

      demoArgs =
        pkgs:
        import ./nix/demo.nix {
          inherit (pkgs) busybox writeText;
        };
    in
    {
      # mkportable, and portableService replaced by ours: every
      # pkgs.portableService call in the overlaid package set builds with
      # mkportable, unchanged.
      overlays.default = import ./nix/overlay.nix { inherit version; };

      # The function for any package set, without applying the overlay:
      #   (mkportable.lib.portableServiceFor pkgs) { pname = ...; ... }
      lib.portableServiceFor =
        pkgs:
        import ./nix/portable-service.nix {
          mkportable = pkgs.callPackage ./nix/package.nix { inherit version; };
          inherit (pkgs) lib;
        };

      packages = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          default = pkgs.mkportable;
          inherit (pkgs) mkportable;
          demo-portable = pkgs.portableService (demoArgs pkgs);
        }
      );

      checks = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
          upstream = upstreamFor system;
          args = demoArgs pkgs;
          demo = self.packages.${system}.demo-portable;
          image = demo.image;
          expectBuildFailure = import ./nix/expect-build-failure.nix { inherit (pkgs) busybox; };
          www = (builtins.head args.symlinks).object;
        in
        {
          # The demo image builds (the builder is the static mkportable).
          demo-portable = demo;

          # Its contents, read back by squashfs-tools: os-release, the units
          # as regular files with the store's bytes, the /srv/www symlink, and
          # /nix/store holding exactly the closure of units, contents and
          # symlink objects (compared with nixpkgs' closureInfo).
          demo-contents =
            pkgs.runCommand "demo-portable-contents"
              {
                nativeBuildInputs = [ (squashfsToolsOf pkgs) ];
                closure = pkgs.closureInfo { rootPaths = args.units ++ args.contents ++ [ www ]; };
              }
              ''
                unsquashfs -no-xattrs -d root ${image} >/dev/null
                grep -qx 'ID=nixos' root/etc/os-release
                grep -qx 'PORTABLE_PREFIXES=demo' root/etc/os-release
                for f in resolv.conf machine-id; do
                  test -f root/etc/$f && test ! -s root/etc/$f
                done
                for d in proc sys dev run tmp var/tmp; do test -d root/$d; done
                ${builtins.concatStringsSep "\n" (
                  map (u: ''
                    test -f root/etc/systemd/system/${unitName u} && test ! -L root/etc/systemd/system/${unitName u}
                    cmp ${u} root/etc/systemd/system/${unitName u}
                  '') args.units
                )}
                test "$(readlink root/srv/www)" = ${www}
                grep -q 'mkportable demo: it works' root${www}/index.html
                cmp ${pkgs.busybox}/bin/busybox root${pkgs.busybox}/bin/busybox
                (cd root/nix/store && ls -1) | sort > image-paths
                sed 's|^${builtins.storeDir}/||' $closure/store-paths | sort > want-paths
                diff -u want-paths image-paths
                touch $out
              '';

          # nixpkgs' own pkgs.portableService and ours, same arguments, same
          # image by sqfsdiff (contents, permissions, ownership, symlink
          # targets), except where ours differs on purpose:
          # - /nix/store: nixpkgs ships its root-fs-scaffold-<version> store
          #   path (it builds the root file system as a derivation), ours ships
          #   the unit files' store paths (units are closure roots; the
          #   scaffold never exists);
          # - the root file system: nixpkgs' directories and files come from a
          #   store path (0555/0444), ours are 0755/0644 like a normal root;
          # - /etc/os-release: ours adds VERSION_ID and PORTABLE_PREFIXES and
          #   quotes values as os-release(5) asks; every key nixpkgs writes
          #   must have the same value in ours (compared below);
          # - basic vs extended inodes (newer sqfsdiff reports them): an
          #   encoding choice, not content. nixpkgs' `cp -a` keeps hard links
          #   inside a store path, which mksquashfs stores as extended inodes
          #   with a link count; ours has no hard links.
          nixpkgs-equivalence =
            let
              theirs = upstream.portableService args;
              rootFs = [
                "etc"
                "etc/systemd"
                "etc/systemd/system"
                "etc/resolv.conf"
                "etc/machine-id"
                "etc/os-release"
                "proc"
                "sys"
                "dev"
                "run"
                "tmp"
                "var"
                "var/tmp"
                "var/lib"
                "var/cache"
                "var/log"
                "srv"
              ]
              ++ map (u: "etc/systemd/system/${unitName u}") args.units;
              escape = builtins.replaceStrings [ "." ] [ "\\." ];
              unitStoreNames = map (u: escape (baseNameOf "${u}")) args.units;
            in
            pkgs.runCommand "demo-portable-nixpkgs-equivalence"
              {
                nativeBuildInputs = [
                  pkgs.squashfs-tools-ng
                  (squashfsToolsOf pkgs)
                ];
              }
              ''
                status=0
                sqfsdiff -a ${theirs}/demo_1.0.raw -b ${image} > diff.txt || status=$?
                cat diff.txt
                if [ "$status" -gt 1 ]; then echo "sqfsdiff failed ($status)"; exit 1; fi
                grep -v -E \
                  -e '^< /?nix/store/[0-9a-z]{32}-root-fs-scaffold-1\.0(/.*)?$' \
                  -e '^> /?nix/store/(${builtins.concatStringsSep "|" unitStoreNames})(/.*)?$' \
                  -e '^/?(${builtins.concatStringsSep "|" (map escape rootFs)}) has different permissions$' \
                  -e '^regular file /?etc/os-release differs$' \
                  -e ' has an extended type$' -e ' has a basic type$' \
                  diff.txt > unexpected.txt || true
                if [ -s unexpected.txt ]; then
                  echo "unexpected differences between nixpkgs' image and ours:"
                  cat unexpected.txt
                  exit 1
                fi

                # os-release: nixpkgs' keys, same values (quotes removed).
                unsquashfs -no-xattrs -d a ${theirs}/demo_1.0.raw etc/os-release >/dev/null
                unsquashfs -no-xattrs -d b ${image} etc/os-release >/dev/null
                value() {
                  sed -n "s/^$1=//p" "$2" | sed -e 's/^"\(.*\)"$/\1/' -e 's/\\\(.\)/\1/g'
                }
                for key in $(sed -n 's/^\([A-Z_]*\)=.*/\1/p' a/etc/os-release); do
                  if [ "$(value $key a/etc/os-release)" != "$(value $key b/etc/os-release)" ]; then
                    echo "os-release $key: nixpkgs '$(value $key a/etc/os-release)', ours '$(value $key b/etc/os-release)'"
                    exit 1
                  fi
                done
                touch $out
              '';

          # A unit outside the image's prefix ("demox" does not match "demo"
          # by systemd's rule; nixpkgs' hasPrefix lets it through) fails the
          # build with mkportable's message.
          bad-unit-name = expectBuildFailure {
            drv = pkgs.portableService (
              args
              // {
                units = args.units ++ [ (pkgs.writeText "demox.service" "[Service]\nExecStart=/bin/true\n") ];
              }
            );
            messages = [
              "mkportable build:"
              "demox.service"
            ];
          };

          # The demo under systemd-portabled in a NixOS VM, as nixpkgs'
          # nixos/tests/systemd-portabled.nix does it, and the service
          # actually answering.
          portabled-vm = pkgs.testers.runNixOSTest {
            name = "mkportable-portabled";
            nodes.machine =
              { pkgs, ... }:
              {
                environment.systemPackages = [ pkgs.curl ];
              };
            testScript = ''
              machine.succeed("portablectl")
              machine.wait_for_unit("systemd-portabled.service")
              machine.succeed("portablectl inspect ${image} | grep -F 'PORTABLE_PREFIXES=demo'")
              machine.succeed("portablectl attach --now --runtime ${image}")
              machine.wait_for_unit("demo.service")
              machine.wait_for_open_port(8080, "127.0.0.1")
              machine.succeed("curl -sf http://127.0.0.1:8080/ | grep -F 'mkportable demo: it works'")
              machine.succeed("systemctl is-active demo-heartbeat.timer")
              machine.succeed("portablectl detach --now --runtime demo_1.0")
              machine.fail("systemctl status demo.service")
            '';
          };
        }
      );

      devShells = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          default = pkgs.mkShell {
            packages = [
              pkgs.go
              pkgs.gopls
              (squashfsToolsOf pkgs)
              pkgs.squashfs-tools-ng
              pkgs.nixfmt
            ];
          };
        }
      );

      formatter = forAllSystems (system: (upstreamFor system).nixfmt-tree);
    };
}
