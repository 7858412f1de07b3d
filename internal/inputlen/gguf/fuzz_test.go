package gguf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds hostile GGUF files to Open: it must return an error or a
// tokenizer, never panic, and a tokenizer must count any text.
func FuzzOpen(f *testing.F) {
	toks, scores := simVocab([]string{"the", "river"})
	f.Add(ggufBytes([]kv{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.scores", scores}}), "the river. é")
	f.Add(ggufBytes([]kv{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.tokens", []string{"a", "b", "ab"}}, {"tokenizer.ggml.merges", []string{"a b"}}}), "ab  ba's 123")
	f.Add(ggufBytes([]kv{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", []int32{1}}}), "")
	f.Add([]byte("GGUF\x03\x00\x00\x00"), "x")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		p := filepath.Join(dir, "fuzz.gguf")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := Open(p)
		if err != nil {
			return
		}
		if n := tok.Count(text); n < 0 || n > 4*len(text)+1 {
			t.Fatalf("Count(%q) = %d", text, n)
		}
	})
}
