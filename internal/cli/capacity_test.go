package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
)

// TestCapacityCommand searches a simulated two-slot model: S = 15 ms +
// 9 tokens at 500 tok/s = 33 ms, so at 3 streams half the requests wait a
// round and TTFT p50's bound goes past 35 ms; at 2 none waits. The table,
// the JSON, the stored run and a comparison say the same.
func TestCapacityCommand(t *testing.T) {
	p := sim.Profile{Name: "two", TTFT: 15 * time.Millisecond, DecodeTPS: 500, Slots: 2, Usage: true, Seed: 4}
	s := startTestSim(t, p)
	db := t.TempDir() + "/runs.db"
	suite := writeFile(t, "one.json", `{"name":"one","scenarios":[{"name":"only","prompt":"Count to ten.","max_tokens":10}]}`)
	args := []string{"capacity", "--endpoint", s.base, "--model", "two", "--suite", suite, "--slo", "ttft_p50=35ms", "--requests", "40",
		"--sample-interval", "off", "--db", db}
	o := run(t, args...)
	wantCode(t, o, ExitOK)
	first, _, _ := strings.Cut(o.stdout, "\n")
	if !strings.HasPrefix(first, "two / only: sustains 2 concurrent streams (") || !strings.Contains(first, "; at 3, TTFT p50 is") {
		t.Fatalf("first line %q", first)
	}
	for _, row := range []string{"\nlevel  stage", "\n1      c=1", "\n2      c=2", "\n4      c=4", "\n3      c=3"} {
		if !strings.Contains(o.stdout, row) {
			t.Errorf("table lacks %q:\n%s", row, o.stdout)
		}
	}
	firstID := runID(t, o.stderr)
	o = run(t, append(args, "--format", "json")...)
	wantCode(t, o, ExitOK)
	doc := decodeJSON(t, o.stdout)
	c := obj(t, doc, "capacity")
	if num(t, c, "level") != 2 || num(t, obj(t, c, "first_failing"), "level") != 3 || len(list(t, c, "levels")) != 4 || c["by"] != "concurrency" || c["scenario"] != "only" {
		t.Fatalf("capacity %v", c)
	}
	lv := list(t, c, "levels")[1].(map[string]any)
	m := list(t, lv, "objectives")[0].(map[string]any)
	if lv["stage"] != "c=2" || lv["pass"] != true || m["pass"] != true || len(list(t, m, "ci_ms")) != 2 || num(t, m, "n") != 40 {
		t.Fatalf("level 2: %v", lv)
	}
	// The search is a stored run: show prints its stages, and its
	// configuration keeps the capacity found.
	id := obj(t, doc, "run")["id"].(string)
	o = run(t, "show", id, "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	shown := decodeJSON(t, o.stdout)
	if got := obj(t, obj(t, shown, "config"), "capacity"); num(t, got, "level") != 2 || got["answer"] != c["answer"] {
		t.Fatalf("stored capacity %v", got)
	}
	if gs := list(t, shown, "groups"); len(gs) != 4 || gs[0].(map[string]any)["stage"] != "c=1" {
		t.Fatalf("stored groups %v", gs)
	}
	// Two searches compared: their capacities side by side, in the table
	// and in the JSON, for two runs and for two models of runs.
	o = run(t, "compare", firstID, id+"@two", "--db", db)
	wantCode(t, o, ExitOK)
	if !regexp.MustCompile(`(?m)^Capacity\n  +level .*\n  base \(two, ttft_p50=35ms by concurrency\) +2 +[0-9.]+ +[0-9.]+  TTFT p50 [0-9.]+ ms \[[0-9.]+–[0-9.]+\] ≤ 35 ms  3: TTFT p50 is .*\n  candidate \(two, ttft_p50=35ms by concurrency\) +2 .*\n  change of the level: \+0.00%$`).MatchString(o.stdout) {
		t.Fatalf("compare table:\n%s", o.stdout)
	}
	o = run(t, "compare", firstID, id, "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	cp := obj(t, decodeJSON(t, o.stdout), "capacity")
	b, cand := obj(t, cp, "base"), obj(t, cp, "candidate")
	if num(t, b, "level") != 2 || num(t, cand, "level") != 2 || num(t, cp, "delta") != 0 || cand["answer"] != c["answer"] || num(t, cand, "first_failing") != 3 {
		t.Fatalf("compare capacity %v", cp)
	}
	if f := list(t, cand, "objectives")[0].(map[string]any); f["objective"] != "TTFT p50" || num(t, f, "target_ms") != 35 || len(list(t, f, "ci_ms")) != 2 {
		t.Fatalf("compare objective %v", f)
	}
}

// runID is the id in "flperf: run ID saved in …".
func runID(t *testing.T, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`flperf: run (\S+) saved in`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no run saved:\n%s", stderr)
	}
	return m[1]
}

func TestCapacityUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"capacity", "--scenario", "Simple Q&A - Short"}, "--slo: slo: give at least one objective"},
		{[]string{"capacity", "--scenario", "Simple Q&A - Short", "--slo", "ttft_p99=1s", "--format", "csv"}, "--format: must be table or json"},
		{[]string{"capacity", "--scenario", "Simple Q&A - Short", "--slo", "ttft_p99=1s", "--by", "load"}, `--by: must be concurrency or rate, got "load"`},
		{[]string{"capacity", "--slo", "ttft_p99=1s"}, "--scenario: a capacity search measures one scenario"},
		{[]string{"capacity", "--scenario", "Simple Q&A - Short", "--slo", "ttft_p99=1s", "--by", "rate", "--concurrency", "4"}, "--concurrency: a search by rate"},
		{[]string{"capacity", "--scenario", "Simple Q&A - Short", "--slo", "ttft_p99=1s", "--max-time", "30s"}, "--max-time: must be longer than the per-request timeout (1m0s)"},
	} {
		o := run(t, append(c.args, "--no-save")...)
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, c.want) {
			t.Errorf("%q: stderr %q, want %q", c.args, o.stderr, c.want)
		}
	}
}
