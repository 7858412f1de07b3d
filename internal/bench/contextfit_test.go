package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/suite"
)

// TestJudgeFit checks the context check's decisions and their margins: an
// exact count skips from the window on; an estimate skips only from
// estimateSkipFactor times the window and warns from half of it; prompt
// plus max_tokens beyond the window warns; engines that cut prompts
// instead of refusing them (Ollama) only ever warn.
func TestJudgeFit(t *testing.T) {
	llama, ollama := fitEngines[engine.LlamaCpp], fitEngines[engine.Ollama]
	for _, c := range []struct {
		name          string
		fe            fitEngine
		n, max, win   int
		method, want  string // want "" : fits
		wantInMessage string
	}{
		{"exact, at the window", llama, 512, 4, 512, runner.FitExact, runner.FitSkipped, "not below the context window of 512 tokens"},
		{"exact, one below, output beyond", llama, 511, 4, 512, runner.FitExact, runner.FitWarned, "llama.cpp stops generating"},
		{"exact, fits", llama, 400, 100, 512, runner.FitExact, "", ""},
		{"estimate, 4 times", llama, 2048, 4, 512, runner.FitEstimate, runner.FitSkipped, "at least 4 times"},
		{"estimate, under 4 times", llama, 2047, 4, 512, runner.FitEstimate, runner.FitWarned, "will probably refuse"},
		{"estimate, half", llama, 256, 4, 512, runner.FitEstimate, runner.FitWarned, "at least half"},
		{"estimate, under half", llama, 255, 4, 512, runner.FitEstimate, "", ""},
		{"estimate, output beyond", llama, 200, 400, 512, runner.FitEstimate, runner.FitWarned, "together beyond"},
		{"vLLM, output beyond", fitEngines[engine.VLLM], 500, 100, 512, runner.FitExact, runner.FitWarned, "vLLM refuses such requests"},
		{"Ollama, far beyond", ollama, 9000, 4, 512, runner.FitEstimate, runner.FitWarned, "cuts it to num_ctx"},
		{"Ollama, output beyond only", ollama, 100, 500, 512, runner.FitEstimate, "", ""},
	} {
		f := judgeFit(c.fe, c.n, c.max, c.win, c.method)
		switch {
		case c.want == "" && f != nil:
			t.Errorf("%s: %+v, want none", c.name, f)
		case c.want != "" && (f == nil || f.Action != c.want || !strings.Contains(f.Message, c.wantInMessage) ||
			f.PromptTokens != c.n || f.ContextLength != c.win || f.MaxTokens != c.max || f.Method != c.method):
			t.Errorf("%s: %+v, want %s with %q", c.name, f, c.want, c.wantInMessage)
		}
	}
}

// llamaFake is a simulated llama-server with slots of nctx tokens that
// counts the chat requests holding marker; noTemplate makes it answer 404
// to /apply-template, as builds without that route do.
type llamaFake struct {
	h          http.Handler
	marker     string
	noTemplate bool
	mu         sync.Mutex
	chats      int // requests holding marker
}

func (f *llamaFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.noTemplate && r.URL.Path == "/apply-template" {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/chat/completions") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(f.marker)) {
			f.mu.Lock()
			f.chats++
			f.mu.Unlock()
		}
	}
	f.h.ServeHTTP(w, r)
}

// sent is how many chat requests held the marker.
func (f *llamaFake) sent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chats
}

func startLlamaFake(t *testing.T, nctx int, marker string, noTemplate bool) (*llamaFake, *Engine) {
	t.Helper()
	l, err := dialect.NewLlamaCpp(sim.Profile{Name: "tiny.gguf", TTFT: time.Millisecond, DecodeTPS: 20000, Slots: 2, Seed: 3}, dialect.LlamaCppOptions{ContextLength: nctx})
	if err != nil {
		t.Fatal(err)
	}
	f := &llamaFake{h: l, marker: marker, noTemplate: noTemplate}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	eng, _, err := Choose(context.Background(), Choice{Endpoint: s.URL}, nil)
	if err != nil || eng.Kind != engine.LlamaCpp {
		t.Fatalf("identify: %v %+v", err, eng)
	}
	return f, eng
}

// longPrompt is a stretch of the default suite's long-input prompt.
func longPrompt(t *testing.T) (string, *suite.Scenario) {
	t.Helper()
	st, ok := suite.Builtin("default")
	if !ok {
		t.Fatal("no default suite")
	}
	for i := range st.Scenarios {
		if sc := &st.Scenarios[i]; sc.Name == "Long Input - Prefill" {
			return sc.Prompt[100:140], sc
		}
	}
	t.Fatal("no long-input scenario")
	return "", nil
}

// TestPrepareSkipsWhatCannotFit prepares a run on a simulated llama.cpp
// whose slots hold 512 tokens: the long-input scenario is counted exactly
// (its /apply-template and /tokenize) and skipped before any request, the
// short one runs, and the table and JSON reports name the skip with its
// counts.
func TestPrepareSkipsWhatCannotFit(t *testing.T) {
	marker, long := longPrompt(t)
	fake, eng := startLlamaFake(t, 512, marker, false)
	var logged []string
	var mu sync.Mutex
	logf := func(level, msg string) { mu.Lock(); logged = append(logged, level+" "+msg); mu.Unlock() }
	rs, err := (&Spec{Scenarios: []string{"Simple Q&A - Short", "Long Input - Prefill"}, Requests: intp(2), Warmup: intp(1), MaxTokens: 4}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, logf)
	if err != nil {
		t.Fatal(err)
	}
	// What the simulator counts for the stage's first request.
	first := promptOf(&r.Config, "tiny.gguf", long)
	body, _ := json.Marshal(map[string]any{"model": "tiny.gguf", "messages": first})
	want, ok := sim.PromptTokens(body)
	if !ok || want < 512 {
		t.Fatalf("the long prompt counts %d tokens", want)
	}
	if len(r.ContextFit) != 1 {
		t.Fatalf("context fit %+v", r.ContextFit)
	}
	f := r.ContextFit[0]
	if f.Model != "tiny.gguf" || f.Scenario != long.Name || f.Action != runner.FitSkipped || f.Method != runner.FitExact ||
		f.PromptTokens != want || f.ContextLength != 512 || f.MaxTokens != 4 {
		t.Fatalf("context fit %+v, want %d exact tokens on 512", f, want)
	}
	mu.Lock()
	warned := strings.Join(logged, "\n")
	mu.Unlock()
	if !strings.Contains(warned, "warn "+f.String()) {
		t.Errorf("log %q lacks the skip before the run", warned)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fake.sent() != 0 || res.Total.OK != 2 || res.Records != 3 || len(res.Groups) != 1 || res.Groups[0].Scenario != "Simple Q&A - Short" {
		t.Fatalf("the engine got %d long requests; %d ok, %d records, groups %d", fake.sent(), res.Total.OK, res.Records, len(res.Groups))
	}
	var table, js bytes.Buffer
	if err := report.Table(&table, res); err != nil {
		t.Fatal(err)
	}
	if err := report.JSON(&js, res); err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^  tiny\.gguf +Long Input - Prefill +skipped +` + strconv.Itoa(want) + ` +4 +512 +exact$`)
	if !strings.Contains(table.String(), f.String()) || !row.MatchString(table.String()) {
		t.Errorf("table report lacks %q or its row:\n%s", f.String(), table.String())
	}
	var doc struct {
		Suite struct {
			ContextFit []runner.ContextFit `json:"context_fit"`
		} `json:"suite"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || len(doc.Suite.ContextFit) != 1 || doc.Suite.ContextFit[0] != f {
		t.Errorf("JSON report: %v %+v", err, doc.Suite.ContextFit)
	}
}

// TestPrepareEstimatesWithoutTheTemplateRoute: a llama-server without
// /apply-template gets estimated counts, which warn (within the margin) but
// do not skip; the run then stops the stage at the engine's first refusal.
func TestPrepareEstimatesWithoutTheTemplateRoute(t *testing.T) {
	marker, long := longPrompt(t)
	fake, eng := startLlamaFake(t, 512, marker, true)
	rs, err := (&Spec{Scenarios: []string{"Long Input - Prefill", "Simple Q&A - Short"}, Requests: intp(3), Warmup: intp(0), MaxTokens: 4}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	est := estimatePrompt(promptOf(&r.Config, "tiny.gguf", long))
	if est < 512 || est >= estimateSkipFactor*512 {
		t.Fatalf("estimate %d: the test needs one between the window and %d times it", est, estimateSkipFactor)
	}
	if len(r.ContextFit) != 1 || r.ContextFit[0].Action != runner.FitWarned || r.ContextFit[0].Method != runner.FitEstimate || r.ContextFit[0].PromptTokens != est {
		t.Fatalf("context fit %+v", r.ContextFit)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fake.sent() != 1 || len(res.Suite.ContextFit) != 2 || res.Suite.ContextFit[1].Action != runner.FitStopped || res.Suite.ContextFit[1].Method != runner.FitEngine ||
		res.Suite.ContextFit[1].ContextLength != 512 || res.Suite.ContextFit[1].PromptTokens < 512 {
		t.Fatalf("the engine got %d long requests; context fit %+v", fake.sent(), res.Suite.ContextFit)
	}
}

// TestPrepareRefusesWhenNothingFits: when every stage would be refused
// there is nothing to run, and Prepare says so.
func TestPrepareRefusesWhenNothingFits(t *testing.T) {
	_, eng := startLlamaFake(t, 8, "unused marker", false)
	rs, err := (&Spec{Scenarios: []string{"Simple Q&A - Short"}, Requests: intp(1)}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(context.Background(), rs, eng, nil); err == nil || !strings.Contains(err.Error(), "no scenario fits the context window of tiny.gguf") {
		t.Fatalf("error %v", err)
	}
}

// TestPrepareOnVLLM checks the context check on a simulated vLLM whose
// max_model_len is 1000: prompts are counted exactly through its
// /tokenize, the long-input scenario is skipped, and a short one whose
// max_tokens takes it beyond the window is warned about before the run and
// stopped at the engine's first refusal (sequential: one request), with
// vLLM's counts.
func TestPrepareOnVLLM(t *testing.T) {
	v, err := dialect.NewVLLM(sim.Profile{Name: "org/m", TTFT: time.Millisecond, DecodeTPS: 20000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	v.MaxModelLen = 1000
	s := httptest.NewServer(v)
	t.Cleanup(s.Close)
	eng, _, err := Choose(context.Background(), Choice{Endpoint: s.URL}, nil)
	if err != nil || eng.Kind != engine.VLLM {
		t.Fatalf("identify: %v %+v", err, eng)
	}
	rs, err := (&Spec{Scenarios: []string{"Simple Q&A - Short", "Long Input - Prefill"}, Requests: intp(3), Warmup: intp(0), MaxTokens: 995}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ContextFit) != 2 {
		t.Fatalf("context fit %+v", r.ContextFit)
	}
	short, long := r.ContextFit[0], r.ContextFit[1]
	_, longSc := longPrompt(t)
	body, _ := json.Marshal(map[string]any{"model": "org/m", "messages": promptOf(&r.Config, "org/m", longSc)})
	want, _ := sim.PromptTokens(body)
	want += dialect.VLLMTemplateTokens // the simulated vLLM's chat template
	if long.Action != runner.FitSkipped || long.Method != runner.FitExact || long.PromptTokens != want || long.ContextLength != 1000 ||
		short.Action != runner.FitWarned || short.Method != runner.FitExact || !strings.Contains(short.Message, "vLLM refuses such requests") {
		t.Fatalf("context fit %+v, want the long prompt's %d tokens", r.ContextFit, want)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fits := res.Suite.ContextFit
	if res.Records != 1 || len(fits) != 3 || fits[2].Action != runner.FitStopped || fits[2].Scenario != "Simple Q&A - Short" ||
		fits[2].PromptTokens != short.PromptTokens || fits[2].ContextLength != 1000 || fits[2].Requests != 1 {
		t.Fatalf("%d records; context fit %+v", res.Records, fits)
	}
}
