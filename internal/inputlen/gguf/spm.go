package gguf

import (
	"strings"
	"unicode/utf8"
)

// countSPM counts text as llama.cpp's SentencePiece tokenizer does: spaces
// become "▁" (with one before the text when the model asks), the text is
// split into characters, the adjacent pair whose concatenation is the
// highest-scoring vocabulary entry is merged first (the leftmost on a
// tie) until no pair is in the vocabulary, and a character left outside
// it costs one <0xXX> token per byte (one unknown token without them).
func (t *Tokenizer) countSPM(text string) int {
	if text == "" {
		return 0
	}
	if t.spacePre {
		text = " " + text
	}
	text = strings.ReplaceAll(text, " ", "▁")
	type sym struct {
		start, end int // byte range in text
		prev, next int // neighbours (-1: none)
	}
	syms := make([]sym, 0, len(text))
	for i := 0; i < len(text); {
		_, n := utf8.DecodeRuneInString(text[i:])
		syms = append(syms, sym{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1})
		i += n
	}
	syms[len(syms)-1].next = -1
	q := &bigrams{make([]bigram, 0, len(syms))}
	try := func(l int) {
		if l < 0 || syms[l].next < 0 {
			return
		}
		r := syms[l].next
		if id, ok := t.vocab[text[syms[l].start:syms[r].end]]; ok {
			q.push(bigram{left: l, right: r, score: t.scores[id], size: syms[r].end - syms[l].start})
		}
	}
	for i := range syms {
		try(i)
	}
	for len(q.h) > 0 {
		b := q.pop()
		l, r := &syms[b.left], &syms[b.right]
		if l.end == l.start || r.end == r.start || l.next != b.right || r.end-l.start != b.size {
			continue // outdated: a side was merged since
		}
		l.end = r.end
		r.start = r.end // r is gone
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		try(l.prev)
		try(b.left)
	}
	n := 0
	for i := 0; i >= 0; i = syms[i].next {
		s := text[syms[i].start:syms[i].end]
		if _, ok := t.vocab[s]; ok {
			n++
			continue
		}
		for j := 0; j < len(s); j++ { // byte fallback
			if t.byteTok[s[j]] {
				n++
			} else if j == 0 {
				n++ // one unknown token for the character
			}
		}
	}
	return n
}

// bigram is a candidate merge of two adjacent symbols.
type bigram struct {
	left, right int
	score       float32
	size        int
}

// bigrams is a max-heap by score, then leftmost first (a binary heap on
// a slice: no boxing, one allocation per count).
type bigrams struct{ h []bigram }

// before reports whether a pops before b.
func before(a, b bigram) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.left < b.left
}

func (q *bigrams) push(x bigram) {
	q.h = append(q.h, x)
	for i := len(q.h) - 1; i > 0; {
		p := (i - 1) / 2
		if !before(q.h[i], q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *bigrams) pop() bigram {
	top := q.h[0]
	last := len(q.h) - 1
	q.h[0] = q.h[last]
	q.h = q.h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && before(q.h[l], q.h[m]) {
			m = l
		}
		if r < last && before(q.h[r], q.h[m]) {
			m = r
		}
		if m == i {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
