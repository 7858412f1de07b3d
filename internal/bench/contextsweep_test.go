package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/stats"
)

func TestParseContextSweep(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{"128,512,2k,8k,32k", []int{128, 512, 2048, 8192, 32768}, ""},
		{" 2K, 128 ,2k,128,2048", []int{128, 2048}, ""},
		{"32", []int{32}, ""},
		{"1024k", []int{MaxSweepTokens}, ""},
		{"", nil, "want input lengths"},
		{"128,,512", nil, "want input lengths"},
		{"1.5k", nil, "want input lengths"},
		{"+128", nil, "want input lengths"},
		{"abc", nil, "want input lengths"},
		{"0", nil, "between 32 and 1048576 tokens, got 0"},
		{"31", nil, "between 32 and 1048576 tokens, got 31"},
		{"-5k", nil, "got -5k"},
		{"1025k", nil, "got 1025k"},
		{"99999999999999999999", nil, "want input lengths"},
	} {
		got, err := ParseContextSweep(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, %v; want an error holding %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	var many []string
	for i := range MaxLevels + 1 {
		many = append(many, SweepLengthString(64+i))
	}
	if _, err := ParseContextSweep(strings.Join(many, ",")); err == nil || !strings.Contains(err.Error(), "at most 32 lengths") {
		t.Errorf("33 lengths: %v", err)
	}
}

// SweepLengthString writes one length for the test above.
func SweepLengthString(n int) string { return sweepList([]int{n}) }

// TestSpecContextSweep: --context-sweep replaces the suite with one
// scenario per length, all with the same max_tokens, and refuses what
// cannot go with it, naming the field.
func TestSpecContextSweep(t *testing.T) {
	rs, err := (&Spec{ContextSweep: "2k,128", MaxTokens: 16, Force: true}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rs.Config.ContextSweep, []int{128, 2048}) || rs.Config.Suite != ContextSweepSuite || !rs.Config.Force ||
		!slices.Equal(rs.Config.Scenarios, []string{"context-128", "context-2048"}) || len(rs.Scenarios) != 2 {
		t.Fatalf("config %+v, scenarios %d", rs.Config, len(rs.Scenarios))
	}
	for _, sc := range rs.Scenarios {
		if sc.MaxTokensOr(0) != 16 || runner.SweepLength(sc.Name) == 0 || sc.InputTokens == nil || sc.InputTokens.N != runner.SweepLength(sc.Name) || sc.Prompt != "" {
			t.Errorf("scenario %+v", sc)
		}
	}
	rs, err = (&Spec{ContextSweep: "512"}).Validate(Check{})
	if err != nil || rs.Scenarios[0].MaxTokensOr(0) != runner.DefaultMaxTokens || rs.Config.Mode != "sequential" || rs.Config.Concurrency != 1 {
		t.Fatalf("default max_tokens and load: %v %+v", err, rs)
	}
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{ContextSweep: "128", Suite: "default"}, "context_sweep: replaces the suite"},
		{Spec{ContextSweep: "128", Scenarios: []string{"Simple"}}, "context_sweep: replaces the suite"},
		{Spec{ContextSweep: "128", ConcurrencyList: []int{1, 2}}, "context_sweep: sweeps the input length at one load level"},
		{Spec{ContextSweep: "12"}, "context_sweep: each length must be between 32"},
		{Spec{ContextSweep: "128", InputTokens: "64"}, "context_sweep: sets each stage's input length"},
	} {
		if _, err := c.spec.Validate(Check{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.spec, err, c.want)
		}
	}
}

// TestContextSweepRecoversThePrefillRate is the acceptance test: a
// context sweep on a simulated engine with a known prefill rate (no
// jitter) recovers that rate within 2 % from its TTFTs, and every length's
// prompt is exactly its length by the engine's usage.
func TestContextSweepRecoversThePrefillRate(t *testing.T) {
	if testing.Short() {
		t.Skip("timing: the simulator's schedule against the wall clock")
	}
	const rate = 10000.0
	srv, err := sim.Start("", sim.Profile{Name: "prefill", TTFT: 5 * time.Millisecond, PrefillTPS: rate, DecodeTPS: 5000, Usage: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	eng := &Engine{Info: engine.Info{Kind: engine.Sim, Endpoint: srv.URL, Simulated: true}}
	rs, err := (&Spec{ContextSweep: "1k,4k,16k", Requests: intp(4), Warmup: intp(1), MaxTokens: 8, SampleInterval: "off"}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cs := report.RunContextSweep(res)
	if cs == nil || len(cs.Models) != 1 || len(cs.Models[0].Points) != 3 {
		t.Fatalf("sweep %+v", cs)
	}
	m := cs.Models[0]
	for i, p := range m.Points {
		want := []int{1024, 4096, 16384}[i]
		if p.Requested != want || p.N != 4 || p.InputTokens == nil || *p.InputTokens != float64(want) || p.Skipped != "" || p.Truncated {
			t.Errorf("point %d: %+v, want %d input tokens exactly", i, p, want)
		}
	}
	if m.Prefill == nil || m.Prefill.Points != 3 || math.Abs(m.Prefill.TPS-rate)/rate > 0.02 {
		t.Fatalf("fitted prefill %+v, want %v tokens/s within 2 %%", m.Prefill, rate)
	}
	t.Logf("fitted prefill rate %.1f tokens/s (simulator %v), fixed %.2f ms", m.Prefill.TPS, rate, m.Prefill.FixedMS)
}

// TestContextSweepSkipsBeyondTheWindow: on a simulated llama.cpp with
// slots of 1024 tokens, the sweep's 2k length is skipped before any
// request (counted exactly by the engine's tokenizer), the others run, and
// the table and JSON say so; with Force it is sent, refused, and the stage
// stops at the refusal.
func TestContextSweepSkipsBeyondTheWindow(t *testing.T) {
	_, eng := startLlamaFake(t, 1024, "\x00none", false)
	rs, err := (&Spec{ContextSweep: "128,512,2k", Requests: intp(2), Warmup: intp(0), MaxTokens: 8, SampleInterval: "off"}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ContextFit) != 1 || r.ContextFit[0].Scenario != "context-2048" || r.ContextFit[0].Action != runner.FitSkipped ||
		r.ContextFit[0].ContextLength != 1024 || r.ContextFit[0].Method != runner.FitExact || r.ContextFit[0].PromptTokens < 2048 ||
		!strings.Contains(r.ContextFit[0].Message, "beyond the context window of 1024 tokens") {
		t.Fatalf("context fit %+v", r.ContextFit)
	}
	if r.ContextWindows["tiny.gguf"] != 1024 {
		t.Fatalf("windows %v", r.ContextWindows)
	}
	if cmd := strings.Join(r.Config.Command, " "); !strings.Contains(cmd, "--context-sweep 128,512,2048") || strings.Contains(cmd, "--suite") {
		t.Errorf("command %q", cmd)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 4 || res.Total.OK != 4 {
		t.Fatalf("%d records, %d ok", res.Records, res.Total.OK)
	}
	cs := report.RunContextSweep(res)
	pts := cs.Models[0].Points
	if len(pts) != 3 || pts[2].Skipped == "" || pts[2].N != 0 || pts[0].N != 2 || pts[1].N != 2 {
		t.Fatalf("points %+v", pts)
	}
	var table, js bytes.Buffer
	if err := report.Table(&table, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "Context sweep") || !strings.Contains(table.String(), "2048    skipped") {
		t.Errorf("table:\n%s", table.String())
	}
	if err := report.JSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ContextSweep *report.ContextSweep `json:"context_sweep"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || doc.ContextSweep == nil || len(doc.ContextSweep.Models[0].Points) != 3 ||
		doc.ContextSweep.Models[0].Points[2].Skipped != pts[2].Skipped {
		t.Errorf("JSON: %v %+v", err, doc.ContextSweep)
	}

	// --force sends it: the engine refuses, the stage stops there.
	rs, err = (&Spec{ContextSweep: "128,2k", Requests: intp(2), Warmup: intp(0), MaxTokens: 8, Force: true, SampleInterval: "off"}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = Prepare(context.Background(), rs, eng, nil); err != nil {
		t.Fatal(err)
	}
	if len(r.ContextFit) != 1 || r.ContextFit[0].Action != runner.FitWarned || !strings.HasSuffix(r.ContextFit[0].Message, "; sent anyway (--force)") ||
		!slices.Contains(r.Config.Command, "--force") {
		t.Fatalf("forced: context fit %+v, command %q", r.ContextFit, r.Config.Command)
	}
	if res, err = r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	fits := res.Suite.ContextFit
	if len(fits) != 2 || fits[1].Action != runner.FitStopped || fits[1].Scenario != "context-2048" || res.Records != 3 {
		t.Fatalf("forced run: %d records, fits %+v", res.Records, fits)
	}
}

// startOllamaFake serves a simulated Ollama whose one model has the given
// num_ctx, and identifies it.
func startOllamaFake(t *testing.T, numCtx int) *Engine {
	t.Helper()
	o, err := dialect.NewOllama(sim.Profile{Name: "m:latest", TTFT: time.Millisecond, PrefillTPS: 1e6, DecodeTPS: 20000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SetModel("m:latest", dialect.OllamaModel{ContextLength: 8192, NumCtx: numCtx}); err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(o)
	t.Cleanup(s.Close)
	eng, _, err := Choose(context.Background(), Choice{Endpoint: s.URL}, nil)
	if err != nil || eng.Kind != engine.Ollama {
		t.Fatalf("identify: %v %+v", err, eng)
	}
	return eng
}

// TestContextSweepOnOllama: the window is the num_ctx in force (/api/ps,
// once the model is loaded): lengths beyond it are skipped, since Ollama
// would cut them; with Force the 4k prompt is sent, Ollama cuts it to its
// last 2048 tokens, and the run, the group and the sweep say so.
func TestContextSweepOnOllama(t *testing.T) {
	eng := startOllamaFake(t, 0) // Ollama 0.6's default, 2048
	spec := Spec{Models: []string{"m"}, ContextSweep: "256,1k,2k,4k", Requests: intp(2), Warmup: intp(0), MaxTokens: 8, SampleInterval: "off"}
	rs, err := spec.Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	r, err := Prepare(context.Background(), rs, eng, func(level, msg string) { logged = append(logged, level+" "+msg) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(logged, "info model m: Ollama loaded it with num_ctx 2048 of the 8192 tokens it was trained for: longer prompts are cut to 2048 without an error (a larger num_ctx, OLLAMA_CONTEXT_LENGTH or a Modelfile's PARAMETER num_ctx, takes them)") {
		t.Errorf("log %q lacks the num_ctx note", logged)
	}
	var skipped []string
	for _, f := range r.ContextFit {
		if f.Action == runner.FitSkipped && f.ContextLength == dialect.DefaultOllamaNumCtx && strings.Contains(f.Message, "cuts it to num_ctx") {
			skipped = append(skipped, f.Scenario)
		}
	}
	if !slices.Equal(skipped, []string{"context-2048", "context-4096"}) || len(r.ContextFit) != 2 {
		t.Fatalf("context fit %+v", r.ContextFit)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 4 || len(res.Suite.Truncated) != 0 {
		t.Fatalf("%d records, truncated %+v", res.Records, res.Suite.Truncated)
	}

	spec.Force = true
	if rs, err = spec.Validate(Check{}); err != nil {
		t.Fatal(err)
	}
	if r, err = Prepare(context.Background(), rs, eng, nil); err != nil {
		t.Fatal(err)
	}
	if res, err = r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr := res.Suite.Truncated
	if len(tr) != 2 || tr[0].Scenario != "context-2048" || tr[1].Scenario != "context-4096" || tr[1].Requested != 4096 ||
		tr[1].Counted != dialect.DefaultOllamaNumCtx || tr[1].Window != dialect.DefaultOllamaNumCtx || tr[0].Counted != dialect.DefaultOllamaNumCtx {
		t.Fatalf("truncated %+v", tr)
	}
	g := slices.IndexFunc(res.Groups, func(g stats.Group) bool { return g.Scenario == "context-4096" })
	if g < 0 || !slices.ContainsFunc(res.Groups[g].Warnings, func(w string) bool {
		return strings.HasPrefix(w, "prompts cut: they asked for 4096 input tokens, but the engine counted 2048 on average, as few as 2048 (context window 2048)")
	}) {
		t.Errorf("group warnings %q", res.Groups[g].Warnings)
	}
	if !slices.Contains(res.Warnings, tr[1].String()) {
		t.Errorf("run warnings %q lack %q", res.Warnings, tr[1].String())
	}
	cs := report.RunContextSweep(res)
	pts := cs.Models[0].Points
	if len(pts) != 4 || pts[0].Truncated || pts[1].Truncated || !pts[2].Truncated || !pts[3].Truncated || cs.Models[0].Prefill == nil || cs.Models[0].Prefill.Points != 2 {
		t.Fatalf("points %+v, fit %+v", pts, cs.Models[0].Prefill)
	}
}

// TestOllamaTruncationOnAnyScenario: the same check guards a suite's
// scenarios: the default suite's long-input prompt on a model loaded with
// num_ctx 64 is cut to 64 tokens, and the run says so (the context check
// had warned before it, as Ollama does not refuse).
func TestOllamaTruncationOnAnyScenario(t *testing.T) {
	eng := startOllamaFake(t, 64)
	rs, err := (&Spec{Models: []string{"m"}, Scenarios: []string{"Simple Q&A - Short", "Long Input - Prefill"}, Requests: intp(2), Warmup: intp(0), MaxTokens: 4, SampleInterval: "off"}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Suite.Truncated
	if len(tr) != 1 || tr[0].Scenario != "Long Input - Prefill" || tr[0].CountedMax != 64 || tr[0].Window != 64 || tr[0].Requested != 0 ||
		!strings.HasPrefix(tr[0].Message, "prompts cut: the engine counted 64 input tokens, its whole context window (num_ctx 64)") {
		t.Fatalf("truncated %+v", tr)
	}
	var table bytes.Buffer
	if err := report.Table(&table, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), tr[0].String()) {
		t.Errorf("table lacks the warning:\n%s", table.String())
	}
}

// FuzzParseContextSweep: any text is either refused or read as lengths
// that are ascending, distinct, within bounds and at most MaxLevels, and
// that read back the same from the repeat command's form.
func FuzzParseContextSweep(f *testing.F) {
	for _, s := range []string{"128,512,2k,8k,32k", "2K, 128,2k", "32", "1024k", "", ",", "1.5k", "-1", "k", "99999999999999999999k", "0x20", " 64 ,\t64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseContextSweep(s)
		if err != nil {
			return
		}
		if len(ls) == 0 || len(ls) > MaxLevels {
			t.Fatalf("%q: %d lengths", s, len(ls))
		}
		for i, l := range ls {
			if l < MinSweepTokens || l > MaxSweepTokens || i > 0 && l <= ls[i-1] {
				t.Fatalf("%q: lengths %v", s, ls)
			}
		}
		again, err := ParseContextSweep(sweepList(ls))
		if err != nil || !slices.Equal(again, ls) {
			t.Fatalf("%q: %v reads back as %v, %v", s, ls, again, err)
		}
	})
}
