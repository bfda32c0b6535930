# Builds a derivation's builder expecting it to FAIL, and succeeds when it
# does and its log contains every expected message. The flake's checks and
# the local tests use it to prove that a bad portableService call fails with
# mkportable's own message.
#
# Why not nixpkgs' testers.testBuildFailure: it needs overrideAttrs (stdenv)
# and its script reads $out and $outputs from the environment, which Nix only
# exports for derivations without structured attributes. Here the original
# attributes are kept unchanged (mkportable still reads them from
# .attrs.json); only the builder becomes busybox sh, which runs the original
# builder and inverts its verdict. The output path comes from
# builtins.placeholder, which Nix rewrites in args.
{
  # A derivation or path with bin/busybox (sh, grep, cat, mkdir, cp).
  busybox,
}:

{
  # The derivation whose build must fail (plain `derivation`, e.g. a
  # portableService result).
  drv,
  # Strings that must each occur in the failed build's output.
  messages ? [ ],
  name ? "${drv.name}-fails",
}:

let
  quote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
  bb = "${busybox}/bin/busybox";
  original = drv.drvAttrs;
  command = builtins.concatStringsSep " " (map quote ([ original.builder ] ++ (original.args or [ ])));
  out = builtins.placeholder "out";
  checks = builtins.concatStringsSep "\n" (
    map (m: ''
      if ! ${bb} grep -F -q -e ${quote m} "$log"; then
        echo "expect-build-failure: the log lacks: "${quote m} >&2
        exit 1
      fi
    '') messages
  );
in
derivation (
  original
  // {
    inherit name;
    builder = bb;
    args = [
      "sh"
      "-euc"
      ''
        log="$NIX_BUILD_TOP/build.log"
        code=0
        ${command} >"$log" 2>&1 || code=$?
        ${bb} cat "$log"
        if [ "$code" -eq 0 ]; then
          echo "expect-build-failure: the build succeeded, but a failure was expected" >&2
          exit 1
        fi
        ${checks}
        ${bb} mkdir -p ${out}
        ${bb} cp "$log" ${out}/build.log
        echo "$code" >${out}/exit-code
      ''
    ];
  }
)
