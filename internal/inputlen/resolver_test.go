package inputlen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// overhead is the simulated chat template's overhead in these tests
// (sim.Profile.TemplateTokens), so that a resolver that forgot it misses.
const overhead = 5

// lengths are the input lengths every path must hit: 1-word prompts,
// sentence boundaries (where one more word costs two tokens) and long
// ones.
var lengths = []int{24, 25, 26, 37, 38, 100, 512, 2048}

func profile(name string) sim.Profile {
	return sim.Profile{Name: name, TTFT: time.Millisecond, DecodeTPS: 50000, Usage: true, Seed: 7, TemplateTokens: overhead}
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// sendAs sends what the runner sends for request index of a model ×
// scenario (the prompt, its own nonce prepended) and returns the prompt
// tokens the engine reported.
func sendAs(t *testing.T, c Sender, model string, p Prompt, seed int64, index int) int {
	t.Helper()
	msgs := append([]suite.Message(nil), p.Messages...)
	msgs[0].Content = "[" + suite.DigitNonce(seed, model, "scenario", index) + "] " + msgs[0].Content
	req := backend.Request{Model: model, MaxTokens: 2}
	for _, m := range msgs {
		req.Messages = append(req.Messages, backend.Message{Role: m.Role, Content: m.Content})
	}
	var rec record.Record
	c.Do(context.Background(), req, &rec)
	if rec.Outcome != record.OK || (rec.InputSource != record.SourceUsage && rec.InputSource != record.SourceEngine) {
		t.Fatalf("request: %s %s (input source %q)", rec.Outcome, rec.Error, rec.InputSource)
	}
	return rec.InputTokens
}

// checkHits resolves every length with r and checks that the method is
// want and that the engine counts each prompt, sent as the runner sends
// it, exactly.
func checkHits(t *testing.T, r *Resolver, c Sender, model, system, want string, seed int64) {
	t.Helper()
	for i, n := range lengths {
		p, err := r.PromptSystem(context.Background(), model, system, n)
		if err != nil {
			t.Fatalf("%d tokens: %v", n, err)
		}
		if p.Method != want || !p.Exact || p.Tokens != n || p.Requested != n {
			t.Fatalf("%d tokens: %+v, want exact by %s", n, p, want)
		}
		if got := sendAs(t, c, model, p, seed, i); got != n {
			t.Errorf("%d tokens asked, the engine counted %d (%s)", n, got, want)
		}
		if system != "" && (p.Messages[0].Role != suite.RoleSystem || p.Messages[0].Content != system) {
			t.Errorf("system prompt not first: %+v", p.Messages)
		}
	}
}

// TestTokenizerVLLM resolves lengths with the simulated vLLM's /tokenize
// (its chat template's overhead included) and checks each against the
// usage of a real request; a second resolution is served from the cache.
func TestTokenizerVLLM(t *testing.T) {
	v, err := dialect.NewVLLM(profile("m"))
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, v)
	mgr := engine.NewVLLM(engine.Info{Kind: engine.VLLM, Endpoint: url + "/v1"}, nil)
	client := backend.New(url+"/v1", backend.Options{})
	r := New(Options{Counter: mgr, Sender: client, Seed: 11, CacheBust: true})
	checkHits(t, r, client, "m", "", MethodTokenizer, 11)
	checkHits(t, r, client, "m", "You answer briefly, in plain words.", MethodTokenizer, 11)
	st := r.Stats()
	if st.CalibrationRequests != 0 || st.CountCalls == 0 {
		t.Fatalf("stats %+v: the tokenizer, not calibration, should have counted", st)
	}
	before := st.CountCalls
	if _, err := r.Prompt(context.Background(), "m", 512); err != nil || r.Stats().CountCalls != before {
		t.Fatalf("a cached length was counted again: %v %+v", err, r.Stats())
	}
}

// TestTokenizerLlamaCpp resolves lengths with the simulated llama.cpp's
// /apply-template and /tokenize.
func TestTokenizerLlamaCpp(t *testing.T) {
	p := profile("tiny.gguf")
	p.TemplateTokens = 0 // its template is each message's text and a newline
	l, err := dialect.NewLlamaCpp(p, dialect.LlamaCppOptions{ContextLength: 8192})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, l)
	mgr := engine.NewLlamaCpp(engine.Info{Kind: engine.LlamaCpp, Endpoint: url + "/v1"}, nil)
	client := backend.New(url+"/v1", backend.Options{})
	checkHits(t, New(Options{Counter: mgr, Seed: 3, CacheBust: true}), client, "tiny.gguf", "Be terse.", MethodTokenizer, 3)
}

// TestCalibration resolves lengths on engines without a tokenizer
// endpoint by probing their usage: the OpenAI route of a simulated vLLM
// without /tokenize use, and Ollama's native route (prompt_eval_count).
func TestCalibration(t *testing.T) {
	v, err := dialect.NewVLLM(profile("m"))
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, v)
	client := backend.New(url+"/v1", backend.Options{})
	r := New(Options{Sender: client, Seed: 5, CacheBust: true})
	checkHits(t, r, client, "m", "", MethodCalibration, 5)
	st := r.Stats()
	if st.CalibrationRequests == 0 || st.CalibrationRequests > 4*len(lengths) {
		t.Fatalf("%d calibration requests for %d lengths", st.CalibrationRequests, len(lengths))
	}
	t.Logf("calibration: %d requests, %s for %d lengths", st.CalibrationRequests, st.CalibrationTime, len(lengths))

	o, err := dialect.NewOllama(profile("llama3.2:1b"))
	if err != nil {
		t.Fatal(err)
	}
	ourl := serve(t, o)
	native := backend.NewOllamaNative(ourl, backend.Options{})
	checkHits(t, New(Options{Sender: native, Seed: 5, CacheBust: true}), native, "llama3.2:1b", "Be terse.", MethodCalibration, 5)
}

// TestFallbacks: a tokenizer endpoint that fails falls back to
// calibration; an engine that reports no usage and has no tokenizer falls
// back to the estimate, with a warning; a length below the template's own
// is an error that says so.
func TestFallbacks(t *testing.T) {
	v, err := dialect.NewSGLang(profile("m")) // SGLang: no /tokenize
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, v)
	client := backend.New(url+"/v1", backend.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("/tokenize", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) })
	bad := engine.NewVLLM(engine.Info{Kind: engine.SGLang, Endpoint: serve(t, mux) + "/v1"}, nil)
	var logs []string
	r := New(Options{Counter: bad, Sender: client, Seed: 1, CacheBust: true, Logf: func(l, m string) { logs = append(logs, l+" "+m) }})
	p, err := r.Prompt(context.Background(), "m", 300)
	if err != nil || p.Method != MethodCalibration || !p.Exact {
		t.Fatalf("%+v %v, want calibration", p, err)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "by tokenizer unavailable") {
		t.Fatalf("logs %q", logs)
	}

	np := profile("m")
	np.Usage = false
	s, err := sim.New(np)
	if err != nil {
		t.Fatal(err)
	}
	nc := backend.New(serve(t, s)+"/v1", backend.Options{})
	logs = nil
	r = New(Options{Sender: nc, Seed: 1, Logf: func(l, m string) { logs = append(logs, l+" "+m) }})
	p, err = r.Prompt(context.Background(), "m", 300)
	if err != nil || p.Method != MethodEstimate || p.Tokens != 300 {
		t.Fatalf("%+v %v, want the estimate", p, err)
	}
	if len(logs) != 2 || !strings.HasPrefix(logs[1], "warn ") || !strings.Contains(logs[1], "only approximate") {
		t.Fatalf("logs %q", logs)
	}

	r = New(Options{Sender: client, Seed: 1, CacheBust: true})
	if _, err := r.Prompt(context.Background(), "m", overhead+2); err == nil || !strings.Contains(err.Error(), "below the shortest prompt") {
		t.Fatalf("err %v", err)
	}
}

// TestFiller: deterministic per seed, each shorter filler a prefix of the
// longer, different seeds differ.
func TestFiller(t *testing.T) {
	a, b := Filler(1, 40), Filler(1, 41)
	if a != Filler(1, 40) || !strings.HasPrefix(b, a) || Filler(2, 40) == a {
		t.Fatalf("filler not deterministic or not prefix-stable:\n%s\n%s", a, b)
	}
	if strings.Count(Filler(9, 25), ".") != 2 {
		t.Fatalf("want a full stop every %d words: %q", sentenceWords, Filler(9, 25))
	}
}

// TestSearchHitsEveryLength: over many seeds and every length from the
// shortest prompt up, the search hits exactly (counted by the estimate,
// the simulator's tokenizer, with a nonce in place), sentence boundaries
// and long words included, in a bounded number of counts.
func TestSearchHitsEveryLength(t *testing.T) {
	for seed := range int64(30) {
		r := New(Options{Seed: seed, CacheBust: true})
		for n := 8; n <= 300; n++ {
			p, err := r.PromptSystem(context.Background(), "m", "Be terse.", n)
			if err != nil || !p.Exact || p.Method != MethodEstimate {
				t.Fatalf("seed %d, %d tokens: %+v %v", seed, n, p, err)
			}
		}
	}
}

// TestFillerShared: the resolver's filler is Filler's text, a slice of one
// shared string.
func TestFillerShared(t *testing.T) {
	r := New(Options{Seed: 4})
	for _, k := range []int{1, 5, 12, 13, 14, 40, 3, 100, 25, 300, 1} {
		if got, want := r.filler(k), Filler(4, k); got != want {
			t.Fatalf("filler(%d) = %q, want %q", k, got, want)
		}
	}
}

// TestDraws: a fixed length draws once; a distribution once per request,
// at most MaxDraws, fewer when long.
func TestDraws(t *testing.T) {
	for _, c := range []struct {
		spec     string
		requests int
		want     int
	}{
		{"512", 100, 1}, {"512:64", 10, 10}, {"512:64", 1000, MaxDraws}, {"uniform:1-1048576", 1000, 8},
		{"1000000:100000", 50, 8}, {"1000:100", 50, 50}, {"uniform:5-5", 100, 1},
	} {
		l, err := suite.ParseInputLength(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := Draws(l, c.requests); got != c.want {
			t.Errorf("Draws(%s, %d) = %d, want %d", c.spec, c.requests, got, c.want)
		}
	}
}

// cutting is a Sender whose engine cuts prompts to limit tokens, as
// Ollama's num_ctx does, and reports the cut count.
type cutting struct {
	Sender
	limit int
}

func (c cutting) Do(ctx context.Context, req backend.Request, rec *record.Record) {
	c.Sender.Do(ctx, req, rec)
	rec.InputTokens = min(rec.InputTokens, c.limit)
}

// TestTruncationDetected: on an engine that cuts prompts, a length beyond
// its cut is an error saying so (with the count it stops at), not a
// prompt of the wrong length; a length within it is still exact.
func TestTruncationDetected(t *testing.T) {
	v, err := dialect.NewVLLM(profile("m"))
	if err != nil {
		t.Fatal(err)
	}
	client := backend.New(serve(t, v)+"/v1", backend.Options{})
	r := New(Options{Sender: cutting{client, 300}, Seed: 2, CacheBust: true})
	_, err = r.Prompt(context.Background(), "m", 500)
	te, ok := errors.AsType[*TruncatedError](err)
	if !ok || te.Counted != 300 || te.Requested != 500 || !strings.Contains(err.Error(), "num_ctx") {
		t.Fatalf("err %v, want a TruncatedError at 300", err)
	}
	if p, err := r.Prompt(context.Background(), "m", 250); err != nil || !p.Exact || p.Method != MethodCalibration {
		t.Fatalf("250 within the cut: %+v %v", p, err)
	}
}

// TestTokenizerLlamaCppOverhead: a llama.cpp whose template adds tokens
// counts them alike in /apply-template + /tokenize and in usage.
func TestTokenizerLlamaCppOverhead(t *testing.T) {
	l, err := dialect.NewLlamaCpp(profile("tiny.gguf"), dialect.LlamaCppOptions{ContextLength: 8192})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, l)
	mgr := engine.NewLlamaCpp(engine.Info{Kind: engine.LlamaCpp, Endpoint: url + "/v1"}, nil)
	client := backend.New(url+"/v1", backend.Options{})
	checkHits(t, New(Options{Counter: mgr, Seed: 6, CacheBust: true}), client, "tiny.gguf", "", MethodTokenizer, 6)
}

// TestTruncationForced: with Options.Force, a length the engine cuts is
// resolved by the estimate (not exact, method estimate) so that the run can
// send it and report the cut; without it, Resolve fails naming the stage.
func TestTruncationForced(t *testing.T) {
	v, err := dialect.NewVLLM(profile("m"))
	if err != nil {
		t.Fatal(err)
	}
	client := backend.New(serve(t, v)+"/v1", backend.Options{})
	scs := []suite.Scenario{{Name: "long", InputTokens: &suite.InputLength{Kind: suite.InputFixed, N: 500}}}
	if _, err := New(Options{Sender: cutting{client, 300}, Seed: 2}).Resolve(context.Background(), []string{"m"}, scs, 1); err == nil ||
		!strings.Contains(err.Error(), `model m, scenario "long": input tokens: model m counts at most 300 tokens`) {
		t.Fatalf("unforced: %v", err)
	}
	var logged []string
	r := New(Options{Sender: cutting{client, 300}, Seed: 2, Force: func(string, string) bool { return true },
		Logf: func(level, msg string) { logged = append(logged, level+" "+msg) }})
	set, err := r.Resolve(context.Background(), []string{"m"}, scs, 1)
	if err != nil {
		t.Fatal(err)
	}
	msgs, requested, method, ok := set.Input("m", "long", 0)
	n := 0
	for _, m := range msgs {
		n += tokens.Estimate(m.Content)
	}
	if !ok || requested != 500 || method != MethodEstimate || n != 500 || set.Resolutions()[0].Missed != 1 {
		t.Fatalf("forced: %d estimated tokens, requested %d, method %q, %+v", n, requested, method, set.Resolutions())
	}
	if len(logged) == 0 || !strings.Contains(logged[len(logged)-1], "sent anyway (--force)") {
		t.Errorf("log %q", logged)
	}
}
