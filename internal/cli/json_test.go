package cli

import (
	"slices"
	"strings"
	"testing"
)

// distKeys are the figures of every distribution in the JSON document.
var distKeys = []string{"mean", "std", "min", "p50", "p90", "p95", "p99", "max", "n"}

// TestRunJSONDocument checks the stable keys of `flperf run --format json`
// against the built-in simulated engine: one document on stdout, the run's
// identity, engine, configuration (with the command that repeats it), one
// group per model × scenario with every per-group key, per-model rows, the
// pooled total and the SIMULATED warning.
func TestRunJSONDocument(t *testing.T) {
	suitePath := writeFile(t, "tiny.json", tinySuite)
	o := run(t, "run", "--engine", "sim", "--suite", suitePath, "--requests", "2", "--warmup", "0",
		"--seed", "11", "--format", "json")
	wantCode(t, o, ExitOK)
	doc := decodeJSON(t, o.stdout)

	if id := str(t, doc, "id"); id == "" {
		t.Error("empty run id")
	}
	if name := str(t, obj(t, doc, "tool"), "name"); name != "flperf" {
		t.Errorf("tool.name = %q, want flperf", name)
	}
	if s := str(t, doc, "status"); s != "completed" {
		t.Errorf("status = %q, want completed", s)
	}

	eng := obj(t, doc, "engine")
	if k := str(t, eng, "kind"); k != "sim" {
		t.Errorf("engine.kind = %q, want sim", k)
	}
	if sim, _ := eng["simulated"].(bool); !sim {
		t.Errorf("engine.simulated = %v, want true", eng["simulated"])
	}
	ep := str(t, eng, "endpoint")
	if !strings.HasPrefix(ep, "http://127.0.0.1:") || !strings.HasSuffix(ep, "/v1") {
		t.Errorf("engine.endpoint = %q, want the loopback URL of the built-in simulator", ep)
	}

	cfg := obj(t, doc, "config")
	models := list(t, cfg, "models")
	if !slices.Equal(models, []any{"sim-fast", "sim-slow"}) {
		t.Errorf("config.models = %v, want the two built-in simulated models", models)
	}
	if s := str(t, cfg, "suite"); s != suitePath {
		t.Errorf("config.suite = %q, want %q", s, suitePath)
	}
	if n := num(t, cfg, "requests"); n != 2 {
		t.Errorf("config.requests = %v, want 2", n)
	}
	if n := num(t, cfg, "seed"); n != 11 {
		t.Errorf("config.seed = %v, want 11", n)
	}
	var command []string
	for _, a := range list(t, cfg, "command") {
		s, ok := a.(string)
		if !ok {
			t.Fatalf("config.command has a %T element", a)
		}
		command = append(command, s)
	}
	if len(command) < 2 || command[0] != "flperf" || command[1] != "run" {
		t.Errorf("config.command = %q, want it to start with flperf run", command)
	}
	if i := slices.Index(command, "--seed"); i < 0 || i+1 >= len(command) || command[i+1] != "11" {
		t.Errorf("config.command = %q, want --seed 11 in it", command)
	}

	groups := objects(t, list(t, doc, "groups"))
	if len(groups) != 2*2 {
		t.Fatalf("%d groups, want 2 models × 2 scenarios", len(groups))
	}
	want := map[[2]string]bool{}
	for _, m := range []string{"sim-fast", "sim-slow"} {
		for _, sc := range []string{"alpha", "beta"} {
			want[[2]string{m, sc}] = true
		}
	}
	for _, g := range groups {
		checkGroupKeys(t, g)
		key := [2]string{str(t, g, "model"), str(t, g, "scenario")}
		if !want[key] {
			t.Errorf("unexpected or repeated group %v", key)
		}
		delete(want, key)
		if n := num(t, g, "requests"); n != 2 {
			t.Errorf("group %v: requests = %v, want 2 (--requests)", key, n)
		}
		if n := num(t, g, "ok"); n != 2 {
			t.Errorf("group %v: ok = %v, want 2", key, n)
		}
		if n := num(t, obj(t, g, "ttft_ms"), "n"); n != 2 {
			t.Errorf("group %v: ttft_ms.n = %v, want 2 streamed ok requests", key, n)
		}
	}

	per := objects(t, list(t, doc, "models"))
	if len(per) != 2 {
		t.Fatalf("%d per-model rows, want 2", len(per))
	}
	for _, g := range per {
		checkGroupKeys(t, g)
		if s := str(t, g, "scenario"); s != "" {
			t.Errorf("per-model row has scenario %q, want empty", s)
		}
		if n := num(t, g, "requests"); n != 4 {
			t.Errorf("per-model row %s: requests = %v, want 4 (2 scenarios × 2)", g["model"], n)
		}
	}
	if n := num(t, obj(t, doc, "total"), "requests"); n != 8 {
		t.Errorf("total.requests = %v, want 8", n)
	}

	warnings := list(t, doc, "warnings")
	found := false
	for _, w := range warnings {
		if s, _ := w.(string); strings.Contains(s, "SIMULATED") {
			found = true
		}
	}
	if !found {
		t.Errorf("warnings %q do not say the engine is SIMULATED", warnings)
	}
}

// checkGroupKeys checks the stable per-group keys of the JSON document.
func checkGroupKeys(t *testing.T, g map[string]any) {
	t.Helper()
	for _, k := range []string{"model", "scenario", "requests", "ok", "error_rate", "requests_per_s",
		"output_tokens_per_s", "token_source", "warnings"} {
		if _, ok := g[k]; !ok {
			t.Errorf("group %v/%v has no %q", g["model"], g["scenario"], k)
		}
	}
	if _, ok := g["warnings"].([]any); !ok {
		t.Errorf("group warnings is %T, want an array (never null)", g["warnings"])
	}
	for _, k := range []string{"ttft_ms", "ttfo_ms", "tpot_ms", "itl_ms", "e2e_ms", "decode_tps", "output_tps"} {
		d, ok := g[k].(map[string]any)
		if !ok {
			t.Errorf("group %v/%v: %q is %T, want an object", g["model"], g["scenario"], k, g[k])
			continue
		}
		for _, f := range distKeys {
			if _, ok := d[f]; !ok {
				t.Errorf("group %v/%v: %s has no %q", g["model"], g["scenario"], k, f)
			}
		}
	}
}

// TestTemperatureZeroIsSent checks that --temperature 0 is a value, not
// "unset": it is stored as 0 (not null) and sent to the engine as 0, while
// without the flag no temperature is sent at all.
func TestTemperatureZeroIsSent(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	o := run(t, "run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--requests", "1", "--warmup", "0",
		"--temperature", "0", "--format", "json")
	wantCode(t, o, ExitOK)
	cfg := obj(t, decodeJSON(t, o.stdout), "config")
	if v, ok := cfg["temperature"].(float64); !ok || v != 0 {
		t.Errorf("config.temperature = %v (%T), want 0", cfg["temperature"], cfg["temperature"])
	}
	chats := s.chats()
	if len(chats) != 1 {
		t.Fatalf("the engine got %d chat requests, want 1", len(chats))
	}
	if b := chats[0].chat(t); b.Temperature == nil || *b.Temperature != 0 {
		t.Errorf("request temperature = %v, want 0 sent explicitly (body %s)", b.Temperature, chats[0].body)
	}

	o = run(t, "run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--requests", "1", "--warmup", "0",
		"--format", "json")
	wantCode(t, o, ExitOK)
	if v := obj(t, decodeJSON(t, o.stdout), "config")["temperature"]; v != nil {
		t.Errorf("without --temperature, config.temperature = %v, want null", v)
	}
	chats = s.chats()
	if b := chats[len(chats)-1].chat(t); b.Temperature != nil {
		t.Errorf("without --temperature the request sent temperature %v", *b.Temperature)
	}
}
