package cli

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

func foundryEndpoint(t *testing.T) string {
	t.Helper()
	f, err := dialect.NewFoundry(dialect.FoundryOptions{DownloadDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	return s.URL + "/v1"
}

func ollamaEndpoint(t *testing.T) string {
	t.Helper()
	o, err := dialect.NewOllama(sim.Profile{Name: "tiny:1b", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Usage: true})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(o)
	t.Cleanup(s.Close)
	return s.URL + "/v1"
}

func TestModelsFoundryLifecycle(t *testing.T) {
	ep := foundryEndpoint(t)
	o := run(t, "models", "--endpoint", ep, "--format", "json")
	wantCode(t, o, ExitOK)
	var doc struct {
		Engine struct {
			Kind      string `json:"kind"`
			Simulated bool   `json:"simulated"`
		} `json:"engine"`
		Capabilities map[string]bool `json:"capabilities"`
		Sets         []struct {
			Set    string `json:"set"`
			Models []struct {
				ID, Device string
				Alias      string `json:"alias"`
				EP         string `json:"execution_provider"`
			} `json:"models"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err, o.stdout)
	}
	if doc.Engine.Kind != "foundry" || !doc.Engine.Simulated || !doc.Capabilities["download"] || len(doc.Sets) != 3 || doc.Sets[0].Set != "catalog" {
		t.Fatalf("foundry listing: %+v", doc)
	}
	variants := 0
	for _, m := range doc.Sets[0].Models {
		if m.Alias == "phi-4-mini" {
			variants++
		}
	}
	if variants != 5 {
		t.Fatalf("%d phi-4-mini variants listed, want 5 separate ones (never merged)", variants)
	}

	id := "Phi-4-mini-instruct-cuda-gpu:1"
	o = run(t, "models", "pull", id, "--endpoint", ep)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stderr, "100.0%") || !strings.Contains(o.stdout, "downloaded "+id) {
		t.Fatalf("pull: stdout %q stderr %q", o.stdout, o.stderr)
	}
	o = run(t, "models", "load", id, "--endpoint", ep, "--ttl", "2h", "--ep", "cuda")
	wantCode(t, o, ExitOK)
	o = run(t, "models", "--endpoint", ep, "--set", "loaded")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, id) || !strings.Contains(o.stdout, "SIMULATED") {
		t.Fatalf("loaded set after load:\n%s", o.stdout)
	}
	o = run(t, "models", "test", id, "--endpoint", ep)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "answered in") {
		t.Fatalf("test: %q", o.stdout)
	}
	wantCode(t, run(t, "models", "unload", id, "--endpoint", ep), ExitOK)
	o = run(t, "models", "--endpoint", ep, "--set", "loaded")
	if strings.Contains(o.stdout, id) {
		t.Fatalf("still loaded after unload:\n%s", o.stdout)
	}
}

func TestModelsOllamaAndUnsupported(t *testing.T) {
	ep := ollamaEndpoint(t)
	o := run(t, "models", "--endpoint", ep)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "DOWNLOADED") || !strings.Contains(o.stdout, "tiny:1b") || strings.Contains(o.stdout, "CATALOG") {
		t.Fatalf("ollama listing (no catalog: Ollama has none):\n%s", o.stdout)
	}
	o = run(t, "models", "--endpoint", ep, "--set", "catalog")
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "not supported") {
		t.Fatalf("catalog on Ollama: %q", o.stderr)
	}
	wantCode(t, run(t, "models", "load", "tiny:1b", "--endpoint", ep, "--ttl", "-1s"), ExitOK)
	o = run(t, "models", "--endpoint", ep, "--set", "loaded")
	if !strings.Contains(o.stdout, "tiny:1b") {
		t.Fatalf("loaded after load:\n%s", o.stdout)
	}
	o = run(t, "models", "load", "ghost", "--endpoint", ep)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "ghost") {
		t.Fatalf("unknown model: %q", o.stderr)
	}
}

func TestModelsUsage(t *testing.T) {
	wantCode(t, run(t, "models", "frobnicate"), ExitUsage)
	wantCode(t, run(t, "models", "pull"), ExitUsage)
	wantCode(t, run(t, "models", "list", "extra"), ExitUsage)
	wantCode(t, run(t, "models", "--engine", "nope"), ExitUsage)
	o := run(t, "models", "--engine", "sim", "--set", "nope")
	wantCode(t, o, ExitUsage)
	// The built-in simulated engine only lists what it serves, and says so.
	o = run(t, "models", "--engine", "sim", "pull", "x")
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "not supported") {
		t.Fatalf("pull on the simulated engine: %q", o.stderr)
	}
}

// A Foundry Local run: the alias resolves to one variant (recorded with its
// device and execution provider), and the model is loaded with a long TTL
// before the run. (A model unloaded mid-run is reloaded by the background
// check, tested in internal/bench and on Foundry Local 1.x below.)
func TestRunFoundryResolvesAndLoads(t *testing.T) {
	f, err := dialect.NewFoundry(dialect.FoundryOptions{
		Downloaded: []string{"Phi-4-mini-instruct-qnn-npu:1"},
		Profile:    sim.Profile{TTFT: 20 * time.Millisecond, DecodeTPS: 400, Usage: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	const id = "Phi-4-mini-instruct-qnn-npu:1"
	o := run(t, "run", "--endpoint", s.URL+"/v1", "--model", "phi-4-mini", "--requests", "6", "--warmup", "0",
		"--scenario", "Simple Q&A - Short", "--max-tokens", "8", "--format", "json", "--no-save")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stderr, "phi-4-mini resolves to "+id+" (NPU, QNNExecutionProvider)") {
		t.Errorf("no resolution line in stderr:\n%s", o.stderr)
	}
	var doc struct {
		Engine struct {
			Kind   string `json:"kind"`
			Models []struct {
				ID     string `json:"id"`
				Alias  string `json:"alias"`
				Device string `json:"device"`
				EP     string `json:"execution_provider"`
			} `json:"models"`
		} `json:"engine"`
		Config struct {
			Models []string `json:"models"`
		} `json:"config"`
		Groups []struct {
			OK int `json:"ok"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Engine.Kind != "foundry" || len(doc.Engine.Models) != 1 || doc.Engine.Models[0].ID != id ||
		doc.Engine.Models[0].Device != "NPU" || doc.Engine.Models[0].Alias != "phi-4-mini" || doc.Config.Models[0] != id {
		t.Fatalf("resolved model not recorded: %+v", doc)
	}
	if doc.Groups[0].OK != 6 {
		t.Fatalf("ok %d of 6", doc.Groups[0].OK)
	}
	st := f.Stats()
	if st.Loads != 1 || st.ImplicitLoads != 0 {
		t.Fatalf("engine saw %+v: want one load before the run, never an implicit load inside a request", st)
	}
	var ttl string
	for _, r := range f.Requests() {
		if r.ID == id && strings.HasPrefix(r.Path, "/openai/load/") {
			ttl = r.Query.Get("ttl")
		}
	}
	if ttl != "21600" {
		t.Fatalf("load TTL %q, want 21600 s (longer than the run)", ttl)
	}
}

func TestRunFoundryUnknownModelSkipped(t *testing.T) {
	f, err := dialect.NewFoundry(dialect.FoundryOptions{
		Downloaded: []string{"Phi-4-mini-instruct-qnn-npu:1"},
		Profile:    sim.Profile{TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Usage: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	o := run(t, "run", "--endpoint", s.URL+"/v1", "--model", "no-such-model", "--model", "phi-4-mini", "--requests", "2",
		"--warmup", "0", "--scenario", "Simple Q&A - Short", "--max-tokens", "4", "--format", "json", "--no-save")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stderr, `skipping model "no-such-model"`) {
		t.Fatalf("unknown model not reported:\n%s", o.stderr)
	}
	o = run(t, "run", "--endpoint", s.URL+"/v1", "--model", "no-such-model", "--requests", "2", "--no-save")
	wantCode(t, o, ExitFailure)
}

func TestRunOllamaNativeRecordsTheRoute(t *testing.T) {
	ep := ollamaEndpoint(t)
	for _, native := range []bool{false, true} {
		args := []string{"run", "--endpoint", ep, "--model", "tiny:1b", "--requests", "3", "--warmup", "0",
			"--scenario", "Simple Q&A - Short", "--max-tokens", "12", "--format", "json", "--no-save"}
		if native {
			args = append(args, "--ollama-native")
		}
		o := run(t, args...)
		wantCode(t, o, ExitOK)
		var doc struct {
			Engine struct {
				Kind, API string
				Simulated bool
			} `json:"engine"`
			Config struct {
				Command []string `json:"command"`
			} `json:"config"`
			Groups []struct {
				OK          int    `json:"ok"`
				TokenSource string `json:"token_source"`
			} `json:"groups"`
		}
		if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		wantAPI, wantSource := "openai", "usage"
		if native {
			wantAPI, wantSource = "ollama-native", "engine" // eval_count, Ollama's own exact counter
		}
		if doc.Engine.Kind != "ollama" || !doc.Engine.Simulated || doc.Engine.API != wantAPI || doc.Groups[0].OK != 3 || doc.Groups[0].TokenSource != wantSource {
			t.Fatalf("native=%v: %+v", native, doc)
		}
		if native != strings.Contains(strings.Join(doc.Config.Command, " "), "--ollama-native") {
			t.Fatalf("the stored command does not repeat the route: %q", doc.Config.Command)
		}
	}
	o := run(t, "run", "--engine", "sim", "--ollama-native", "--requests", "1", "--no-save")
	wantCode(t, o, ExitUsage)
}

func TestRunCold(t *testing.T) {
	o, err := dialect.NewOllama(sim.Profile{Name: "tiny:1b", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Usage: true})
	if err != nil {
		t.Fatal(err)
	}
	o.LoadTime = 150 * time.Millisecond
	s := httptest.NewServer(o)
	t.Cleanup(s.Close)
	out := run(t, "run", "--endpoint", s.URL+"/v1", "--model", "tiny:1b", "--cold", "--requests", "3",
		"--scenario", "Simple Q&A - Short", "--max-tokens", "8", "--format", "json", "--no-save")
	wantCode(t, out, ExitOK)
	var doc struct {
		Engine struct {
			Models []struct {
				ID   string `json:"id"`
				Cold *struct {
					LoadMS  float64  `json:"load_ms"`
					Seq     int64    `json:"seq"`
					TTFTMS  *float64 `json:"ttft_ms"`
					Outcome string   `json:"outcome"`
				} `json:"cold"`
			} `json:"models"`
		} `json:"engine"`
		Groups []struct {
			Requests int `json:"requests"`
			TTFT     struct {
				Max float64 `json:"max"`
			} `json:"ttft_ms"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Engine.Models) != 1 || doc.Engine.Models[0].Cold == nil {
		t.Fatalf("no cold start recorded: %s", out.stdout)
	}
	c := doc.Engine.Models[0].Cold
	if c.LoadMS < 150 || c.Seq != 0 || c.TTFTMS == nil || c.Outcome != "ok" {
		t.Fatalf("cold start %+v: want the 150 ms load and the first request (seq 0)", c)
	}
	// The load is not in any warm figure: the 3 measured requests are warm.
	if g := doc.Groups[0]; g.Requests != 3 || g.TTFT.Max >= 150 {
		t.Fatalf("warm figures include the cold start: %+v", g)
	}
	out = run(t, "run", "--endpoint", s.URL+"/v1", "--model", "tiny:1b", "--cold", "--requests", "3",
		"--scenario", "Simple Q&A - Short", "--max-tokens", "8", "--no-save")
	if !strings.Contains(out.stdout, "Cold start") || !strings.Contains(out.stdout, "first request TTFT") {
		t.Fatalf("table has no cold-start section:\n%s", out.stdout)
	}
	// Engines that cannot unload need a restart: refused, not faked.
	out = run(t, "run", "--engine", "sim", "--cold", "--requests", "1", "--no-save")
	wantCode(t, out, ExitUsage)
	if !strings.Contains(out.stderr, "restart it") {
		t.Fatalf("--cold on the simulated engine: %q", out.stderr)
	}
	wantCode(t, run(t, "run", "--engine", "sim", "--cold", "--warmup", "0", "--no-save"), ExitUsage)
}

func TestRunKeepsServerFiguresBesideClientOnes(t *testing.T) {
	v, err := dialect.NewVLLM(sim.Profile{Name: "m", TTFT: 10 * time.Millisecond, DecodeTPS: 1000, Usage: true})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(v)
	t.Cleanup(s.Close)
	o := run(t, "run", "--endpoint", s.URL+"/v1", "--model", "m", "--requests", "4", "--warmup", "0",
		"--scenario", "Simple Q&A - Short", "--max-tokens", "16", "--format", "json", "--no-save")
	wantCode(t, o, ExitOK)
	var doc struct {
		Server []struct {
			Model          string `json:"model"`
			ClientRequests int    `json:"client_requests"`
			Stats          struct {
				RequestsFinished *float64 `json:"requests_finished"`
				GenerationTokens *float64 `json:"generation_tokens"`
				MeanTTFT         *float64 `json:"mean_ttft_s"`
			} `json:"stats"`
		} `json:"server"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for _, w := range doc.Warnings {
		if strings.Contains(w, "the engine counted") || strings.Contains(w, "output tokens, the engine") {
			t.Errorf("client and engine disagree on a clean run: %s", w)
		}
	}
	if len(doc.Server) != 1 {
		t.Fatalf("server figures: %+v\n%s", doc.Server, o.stderr)
	}
	st := doc.Server[0]
	// The engine's counters settle when each handler returns, a moment
	// after the client read the last byte: the runner waits for them.
	if st.ClientRequests != 4 || st.Stats.RequestsFinished == nil || *st.Stats.RequestsFinished != 4 || st.Stats.MeanTTFT == nil {
		t.Fatalf("stage server figures: %+v", st)
	}
	db := t.TempDir() + "/h.db"
	o = run(t, "run", "--endpoint", s.URL+"/v1", "--model", "m", "--requests", "2", "--warmup", "0",
		"--scenario", "Simple Q&A - Short", "--max-tokens", "8", "--db", db)
	if !strings.Contains(o.stdout, "Server-side figures") {
		t.Fatalf("no server section in the table:\n%s", o.stdout)
	}
	// Stored with the run: show and export keep them.
	o = run(t, "runs", "--db", db, "--format", "json")
	var runs []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %s", err, o.stdout)
	}
	o = run(t, "show", runs[0].ID, "--db", db, "--format", "json")
	doc.Server = nil
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil || len(doc.Server) != 1 || doc.Server[0].ClientRequests != 2 {
		t.Fatalf("stored server figures: %v %+v", err, doc.Server)
	}
}
