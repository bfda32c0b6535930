package roundtrip

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/test/treegen"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from the current writer")

const goldenFile = "testdata/golden.txt"

// goldenHeader records how the hashes were made, in the file itself.
const goldenHeader = `# SHA-256 of the image of treegen.Small(1) packed by
#   mkportable pack --quiet --comp COMP -b 4K SRC OUT
# (mtime 0, root-owned; the tree is generated afresh, so the hashes also pin
# that the image does not depend on the source's times, owners or inodes).
# Regenerate after an intended format change, and say why in the commit:
#   go test ./test/roundtrip -run Golden -update
`

// TestGolden pins the exact bytes of a small tree's image per compressor:
// any change to the writer's output shows up here and must be deliberate.
func TestGolden(t *testing.T) {
	if os.Getenv(packerEnv) == "mksquashfs" {
		t.Skip("golden hashes pin mkportable's bytes, not mksquashfs's")
	}
	f := tree(t, "small", treegen.Small(1))
	ref := reference(t, f.dir, packOpts{BlockSize: "4K"})
	got := map[string]string{}
	for _, comp := range compressors {
		img := pack(t, f.dir, packOpts{Comp: comp, BlockSize: "4K"})
		got[comp] = fileSHA256(t, img)
		// A pinned hash is only worth having for a correct image.
		checkSqfsdiff(t, img, ref)
	}
	if *update {
		var b strings.Builder
		b.WriteString(goldenHeader)
		for _, comp := range compressors {
			fmt.Fprintf(&b, "%s %s\n", comp, got[comp])
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(goldenFile), 0o755))
		require.NoError(t, os.WriteFile(goldenFile, []byte(b.String()), 0o644))
		t.Logf("wrote %s", goldenFile)
		return
	}
	want := readGolden(t)
	for _, comp := range compressors {
		assert.Equal(t, want[comp], got[comp], "image hash for --comp %s changed (intended? run with -update)", comp)
	}
}

func readGolden(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(goldenFile)
	require.NoError(t, err, "no golden hashes yet: go test ./test/roundtrip -run Golden -update")
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.Len(t, fields, 2, "bad line in %s: %q", goldenFile, line)
		out[fields[0]] = fields[1]
	}
	require.NoError(t, sc.Err())
	return out
}
