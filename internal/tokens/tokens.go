// Package tokens estimates how many tokens a text holds when the server does
// not say. It is an approximation (docs/metrics.md §2, source "estimate"): real
// counts come from the server's usage object or the engine's own counters.
//
// The rule mimics a BPE tokenizer on English text and code: every run of
// letters or digits costs one token per started 6 bytes (so common words are
// one token, long identifiers several), every punctuation or symbol
// character is one token, whitespace is free (it attaches to the next word),
// and every non-ASCII rune is one token. The simulated engine emits words that
// this rule counts exactly, so tests can check the scaling logic precisely.
package tokens

import "unicode/utf8"

// WordBytes is how many bytes of a letter/digit run one token covers.
const WordBytes = 6

// Estimate returns the estimated number of tokens in s (0 for empty or
// all-whitespace text).
func Estimate(s string) int {
	n, run := 0, 0
	flush := func() {
		if run > 0 {
			n += (run + WordBytes - 1) / WordBytes
			run = 0
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			flush()
			_, size := utf8.DecodeRuneInString(s[i:])
			n++
			i += size
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			run++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		default:
			flush()
			n++
		}
		i++
	}
	flush()
	return n
}
