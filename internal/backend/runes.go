package backend

import "unicode/utf8"

// runeCounter counts the characters (runes) of a byte stream that arrives
// in pieces, exactly as utf8.RuneCount counts the whole: a piece may end
// inside a multi-byte character, whose first bytes wait (at most three)
// for the rest; a byte that starts no valid character counts as one, as
// utf8.RuneCount counts it. It never allocates.
type runeCounter struct {
	carry [utf8.UTFMax - 1]byte // the unfinished character at the end of the stream so far
	nc    int                   // its length
	n     int                   // characters finished so far
}

// Write counts the runes of p, the next piece of the stream.
func (c *runeCounter) Write(p []byte) {
	if c.nc > 0 {
		// Finish the carried character with p's first bytes.
		var s [2 * utf8.UTFMax]byte
		k := copy(s[:], c.carry[:c.nc])
		k += copy(s[k:], p)
		i := 0
		for i < c.nc {
			if !utf8.FullRune(s[i:k]) { // still unfinished: all of p is in s
				c.nc = copy(c.carry[:], s[i:k])
				return
			}
			_, size := utf8.DecodeRune(s[i:k])
			c.n++
			i += size
		}
		p = p[i-c.nc:]
		c.nc = 0
	}
	// A rune starts at every byte that is not a continuation byte, so the
	// stream's decoding reaches the last such byte of p; only the character
	// starting there can depend on bytes still to come.
	end := len(p)
	for j := len(p) - 1; j >= 0 && j >= len(p)-(utf8.UTFMax-1); j-- {
		if utf8.RuneStart(p[j]) {
			if !utf8.FullRune(p[j:]) {
				end = j
			}
			break
		}
	}
	c.n += utf8.RuneCount(p[:end])
	c.nc = copy(c.carry[:], p[end:])
}

// Count returns the characters of the stream so far, an unfinished last
// character counting as utf8.RuneCount counts it (one per byte).
func (c *runeCounter) Count() int { return c.n + utf8.RuneCount(c.carry[:c.nc]) }
