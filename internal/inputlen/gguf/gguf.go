// Package gguf counts tokens with a model's own tokenizer, read from the
// tokenizer.ggml.* metadata of its local GGUF file (an Ollama blob, a
// llama.cpp or LM Studio model file) through
// github.com/gpustack/gguf-parser-go, a maintained GGUF reader. It knows
// the two vocabularies most local models use, as llama.cpp applies them:
// "llama" (SentencePiece: the highest-scoring adjacent pair merged first,
// bytes of unknown characters as <0xXX> tokens) and "gpt2" (byte-level
// BPE: a GPT-2 style pre-split, then the merges by rank). It is the
// inputlen resolver's third method, for engines that neither tokenize nor
// report usage.
//
// Hostile files are bounded: the file's size, the vocabulary's and the
// merges' lengths and each token's length are checked before use, and a
// malformed value is an error, never a panic.
package gguf

import (
	"fmt"
	"os"
	"strings"

	parser "github.com/gpustack/gguf-parser-go"

	"flperf/internal/suite"
)

// Limits on what a GGUF file may hold for its tokenizer to be used.
const (
	MaxTokens     = 1 << 20 // vocabulary entries
	MaxMerges     = 1 << 21 // BPE merges
	MaxTokenBytes = 1 << 10 // bytes of one vocabulary entry
)

// Tokenizer counts tokens as the model's own tokenizer does.
type Tokenizer struct {
	// Model is tokenizer.ggml.model: "llama" or "gpt2".
	Model string
	// TemplateTokens are the tokens the model's chat template adds to a
	// prompt around its messages' text (its role markers and the
	// generation prompt), which the GGUF's tokenizer alone does not
	// count; set it when known (measured once, or read from the
	// template), else the count is the messages' text only.
	TemplateTokens int

	vocab      map[string]int32
	scores     []float32
	merges     map[string]int // "left right" → rank (gpt2)
	byteTok    [256]bool      // <0xXX> tokens present (llama byte fallback)
	addBOS     bool
	spacePre   bool   // llama: a space is put before the text
	digitGroup int    // gpt2 pre-split: digits in runs of at most this many (0: any)
	pre        string // tokenizer.ggml.pre
}

// Open reads the tokenizer of the GGUF file at path.
func Open(path string) (*Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("gguf: %s is not a regular file", path)
	}
	return parse(path)
}

// parse reads path with the GGUF reader, recovering from its panics on
// values of an unexpected type.
func parse(path string) (t *Tokenizer, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("gguf: %s: malformed metadata: %v", path, p)
		}
	}()
	f, err := parser.ParseGGUFFile(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %v", path, err)
	}
	return fromMetadata(path, f.Header.MetadataKV)
}

// fromMetadata builds the tokenizer from the file's key-value metadata.
func fromMetadata(path string, kvs parser.GGUFMetadataKVs) (*Tokenizer, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("gguf: %s: %s", path, fmt.Sprintf(format, a...))
	}
	str := func(key string) (string, bool) {
		kv, ok := kvs.Get(key)
		if !ok || kv.ValueType != parser.GGUFMetadataValueTypeString {
			return "", false
		}
		return kv.ValueString(), true
	}
	boolean := func(key string, def bool) bool {
		kv, ok := kvs.Get(key)
		if !ok || kv.ValueType != parser.GGUFMetadataValueTypeBool {
			return def
		}
		return kv.ValueBool()
	}
	array := func(key string, typ parser.GGUFMetadataValueType, limit uint64) (parser.GGUFMetadataKVArrayValue, error) {
		kv, ok := kvs.Get(key)
		if !ok {
			return parser.GGUFMetadataKVArrayValue{}, bad("no %s", key)
		}
		if kv.ValueType != parser.GGUFMetadataValueTypeArray {
			return parser.GGUFMetadataKVArrayValue{}, bad("%s is not an array", key)
		}
		av := kv.ValueArray()
		switch {
		case av.Type != typ:
			return av, bad("%s holds %v, want %v", key, av.Type, typ)
		case av.Len > limit:
			return av, bad("%s has %d entries, more than %d", key, av.Len, limit)
		case uint64(len(av.Array)) != av.Len:
			return av, bad("%s: %d entries read of %d", key, len(av.Array), av.Len)
		}
		return av, nil
	}
	model, ok := str("tokenizer.ggml.model")
	if !ok {
		return nil, bad("no tokenizer.ggml.model")
	}
	t := &Tokenizer{Model: model}
	t.pre, _ = str("tokenizer.ggml.pre")
	toks, err := array("tokenizer.ggml.tokens", parser.GGUFMetadataValueTypeString, MaxTokens)
	if err != nil {
		return nil, err
	}
	pieces := toks.ValuesString()
	t.vocab = make(map[string]int32, len(pieces))
	for i, p := range pieces {
		if len(p) > MaxTokenBytes {
			return nil, bad("token %d is %d bytes long, more than %d", i, len(p), MaxTokenBytes)
		}
		if _, dup := t.vocab[p]; !dup {
			t.vocab[p] = int32(i)
		}
	}
	switch model {
	case "llama":
		sc, err := array("tokenizer.ggml.scores", parser.GGUFMetadataValueTypeFloat32, MaxTokens)
		if err != nil {
			return nil, err
		}
		if sc.Len != toks.Len {
			return nil, bad("%d scores for %d tokens", sc.Len, toks.Len)
		}
		t.scores = sc.ValuesFloat32()
		for b := range 256 {
			_, t.byteTok[b] = t.vocab[fmt.Sprintf("<0x%02X>", b)]
		}
		t.addBOS = boolean("tokenizer.ggml.add_bos_token", true)
		t.spacePre = boolean("tokenizer.ggml.add_space_prefix", true)
	case "gpt2":
		mg, err := array("tokenizer.ggml.merges", parser.GGUFMetadataValueTypeString, MaxMerges)
		if err != nil {
			return nil, err
		}
		t.merges = make(map[string]int, mg.Len)
		for i, m := range mg.ValuesString() {
			if len(m) > 2*MaxTokenBytes+1 || !strings.Contains(m, " ") {
				return nil, bad("merge %d is not two tokens apart by a space", i)
			}
			if _, dup := t.merges[m]; !dup {
				t.merges[m] = i
			}
		}
		t.addBOS = boolean("tokenizer.ggml.add_bos_token", false)
		switch t.pre {
		case "llama-bpe", "llama3", "smaug-bpe", "qwen2", "deepseek-llm", "falcon3":
			t.digitGroup = 3
		}
	default:
		return nil, bad("tokenizer.ggml.model %q: only llama (SentencePiece) and gpt2 (BPE) are known", model)
	}
	return t, nil
}

// Count returns the tokens of text alone (no BOS, no template).
func (t *Tokenizer) Count(text string) int {
	if t.Model == "llama" {
		return t.countSPM(text)
	}
	return t.countBPE(text)
}

// CountMessages counts a chat prompt: each message's text tokenized on its
// own, the BOS token when the model adds one, and TemplateTokens.
func (t *Tokenizer) CountMessages(msgs []suite.Message) (int, error) {
	n := t.TemplateTokens
	if t.addBOS {
		n++
	}
	for _, m := range msgs {
		n += t.Count(m.Content)
	}
	return n, nil
}
