package portable

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unitFile writes a unit file named name in a fresh directory and returns its path.
func unitFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func goodSpec(t *testing.T) *Spec {
	return &Spec{
		Pname:   "demo",
		Version: "1.0",
		Units:   []string{unitFile(t, "demo.service", "[Service]\nExecStart=/bin/true\n")},
	}
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var p Problems
	require.True(t, errors.As(err, &p), "want Problems, got %v", err)
	var out []string
	for _, e := range p {
		assert.ErrorIs(t, e, ErrInvalid)
		out = append(out, e.Error())
	}
	return out
}

func TestValidateGood(t *testing.T) {
	require.NoError(t, Validate(goodSpec(t), Options{}))
}

// systemd's own examples (docs/PORTABLE_SERVICES.md, portable.c prefix_match).
func TestValidateUnitNames(t *testing.T) {
	for _, name := range []string{"demo.service", "demo-web.socket", "demo@.service", "demo.timer", "demo.path", "demo.target", "demo@inst.service", "demo.foo.service"} {
		s := goodSpec(t)
		s.Units = []string{unitFile(t, name, "[Unit]\n")}
		assert.NoError(t, Validate(s, Options{}), name)
	}
	for name, why := range map[string]string{
		"demox.service":  "systemd's prefix rule",
		"demo_x.service": "systemd's prefix rule",
		"demo.mount":     "portabled only takes",
		"demo.slice":     "portabled only takes",
		"demo":           "not a valid systemd unit name",
		"demo.bogus":     "not a valid systemd unit name",
		"@demo.service":  "not a valid systemd unit name",
		"demo!.service":  "not a valid systemd unit name",
		"other.service":  "systemd's prefix rule",
		"de.service":     "systemd's prefix rule",
	} {
		s := goodSpec(t)
		s.Units = []string{unitFile(t, name, "[Unit]\n")}
		ps := problems(t, Validate(s, Options{}))
		require.Len(t, ps, 1, name)
		assert.Contains(t, ps[0], name)
		assert.Contains(t, ps[0], why, name)
	}
}

func TestUnitNameValidMatchesSystemd(t *testing.T) {
	// unit_name_is_valid(UNIT_NAME_ANY) cases.
	assert.True(t, UnitNameValid("a.service"))
	assert.True(t, UnitNameValid("a@b@c.service"), "later '@' belong to the instance")
	assert.True(t, UnitNameValid(`a\x2d:_.service`))
	assert.False(t, UnitNameValid(".service"), "empty prefix")
	assert.False(t, UnitNameValid("a.service."), "empty type")
	long := make([]byte, 256-len(".service"))
	for i := range long {
		long[i] = 'a'
	}
	assert.False(t, UnitNameValid(string(long)+".service"), "256 bytes is UNIT_NAME_MAX")
	assert.True(t, UnitNameValid(string(long[1:])+".service"), "255 bytes is fine")
}

func TestValidateUnitFiles(t *testing.T) {
	s := goodSpec(t)
	dir := filepath.Join(t.TempDir(), "demo-dir.service")
	require.NoError(t, os.Mkdir(dir, 0o755))
	s.Units = append(s.Units,
		dir,
		unitFile(t, "demo-empty.service", ""),
		filepath.Join(t.TempDir(), "demo-missing.service"),
		unitFile(t, "demo.service", "[Unit]\n"), // duplicate name
	)
	ps := problems(t, Validate(s, Options{}))
	require.Len(t, ps, 4, "%q", ps)
	assert.Contains(t, ps[0], "demo-dir.service is a directory")
	assert.Contains(t, ps[1], "demo-empty.service is empty")
	assert.Contains(t, ps[2], "demo-missing.service")
	assert.Contains(t, ps[2], "no such file")
	assert.Contains(t, ps[3], "unit demo.service: duplicate unit name")
}

func TestValidatePnameVersion(t *testing.T) {
	for pname, want := range map[string]string{
		"":        "pname: missing",
		"demo_x":  "contains '_'",
		"de mo":   "not allowed",
		"démo":    "not allowed",
		"de/mo":   "not allowed",
		".demo":   "must not start with '.'",
		"..":      "not a usable image name",
		"demo:pm": "not allowed",
	} {
		s := goodSpec(t)
		s.Pname = pname
		s.Units = []string{unitFile(t, "x.service", "x")} // the unit's own problem comes after pname's
		ps := problems(t, Validate(s, Options{}))
		assert.Contains(t, ps[0], want, "pname %q", pname)
	}
	for version, want := range map[string]string{
		"":        "version: missing",
		"1/2":     "contains '/'",
		"1 2":     "white space",
		"1\t2":    "white space",
		"1\n2":    "white space",
		"1\u00a0": "white space",
	} {
		s := goodSpec(t)
		s.Version = version
		ps := problems(t, Validate(s, Options{}))
		require.Len(t, ps, 1, "version %q", version)
		assert.Contains(t, ps[0], want, "version %q", version)
	}
	for _, ok := range []string{"1.0", "unstable-2024-01-01", "1.0_beta", "2.0+git"} {
		s := goodSpec(t)
		s.Version = ok
		assert.NoError(t, Validate(s, Options{}), ok)
	}
}

func TestValidateSymlinks(t *testing.T) {
	const obj = "/nix/store/l0pickwlklh330vakq16c84zak6p890p-demo-tools-1.0/bin/demo-hello"
	for _, ok := range []string{"/usr/bin/demo", "/bin", "/nix/var/nix/profiles/demo", "/var/lib/demo", "/etc/demo.conf", "/etc/systemd/system/demo.service.d"} {
		s := goodSpec(t)
		s.Symlinks = []Symlink{{Object: obj, Symlink: ok}}
		assert.NoError(t, Validate(s, Options{}), ok)
	}
	for link, want := range map[string]string{
		"usr/bin/x":                        "must be absolute",
		"/usr/../etc/passwd":               `".."`,
		"/usr/./bin":                       `".."`,
		"/usr//bin":                        "not clean",
		"/usr/bin/":                        "not clean",
		"/":                                "image root",
		"/nix/store/x":                     "/nix/store holds the closure",
		"/nix":                             "/nix/store holds the closure",
		"/etc/os-release":                  "collides with /etc/os-release",
		"/etc/resolv.conf":                 "collides with /etc/resolv.conf",
		"/etc":                             "collides with /etc",
		"/var":                             "collides with /var",
		"/proc":                            "collides with /proc",
		"/etc/machine-id/x":                "collides with /etc/machine-id",
		"/etc/systemd/system/demo.service": "collides with /etc/systemd/system/demo.service",
	} {
		s := goodSpec(t)
		s.Symlinks = []Symlink{{Object: obj, Symlink: link}}
		ps := problems(t, Validate(s, Options{}))
		require.Len(t, ps, 1, link)
		assert.Contains(t, ps[0], want, link)
	}

	s := goodSpec(t)
	s.Symlinks = []Symlink{
		{Object: obj, Symlink: "/usr/bin"},
		{Object: obj, Symlink: "/usr/bin/x"},
		{Object: obj, Symlink: "/usr/bin"},
		{Object: "relative/x", Symlink: "/opt/x"},
		{Object: "/nix/store/not-a-store-path/x", Symlink: "/opt/y"},
	}
	ps := problems(t, Validate(s, Options{}))
	require.Len(t, ps, 4, "%q", ps)
	assert.Contains(t, ps[0], "symlinks[0] and symlinks[1] would have to be a directory")
	assert.Contains(t, ps[1], "same path as symlinks[0]")
	assert.Contains(t, ps[2], "object must be an absolute path")
	assert.Contains(t, ps[3], "not a valid store path")
}

func TestValidateCompression(t *testing.T) {
	for _, ok := range [][2]string{{"", ""}, {"xz -Xdict-size 100%", "1M"}, {"zstd -Xcompression-level 19", "128K"}, {"gzip", "4096"}, {"lz4 -Xhc", "64K"}} {
		s := goodSpec(t)
		s.Compression, s.BlockSize = ok[0], ok[1]
		assert.NoError(t, Validate(s, Options{}), "%q", ok)
	}
	for _, bad := range [][3]string{
		{"lzo", "1M", "squash-compression"},
		{"xz -Xfoo", "1M", "-Xfoo"},
		{"xz", "2M", "squash-block-size"},
		{"xz", "3000", "squash-block-size"},
	} {
		s := goodSpec(t)
		s.Compression, s.BlockSize = bad[0], bad[1]
		ps := problems(t, Validate(s, Options{}))
		require.NotEmpty(t, ps)
		assert.Contains(t, ps[0], bad[2], "%q", bad)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	desc := "bell\a"
	s := &Spec{
		Pname:       "my_app",
		Version:     "1 0",
		Units:       []string{unitFile(t, "other.mount", "x")},
		Description: &desc,
		Contents:    []string{"/usr/lib"},
		Compression: "rar",
		BlockSize:   "7",
		Symlinks:    []Symlink{{Object: "/nix/store/x", Symlink: "../up"}},
	}
	ps := problems(t, Validate(s, Options{}))
	assert.Len(t, ps, 8, "%q", ps)
	joined := Problems{}
	for _, p := range ps {
		joined = append(joined, errors.New(p))
	}
	assert.Contains(t, joined.Error(), "8 problems:")
}

func TestValidateDescriptionControlChars(t *testing.T) {
	s := goodSpec(t)
	d := "multi\nline\ttext is fine"
	s.Description = &d
	require.NoError(t, Validate(s, Options{}))
	d2 := "escape \x1b[31m red"
	s.Description = &d2
	ps := problems(t, Validate(s, Options{}))
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0], "description: control character U+001B")

	d3 := "C1 \u009b31m too"
	s.Description = &d3
	ps = problems(t, Validate(s, Options{}))
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0], "U+009B")
}
