package cli

import (
	"strings"
	"testing"
)

// TestContextSweepCommandLine runs --context-sweep through the command
// line: the JSON document carries the sweep's lengths and one point per
// length with the engine's exact input count, `show` prints the sweep
// block, the repeat command names the sweep, and bad lists are usage
// errors naming the flag.
func TestContextSweepCommandLine(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	db := newDB(t)
	doc := savedRun(t, db, s, "--model", "tiny", "--context-sweep", "256, 64,64", "--requests", "2", "--max-tokens", "4")
	cfg := doc["config"].(map[string]any)
	if lv, _ := cfg["context_sweep"].([]any); len(lv) != 2 || lv[0] != 64.0 || lv[1] != 256.0 {
		t.Fatalf("config context_sweep %v, want [64 256]", cfg["context_sweep"])
	}
	if cmd := strings.Join(anyStrings(cfg["command"]), " "); !strings.Contains(cmd, "--context-sweep 64,256") || strings.Contains(cmd, "--suite") {
		t.Errorf("repeat command %q", cmd)
	}
	cs, _ := doc["context_sweep"].(map[string]any)
	models, _ := cs["models"].([]any)
	if len(models) != 1 {
		t.Fatalf("context_sweep %v", doc["context_sweep"])
	}
	pts := list(t, models[0].(map[string]any), "points")
	for i, want := range []float64{64, 256} {
		p := pts[i].(map[string]any)
		if p["requested"] != want || p["input_tokens"] != want || p["n"] != 2.0 || p["ttft_p50_ms"] == nil {
			t.Errorf("point %d: %v, want %v input tokens exactly", i, p, want)
		}
	}
	o := run(t, "show", str(t, doc, "id"), "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "Context sweep (per input length") || !strings.Contains(o.stdout, "context-256") {
		t.Errorf("show lacks the sweep block:\n%s", o.stdout)
	}
	for _, c := range []struct{ args, want string }{
		{"2x", "--context-sweep: want input lengths"},
		{"8", "--context-sweep: each length must be between 32"},
	} {
		o := run(t, "run", "--db", db, "--endpoint", s.base, "--model", "tiny", "--context-sweep", c.args)
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, c.want) {
			t.Errorf("--context-sweep %s: stderr %q, want %q", c.args, o.stderr, c.want)
		}
	}
	o = run(t, "run", "--db", db, "--endpoint", s.base, "--model", "tiny", "--context-sweep", "64", "--scenario", "x")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, "--context-sweep: replaces the suite: give no --suite or --scenario with it") {
		t.Errorf("with --scenario: stderr %q", o.stderr)
	}
}
