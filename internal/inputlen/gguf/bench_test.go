package gguf

import (
	"testing"

	"flperf/internal/inputlen"
)

// BenchmarkCount counts a filler of 4,096 words (about 4,400 tokens) with
// a SentencePiece vocabulary: what one count of the gguf method costs.
//
//	go test -run XXX -bench Count -benchmem ./internal/inputlen/gguf/
func BenchmarkCount(b *testing.B) {
	tok, err := Open(spmFile(b, fillerWords, false))
	if err != nil {
		b.Fatal(err)
	}
	text := inputlen.Filler(3, 4096)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Count(text)
	}
}
