package gguf

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// byteRune is GPT-2's bytes_to_unicode: each byte as the printable rune a
// byte-level BPE vocabulary spells it with.
var byteRune = func() [256]rune {
	var m [256]rune
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}()

// countBPE counts text as a byte-level BPE tokenizer does: the GPT-2
// pre-split (contractions, letters, digits, other symbols, whitespace; a
// single space joins the piece after it), each piece spelled with
// byteRune, then the adjacent pair of lowest merge rank merged first until
// none is a merge.
func (t *Tokenizer) countBPE(text string) int {
	n := 0
	for _, piece := range t.preSplit(text) {
		n += t.bpe(piece)
	}
	return n
}

// bpe counts one pre-split piece.
func (t *Tokenizer) bpe(piece string) int {
	var b strings.Builder
	for i := 0; i < len(piece); i++ {
		b.WriteRune(byteRune[piece[i]])
	}
	word := b.String()
	if _, ok := t.vocab[word]; ok {
		return 1
	}
	var parts []string
	for _, r := range word {
		parts = append(parts, string(r))
	}
	for len(parts) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(parts); i++ {
			if r, ok := t.merges[parts[i]+" "+parts[i+1]]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		parts[at] += parts[at+1]
		parts = append(parts[:at+1], parts[at+2:]...)
	}
	return len(parts)
}

// preSplit splits text as GPT-2's pattern does:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with digits in runs of at most digitGroup when the model's pre-split
// says so (llama 3, Qwen 2).
func (t *Tokenizer) preSplit(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		start := i
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\'' {
			rest := s[i+1:]
			matched := false
			for _, c := range []string{"re", "ve", "ll", "s", "t", "m", "d"} {
				if strings.HasPrefix(rest, c) {
					out = append(out, s[i:i+1+len(c)])
					i += 1 + len(c)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		// An optional single space before a letter, digit or symbol run.
		j := i
		if r == ' ' && i+1 < len(s) {
			r2, _ := utf8.DecodeRuneInString(s[i+1:])
			if !unicode.IsSpace(r2) {
				j, r = i+1, r2
				_, n = utf8.DecodeRuneInString(s[j:])
			}
		}
		switch {
		case unicode.IsLetter(r):
			i = runEnd(s, j, unicode.IsLetter, 0)
		case unicode.IsNumber(r):
			i = runEnd(s, j, unicode.IsNumber, t.digitGroup)
		case !unicode.IsSpace(r):
			i = runEnd(s, j, func(r rune) bool { return !unicode.IsSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r) }, 0)
		default:
			// Whitespace: all of it, but the last space when a non-space
			// follows (it joins the next piece).
			end := runEnd(s, i, unicode.IsSpace, 0)
			if end < len(s) && end-i > 1 {
				last, size := utf8.DecodeLastRuneInString(s[i:end])
				if last == ' ' {
					end -= size
				}
			}
			i = end
		}
		if i == start { // cannot happen; never loop forever
			i += n
		}
		out = append(out, s[start:i])
	}
	return out
}

// runEnd is the end of the run of runes from i that keep ok, at most limit
// runes long (0: no limit).
func runEnd(s string, i int, ok func(rune) bool, limit int) int {
	k := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !ok(r) || (limit > 0 && k == limit) {
			break
		}
		i += n
		k++
	}
	return i
}
