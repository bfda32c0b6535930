package portable

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

// FuzzOSRelease: whatever description and homepage Validate lets through,
// os-release reads back with exactly the expected keys, each value intact
// (white space runs folded to one space) - no value can inject a key.
func FuzzOSRelease(f *testing.F) {
	for _, s := range []string{
		"plain", "Demo \"portable\" service: $HOME `id` \\ done", "a\nID=evil", "it's $(reboot) \\",
		"\\\n", "\"", "'", "trailing backslash\\", "tab\there", "ünïcödé – ok", "", " ", "\u2028ID=x",
		"#comment", "x=y", "${HOME}", "\\\"\\$\\`",
	} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, desc, home string) {
		s := &Spec{Pname: "demo", Version: "1.0", Description: &desc, Homepage: &home}
		var p Problems
		if err := Validate(s, Options{}); errors.As(err, &p) {
			for _, e := range p {
				if strings.Contains(e.Error(), "control character") || strings.Contains(e.Error(), "UTF-8") {
					return // refused, never written
				}
			}
		}
		got := ParseOSRelease(OSRelease(s))
		want := map[string]string{
			"ID": "nixos", "PRETTY_NAME": "NixOS", "BUILD_ID": "rolling",
			"VERSION_ID": "1.0", "PORTABLE_ID": "demo", "PORTABLE_PREFIXES": "demo",
		}
		fold := func(v string) string { return strings.Join(strings.FieldsFunc(v, unicode.IsSpace), " ") }
		if desc != "" {
			want["PORTABLE_PRETTY_NAME"] = fold(desc)
		}
		if home != "" {
			want["HOME_URL"] = fold(home)
		}
		if len(got) != len(want) {
			t.Fatalf("keys: got %q, want %q", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: got %q, want %q", k, got[k], v)
			}
		}
	})
}

// FuzzDecode: arbitrary attrs never panic the decoder, and every error
// wraps ErrSpec.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"pname": "demo", "version": "1", "units": ["/nix/store/x-demo.service"]}`,
		`{"symlinks": [{"object": "/a", "symlink": "/b"}], "closure": [{"path": "/nix/store/x", "references": []}]}`,
		`{"outputs": {"out": "/x"}, "description": null}`, `[]`, `null`, `{`, `{"a": 1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Decode(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("error does not wrap ErrSpec: %v", err)
			}
			return
		}
		if s == nil {
			t.Fatal("nil spec without error")
		}
	})
}
