package layering

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/mkportable/mkportable/"

// allowed lists, per package, the non-standard-library packages its whole
// dependency graph may contain (prefix match).
var allowed = map[string][]string{
	// The SquashFS library and its codecs: codecs only, nothing of Nix,
	// systemd, the portable-service model or the command.
	"pkg/squashfs/...": {
		module + "pkg/squashfs",
		module + "pkg/xz",
		module + "pkg/lzma",
		module + "pkg/zstd",
		module + "pkg/deflate",
		"github.com/klauspost/compress",
		"github.com/pierrec/lz4/",
		"github.com/ulikunitz/xz",
	},
	"pkg/xz":   {module + "pkg/xz", "github.com/ulikunitz/xz"},
	"pkg/lzma": {module + "pkg/lzma"},
	// Our zstd encoder borrows only klauspost's Huffman coder (huff0 writes
	// the literals section's format) and decodes with klauspost in tests.
	"pkg/zstd": {module + "pkg/zstd", "github.com/klauspost/compress/"},
	// The closure knows Nix store paths and NARs, not images.
	"pkg/closure": {module + "pkg/closure", "github.com/nix-community/go-nix/"},
}

func TestLayering(t *testing.T) {
	for pattern, allow := range allowed {
		t.Run(pattern, func(t *testing.T) {
			// Deps of the packages themselves, not of their tests.
			out, err := exec.Command("go", "list", "-deps",
				"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
				"../../"+pattern).Output()
			require.NoError(t, err, "go list %s", pattern)
			deps := strings.Fields(string(out))
			require.NotEmpty(t, deps, "go list found no packages for %s", pattern)
			for _, dep := range deps {
				ok := false
				for _, a := range allow {
					ok = ok || strings.HasPrefix(dep, a)
				}
				assert.True(t, ok, "%s must not depend on %s", pattern, dep)
			}
		})
	}
}
