package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// PromptMessage is one chat message of a prompt to count.
type PromptMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// PromptCounter counts a chat prompt's tokens exactly as the engine will:
// its own chat template, then its own tokenizer.
type PromptCounter interface {
	CountPrompt(ctx context.Context, model string, msgs []PromptMessage) (int, error)
}

var (
	_ PromptCounter = (*LlamaCppManager)(nil)
	_ PromptCounter = (*VLLMManager)(nil)
)

// CountPrompt counts msgs as llama-server does for a chat completion: POST
// /apply-template renders them with the model's chat template (the
// generation prompt included), and POST /tokenize tokenizes the result
// with add_special (the BOS token the server adds) and special tokens
// parsed. model is not used: the server runs one model.
func (l *LlamaCppManager) CountPrompt(ctx context.Context, _ string, msgs []PromptMessage) (int, error) {
	var tmpl struct {
		Prompt *string `json:"prompt"`
	}
	if err := postEngineJSON(ctx, l.hc, "llama.cpp", l.root, "/apply-template", map[string]any{"messages": msgs}, &tmpl); err != nil {
		return 0, err
	}
	if tmpl.Prompt == nil {
		return 0, fmt.Errorf("llama.cpp: POST /apply-template: no prompt in the answer")
	}
	var tok struct {
		Tokens []json.RawMessage `json:"tokens"` // ids, or {id, piece} objects with with_pieces
	}
	body := map[string]any{"content": *tmpl.Prompt, "add_special": true, "parse_special": true}
	if err := postEngineJSON(ctx, l.hc, "llama.cpp", l.root, "/tokenize", body, &tok); err != nil {
		return 0, err
	}
	if tok.Tokens == nil {
		return 0, fmt.Errorf("llama.cpp: POST /tokenize: no tokens in the answer")
	}
	return len(tok.Tokens), nil
}

// CountPrompt counts msgs as vLLM does for a chat completion: POST
// /tokenize with the messages (the model's chat template and generation
// prompt applied) answers their count. SGLang servers without that route
// answer an error.
func (v *VLLMManager) CountPrompt(ctx context.Context, model string, msgs []PromptMessage) (int, error) {
	var tok struct {
		Count *int `json:"count"`
	}
	body := map[string]any{"model": model, "messages": msgs, "add_generation_prompt": true}
	if err := postEngineJSON(ctx, v.hc, v.name(), v.root, "/tokenize", body, &tok); err != nil {
		return 0, err
	}
	if tok.Count == nil || *tok.Count < 0 {
		return 0, fmt.Errorf("%s: POST /tokenize: no count in the answer", v.name())
	}
	return *tok.Count, nil
}

// postEngineJSON POSTs in as JSON to root+p and decodes a 200 JSON answer
// (at most engineMaxJSON bytes) into v.
func postEngineJSON(ctx context.Context, hc *http.Client, engine, rootURL, p string, in, v any) error {
	ctx, cancel := engineCallContext(ctx)
	defer cancel()
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: POST %s: %v", engine, p, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rootURL+p, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: POST %s: %v", engine, p, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: POST %s: %w", engine, p, context.Cause(ctx))
		}
		return fmt.Errorf("%s: POST %s: %w: %v", engine, p, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, engineMaxJSON+1))
	switch {
	case err != nil:
		return fmt.Errorf("%s: POST %s: reading the answer: %v", engine, p, err)
	case len(body) > engineMaxJSON:
		return fmt.Errorf("%s: POST %s: answer larger than %d MiB", engine, p, engineMaxJSON>>20)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: POST %s: HTTP %d: %s", engine, p, resp.StatusCode, engineMessage(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: POST %s: not the expected JSON: %v", engine, p, err)
	}
	return nil
}
