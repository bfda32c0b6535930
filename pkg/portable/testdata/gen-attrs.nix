# Captures the structured attrs a portable-service derivation hands its
# builder, as Nix 2.8 writes them (see gen-attrs.sh, which runs this).
#
# Everything in the closure is a small text tree built by busybox, so the
# test can recreate the exact store contents from testdata/store and even
# verify the recorded NAR hashes; busybox itself is only the builder.
{ bbdir }:
let
  system = builtins.currentSystem;
  busybox = builtins.path { path = bbdir; name = "busybox-static"; };
  bb = "${busybox}/bin/busybox";
  # run: a derivation whose builder is busybox sh with the given script.
  run = name: script: derivation {
    inherit name system;
    builder = bb;
    args = [ "sh" "-e" "-c" script ];
  };
  www = run "demo-www" ''
    ${bb} mkdir -p $out/img
    ${bb} printf '<h1>demo</h1>\n' > $out/index.html
    ${bb} printf 'GIF89a' > $out/img/logo.gif
    ${bb} ln -s index.html $out/default.html
  '';
  tools = run "demo-tools-1.0" ''
    ${bb} mkdir -p $out/bin $out/share/doc
    ${bb} printf '#!/bin/sh\necho serving ${www}\n' > $out/bin/demo-hello
    ${bb} chmod 755 $out/bin/demo-hello
    ${bb} printf 'docs\n' > $out/share/doc/README
    ${bb} ln -s ../share/doc/README $out/bin/readme
    ${bb} ln -s $out/bin/demo-hello $out/bin/self-link
  '';
  service = run "demo.service" ''
    ${bb} printf '[Unit]\nDescription=demo\n\n[Service]\nExecStart=${tools}/bin/demo-hello\n' > $out
  '';
  socket = run "demo-web.socket" ''
    ${bb} printf '[Socket]\nListenStream=127.0.0.1:8080\n' > $out
  '';
  units = [ service socket ];
  contents = [ tools ];
  symlinks = [
    { object = "${www}/index.html"; symlink = "/srv/www/index.html"; }
    { object = "${tools}/bin/demo-hello"; symlink = "/usr/bin/demo-hello"; }
    { object = "${tools}"; symlink = "/nix/var/nix/profiles/demo"; }
  ];
in derivation {
  name = "demo-attrs";
  inherit system;
  __structuredAttrs = true;
  builder = bb;
  # No $out in structured-attrs mode: the output path is in .attrs.sh.
  args = [ "sh" "-e" "-c" ''
    out=$(${bb} sed -n "s/.*\['out'\]='\([^']*\)'.*/\1/p" $NIX_BUILD_TOP/.attrs.sh)
    ${bb} cp $NIX_BUILD_TOP/.attrs.json $out
  '' ];
  pname = "demo";
  version = "1.0";
  inherit units contents symlinks;
  description = "Demo \"portable\" service: $HOME `id` \\ done";
  homepage = "https://example.org/demo?a=1&b=2";
  squash-compression = "xz -Xdict-size 100%";
  squash-block-size = "1M";
  exportReferencesGraph.closure = units ++ contents ++ [ www tools ];
}
