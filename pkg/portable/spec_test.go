package portable

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeRealAttrs(t *testing.T) {
	s, err := DecodeFile("testdata/real-attrs.json")
	require.NoError(t, err)
	assert.Equal(t, "demo", s.Pname)
	assert.Equal(t, "1.0", s.Version)
	require.Len(t, s.Units, 2)
	assert.Equal(t, "demo.service", UnitName(s.Units[0]))
	assert.Equal(t, "demo-web.socket", UnitName(s.Units[1]))
	require.NotNil(t, s.Description)
	assert.Equal(t, "Demo \"portable\" service: $HOME `id` \\ done", *s.Description)
	require.NotNil(t, s.Homepage)
	require.Len(t, s.Symlinks, 3)
	assert.Equal(t, "/usr/bin/demo-hello", s.Symlinks[1].Symlink)
	assert.Equal(t, "xz -Xdict-size 100%", s.Compression)
	assert.Equal(t, "1M", s.BlockSize)
	require.Len(t, s.Graph, 4, "exportReferencesGraph entries, extra fields ignored")
	assert.NotEmpty(t, s.Graph[0].NarHash)
	assert.True(t, strings.HasPrefix(s.Out, "/nix/store/"), s.Out)
	assert.False(t, s.VerifyNarHash)
}

func TestDecodeMinimalAndNixKeys(t *testing.T) {
	s, err := Decode(strings.NewReader(`{
		"pname": "demo", "version": "1", "units": ["/x/demo.service"],
		"description": null, "homepage": null,
		"name": "demo-img-1", "system": "x86_64-linux", "builder": "/b", "args": ["build"],
		"__structuredAttrs": true, "preferLocalBuild": true, "allowSubstitutes": false,
		"exportReferencesGraph": {"closure": []}, "closure": [],
		"outputs": {"out": "/nix/store/00000000000000000000000000000000-out"},
		"verifyNarHash": true, "requiredSystemFeatures": []
	}`))
	require.NoError(t, err)
	assert.Nil(t, s.Description)
	assert.Nil(t, s.Homepage)
	assert.NotNil(t, s.Graph, "an empty graph is still a graph")
	assert.True(t, s.VerifyNarHash)
	assert.Equal(t, "/nix/store/00000000000000000000000000000000-out", s.Out)
	assert.Equal(t, "demo_1.raw", s.ImageFileName())
}

func TestDecodeUnknownKeys(t *testing.T) {
	_, err := Decode(strings.NewReader(`{"pname": "demo", "verifyNarHsh": true, "zzz": 1}`))
	require.ErrorIs(t, err, ErrSpec)
	msg := err.Error()
	assert.Contains(t, msg, `unknown key "verifyNarHsh" (did you mean "verifyNarHash"?)`)
	assert.Contains(t, msg, `unknown key "zzz"`)
	assert.NotContains(t, msg, `"zzz" (did you mean`)
}

func TestDecodeWrongTypes(t *testing.T) {
	for _, tc := range []struct{ json, key string }{
		{`{"pname": 3}`, "pname"},
		{`{"units": "/nix/store/x"}`, "units"},
		{`{"symlinks": [{"object": "/a", "symlink": "/b", "extra": 1}]}`, "symlinks"},
		{`{"symlinks": [{"object": "/a", "link": "/b"}]}`, "symlinks"},
		{`{"verifyNarHash": "yes"}`, "verifyNarHash"},
		{`{"outputs": {"out": 1}}`, "outputs"},
		{`{"closure": {"path": "/nix/store/x"}}`, "closure"},
	} {
		_, err := Decode(strings.NewReader(tc.json))
		require.ErrorIs(t, err, ErrSpec, tc.json)
		assert.Contains(t, err.Error(), `key "`+tc.key+`"`, tc.json)
	}
}

func TestDecodeBrokenJSON(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `null`, `{"pname": "a"} {}`, `{"pname": "a",}`} {
		_, err := Decode(strings.NewReader(in))
		assert.ErrorIs(t, err, ErrSpec, "%q", in)
	}
}

func TestUnitName(t *testing.T) {
	assert.Equal(t, "demo.service", UnitName("/nix/store/5syradryxm7xl99akwi9f0yx6dhfhmnr-demo.service"))
	assert.Equal(t, "demo.service", UnitName("/nix/store/5syradryxm7xl99akwi9f0yx6dhfhmnr-pkg/lib/systemd/system/demo.service"))
	assert.Equal(t, "demo.service", UnitName("./units/demo.service"))
	assert.Equal(t, "demo.service", UnitName("demo.service"))
}
