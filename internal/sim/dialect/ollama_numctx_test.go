package dialect

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"flperf/internal/tokens"
)

// TestOllamaNumCtxTruncates: as Ollama 0.6 does, the fake loads a model
// with num_ctx 2048 unless told otherwise, reports that context in /api/ps,
// and silently keeps only the last num_ctx tokens of a longer prompt,
// reporting the cut count as prompt_eval_count (native) and
// usage.prompt_tokens (/v1); options.num_ctx reloads the model with a
// larger context, and a prompt that fits is untouched.
func TestOllamaNumCtxTruncates(t *testing.T) {
	_, url := newOllamaFake(t, ollamaProfile("m:latest"))
	native := func(prompt, opts string) int {
		t.Helper()
		resp, body := ollamaDo(t, "POST", url+"/api/chat",
			`{"model":"m","stream":false,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"`+prompt+`"}],"options":{"num_predict":2`+opts+`}}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var v struct {
			PromptEvalCount int `json:"prompt_eval_count"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v.PromptEvalCount
	}
	long := words(5000)
	if got := native(long, ""); got != DefaultOllamaNumCtx {
		t.Errorf("5002-token prompt at the default num_ctx: prompt_eval_count %d, want %d", got, DefaultOllamaNumCtx)
	}
	if ps := ollamaPS(t, url); ollamaNum(ps["m:latest"], "context_length") != DefaultOllamaNumCtx {
		t.Errorf("/api/ps after a default load: %v, want context_length %d", ps["m:latest"], DefaultOllamaNumCtx)
	}
	if got := native(words(100), ""); got != 102+OllamaTemplateTokens {
		t.Errorf("a prompt that fits: prompt_eval_count %d, want %d (2 + 100 + the template's)", got, 102+OllamaTemplateTokens)
	}
	// /v1 has no options: the loaded context applies.
	resp, body := ollamaDo(t, "POST", url+"/v1/chat/completions",
		`{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"`+long+`"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), fmt.Sprintf(`"prompt_tokens":%d`, DefaultOllamaNumCtx)) {
		t.Errorf("/v1 with a 5000-token prompt: %d %s, want prompt_tokens %d", resp.StatusCode, body, DefaultOllamaNumCtx)
	}
	// options.num_ctx reloads with that context (capped at the trained 4096).
	if got := native(long, `,"num_ctx":3000`); got != 3000 {
		t.Errorf("num_ctx 3000: prompt_eval_count %d, want 3000", got)
	}
	if ps := ollamaPS(t, url); ollamaNum(ps["m:latest"], "context_length") != 3000 {
		t.Errorf("/api/ps after num_ctx 3000: %v", ps["m:latest"])
	}
	if got := native(long, `,"num_ctx":100000`); got != 4096 {
		t.Errorf("num_ctx 100000 on a 4096-token model: prompt_eval_count %d, want 4096 (capped)", got)
	}
	if got := native(long, `,"num_ctx":8192`); got != 4096 {
		t.Errorf("num_ctx 8192 on a 4096-token model: prompt_eval_count %d, want 4096", got)
	}
}

// TestOllamaTruncateKeepsTheEnd: the cut keeps the prompt's last tokens,
// dropping whole messages from the front first.
func TestOllamaTruncateKeepsTheEnd(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"system","content":"alpha beta gamma"},{"role":"user","content":"one two three four five"}]}`
	for _, c := range []struct {
		numCtx int
		want   []string
	}{
		{8, []string{"alpha beta gamma", "one two three four five"}},
		{7, []string{"beta gamma", "one two three four five"}},
		{6, []string{"gamma", "one two three four five"}},
		{5, []string{"one two three four five"}},
		{2, []string{"four five"}},
	} {
		var doc struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.Unmarshal(ollamaTruncate([]byte(body), c.numCtx+2, 2), &doc); err != nil {
			t.Fatal(err)
		}
		var got []string
		n := 0
		for _, m := range doc.Messages {
			got = append(got, m.Content)
			n += tokens.Estimate(m.Content)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || n != min(c.numCtx, 8) {
			t.Errorf("num_ctx %d: %q (%d tokens), want %q", c.numCtx, got, n, c.want)
		}
	}
}

// FuzzOllamaTruncate: any body and num_ctx: no panic; a body that was cut
// is still a chat body, and its messages hold exactly num_ctx tokens.
func FuzzOllamaTruncate(f *testing.F) {
	f.Add(`{"model":"m","messages":[{"role":"system","content":"alpha beta gamma"},{"role":"user","content":"one two three four five"}]}`, 5)
	f.Add(`{"messages":[{"role":"user","content":"a,b;c d\u00e9f  ghijklmnop"}]}`, 3)
	f.Add(`{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`, 1)
	f.Add(`{"messages":"x"}`, 2)
	f.Add(`not json`, 1)
	f.Fuzz(func(t *testing.T, body string, numCtx int) {
		out := ollamaTruncate([]byte(body), numCtx, 0)
		if string(out) == body {
			return
		}
		var doc struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.Unmarshal(out, &doc); err != nil || len(doc.Messages) == 0 {
			t.Fatalf("%q (num_ctx %d) cut to %q: %v", body, numCtx, out, err)
		}
		n := 0
		for _, m := range doc.Messages {
			n += tokens.Estimate(m.Content)
		}
		if n != numCtx {
			t.Fatalf("%q (num_ctx %d) cut to %d tokens: %q", body, numCtx, n, out)
		}
	})
}
