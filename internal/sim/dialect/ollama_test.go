package dialect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/tokens"
)

// ollamaProfile is a quick, jitter-free model.
func ollamaProfile(name string) sim.Profile {
	return sim.Profile{Name: name, TTFT: 20 * time.Millisecond, DecodeTPS: 1000, TokensPerChunk: 1, Seed: 3}
}

// ollamaServe serves o on 127.0.0.1 until the test ends.
func ollamaServe(t *testing.T, o *Ollama) string {
	t.Helper()
	s := httptest.NewServer(o)
	t.Cleanup(s.Close)
	return s.URL
}

func newOllamaFake(t *testing.T, profiles ...sim.Profile) (*Ollama, string) {
	t.Helper()
	o, err := NewOllama(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	return o, ollamaServe(t, o)
}

// freshConnClient opens a new connection for every request. The simulated
// llama.cpp closes the connection after each streamed answer without
// "Connection: close", as llama-server does, so a pooled connection can be
// picked for the next request before its close is seen, and that request
// fails with a reset: engine behaviour these tests do not mean to exercise
// (flperf's own client retries such a request, see package backend).
var freshConnClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// ollamaDo sends a request and returns the status and the whole body.
func ollamaDo(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := freshConnClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, data
}

// ollamaLines parses an NDJSON body, failing on any line that is not a JSON object.
func ollamaLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func ollamaNum(m map[string]any, key string) float64 {
	f, _ := m[key].(float64)
	return f
}

func ollamaMsg(m map[string]any, key string) string {
	msg, _ := m["message"].(map[string]any)
	s, _ := msg[key].(string)
	return s
}

func TestOllamaChatStream(t *testing.T) {
	o, url := newOllamaFake(t, ollamaProfile("sim-o:latest"))
	o.LoadTime = 100 * time.Millisecond
	prompt := "Why is the sky blue"
	resp, body := ollamaDo(t, "POST", url+"/api/chat",
		`{"model":"sim-o","messages":[{"role":"user","content":"`+prompt+`"}],"options":{"num_predict":40}}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get(sim.EngineHeader) != "simulated" {
		t.Errorf("no %s header", sim.EngineHeader)
	}
	lines := ollamaLines(t, body)
	if len(lines) != 41 {
		t.Fatalf("%d lines, want 40 tokens + done:\n%s", len(lines), body)
	}
	var text strings.Builder
	for _, l := range lines[:40] {
		c := ollamaMsg(l, "content")
		if l["done"] != false || c == "" || l["model"] != "sim-o" || ollamaMsg(l, "role") != "assistant" {
			t.Fatalf("content line %v", l)
		}
		if _, err := time.Parse(time.RFC3339Nano, l["created_at"].(string)); err != nil {
			t.Errorf("created_at: %v", err)
		}
		text.WriteString(c)
	}
	last := lines[40]
	if last["done"] != true || last["done_reason"] != "length" || ollamaMsg(last, "content") != "" {
		t.Fatalf("done line %v", last)
	}
	words := len(strings.Fields(text.String()))
	if int(ollamaNum(last, "eval_count")) != words || words != 40 || tokens.Estimate(text.String()) != 40 {
		t.Errorf("eval_count %v, %d words in %q, want 40", last["eval_count"], words, text.String())
	}
	if int(ollamaNum(last, "prompt_eval_count")) != tokens.Estimate(prompt)+OllamaTemplateTokens { // the chat template's tokens too
		t.Errorf("prompt_eval_count %v, want %d", last["prompt_eval_count"], tokens.Estimate(prompt)+OllamaTemplateTokens)
	}
	total, load, pe, ev := ollamaNum(last, "total_duration"), ollamaNum(last, "load_duration"), ollamaNum(last, "prompt_eval_duration"), ollamaNum(last, "eval_duration")
	if load < float64(o.LoadTime) {
		t.Errorf("cold request: load_duration %v < LoadTime %v", time.Duration(load), o.LoadTime)
	}
	if pe <= 0 || ev <= 0 || total < load+pe+ev {
		t.Errorf("durations: total %v < load %v + prompt %v + eval %v", total, load, pe, ev)
	}
	// The durations are measured at the fake's flushes: check them against
	// the profile (1000 tok/s, TTFT 20 ms) in bands wide enough for a loaded
	// machine: a unit slip (ms for ns) is a factor of 1000.
	if rate := ollamaNum(last, "eval_count") / ev * 1e9; rate < 1000/10 || rate > 1000*10 {
		t.Errorf("decode rate %.1f tok/s, profile's 1000", rate)
	}
	if pe < float64(5*time.Millisecond) {
		t.Errorf("prompt_eval_duration %v, TTFT is 20 ms", time.Duration(pe))
	}

	// Warm: the model stays loaded, the next request does not load it.
	_, body = ollamaDo(t, "POST", url+"/api/chat", `{"model":"sim-o:latest","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2}}`)
	lines = ollamaLines(t, body)
	if l := ollamaNum(lines[len(lines)-1], "load_duration"); l <= 0 || l >= float64(o.LoadTime) {
		t.Errorf("warm request: load_duration %v, want > 0 and < LoadTime", time.Duration(l))
	}
}

func TestOllamaThinkingAndNonStream(t *testing.T) {
	p := ollamaProfile("think:1b")
	p.Reasoning, p.OutputTokens = 3, 8
	_, url := newOllamaFake(t, p)
	_, body := ollamaDo(t, "POST", url+"/api/chat", `{"model":"think:1b","messages":[{"role":"user","content":"x"}]}`)
	lines := ollamaLines(t, body)
	if len(lines) != 9 {
		t.Fatalf("%d lines:\n%s", len(lines), body)
	}
	for i, l := range lines[:8] {
		th, c := ollamaMsg(l, "thinking"), ollamaMsg(l, "content")
		if i < 3 && (th == "" || c != "") || i >= 3 && (th != "" || c == "") {
			t.Errorf("line %d: thinking %q content %q", i, th, c)
		}
	}
	if d := lines[8]; ollamaNum(d, "eval_count") != 8 || d["done_reason"] != "stop" {
		t.Errorf("done line %v: eval_count counts thinking too", d)
	}

	resp, body := ollamaDo(t, "POST", url+"/api/chat", `{"model":"think:1b","stream":false,"messages":[{"role":"user","content":"x"}]}`)
	var one map[string]any
	if err := json.Unmarshal(body, &one); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("non-stream answer %q (%v), content type %q", body, err, resp.Header.Get("Content-Type"))
	}
	n := len(strings.Fields(ollamaMsg(one, "content"))) + len(strings.Fields(ollamaMsg(one, "thinking")))
	if one["done"] != true || ollamaNum(one, "eval_count") != float64(n) || n != 8 {
		t.Errorf("non-stream: %v (%d words)", one, n)
	}

	_, body = ollamaDo(t, "POST", url+"/api/generate", `{"model":"think:1b","prompt":"x","options":{"num_predict":5}}`)
	lines = ollamaLines(t, body)
	if _, ok := lines[len(lines)-1]["response"]; !ok || lines[len(lines)-1]["done"] != true {
		t.Errorf("generate: %s", body)
	}
	if r, _ := lines[len(lines)-2]["response"].(string); r == "" {
		t.Errorf("generate: last text line %v has no response text", lines[len(lines)-2])
	}
}

// ollamaPS returns the loaded models by name.
func ollamaPS(t *testing.T, url string) map[string]map[string]any {
	t.Helper()
	_, body := ollamaDo(t, "GET", url+"/api/ps", "")
	var ps struct {
		Models []map[string]any `json:"models"`
	}
	if err := json.Unmarshal(body, &ps); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, m := range ps.Models {
		out[m["name"].(string)] = m
	}
	return out
}

func TestOllamaLoadKeepAlive(t *testing.T) {
	o, url := newOllamaFake(t, ollamaProfile("a:1b"), ollamaProfile("b:1b"))
	if err := o.SetModel("b:1b", OllamaModel{Size: 1000, VRAM: 0, Family: "qwen2", Quantization: "Q8_0", ContextLength: 8192, NumCtx: 8192}); err != nil {
		t.Fatal(err)
	}
	if ps := ollamaPS(t, url); len(ps) != 0 {
		t.Fatalf("loaded at start: %v", ps)
	}
	before := time.Now()
	resp, body := ollamaDo(t, "POST", url+"/api/generate", `{"model":"a:1b"}`)
	var ans map[string]any
	json.Unmarshal(body, &ans)
	if resp.StatusCode != 200 || ans["done_reason"] != "load" || ans["done"] != true {
		t.Fatalf("load: %d %s", resp.StatusCode, body)
	}
	if _, ok := ans["load_duration"]; ok {
		t.Errorf("Ollama's load answer has no timings: %s", body)
	}
	ps := ollamaPS(t, url)
	a := ps["a:1b"]
	if len(ps) != 1 || a == nil || ollamaNum(a, "size_vram") != ollamaNum(a, "size") || ollamaNum(a, "size") == 0 {
		t.Fatalf("ps after load: %v", ps)
	}
	exp, err := time.Parse(time.RFC3339Nano, a["expires_at"].(string))
	if err != nil || exp.Before(before.Add(DefaultOllamaKeepAlive)) || exp.After(time.Now().Add(DefaultOllamaKeepAlive)) {
		t.Errorf("expires_at %v (%v), want about now + 5m", a["expires_at"], err)
	}

	ollamaDo(t, "POST", url+"/api/chat", `{"model":"b:1b","messages":[],"keep_alive":-1}`)
	b := ollamaPS(t, url)["b:1b"]
	exp, _ = time.Parse(time.RFC3339Nano, b["expires_at"].(string))
	if b == nil || ollamaNum(b, "size_vram") != 0 || ollamaNum(b, "context_length") != 8192 || exp.Year() < time.Now().Year()+200 {
		t.Errorf("b with keep_alive -1: %v", b)
	}
	if d := b["details"].(map[string]any); d["family"] != "qwen2" || d["quantization_level"] != "Q8_0" {
		t.Errorf("details %v", d)
	}

	_, body = ollamaDo(t, "POST", url+"/api/generate", `{"model":"a:1b","keep_alive":0}`)
	json.Unmarshal(body, &ans)
	if ans["done_reason"] != "unload" {
		t.Errorf("unload answer %s", body)
	}
	if ps := ollamaPS(t, url); ps["a:1b"] != nil || ps["b:1b"] == nil {
		t.Errorf("after unloading a: %v", ps)
	}

	// A short keep-alive expires by itself.
	ollamaDo(t, "POST", url+"/api/generate", `{"model":"a:1b","keep_alive":"50ms"}`)
	time.Sleep(100 * time.Millisecond)
	if ps := ollamaPS(t, url); ps["a:1b"] != nil {
		t.Errorf("a still loaded after its keep-alive: %v", ps["a:1b"])
	}
	// A chat with keep_alive 0 unloads when it ends.
	ollamaDo(t, "POST", url+"/api/chat", `{"model":"a:1b","keep_alive":0,"messages":[{"role":"user","content":"x"}],"options":{"num_predict":1}}`)
	if ps := ollamaPS(t, url); ps["a:1b"] != nil {
		t.Errorf("a loaded after a chat with keep_alive 0")
	}
	for _, bad := range []string{`"x"`, `true`, `"-1"`} {
		resp, _ := ollamaDo(t, "POST", url+"/api/generate", `{"model":"a:1b","keep_alive":`+bad+`}`)
		if resp.StatusCode != 400 {
			t.Errorf("keep_alive %s: status %d", bad, resp.StatusCode)
		}
	}
}

func TestOllamaTagsShowUnknown(t *testing.T) {
	o, url := newOllamaFake(t, ollamaProfile("a:1b"), ollamaProfile("gone:7b"))
	if err := o.SetPulled("gone:7b", false); err != nil {
		t.Fatal(err)
	}
	_, body := ollamaDo(t, "GET", url+"/api/tags", "")
	var tags struct {
		Models []struct {
			Name, Model, Digest string
			Size                int64
			ModifiedAt          time.Time `json:"modified_at"`
			Details             ollamaDetails
		}
	}
	if err := json.Unmarshal(body, &tags); err != nil || len(tags.Models) != 1 {
		t.Fatalf("tags %s (%v)", body, err)
	}
	if m := tags.Models[0]; m.Name != "a:1b" || len(m.Digest) != 64 || m.Size == 0 || m.ModifiedAt.IsZero() ||
		m.Details.Family != "llama" || m.Details.ParameterSize != "1.2B" || m.Details.QuantizationLevel != "Q4_K_M" {
		t.Errorf("tag %+v", m)
	}

	_, body = ollamaDo(t, "POST", url+"/api/show", `{"model":"a:1b"}`)
	var show struct {
		Details      ollamaDetails
		ModelInfo    map[string]any `json:"model_info"`
		Capabilities []string
	}
	if err := json.Unmarshal(body, &show); err != nil || show.Details.Family != "llama" ||
		show.ModelInfo["general.architecture"] != "llama" || show.ModelInfo["llama.context_length"] != 4096.0 ||
		len(show.Capabilities) == 0 {
		t.Errorf("show %s (%v)", body, err)
	}

	for _, c := range []struct{ method, path, body, want string }{
		{"POST", "/api/show", `{"model":"gone:7b"}`, `model 'gone:7b' not found`},
		{"POST", "/api/show", `{"model":"nope"}`, `model 'nope' not found`},
		{"POST", "/api/chat", `{"model":"gone:7b","messages":[{"role":"user","content":"x"}]}`, `model "gone:7b" not found, try pulling it first`},
		{"POST", "/api/generate", `{"model":"nope"}`, `model "nope" not found, try pulling it first`},
		{"DELETE", "/api/delete", `{"model":"nope"}`, `model 'nope' not found`},
	} {
		resp, body := ollamaDo(t, c.method, url+c.path, c.body)
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if resp.StatusCode != 404 || e.Error != c.want {
			t.Errorf("%s %s: %d %s, want 404 %q", c.method, c.path, resp.StatusCode, body, c.want)
		}
	}
	resp, body := ollamaDo(t, "POST", url+"/v1/chat/completions", `{"model":"gone:7b","messages":[{"role":"user","content":"x"}]}`)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"not_found_error"`) {
		t.Errorf("/v1 unknown model: %d %s", resp.StatusCode, body)
	}
	_, body = ollamaDo(t, "GET", url+"/v1/models", "")
	if !strings.Contains(string(body), `"a:1b"`) || strings.Contains(string(body), "gone") {
		t.Errorf("/v1/models lists the pulled models only: %s", body)
	}
	if resp, _ := ollamaDo(t, "DELETE", url+"/api/delete", `{"model":"a:1b"}`); resp.StatusCode != 200 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if _, body := ollamaDo(t, "GET", url+"/api/tags", ""); string(body) != `{"models":[]}` {
		t.Errorf("tags after delete: %s", body)
	}
}

func TestOllamaPull(t *testing.T) {
	o, url := newOllamaFake(t, ollamaProfile("a:1b"))
	o.SetPulled("a:1b", false)
	resp, body := ollamaDo(t, "POST", url+"/api/pull", `{"model":"a:1b"}`)
	if resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	lines := ollamaLines(t, body)
	if lines[0]["status"] != "pulling manifest" || lines[len(lines)-1]["status"] != "success" ||
		lines[len(lines)-2]["status"] != "writing manifest" || lines[len(lines)-3]["status"] != "verifying sha256 digest" {
		t.Fatalf("pull lines:\n%s", body)
	}
	totals, completed := map[string]float64{}, map[string]float64{}
	for _, l := range lines[1 : len(lines)-3] {
		d, _ := l["digest"].(string)
		if !strings.HasPrefix(d, "sha256:") || len(d) != 71 || l["status"] != "pulling "+d[7:19] {
			t.Fatalf("layer line %v", l)
		}
		if c := ollamaNum(l, "completed"); c < completed[d] || c > ollamaNum(l, "total") {
			t.Fatalf("completed goes backwards or past total: %v", l)
		} else {
			completed[d] = c
		}
		totals[d] = ollamaNum(l, "total")
	}
	var sum float64
	for d, tot := range totals {
		if completed[d] != tot {
			t.Errorf("layer %s: %v of %v", d, completed[d], tot)
		}
		sum += tot
	}
	if len(totals) != 3 || sum != 807694464 {
		t.Errorf("%d layers, %v bytes", len(totals), sum)
	}
	if _, body := ollamaDo(t, "GET", url+"/api/tags", ""); !strings.Contains(string(body), `"a:1b"`) {
		t.Errorf("not pulled after success: %s", body)
	}

	resp, body = ollamaDo(t, "POST", url+"/api/pull", `{"model":"a:1b","stream":false}`)
	if resp.StatusCode != 200 || string(body) != `{"status":"success"}` {
		t.Errorf("stream false: %d %s", resp.StatusCode, body)
	}

	_, body = ollamaDo(t, "POST", url+"/api/pull", `{"model":"nope:1b"}`)
	lines = ollamaLines(t, body)
	if e, _ := lines[len(lines)-1]["error"].(string); !strings.Contains(e, "file does not exist") {
		t.Errorf("unknown model pull: %s", body)
	}
}

func TestOllamaPullFailure(t *testing.T) {
	o, url := newOllamaFake(t, ollamaProfile("a:1b"))
	o.SetPulled("a:1b", false)
	o.PullFailure = "max retries exceeded: connection reset"
	_, body := ollamaDo(t, "POST", url+"/api/pull", `{"model":"a:1b"}`)
	lines := ollamaLines(t, body)
	last := lines[len(lines)-1]
	if last["error"] != o.PullFailure || len(lines) < 3 {
		t.Fatalf("pull lines:\n%s", body)
	}
	if c := ollamaNum(lines[len(lines)-2], "completed"); c == 0 {
		t.Errorf("failed before any progress: %v", lines[len(lines)-2])
	}
	if resp, _ := ollamaDo(t, "POST", url+"/api/chat", `{"model":"a:1b","messages":[{"role":"user","content":"x"}]}`); resp.StatusCode != 404 {
		t.Errorf("chat after a failed pull: %d", resp.StatusCode)
	}
	resp, body := ollamaDo(t, "POST", url+"/api/pull", `{"model":"a:1b","stream":false}`)
	if resp.StatusCode != 500 || !strings.Contains(string(body), o.PullFailure) {
		t.Errorf("stream false failure: %d %s", resp.StatusCode, body)
	}
}

func TestOllamaFaults(t *testing.T) {
	busy := ollamaProfile("busy:1b")
	busy.Faults.Status503 = 1
	cut := ollamaProfile("cut:1b")
	cut.Faults.Cut = 1
	_, url := newOllamaFake(t, busy, cut)

	resp, body := ollamaDo(t, "POST", url+"/api/chat", `{"model":"busy:1b","messages":[{"role":"user","content":"x"}]}`)
	var e struct{ Error string }
	if json.Unmarshal(body, &e); resp.StatusCode != 503 || !strings.Contains(e.Error, "overload") {
		t.Errorf("503 fault: %d %s", resp.StatusCode, body)
	}

	req, _ := http.NewRequestWithContext(t.Context(), "POST", url+"/api/chat",
		strings.NewReader(`{"model":"cut:1b","messages":[{"role":"user","content":"x"}],"options":{"num_predict":10}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("a cut stream ended cleanly")
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			if m["done"] == true {
				t.Errorf("done line in a cut stream")
			}
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d lines before the cut, want 5 (half of 10)", n)
	}
}

func TestOllamaOpenAIDelegated(t *testing.T) {
	_, url := newOllamaFake(t, ollamaProfile("a:latest"))
	resp, body := ollamaDo(t, "POST", url+"/v1/chat/completions",
		`{"model":"a","messages":[{"role":"user","content":"x"}],"stream":true,"max_tokens":4,"stream_options":{"include_usage":true}}`)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		!strings.Contains(string(body), `"completion_tokens":4`) || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Errorf("/v1 stream: %d %s", resp.StatusCode, body)
	}
	if ps := ollamaPS(t, url); ps["a:latest"] == nil {
		t.Errorf("/v1 chat did not load the model: %v", ps)
	}
}

// TestOllamaOpenAIIgnoresEOSFields: Ollama's /v1 drops fields it does not
// know, so vLLM's ignore_eos and min_tokens neither force the length (the
// answer still stops at the model's natural end) nor are checked (a bad
// min_tokens is no 400), as on the real engine.
func TestOllamaOpenAIIgnoresEOSFields(t *testing.T) {
	p := ollamaProfile("short:latest")
	p.OutputTokens = 3
	_, url := newOllamaFake(t, p)
	for _, extra := range []string{`"ignore_eos":true,"min_tokens":12`, `"ignore_eos":true,"min_tokens":-5`} {
		resp, body := ollamaDo(t, "POST", url+"/v1/chat/completions",
			`{"model":"short","messages":[{"role":"user","content":"x"}],"max_tokens":12,`+extra+`}`)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"completion_tokens":3`) || !strings.Contains(string(body), `"finish_reason":"stop"`) {
			t.Errorf("/v1 with %s: %d %s, want the natural 3 tokens and finish stop", extra, resp.StatusCode, body)
		}
	}
}

func TestOllamaRoutes(t *testing.T) {
	_, url := newOllamaFake(t, ollamaProfile("a:1b"))
	if _, body := ollamaDo(t, "GET", url+"/api/version", ""); string(body) != `{"version":"`+OllamaVersion+`"}` {
		t.Errorf("version %s", body)
	}
	if _, body := ollamaDo(t, "GET", url+"/", ""); string(body) != "Ollama is running" {
		t.Errorf("root %s", body)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/flperf/sim"}, {"GET", "/api/chat"}, {"POST", "/api/tags"}} {
		if resp, _ := ollamaDo(t, c.method, url+c.path, ""); resp.StatusCode != 404 {
			t.Errorf("%s %s: %d", c.method, c.path, resp.StatusCode)
		}
	}
	for _, body := range []string{"", "{", `{"messages":[]}`, `{"model":"a:1b","messages":"x"}`} {
		resp, data := ollamaDo(t, "POST", url+"/api/chat", body)
		var e struct{ Error string }
		if json.Unmarshal(data, &e); resp.StatusCode != 400 || e.Error == "" {
			t.Errorf("body %q: %d %s", body, resp.StatusCode, data)
		}
	}
	if _, err := NewOllama(sim.Profile{Name: "bad"}); err == nil {
		t.Errorf("invalid profile accepted")
	}
}

// TestOllamaEvalDuration: as Ollama 0.6.5 (whose runner starts the clock
// when it samples the first token), eval_duration runs from the first token
// to the last, N−1 token times for eval_count N, and prompt_eval_duration
// from the slot to one token time before the first token.
func TestOllamaEvalDuration(t *testing.T) {
	rec := httptest.NewRecorder()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := &ollamaTranslator{w: rec, rc: http.NewResponseController(rec), hdr: http.Header{}, stream: true, model: "m",
		gap: 10 * time.Millisecond, arrived: base, slotAt: base, firstAt: base.Add(50 * time.Millisecond),
		lastAt: base.Add(50*time.Millisecond + 31*10*time.Millisecond), eval: 32, finish: "length"}
	tr.finishLine()
	var l struct {
		EvalCount          int           `json:"eval_count"`
		EvalDuration       time.Duration `json:"eval_duration"`
		PromptEvalDuration time.Duration `json:"prompt_eval_duration"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
		t.Fatal(err, rec.Body.String())
	}
	if l.EvalCount != 32 || l.EvalDuration != 310*time.Millisecond || l.PromptEvalDuration != 40*time.Millisecond {
		t.Errorf("eval_count %d, eval_duration %v, prompt_eval_duration %v; want 32, 310ms (31 token times), 40ms", l.EvalCount, l.EvalDuration, l.PromptEvalDuration)
	}
}
