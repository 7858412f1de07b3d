package gguf

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"flperf/internal/backend"
	"flperf/internal/inputlen"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// simVocab is a SentencePiece vocabulary that tokenizes English words the
// way the simulator counts them (tokens.Estimate): every printable ASCII
// character and "▁" alone, and for each word, "▁" followed by each of its
// first 1 to 6 letters, each longer prefix scoring higher, so that a word
// of up to 6 letters with its space is one token and a longer one two or
// more (6 letters, then one token per letter left, as Estimate counts a
// 7-letter word: 2).
func simVocab(words []string) (toks []string, scores []float32) {
	seen := map[string]bool{}
	add := func(s string, score float32) {
		if !seen[s] {
			seen[s] = true
			toks, scores = append(toks, s), append(scores, score)
		}
	}
	add("<unk>", 0)
	add("▁", 1)
	for c := byte('!'); c <= '~'; c++ {
		add(string(c), 1)
	}
	for _, w := range words {
		for _, v := range []string{w, strings.ToUpper(w[:1]) + w[1:]} {
			p := "▁" + v
			for n := 2; n <= min(7, utf8.RuneCountInString(p)); n++ {
				add(string([]rune(p)[:n]), float32(n))
			}
		}
	}
	return toks, scores
}

func spmFile(t testing.TB, words []string, addBOS bool) string {
	toks, scores := simVocab(words)
	return writeFile(t, ggufBytes([]kv{
		{"general.architecture", "llama"},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", toks},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.add_bos_token", addBOS},
	}))
}

// fillerWords are the words of inputlen's filler and of the system prompt
// the tests use.
var fillerWords = strings.Fields(strings.ToLower(strings.NewReplacer(".", " ").Replace(inputlen.Filler(1, 4000)))) // every word, many times

// TestSPMCounts checks the SentencePiece path on texts counted by hand:
// words, a long word, punctuation, a character outside the vocabulary
// (one token per byte with <0xXX> tokens, else one unknown token), BOS.
func TestSPMCounts(t *testing.T) {
	tok, err := Open(spmFile(t, append(fillerWords, "be", "terse"), true))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"the river", 2},
		{"Be terse.", 3},
		{"morning", 2},
		{"the  river", 3}, // a lone "▁"
		{"é", 2},          // "▁", then one unknown character (no byte tokens)
	} {
		if got := tok.Count(c.in); got != c.want {
			t.Errorf("Count(%q) = %d, want %d", c.in, got, c.want)
		}
	}
	n, _ := tok.CountMessages([]suite.Message{{Content: "the river"}, {Content: "Be terse."}})
	if n != 1+2+3 {
		t.Errorf("CountMessages = %d, want BOS + 2 + 3", n)
	}
	// Byte fallback.
	toks, scores := simVocab([]string{"the"})
	for b := range 256 {
		toks, scores = append(toks, fmt.Sprintf("<0x%02X>", b)), append(scores, 0)
	}
	bt, err := Open(writeFile(t, ggufBytes([]kv{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.scores", scores}})))
	if err != nil {
		t.Fatal(err)
	}
	if got := bt.Count("the é"); got != 1+1+2 {
		t.Errorf("byte fallback: %d, want ▁the, ▁, and é's 2 bytes", got)
	}
}

// TestSPMMatchesSimulator: on the filler's words the vocabulary counts
// exactly as the simulator does, whatever the length.
func TestSPMMatchesSimulator(t *testing.T) {
	tok, err := Open(spmFile(t, fillerWords, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 7, 12, 13, 50, 500} {
		s := inputlen.Filler(4, k)
		if got, want := tok.Count(s), tokens.Estimate(s); got != want {
			t.Errorf("filler of %d words: %d tokens, the simulator counts %d", k, got, want)
		}
	}
}

// TestGGUFPathHitsSimulator resolves lengths by the gguf method (an
// engine that reports no usage and has no tokenizer endpoint) and checks
// that a simulator with the same chat-template overhead, reporting usage,
// counts each prompt exactly as asked.
func TestGGUFPathHitsSimulator(t *testing.T) {
	const overhead = 4
	tok, err := Open(spmFile(t, append(fillerWords, "be", "terse"), false))
	if err != nil {
		t.Fatal(err)
	}
	tok.TemplateTokens = overhead
	p := sim.Profile{Name: "m", TTFT: time.Millisecond, DecodeTPS: 50000, Usage: true, Seed: 2, TemplateTokens: overhead}
	s, err := sim.New(p)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	client := backend.New(srv.URL+"/v1", backend.Options{})
	r := inputlen.New(inputlen.Options{Seed: 8, GGUF: func(context.Context, string) (inputlen.TextCounter, error) { return tok, nil }})
	for _, n := range []int{20, 25, 26, 100, 1000} {
		pr, err := r.PromptSystem(context.Background(), "m", "Be terse.", n)
		if err != nil || pr.Method != inputlen.MethodGGUF || !pr.Exact {
			t.Fatalf("%d: %+v %v", n, pr, err)
		}
		req := backend.Request{Model: "m", MaxTokens: 1}
		for _, m := range pr.Messages {
			req.Messages = append(req.Messages, backend.Message{Role: m.Role, Content: m.Content})
		}
		var rec record.Record
		client.Do(context.Background(), req, &rec)
		if rec.Outcome != record.OK || rec.InputSource != record.SourceUsage || rec.InputTokens != n {
			t.Errorf("%d tokens asked: the simulator counted %d (%s %s)", n, rec.InputTokens, rec.Outcome, rec.InputSource)
		}
	}
}

// TestBPECounts checks the byte-level BPE path: merges by rank, the GPT-2
// pre-split (a space joins the word after it, punctuation apart), digits
// in groups of three for a llama 3 pre-split.
func TestBPECounts(t *testing.T) {
	sp := string(byteRune[' '])
	toks := []string{"h", "e", "l", "o", sp, "w", "r", "d", "!", "1", "2", "3", "4",
		"he", "ll", "hell", "hello", sp + "w", sp + "wo", "or", sp + "wor", sp + "worl", sp + "world", "12", "123"}
	merges := []string{"h e", "l l", "he ll", "hell o", sp + " w", "o r", sp + "w or", sp + "wor l", sp + "worl d", "1 2", "12 3"}
	file := func(pre string) *Tokenizer {
		tok, err := Open(writeFile(t, ggufBytes([]kv{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", pre},
			{"tokenizer.ggml.tokens", toks}, {"tokenizer.ggml.merges", merges}})))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	gpt2, llama3 := file("gpt-2"), file("llama-bpe")
	for _, c := range []struct {
		tok  *Tokenizer
		in   string
		want int
	}{
		{gpt2, "hello world!", 3},
		{gpt2, "hello  world", 3}, // "hello", " ", " world"
	} {
		if got := c.tok.Count(c.in); got != c.want {
			t.Errorf("%s Count(%q) = %d, want %d", c.tok.pre, c.in, got, c.want)
		}
	}
	if got := gpt2.Count("1234"); got != 2 { // one pre-split piece; merges give "123" + "4"
		t.Errorf("gpt-2 Count(1234) = %d, want 2", got)
	}
	if got := llama3.Count("12341"); got != 3 { // "123", then "41": "4", "1"
		t.Errorf("llama-bpe Count(12341) = %d, want 3", got)
	}
}

// TestHostileFiles: malformed or oversized metadata is an error naming the
// problem, never a panic.
func TestHostileFiles(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":        nil,
		"not gguf":     []byte("GGUX\x03\x00\x00\x00"),
		"no model":     ggufBytes([]kv{{"tokenizer.ggml.tokens", []string{"a"}}}),
		"wrong model":  ggufBytes([]kv{{"tokenizer.ggml.model", "wordpiece"}, {"tokenizer.ggml.tokens", []string{"a"}}}),
		"model type":   ggufBytes([]kv{{"tokenizer.ggml.model", uint32(3)}}),
		"tokens type":  ggufBytes([]kv{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", []int32{1}}}),
		"no scores":    ggufBytes([]kv{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", []string{"a"}}}),
		"scores short": ggufBytes([]kv{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", []string{"a", "b"}}, {"tokenizer.ggml.scores", []float32{1}}}),
		"bad merge":    ggufBytes([]kv{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.tokens", []string{"a"}}, {"tokenizer.ggml.merges", []string{"ab"}}}),
		"huge count":   append(ggufBytes(nil)[:16], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
	} {
		if _, err := Open(writeFile(t, data)); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}
