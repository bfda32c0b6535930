# The names an Env.Build expression can use (see nixtest.go). The harness
# passes the store paths of the freshly built mkportable and of Debian's static
# busybox; builtins.storePath gives them string context, so derivations that
# use them get them mounted into the sandbox.
{
  mkportablePath,
  busyboxPath,
}:

let
  mkportable = builtins.storePath mkportablePath;
  busybox = builtins.storePath busyboxPath;
  system = builtins.currentSystem;
in
rec {
  inherit mkportable busybox system;
  pkgsLite = import ./pkgs-lite.nix { inherit busybox mkportable system; };
  portableService = import ../../../nix/portable-service.nix { inherit mkportable; };
  demo = import ../../../nix/demo.nix { inherit busybox; };
}
