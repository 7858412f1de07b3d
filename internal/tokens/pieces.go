package tokens

import "unicode/utf8"

// Pieces splits s into the tokens Estimate counts, in order: each run of
// letters or digits in pieces of at most WordBytes bytes, each other ASCII
// character and each non-ASCII rune (or invalid byte) alone. Whitespace
// costs no token: it joins the piece after it (the last piece takes any
// trailing whitespace), so the pieces put together are s, except a text of
// whitespace only, which has no piece. len(Pieces(s)) == Estimate(s).
func Pieces(s string) []string {
	var out []string
	start, run := 0, 0 // start of the piece being built; bytes of its letter/digit run
	cut := func(end int) {
		out = append(out, s[start:end])
		start, run = end, 0
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if run > 0 {
				cut(i)
			}
			i++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			if run == WordBytes {
				cut(i)
			}
			run++
			i++
		default:
			if run > 0 {
				cut(i)
			}
			size := 1
			if c >= utf8.RuneSelf {
				_, size = utf8.DecodeRuneInString(s[i:])
			}
			i += size
			cut(i)
		}
	}
	if run > 0 {
		cut(len(s))
	}
	if start < len(s) && len(out) > 0 { // trailing whitespace
		out[len(out)-1] += s[start:]
	}
	return out
}
