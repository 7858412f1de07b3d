package gguf

import (
	"container/heap"
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
	q := &bigrams{}
	try := func(l int) {
		if l < 0 || syms[l].next < 0 {
			return
		}
		r := syms[l].next
		if id, ok := t.vocab[text[syms[l].start:syms[r].end]]; ok {
			heap.Push(q, bigram{left: l, right: r, score: t.scores[id], size: syms[r].end - syms[l].start})
		}
	}
	for i := range syms {
		try(i)
	}
	for q.Len() > 0 {
		b := heap.Pop(q).(bigram)
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

// bigrams is a max-heap by score, then leftmost first.
type bigrams []bigram

func (q bigrams) Len() int { return len(q) }
func (q bigrams) Less(i, j int) bool {
	if q[i].score != q[j].score {
		return q[i].score > q[j].score
	}
	return q[i].left < q[j].left
}
func (q bigrams) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bigrams) Push(x any)   { *q = append(*q, x.(bigram)) }
func (q *bigrams) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
