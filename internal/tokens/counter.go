package tokens

import "unicode/utf8"

// Counter estimates the tokens of a text that arrives in pieces, without
// keeping it: after any sequence of writes, Count equals Estimate of their
// concatenation, whatever the split (inside a word or a multi-byte rune).
// The zero value is an empty text. It holds at most 3 bytes of the text.
type Counter struct {
	n    int                   // tokens of everything before the pending run and rune
	run  int                   // length of the letter/digit run at the end
	pend [utf8.UTFMax - 1]byte // the start of a rune split across writes
	np   int                   // bytes in pend
}

// Write adds p to the text.
func (c *Counter) Write(p []byte) {
	for len(p) > 0 {
		if c.np > 0 {
			p = c.complete(p)
			continue
		}
		b := p[0]
		if b >= utf8.RuneSelf {
			c.flush()
			if !utf8.FullRune(p) {
				c.np = copy(c.pend[:], p) // len(p) < UTFMax here
				return
			}
			_, size := utf8.DecodeRune(p)
			c.n++
			p = p[size:]
			continue
		}
		c.ascii(b)
		p = p[1:]
	}
}

// ascii applies one ASCII byte, as Estimate does.
func (c *Counter) ascii(b byte) {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '_':
		c.run++
	case b == ' ' || b == '\t' || b == '\n' || b == '\r':
		c.flush()
	default:
		c.flush()
		c.n++
	}
}

// flush ends the letter/digit run.
func (c *Counter) flush() {
	if c.run > 0 {
		c.n += (c.run + WordBytes - 1) / WordBytes
		c.run = 0
	}
}

// complete feeds bytes of p to the pending rune until it can be decoded,
// decodes it (as Estimate would at that position) and returns the rest of
// p; bytes the decoded rune did not use are applied again first.
func (c *Counter) complete(p []byte) []byte {
	var b [utf8.UTFMax]byte
	k := copy(b[:], c.pend[:c.np])
	for len(p) > 0 && !utf8.FullRune(b[:k]) {
		b[k] = p[0]
		k++
		p = p[1:]
	}
	if !utf8.FullRune(b[:k]) { // p ran out: still pending
		c.np = copy(c.pend[:], b[:k])
		return p
	}
	c.np = 0
	_, size := utf8.DecodeRune(b[:k])
	c.n++
	if size < k {
		c.Write(b[size:k]) // at most 3 bytes, which come before the rest of p
	}
	return p
}

// Count returns the estimate of the text written so far (Estimate of it).
func (c *Counter) Count() int {
	n := c.n + (c.run+WordBytes-1)/WordBytes
	// A rune left incomplete at the end: Estimate counts each of its bytes
	// as one invalid rune.
	return n + c.np
}
