package lzma

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExtendMatchesByteLoop checks extend's word compares, including the
// final word that overlaps bytes before l, against comparing byte by byte.
// The parser calls extend with an l whose earlier bytes differ (a literal
// between a match and rep0), so that case is covered too.
func TestExtendMatchesByteLoop(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	buf := make([]byte, 600)
	for trial := 0; trial < 20000; trial++ {
		// Few distinct bytes and a copied stretch make long common
		// prefixes frequent.
		for i := range buf {
			buf[i] = byte(rng.Intn(3))
		}
		b := rng.Intn(200)
		a := b + 1 + rng.Intn(100)
		copy(buf[a:a+rng.Intn(300)], buf[b:])
		limit := rng.Intn(len(buf) - a + 1)
		l := 0
		if limit > 0 {
			l = rng.Intn(limit + 1)
		}
		want := l
		for want < limit && buf[a+want] == buf[b+want] {
			want++
		}
		require.Equal(t, want, extend(buf, a, b, l, limit), "a=%d b=%d l=%d limit=%d", a, b, l, limit)
	}
}
