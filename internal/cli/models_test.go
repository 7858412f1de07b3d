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
