package dialect

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"flperf/internal/tokens"
)

// realContextRefusal is the body a real llama-server (a 2026 build) sent
// for a prompt of 4476 tokens on slots of 4096: the simulated one must
// send the same bytes for the same counts.
const realContextRefusal = `{"error":{"code":400,"message":"request (4476 tokens) exceeds the available context size (4096 tokens)","type":"exceed_context_size_error","n_prompt_tokens":4476,"n_ctx":4096}}`

// words is a text of n one-token words.
func words(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

// TestLlamaCppContextRefusal checks the refusal of a prompt that does not
// fit a slot: the real server's body byte for byte and its status and
// content type, from a prompt of n_ctx tokens on (the real server refuses
// n ≥ n_ctx), and an answer just below.
func TestLlamaCppContextRefusal(t *testing.T) {
	_, url := newLlamaCppFake(t, llamaTestProfile(), LlamaCppOptions{ContextLength: 4096})
	// 4476 tokens over two messages: a system prompt and the user's.
	body := fmt.Sprintf(`{"messages":[{"role":"system","content":%q},{"role":"user","content":[{"type":"text","text":%q}]}],"max_tokens":4}`,
		words(476), words(4000))
	resp, data := ollamaDo(t, "POST", url+"/v1/chat/completions", body)
	if resp.StatusCode != 400 || string(data) != realContextRefusal || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("%d %q\n%s\nwant 400\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), data, realContextRefusal)
	}
	_, small := newLlamaCppFake(t, llamaTestProfile(), LlamaCppOptions{ContextLength: 64})
	for n, want := range map[int]int{64: 400, 63: 200} {
		resp, data := ollamaDo(t, "POST", small+"/v1/chat/completions", fmt.Sprintf(`{"messages":[{"role":"user","content":%q}],"max_tokens":2}`, words(n)))
		if resp.StatusCode != want {
			t.Errorf("prompt of %d tokens on n_ctx 64: %d %s, want %d", n, resp.StatusCode, data, want)
		}
	}
}

// TestLlamaCppTokenizeCountsTheChat checks that /apply-template then
// /tokenize count a chat's prompt exactly as the chat request itself does
// (its usage.prompt_tokens, and n_prompt_tokens when it is refused).
func TestLlamaCppTokenizeCountsTheChat(t *testing.T) {
	_, url := newLlamaCppFake(t, llamaTestProfile(), LlamaCppOptions{ContextLength: 40})
	for _, msgs := range []string{
		`[{"role":"user","content":"Hello, world!"}]`,
		`[{"role":"system","content":"abcdefghij klm"},{"role":"user","content":"naïve 日本語: x := y+1"}]`,
		`[{"role":"user","content":[{"type":"text","text":"end"},{"type":"text","text":"start"}]},{"role":"assistant","content":null}]`,
		fmt.Sprintf(`[{"role":"user","content":%q},{"role":"user","content":"tail"}]`, words(45)),
	} {
		resp, data := ollamaDo(t, "POST", url+"/apply-template", `{"messages":`+msgs+`}`)
		var tmpl struct{ Prompt string }
		if resp.StatusCode != 200 || json.Unmarshal(data, &tmpl) != nil {
			t.Fatalf("apply-template %s: %d %s", msgs, resp.StatusCode, data)
		}
		resp, data = ollamaDo(t, "POST", url+"/tokenize", fmt.Sprintf(`{"content":%q,"add_special":true,"with_pieces":true}`, tmpl.Prompt))
		var tok struct {
			Tokens []struct {
				ID    int    `json:"id"`
				Piece string `json:"piece"`
			}
		}
		if resp.StatusCode != 200 || json.Unmarshal(data, &tok) != nil {
			t.Fatalf("tokenize: %d %s", resp.StatusCode, data)
		}
		var joined strings.Builder
		for _, p := range tok.Tokens {
			if p.ID < 0 || p.ID >= llamaCppVocab {
				t.Errorf("token id %d outside the vocabulary", p.ID)
			}
			joined.WriteString(p.Piece)
		}
		if joined.String() != tmpl.Prompt || len(tok.Tokens) != tokens.Estimate(tmpl.Prompt) {
			t.Errorf("pieces %q of %q", joined.String(), tmpl.Prompt)
		}
		resp, data = ollamaDo(t, "POST", url+"/v1/chat/completions", `{"messages":`+msgs+`,"max_tokens":1}`)
		var answer struct {
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			}
			Error struct {
				NPromptTokens int `json:"n_prompt_tokens"`
			}
		}
		if err := json.Unmarshal(data, &answer); err != nil {
			t.Fatalf("chat: %d %s", resp.StatusCode, data)
		}
		chat := answer.Usage.PromptTokens
		if resp.StatusCode == 400 {
			chat = answer.Error.NPromptTokens
		}
		if (resp.StatusCode == 400) != (len(tok.Tokens) >= 40) || chat != len(tok.Tokens) || chat == 0 {
			t.Errorf("%s: the chat counts %d prompt tokens (HTTP %d), /tokenize %d", msgs, chat, resp.StatusCode, len(tok.Tokens))
		}
	}
	resp, data := ollamaDo(t, "POST", url+"/tokenize", `{"content":"a b","add_special":false}`)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(data), `{"tokens":[`) {
		t.Errorf("tokenize without pieces: %d %s", resp.StatusCode, data)
	}
	for _, bad := range []struct{ path, body string }{{"/tokenize", `{}`}, {"/tokenize", `nope`}, {"/apply-template", `{}`}, {"/apply-template", `{"messages":[{"role":"user","content":7}]}`}} {
		if resp, data := ollamaDo(t, "POST", url+bad.path, bad.body); resp.StatusCode != 400 {
			t.Errorf("%s %s: %d %s, want 400", bad.path, bad.body, resp.StatusCode, data)
		}
	}
}
