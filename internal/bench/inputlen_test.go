package bench

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/inputlen"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// recSink keeps a run's records.
type recSink struct {
	mu   sync.Mutex
	recs []record.Record
}

func (s *recSink) Close() error { return nil }

func (s *recSink) Add(r *record.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, *r)
	return nil
}

// startVLLM serves a simulated vLLM (its chat template's default
// overhead) whose max_model_len is window.
func startVLLM(t *testing.T, window int) *Engine {
	t.Helper()
	v, err := dialect.NewVLLM(sim.Profile{Name: "org/m", TTFT: time.Millisecond, PrefillTPS: 1e6, DecodeTPS: 20000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	v.MaxModelLen = window
	s := httptest.NewServer(v)
	t.Cleanup(s.Close)
	eng, _, err := Choose(context.Background(), Choice{Endpoint: s.URL}, nil)
	if err != nil || eng.Kind != engine.VLLM {
		t.Fatalf("identify: %v %+v", err, eng)
	}
	return eng
}

// TestPrepareInputTokens prepares and runs --input-tokens on a simulated
// vLLM: the lengths are made exact with its /tokenize (no calibration
// request), every record asks for its drawn length and the engine counts
// exactly that, the group compares them, the repeat command names the
// flag, and the run's suite block keeps the resolution.
func TestPrepareInputTokens(t *testing.T) {
	eng := startVLLM(t, 8192)
	rs, err := (&Spec{InputTokens: "uniform:100-400", Requests: intp(6), Warmup: intp(1), MaxTokens: 4}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Suite.Name != InputTokensSuite || len(rs.Scenarios) != 1 || rs.Scenarios[0].InputTokens == nil {
		t.Fatalf("suite %+v", rs.Suite)
	}
	r, err := Prepare(context.Background(), rs, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	il := r.InputLengths
	if r.Inputs == nil || il == nil || len(il.Prompts) != 1 || il.Prompts[0].Method != inputlen.MethodTokenizer ||
		il.Prompts[0].Lengths < 2 || il.Prompts[0].Missed != 0 || il.CalibrationRequests != 0 || il.TokenizerCounts == 0 {
		t.Fatalf("input lengths %+v", il)
	}
	if cmd := strings.Join(r.Config.Command, " "); !strings.Contains(cmd, "--input-tokens uniform:100-400") || strings.Contains(cmd, "--suite") {
		t.Errorf("repeat command %q", cmd)
	}
	sink := &recSink{}
	r.Sinks = append(r.Sinks, sink)
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != 7 {
		t.Fatalf("%d records", len(sink.recs))
	}
	var lengths []int
	for _, rec := range sink.recs {
		if rec.Outcome != record.OK || rec.InputLengthMethod != inputlen.MethodTokenizer || rec.RequestedInputTokens < 100 ||
			rec.RequestedInputTokens > 400 || rec.InputTokens != rec.RequestedInputTokens || rec.InputSource != record.SourceUsage {
			t.Errorf("record %d: %s, asked %d by %q, counted %d (%s)", rec.Seq, rec.Outcome, rec.RequestedInputTokens, rec.InputLengthMethod, rec.InputTokens, rec.InputSource)
		}
		lengths = append(lengths, rec.RequestedInputTokens)
	}
	if slices.Min(lengths) == slices.Max(lengths) {
		t.Errorf("uniform lengths all %d", lengths[0])
	}
	f := res.Groups[0].InputLength
	if f == nil || f.N != 6 || f.Off != 0 || *f.Diff != 0 {
		t.Errorf("group input_length %+v", f)
	}
	if res.Suite.InputLengths == nil || res.Suite.InputLengths.Prompts[0].Method != inputlen.MethodTokenizer {
		t.Errorf("suite block %+v", res.Suite.InputLengths)
	}
}

// TestInputTokensContextFit: an input length at or beyond vLLM's
// max_model_len is skipped before any request, counted as asked.
func TestInputTokensContextFit(t *testing.T) {
	eng := startVLLM(t, 1000)
	rs, err := (&Spec{InputTokens: "1000", Requests: intp(2), Warmup: intp(0), MaxTokens: 4}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(context.Background(), rs, eng, nil)
	if err == nil || !strings.Contains(err.Error(), "no scenario fits the context window") {
		t.Fatalf("err %v, want every stage skipped", err)
	}
	rs, err = (&Spec{InputTokens: "600", Requests: intp(2), Warmup: intp(0), MaxTokens: 4}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, nil)
	if err != nil || len(r.ContextFit) != 0 {
		t.Fatalf("600 of 1000: %v %+v", err, r.ContextFit)
	}
}

// TestInputTokensSpec: with scenarios, the length replaces their prompts
// (system kept); bad specs and a dataset beside it are problems naming the
// field.
func TestInputTokensSpec(t *testing.T) {
	rs, err := (&Spec{InputTokens: "256:32", Scenarios: []string{"Simple Q&A - Short", "Code Generation"}}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range rs.Scenarios {
		if sc.InputTokens == nil || sc.InputTokens.String() != "256:32" || sc.Prompt != "" || sc.Messages != nil {
			t.Errorf("scenario %q: %+v", sc.Name, sc)
		}
	}
	if rs.Suite.Name != "default" {
		t.Errorf("suite %q", rs.Suite.Name)
	}
	for spec, want := range map[string]string{
		"0":         "input_tokens: the length must be between 1",
		"uniform:1": "input_tokens: want uniform:A-B",
	} {
		if _, err := (&Spec{InputTokens: spec}).Validate(Check{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", spec, err, want)
		}
	}
	_, err = (&Spec{InputTokens: "100", Dataset: "d.jsonl"}).Validate(Check{})
	if err == nil || !strings.Contains(err.Error(), "input_tokens: replaces the prompts with generated ones: not used with dataset") {
		t.Errorf("with a dataset: %v", err)
	}
}

// TestGGUFSource: the gguf method reads the file llama-server's /props
// names, on this machine only.
func TestGGUFSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(path, []byte("not a GGUF file"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := dialect.NewLlamaCpp(sim.Profile{Name: "m.gguf", TTFT: time.Millisecond, DecodeTPS: 1000, Seed: 1}, dialect.LlamaCppOptions{ModelPath: path})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l)
	t.Cleanup(s.Close)
	info := engine.Info{Kind: engine.LlamaCpp, Endpoint: s.URL + "/v1"}
	src := ggufSource(nil, info, engine.NewManager(info, nil))
	if src == nil {
		t.Fatal("no gguf source for a local llama-server")
	}
	if _, err := src(context.Background(), "m.gguf"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a file that is not GGUF: %v, want an error naming %s", err, path)
	}
	far := engine.Info{Kind: engine.LlamaCpp, Endpoint: "http://192.0.2.1:8080/v1"}
	if ggufSource(nil, far, engine.NewManager(far, nil)) != nil {
		t.Error("a gguf source for another machine's engine")
	}
}
