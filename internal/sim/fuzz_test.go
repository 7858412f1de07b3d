package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzChat feeds arbitrary bodies to the chat endpoint: it must never
// panic, must answer 200, 400 or 404, and every 200 must be complete.
func FuzzChat(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a b"}]}],"min_tokens":2,"ignore_eos":true}`,
		`{"model":"x","messages":[]}`,
		`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"q"},{"role":"assistant","content":" lorem ipsum"},{"role":"user","content":"q2"}]}`,
		`{"model":"m","messages":[{"role":"user","content":null}],"max_completion_tokens":1,"n":1}`,
		`{`, `null`, `[]`, `""`,
	} {
		f.Add([]byte(seed))
	}
	s, err := New(Profile{Name: "m", DecodeTPS: 1e12, Usage: true, ContinuousUsage: true, Timings: true,
		Reasoning: 2, OutputTokens: 16, DefaultMaxTokens: 8, RoleChunk: true, TokensPerChunk: 3, PrefixCache: 8})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := &discardWriter{h: http.Header{}}
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body)))
		switch w.status {
		case 200:
			var req struct {
				Stream bool `json:"stream"`
			}
			json.Unmarshal(body, &req)
			if req.Stream && !bytes.HasSuffix(w.tail, []byte("data: [DONE]\n\n")) {
				t.Errorf("stream ends with %q", w.tail)
			}
			if !req.Stream && !bytes.HasSuffix(w.tail, []byte("}\n")) {
				t.Errorf("body ends with %q", w.tail)
			}
		case 400, 404:
		default:
			t.Errorf("status %d for %q", w.status, body)
		}
		if w.h.Get(EngineHeader) != "simulated" {
			t.Error("no engine header")
		}
	})
}
