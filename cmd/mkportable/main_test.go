package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunDispatch(t *testing.T) {
	t.Setenv("NIX_ATTRS_JSON_FILE", "")
	t.Setenv("NIX_BUILD_TOP", "")
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errb), "no command")
	assert.Contains(t, errb.String(), "usage: mkportable COMMAND")
	for _, name := range []string{"build", "inspect", "pack"} {
		assert.Contains(t, errb.String(), "\n  "+name+" ", "usage lists %s", name)
	}

	errb.Reset()
	assert.Equal(t, 2, run([]string{"frobnicate"}, &out, &errb))
	assert.Contains(t, errb.String(), `unknown command "frobnicate"`)

	errb.Reset()
	assert.Equal(t, 2, run([]string{"--help"}, &out, &errb))
	assert.NotContains(t, errb.String(), "unknown command", "help is not an unknown command")

	// Errors are prefixed with the command, usage errors exit 2.
	errb.Reset()
	assert.Equal(t, 2, run([]string{"pack", "only-one-arg"}, &out, &errb))
	assert.Contains(t, errb.String(), "mkportable pack: usage: want SRC_DIR and OUT_FILE")
}

func TestIsNixBuilder(t *testing.T) {
	t.Setenv("NIX_ATTRS_JSON_FILE", "")
	t.Setenv("NIX_BUILD_TOP", "")
	assert.False(t, isNixBuilder())
	t.Setenv("NIX_BUILD_TOP", "/build")
	assert.True(t, isNixBuilder(), "a derivation's builder runs with NIX_BUILD_TOP set")
}
