package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestErrors(t *testing.T) {
	checkLeaks(t)
	s, base, c := start(t, fast("alpha"), fast("beta"))
	cases := []struct {
		name   string
		body   string
		status int
		param  string   // "" when the error names no field
		words  []string // the message must contain them
	}{
		{"unknown model", `{"model":"gamma","messages":[{"role":"user","content":"x"}]}`, 404, "model", []string{"gamma", "alpha", "beta"}},
		{"invalid JSON", `{"model":"alpha",`, 400, "", []string{"JSON"}},
		{"not an object", `[1,2]`, 400, "", []string{"JSON"}},
		{"missing model", `{"messages":[{"role":"user","content":"x"}]}`, 400, "model", []string{"model"}},
		{"missing messages", `{"model":"alpha"}`, 400, "messages", []string{"messages"}},
		{"empty messages", `{"model":"alpha","messages":[]}`, 400, "messages", []string{"messages"}},
		{"messages not a list", `{"model":"alpha","messages":"hi"}`, 400, "messages", []string{"messages"}},
		{"content a number", `{"model":"alpha","messages":[{"role":"user","content":7}]}`, 400, "messages[0].content", []string{"messages[0].content"}},
		{"missing role", `{"model":"alpha","messages":[{"content":"x"}]}`, 400, "messages[0].role", []string{"role"}},
		{"stream not a bool", `{"model":"alpha","stream":"yes","messages":[{"role":"user","content":"x"}]}`, 400, "stream", []string{"stream"}},
		{"max_tokens 0", `{"model":"alpha","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, 400, "max_tokens", []string{"max_tokens"}},
		{"max_tokens huge", `{"model":"alpha","max_tokens":99999999999,"messages":[{"role":"user","content":"x"}]}`, 400, "max_tokens", []string{"max_tokens"}},
		{"max_completion_tokens negative", `{"model":"alpha","max_completion_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, 400, "max_completion_tokens", []string{"max_completion_tokens"}},
		{"min_tokens negative", `{"model":"alpha","min_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, 400, "min_tokens", []string{"min_tokens"}},
		{"n 2", `{"model":"alpha","n":2,"messages":[{"role":"user","content":"x"}]}`, 400, "n", []string{"n"}},
		{"bad stream_options", `{"model":"alpha","stream":true,"stream_options":5,"messages":[{"role":"user","content":"x"}]}`, 400, "stream_options", []string{"stream_options"}},
	}
	for _, tc := range cases {
		resp := post(t, context.Background(), c, base, []byte(tc.body))
		e := decodeError(t, resp, tc.status)
		if tc.param == "" && e.Param != nil || tc.param != "" && (e.Param == nil || *e.Param != tc.param) {
			t.Errorf("%s: param %v, want %q", tc.name, e.Param, tc.param)
		}
		for _, w := range tc.words {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%s: message %q does not mention %q", tc.name, e.Message, w)
			}
		}
	}
	// Content parts and null content are accepted and counted.
	resp := post(t, context.Background(), c, base, []byte(`{"model":"alpha","max_tokens":1,"messages":[
		{"role":"system","content":null},
		{"role":"user","content":[{"type":"text","text":"one two"},{"type":"image_url","image_url":{"url":"x"}}]}]}`))
	var body struct{ Usage usageJSON }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.Usage.PromptTokens != 2 {
		t.Errorf("content parts: status %d, prompt_tokens %d, want 200 and 2", resp.StatusCode, body.Usage.PromptTokens)
	}
	if st := s.Stats(); st.Requests != int64(len(cases)+1) || st.MaxInFlight != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestBodyTooLarge(t *testing.T) {
	checkLeaks(t)
	_, base, c := start(t, fast("m"))
	big := append([]byte(`{"model":"m","messages":[{"role":"user","content":"`), bytes.Repeat([]byte("a "), MaxBodyBytes/2+10)...)
	big = append(big, `"}]}`...)
	resp := post(t, context.Background(), c, base, big)
	decodeError(t, resp, http.StatusRequestEntityTooLarge)
}

func TestRoutes(t *testing.T) {
	checkLeaks(t)
	_, base, c := start(t, fast("alpha"), fast("beta"))
	get := func(method, path string, status int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, b)
		}
		if h := resp.Header.Get(EngineHeader); h != "simulated" {
			t.Errorf("%s %s: %s = %q", method, path, EngineHeader, h)
		}
		return b
	}
	var models struct {
		Object string
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			OwnedBy string `json:"owned_by"`
		}
	}
	if err := json.Unmarshal(get("GET", "/v1/models", 200), &models); err != nil {
		t.Fatal(err)
	}
	if models.Object != "list" || len(models.Data) != 2 || models.Data[0].ID != "alpha" || models.Data[1].ID != "beta" ||
		models.Data[0].OwnedBy != "flperf-simulator" || models.Data[0].Object != "model" {
		t.Errorf("/v1/models: %+v", models)
	}
	var one struct {
		ID      string `json:"id"`
		OwnedBy string `json:"owned_by"`
	}
	json.Unmarshal(get("GET", "/v1/models/beta", 200), &one)
	if one.ID != "beta" || one.OwnedBy != "flperf-simulator" {
		t.Errorf("/v1/models/beta: %+v", one)
	}
	get("GET", "/v1/models/gamma", 404)
	var info struct {
		Simulated bool     `json:"simulated"`
		Engine    string   `json:"engine"`
		Version   string   `json:"version"`
		Models    []string `json:"models"`
		Profiles  []struct {
			Name      string  `json:"name"`
			DecodeTPS float64 `json:"decode_tps"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal(get("GET", "/flperf/sim", 200), &info); err != nil {
		t.Fatal(err)
	}
	if !info.Simulated || info.Engine != "flperf-sim" || info.Version != Version || strings.Join(info.Models, ",") != "alpha,beta" ||
		len(info.Profiles) != 2 || info.Profiles[1].DecodeTPS != 1e9 {
		t.Errorf("/flperf/sim: %+v", info)
	}
	if b := get("GET", "/health", 200); !strings.Contains(string(b), `"ok"`) {
		t.Errorf("/health: %s", b)
	}
	if b := get("HEAD", "/health", 200); len(b) != 0 {
		t.Errorf("HEAD /health has a body")
	}
	get("GET", "/v1/chat/completions", 405)
	get("POST", "/v1/models", 405)
	get("GET", "/nope", 404)
}

func TestListen(t *testing.T) {
	checkLeaks(t)
	for _, addr := range []string{"", "127.0.0.1:0", "localhost:0"} {
		ln, err := Listen(addr)
		if err != nil {
			t.Errorf("Listen(%q): %v", addr, err)
			continue
		}
		host, _, _ := strings.Cut(ln.Addr().String(), ":")
		if !strings.HasPrefix(ln.Addr().String(), "127.") && !strings.HasPrefix(ln.Addr().String(), "[::1]") {
			t.Errorf("Listen(%q) bound %s (%s)", addr, ln.Addr(), host)
		}
		ln.Close()
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.168.1.10:0", "example.com:80", "127.0.0.1", "localhost.evil.com:0"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
}

func TestNewValidation(t *testing.T) {
	ok := Profile{Name: "ok", DecodeTPS: 10}
	if _, err := New(); err == nil {
		t.Error("New() with no profiles succeeded")
	}
	cases := []struct {
		p     Profile
		field string
	}{
		{Profile{DecodeTPS: 10}, "Name"},
		{Profile{Name: "a b", DecodeTPS: 10}, "Name"},
		{Profile{Name: `a"b`, DecodeTPS: 10}, "Name"},
		{Profile{Name: "x"}, "DecodeTPS"},
		{Profile{Name: "x", DecodeTPS: -1}, "DecodeTPS"},
		{Profile{Name: "x", DecodeTPS: 10, TTFT: -time.Second}, "TTFT"},
		{Profile{Name: "x", DecodeTPS: 10, PrefillTPS: -1}, "PrefillTPS"},
		{Profile{Name: "x", DecodeTPS: 10, Jitter: 1}, "Jitter"},
		{Profile{Name: "x", DecodeTPS: 10, TokensPerChunk: -1}, "TokensPerChunk"},
		{Profile{Name: "x", DecodeTPS: 10, ContinuousUsage: true}, "ContinuousUsage"},
		{Profile{Name: "x", DecodeTPS: 10, Reasoning: 5, OutputTokens: 5}, "Reasoning"},
		{Profile{Name: "x", DecodeTPS: 10, OutputTokens: -1}, "OutputTokens"},
		{Profile{Name: "x", DecodeTPS: 10, DefaultMaxTokens: -1}, "DefaultMaxTokens"},
		{Profile{Name: "x", DecodeTPS: 10, Slots: -1}, "Slots"},
		{Profile{Name: "x", DecodeTPS: 10, Faults: Faults{Status500: 1.5}}, "Faults.Status500"},
		{Profile{Name: "x", DecodeTPS: 10, Faults: Faults{Status429: 0.6, Status503: 0.6}}, "Status503"},
		{Profile{Name: "x", DecodeTPS: 10, Faults: Faults{Cut: -0.1}}, "Faults.Cut"},
		{Profile{Name: "x", DecodeTPS: 10, Faults: Faults{StallAt: -2}}, "Faults.StallAt"},
		{Profile{Name: "x", DecodeTPS: 10, Faults: Faults{StallFor: -1}}, "Faults.StallFor"},
	}
	for _, tc := range cases {
		_, err := New(ok, tc.p)
		if err == nil {
			t.Errorf("%+v: no error", tc.p)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.field) || !strings.Contains(msg, fmt.Sprintf("%q", tc.p.Name)) || strings.Contains(msg, `"ok"`) {
			t.Errorf("%+v: error %q should name profile %q and field %s only", tc.p, msg, tc.p.Name, tc.field)
		}
	}
	if _, err := New(ok, ok); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate names: %v", err)
	}
}

func TestDefaultProfiles(t *testing.T) {
	ps := DefaultProfiles()
	if _, err := New(ps...); err != nil {
		t.Fatal(err)
	}
	want := []Profile{
		{Name: "sim-fast", TTFT: 25 * time.Millisecond, PrefillTPS: 8000, DecodeTPS: 900, Jitter: 0.05, TokensPerChunk: 2, Usage: true, PrefixCache: 1024, TemplateTokens: DefaultTemplateTokens},
		{Name: "sim-slow", TTFT: 60 * time.Millisecond, PrefillTPS: 2000, DecodeTPS: 350, Jitter: 0.08, TokensPerChunk: 1, RoleChunk: true, Usage: true, Slots: 4, PrefixCache: 1024, TemplateTokens: DefaultTemplateTokens},
	}
	if len(ps) != len(want) {
		t.Fatalf("%d profiles", len(ps))
	}
	for i := range want {
		got := ps[i]
		got.Seed = 0
		if got != want[i] {
			t.Errorf("profile %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}
