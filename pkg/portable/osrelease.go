package portable

import (
	"strings"
	"unicode"
)

// OSRelease renders the image's /etc/os-release.
//
// The keys are nixpkgs' (PORTABLE_ID, PORTABLE_PRETTY_NAME, HOME_URL,
// ID=nixos, PRETTY_NAME=NixOS, BUILD_ID=rolling) plus VERSION_ID=<version>,
// which portabled matches extensions against, and PORTABLE_PREFIXES=<pname>,
// which makes portabled (src/portable/portable.c) refuse an attach under any
// other prefix and makes systemd-dissect call the image a portable service.
//
// Values follow os-release(5): anything but [A-Za-z0-9] is double-quoted,
// and inside the quotes the shell specials \ " $ ` are backslash-escaped
// (systemd's env-file parser and a POSIX shell both undo exactly these).
// A description may span lines (Nix's indented strings), but a raw newline
// inside a value is read differently by different os-release parsers, so
// every run of white space (newlines included) becomes one space: no value
// can start a new line, so none can ever introduce a key. Other control
// characters are refused by Validate.
func OSRelease(s *Spec) []byte {
	var b strings.Builder
	kv := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(quoteValue(v))
		b.WriteByte('\n')
	}
	kv("ID", "nixos")
	kv("PRETTY_NAME", "NixOS")
	kv("VERSION_ID", s.Version)
	kv("BUILD_ID", "rolling")
	if s.Homepage != nil && *s.Homepage != "" {
		kv("HOME_URL", *s.Homepage)
	}
	kv("PORTABLE_ID", s.Pname)
	if s.Description != nil && *s.Description != "" {
		kv("PORTABLE_PRETTY_NAME", *s.Description)
	}
	kv("PORTABLE_PREFIXES", s.Pname)
	return []byte(b.String())
}

// quoteValue renders one os-release value.
func quoteValue(v string) string {
	v = strings.Join(strings.FieldsFunc(v, unicode.IsSpace), " ")
	plain := v != ""
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isAlnum(rune(c)) {
			plain = false
			break
		}
	}
	if plain {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '\\', '"', '$', '`':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// ParseOSRelease reads os-release data the way systemd's env-file parser
// does for the subset this package writes and images commonly carry:
// KEY=VALUE lines, comments and blank lines skipped, values unquoted from
// single quotes (literal) or double quotes (with \" \\ \$ \` escapes and
// backslash-newline continuation), and unquoted values with backslash
// escapes. It is used by inspect and by the tests that check OSRelease
// output is read back as written.
func ParseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	s := string(data)
	i := 0
	for i < len(s) {
		// Skip leading white space and blank lines.
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '#' || s[i] == ';' {
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != '\n' {
			i++
		}
		if i >= len(s) || s[i] == '\n' {
			continue // a line without "=": ignored, as systemd does
		}
		key := strings.TrimSpace(s[start:i])
		i++ // '='
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val strings.Builder
		for i < len(s) && s[i] != '\n' {
			c := s[i]
			switch {
			case c == '\'':
				i++
				for i < len(s) && s[i] != '\'' {
					val.WriteByte(s[i])
					i++
				}
				i++
			case c == '"':
				i++
				for i < len(s) && s[i] != '"' {
					if s[i] == '\\' && i+1 < len(s) {
						n := s[i+1]
						switch n {
						case '\n':
							// continuation: both dropped
						case '"', '\\', '$', '`':
							val.WriteByte(n)
						default:
							val.WriteByte('\\')
							val.WriteByte(n)
						}
						i += 2
						continue
					}
					val.WriteByte(s[i])
					i++
				}
				i++
			case c == '\\' && i+1 < len(s):
				if s[i+1] != '\n' {
					val.WriteByte(s[i+1])
				}
				i += 2
			default:
				val.WriteByte(c)
				i++
			}
		}
		if key != "" {
			out[key] = strings.TrimRight(val.String(), " \t\r")
		}
	}
	return out
}
