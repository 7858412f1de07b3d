package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/report"
	"flperf/internal/sim"
)

// steadyProfile answers with a seeded jitter: two runs of it draw the same
// delays, so they are alike by construction.
// Its times are tens of milliseconds, with the same seeded jitter in both
// runs, so that the few milliseconds a loaded machine (or the race
// detector) adds stay small beside them: at 4 ms TTFT such noise alone made
// two runs of it differ significantly.
func steadyProfile() sim.Profile {
	return sim.Profile{Name: "steady", TTFT: 40 * time.Millisecond, DecodeTPS: 1000, Jitter: 0.5, TokensPerChunk: 1, Usage: true, Seed: 7}
}

// quickProfile and laggyProfile differ only in TTFT: 5 ms against 60 ms.
func quickProfile() sim.Profile {
	return sim.Profile{Name: "quick", TTFT: 5 * time.Millisecond, DecodeTPS: 20000, TokensPerChunk: 1, Usage: true, Seed: 1}
}

func laggyProfile() sim.Profile {
	return sim.Profile{Name: "laggy", TTFT: 60 * time.Millisecond, DecodeTPS: 20000, TokensPerChunk: 1, Usage: true, Seed: 1}
}

// cmpDoc is the part of `flperf compare --format json` the tests read.
type cmpDoc struct {
	Base      string `json:"base"`
	Candidate string `json:"candidate"`
	Rows      []struct {
		Model, Scenario, Metric string
		Pooled                  bool
		Delta                   *float64
		P                       *float64
		Significant, Worse      bool
		Base                    struct{ N int }
		Candidate               struct{ N int }
	} `json:"rows"`
	Geomean  []map[string]any `json:"geomean"`
	Warnings []string         `json:"warnings"`
}

// TestCompareSameProfile checks that two runs of the same simulated model
// compare as alike: exit 0, "~" rows, and the pooled row of a two-scenario
// suite.
func TestCompareSameProfile(t *testing.T) {
	s := startTestSim(t, steadyProfile())
	suitePath := writeFile(t, "tiny.json", tinySuite)
	db := newDB(t)
	a := savedID(t, db, s, "--model", "steady", "--suite", suitePath, "--requests", "10", "--seed", "5")
	b := savedID(t, db, s, "--model", "steady", "--suite", suitePath, "--requests", "10", "--seed", "5")

	o := run(t, "compare", a, b, "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "~") {
		t.Errorf("no row of two runs of one profile is marked ~ (not significant):\n%s", o.stdout)
	}
	if !strings.Contains(o.stdout, report.PooledLabel) {
		t.Errorf("no pooled row %q:\n%s", report.PooledLabel, o.stdout)
	}
	if !strings.Contains(o.stdout, a) || !strings.Contains(o.stdout, b) {
		t.Errorf("the table does not name both runs:\n%s", o.stdout)
	}
	if strings.Contains(o.stdout, "different loads") {
		t.Errorf("two runs of one load are said to differ:\n%s", o.stdout)
	}
}

// TestCompareModels checks RUN@MODEL against RUN@MODEL within one run: a
// model with 12× the TTFT shows a significant positive TTFT change, the gate
// fails on it with exit 3 and names it, the reversed comparison (an
// improvement) passes the gate; the JSON form has its stable keys; bad
// metrics and unknown models are refused.
func TestCompareModels(t *testing.T) {
	s := startTestSim(t, quickProfile(), laggyProfile())
	suitePath := writeFile(t, "one.json", oneSuite)
	db := newDB(t)
	id := savedID(t, db, s, "--model", "quick,laggy", "--suite", suitePath, "--requests", "10")
	quick, laggy := id+"@quick", id+"@laggy"

	o := run(t, "compare", quick, laggy, "--db", db, "--metric", "ttft_ms")
	wantCode(t, o, ExitOK)
	found := false
	for _, l := range strings.Split(o.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "only" {
			found = true
			if strings.Contains(l, " ~ ") || !strings.Contains(l, "+") || !strings.Contains(l, "%") {
				t.Errorf("TTFT row %q: want a significant positive change", l)
			}
		}
	}
	if !found {
		t.Errorf("no row for scenario only:\n%s", o.stdout)
	}

	o = run(t, "compare", quick, laggy, "--db", db, "--metric", "ttft_ms", "--format", "json")
	wantCode(t, o, ExitOK)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(o.stdout), &raw); err != nil {
		t.Fatalf("compare --format json: %v\n%s", err, o.stdout)
	}
	for _, k := range []string{"base", "candidate", "rows", "geomean", "warnings"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("compare --format json has no %q key:\n%s", k, o.stdout)
		}
	}
	var doc cmpDoc
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Base != quick || doc.Candidate != laggy {
		t.Errorf("labels %q vs %q, want %q vs %q", doc.Base, doc.Candidate, quick, laggy)
	}
	if len(doc.Rows) == 0 {
		t.Fatalf("no rows:\n%s", o.stdout)
	}
	for _, r := range doc.Rows {
		if r.Metric != "ttft_ms" || !r.Significant || !r.Worse || r.Delta == nil || *r.Delta < 2 || r.Base.N != 10 || r.Candidate.N != 10 {
			t.Errorf("row %+v: want ttft_ms, significant, worse, delta > +200%%, n 10+10", r)
		}
	}

	o = run(t, "compare", quick, laggy, "--db", db, "--metric", "ttft_ms", "--fail-if-slower", "5%")
	wantCode(t, o, ExitRegression)
	if !strings.Contains(o.stderr, "regression") || !strings.Contains(o.stderr, "ttft_ms") {
		t.Errorf("the gate does not name the TTFT regression:\n%s", o.stderr)
	}
	if !strings.Contains(o.stdout, "only") {
		t.Errorf("a failing gate still prints the comparison; stdout:\n%s", o.stdout)
	}
	o = run(t, "compare", laggy, quick, "--db", db, "--metric", "ttft_ms", "--fail-if-slower", "5%")
	wantCode(t, o, ExitOK)
	if strings.Contains(o.stderr, "regression") {
		t.Errorf("an improvement failed the gate:\n%s", o.stderr)
	}

	for _, bad := range [][]string{
		{"--metric", "nope"},
		{"--fail-if-slower", "lots"},
		{"--alpha", "2"},
		{"--format", "xml"},
	} {
		o := run(t, append([]string{"compare", quick, laggy, "--db", db}, bad...)...)
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, bad[0]) {
			t.Errorf("compare %v: stderr %q does not name the flag", bad, o.stderr)
		}
	}
	wantCode(t, run(t, "compare", quick, "--db", db), ExitUsage)

	o = run(t, "compare", quick, id+"@ghost", "--db", db)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, `"ghost"`) || !strings.Contains(o.stderr, "quick") || !strings.Contains(o.stderr, "laggy") {
		t.Errorf("unknown model: stderr %q does not name it and the run's models", o.stderr)
	}
	o = run(t, "compare", quick, "19990101-nope", "--db", db)
	wantCode(t, o, ExitFailure)
}

// TestCompareDifferentLoads checks the warning when two runs ran under
// different loads (sequential against --concurrency 2), in the table and in
// the JSON.
func TestCompareDifferentLoads(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	db := newDB(t)
	a := savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "4")
	b := savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "4", "--concurrency", "2")

	o := run(t, "compare", a, b, "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "different loads") {
		t.Errorf("no different-loads warning:\n%s", o.stdout)
	}
	o = run(t, "compare", a, b, "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	var doc cmpDoc
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(doc.Warnings, func(w string) bool { return strings.Contains(w, "different loads") }) {
		t.Errorf("JSON warnings %q lack the different-loads warning", doc.Warnings)
	}
	// The same run against itself: same load, no warning.
	o = run(t, "compare", a, a, "--db", db)
	wantCode(t, o, ExitOK)
	if strings.Contains(o.stdout, "different loads") {
		t.Errorf("a run compared with itself is said to run under different loads:\n%s", o.stdout)
	}
}
