package xz

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGuess(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 1<<20)
	rng.Read(random)
	assert.Equal(t, None, Guess(random, X86, ARM64), "random data is not code")
	text := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog.\n"), 20000)
	assert.Equal(t, None, Guess(text, X86, ARM64))
	assert.Equal(t, None, Guess(nil, X86, ARM64))
	assert.Zero(t, X86Density(nil))

	// Planted x86 calls: 4 per KiB is below the threshold, 8 above.
	calls := make([]byte, 64<<10)
	for i := 0; i+5 <= len(calls); i += 256 {
		copy(calls[i:], []byte{0xE8, 0x10, 0x20, 0x00, 0x00})
	}
	assert.InDelta(t, 4.0, X86Density(calls), 0.01)
	assert.Equal(t, None, Guess(calls, X86))
	for i := 128; i+5 <= len(calls); i += 256 {
		copy(calls[i:], []byte{0xE9, 0x10, 0x20, 0xFF, 0xFF})
	}
	assert.InDelta(t, 8.0, X86Density(calls), 0.01)
	assert.Equal(t, X86, Guess(calls, X86))
	assert.Equal(t, None, Guess(calls, ARM64), "only allowed filters are chosen")

	// AArch64 returns: exact words, aligned.
	arm := make([]byte, 64<<10)
	for i := 0; i < 16; i++ {
		binary.LittleEndian.PutUint32(arm[i*1024:], 0xD65F03C0)
	}
	binary.LittleEndian.PutUint32(arm[4609:], 0xD65F03C0) // unaligned: not counted
	assert.Equal(t, 16, ARM64Returns(arm))
	assert.Equal(t, ARM64, Guess(arm, X86, ARM64))
	assert.Equal(t, None, Guess(arm, X86))

	// The test binary's code section: x86-64 code on amd64.
	if runtime.GOARCH == "amd64" {
		exe, err := os.Executable()
		require.NoError(t, err)
		bin, err := os.ReadFile(exe)
		require.NoError(t, err)
		code := bin[len(bin)/4 : len(bin)/4+1<<20]
		assert.Greater(t, X86Density(code), 5.0)
		assert.Equal(t, X86, Guess(code, X86, ARM64))
	}
}

func BenchmarkGuess(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	buf := make([]byte, 1<<20)
	rng.Read(buf)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		Guess(buf, X86, ARM64)
	}
}
