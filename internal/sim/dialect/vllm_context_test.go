package dialect

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"flperf/internal/sim"
)

// TestVLLMContextRefusal checks the simulated vLLM's refusals in vLLM
// 0.11's words (a prompt reaching max_model_len; prompt plus max_tokens
// beyond it) and that /tokenize counts the prompt as the chat does.
func TestVLLMContextRefusal(t *testing.T) {
	v, err := NewVLLM(sim.Profile{Name: "org/m", TTFT: time.Millisecond, DecodeTPS: 10000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	v.MaxModelLen = 64
	s := httptest.NewServer(v)
	t.Cleanup(s.Close)
	type errBody struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	for _, c := range []struct {
		prompt, maxTok, status int
		msg                    string
	}{
		{64, 1, 400, "This model's maximum context length is 64 tokens. However, your request has 64 input tokens. Please reduce the length of the input messages."},
		{60, 5, 400, "'max_tokens' or 'max_completion_tokens' is too large: 5. This model's maximum context length is 64 tokens and your request has 60 input tokens (5 > 64 - 60)."},
		{60, 4, 200, ""},
	} {
		msgs := fmt.Sprintf(`[{"role":"user","content":%q}]`, words(c.prompt-VLLMTemplateTokens)) // the chat template adds the rest
		resp, data := ollamaDo(t, "POST", s.URL+"/tokenize", `{"model":"org/m","messages":`+msgs+`}`)
		var tok struct {
			Count       int   `json:"count"`
			MaxModelLen int   `json:"max_model_len"`
			Tokens      []int `json:"tokens"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(data, &tok) != nil || tok.Count != c.prompt || len(tok.Tokens) != c.prompt || tok.MaxModelLen != 64 {
			t.Errorf("tokenize %d words: %d %s", c.prompt, resp.StatusCode, data)
		}
		resp, data = ollamaDo(t, "POST", s.URL+"/v1/chat/completions", fmt.Sprintf(`{"model":"org/m","messages":%s,"max_tokens":%d}`, msgs, c.maxTok))
		var e errBody
		_ = json.Unmarshal(data, &e)
		if resp.StatusCode != c.status || e.Error.Message != c.msg || (c.status == 400 && (e.Error.Type != "BadRequestError" || e.Error.Code != 400)) {
			t.Errorf("prompt %d + max_tokens %d: %d %s, want %d %q", c.prompt, c.maxTok, resp.StatusCode, data, c.status, c.msg)
		}
	}
	sg, err := NewSGLang(sim.Profile{Name: "org/m", TTFT: time.Millisecond, DecodeTPS: 10000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s2 := httptest.NewServer(sg)
	t.Cleanup(s2.Close)
	if resp, _ := ollamaDo(t, "POST", s2.URL+"/tokenize", `{"model":"org/m","prompt":"a"}`); resp.StatusCode != 404 {
		t.Errorf("SGLang /tokenize: %d, want 404", resp.StatusCode)
	}
}
