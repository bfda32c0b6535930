package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pure helpers of the harness, tested without root or a container.

func TestMirrorFromSources(t *testing.T) {
	deb822 := `Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`
	assert.Equal(t, "http://mirror.example/debian", mirrorFromSources(deb822, "bookworm"))

	// Only the security suite: not an archive debootstrap can use.
	security := "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
	assert.Equal(t, "", mirrorFromSources(security, "bookworm"))

	// A third-party repository whose suite merely contains the name.
	assert.Equal(t, "", mirrorFromSources("deb https://vendor.example/apt cloud-sdk-bookworm main\n", "bookworm"))

	oneLine := `# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main contrib
deb http://two.example/debian bookworm main
`
	assert.Equal(t, "http://one.example/debian", mirrorFromSources(oneLine, "bookworm"))
	assert.Equal(t, "", mirrorFromSources("deb http://x.example/debian bookworm contrib\n", "bookworm"),
		"component main is required")
	// deb-src stanzas are not binary archives.
	assert.Equal(t, "", mirrorFromSources("Types: deb-src\nURIs: http://s.example/debian\nSuites: bookworm\nComponents: main\n", "bookworm"))
}

func TestShellQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	args := []string{"plain", "", "two words", "it's", `"dq"`, "$HOME", "`id`", "a\\b", "new\nline", "*", "x;y", "/e2e/images/demo_1.0.raw"}
	var q []string
	for _, a := range args {
		q = append(q, shellQuote(a))
	}
	// The plan's lines are read by sh itself.
	out, err := exec.Command(sh, "-c", `set -- `+strings.Join(q, " ")+`; for a in "$@"; do printf '%s\0' "$a"; done`).Output()
	require.NoError(t, err)
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	assert.Equal(t, args, got)
	assert.Equal(t, "/e2e/images/demo_1.0.raw", shellQuote("/e2e/images/demo_1.0.raw"), "safe words stay readable")
}

func TestParseOSRelease(t *testing.T) {
	text := "Image:\n\t/e2e/images/demo/demo_1.0.raw\n/etc/os-release:\n" +
		"ID=nixos\n" +
		"PRETTY_NAME=\"NixOS\"\n" +
		"PORTABLE_PRETTY_NAME=\"say \\\"hi\\\" for \\$5 \\\\ \\`x\\`\"\n" +
		"SINGLE='a b'\n" +
		"ID=second-is-ignored\n" +
		"demo.service:\n[Service]\nExecStart=/bin/true\nEnvironment=FOO=bar\n"
	m := parseOSRelease(text)
	assert.Equal(t, "nixos", m["ID"])
	assert.Equal(t, "NixOS", m["PRETTY_NAME"])
	assert.Equal(t, "say \"hi\" for $5 \\ `x`", m["PORTABLE_PRETTY_NAME"])
	assert.Equal(t, "a b", m["SINGLE"])
	assert.NotContains(t, m, "ExecStart", "unit file lines are not os-release")
	assert.NotContains(t, m, "Environment")
}

func TestUnitClassification(t *testing.T) {
	enabled := "[Unit]\nDescription=x\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n"
	assert.True(t, hasInstall(enabled))
	assert.True(t, isOneshot(enabled))
	notEnabled := "[Service]\nType=simple\nExecStart=/bin/true\n# [Install]\n# WantedBy=x\n"
	assert.False(t, hasInstall(notEnabled))
	assert.False(t, isOneshot(notEnabled))
	// WantedBy= outside [Install] does not enable anything.
	assert.False(t, hasInstall("[Unit]\nWantedBy=multi-user.target\n[Install]\nAlias=y.service\n"))
}

func TestSlowest(t *testing.T) {
	log := "e2e: started\ne2e: step a rc=0 ms=5: x\ne2e: step b rc=1 ms=700: y\ne2e: step c rc=0 ms=30: z\n"
	assert.Equal(t, "3 steps, 735 ms in all; b 700 ms; c 30 ms", slowest(log, 2))
}
