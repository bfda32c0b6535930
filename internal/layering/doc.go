// Package layering holds a test that enforces the project's package layering
// (design: "pkg/squashfs imports only the standard library and codecs"), so
// the reusable SquashFS writer never grows a dependency on Nix or systemd.
package layering
