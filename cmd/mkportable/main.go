// Command mkportable writes systemd portable service images (SquashFS) from
// Nix closures, and SquashFS images from directories.
//
//	mkportable pack [flags] SRC_DIR OUT_FILE
//	mkportable build [flags]            (also: the builder of a Nix derivation)
//	mkportable inspect [--json] IMAGE.raw
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand: run gets the arguments after the subcommand name.
type command struct {
	run     func(args []string, stdout, stderr io.Writer) error
	summary string
}

var commands = map[string]command{
	"pack":    {runPack, "pack a directory into a SquashFS image (like mksquashfs -all-root)"},
	"build":   {runBuild, "build a portable service image (Nix builder, or from flags)"},
	"inspect": {runInspect, "show an image's os-release, units and store paths; check it as systemd would"},
	"version": {runVersion, "print mkportable's version"},
}

// version is stamped at link time (nix/package.nix: -X main.version=...).
var version = "dev"

func runVersion(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: version takes no arguments", errUsage)
	}
	_, err := fmt.Fprintf(stdout, "mkportable %s\n", version)
	return err
}

// errUsage marks errors that come from bad command-line use; main prints the
// usage after them.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	name := ""
	if len(args) > 0 {
		name, args = args[0], args[1:]
	} else if isNixBuilder() {
		// Invoked as a derivation's builder without arguments.
		name = "build"
	}
	cmd, ok := commands[name]
	if !ok {
		if name == "--version" {
			return run([]string{"version"}, stdout, stderr)
		}
		if name != "" && name != "help" && name != "-h" && name != "--help" {
			fmt.Fprintf(stderr, "mkportable: unknown command %q\n", name)
		}
		usage(stderr)
		return 2
	}
	if err := cmd.run(args, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "mkportable %s: %v\n", name, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// isNixBuilder reports whether the process runs as a Nix builder with
// structured attrs.
func isNixBuilder() bool {
	return os.Getenv("NIX_ATTRS_JSON_FILE") != "" || os.Getenv("NIX_BUILD_TOP") != ""
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: mkportable COMMAND [flags] [args]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-8s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun 'mkportable COMMAND -h' for a command's flags.\n")
	fmt.Fprint(w, b.String())
}
