# The demo portable service, defined once: the flake builds it with nixpkgs'
# busybox, the local tests (test/nix, test/e2e) with Debian's static busybox
# imported into the store. This file returns the *arguments* for
# portableService, so callers can override any of them:
#
#   portableService (import ./demo.nix { busybox = pkgs.busybox; writeText = pkgs.writeText; })
#
# What it runs, and why it suits systemd-portabled:
# - demo.service: `busybox httpd` in the foreground on 127.0.0.1:8080. A
#   portable service shares the host's network namespace under the default
#   profile, so the host reaches it on loopback; 8080 needs no privileges.
#   DynamicUser=yes instead of User=: the image has no /etc/passwd, and a
#   user named in User= would have to exist on the host; systemd allocates a
#   dynamic one (systemd.io/PORTABLE_SERVICES recommends it).
# - demo-heartbeat.timer + demo-heartbeat.service: a periodic health check
#   that fetches the page and logs it to the journal. A timer rather than an
#   Accept=yes socket: `portablectl attach --now` starts every attached unit by
#   name, and a template (demo@.service) cannot be started without an
#   instance, so it would print an error on every attach.
# - symlinks: /srv/www -> the web root in the store; httpd serves /srv/www,
#   so the symlink is resolved inside the image (RootImage=) at run time.
# - contents: a text file that nothing references, shipped as-is.
# All unit names start with "demo" followed by "." or "-", systemd's prefix
# rule for the image name "demo" (src/portable/portable.c).
{
  # A derivation or path with bin/busybox (the applets httpd and wget).
  busybox,
  # name -> text -> store path. builtins.toFile cannot reference derivation
  # outputs, so with nixpkgs' busybox (a derivation) pass pkgs.writeText.
  writeText ? builtins.toFile,
  # The web root: a store directory with index.html.
  www ? builtins.path {
    path = ./demo-www;
    name = "demo-www";
  },
}:

let
  bb = "${busybox}/bin/busybox";

  service = writeText "demo.service" ''
    [Unit]
    Description=mkportable demo web server (busybox httpd on 127.0.0.1:8080)

    [Service]
    ExecStart=${bb} httpd -f -v -p 127.0.0.1:8080 -h /srv/www
    DynamicUser=yes
    Restart=on-failure

    [Install]
    WantedBy=multi-user.target
  '';

  heartbeatService = writeText "demo-heartbeat.service" ''
    [Unit]
    Description=mkportable demo health check (fetches the demo page)
    After=demo.service

    [Service]
    Type=oneshot
    DynamicUser=yes
    # "-": the first run may come before httpd listens; that is logged, not a
    # failed unit.
    ExecStart=-${bb} wget -q -O - http://127.0.0.1:8080/
  '';

  heartbeatTimer = writeText "demo-heartbeat.timer" ''
    [Unit]
    Description=mkportable demo health check every minute

    [Timer]
    OnActiveSec=10s
    OnUnitActiveSec=1min

    [Install]
    WantedBy=timers.target
  '';

  about = writeText "demo-about.txt" ''
    mkportable demo portable service: busybox httpd serving /srv/www on
    127.0.0.1:8080, with a health-check timer.
  '';
in
{
  pname = "demo";
  version = "1.0";
  description = "mkportable demo: busybox httpd on 127.0.0.1:8080";
  homepage = "https://github.com/mkportable/mkportable";
  units = [
    service
    heartbeatService
    heartbeatTimer
  ];
  symlinks = [
    {
      object = www;
      symlink = "/srv/www";
    }
  ];
  contents = [ about ];
}
