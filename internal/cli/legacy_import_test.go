package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"flperf/internal/legacy/legacytest"
)

// TestLegacyImport imports the original FLPerformance's JSON and SQLite
// stores (files written here in its formats) and checks that every view
// labels the runs LEGACY with the original's figures and caveats, that a
// second import (or the same runs from the other store) adds nothing, and
// that a comparison with a new run warns first and refuses to gate.
func TestLegacyImport(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "storage.json")
	if err := legacytest.WriteStorage(jsonPath, nil); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "benchmarks.db")
	if err := legacytest.WriteSQLite(dbPath, false, ""); err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	idA, idB := "legacy-"+legacytest.RunStreamed, "legacy-"+legacytest.RunUnstreamed

	o := run(t, "import", jsonPath, "--db", db)
	wantCode(t, o, ExitOK)
	for _, want := range []string{"JSON store (storage.json), 2 runs", "imported legacy run " + idA, "imported legacy run " + idB, "LEGACY"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("import: stdout lacks %q:\n%s", want, o.stdout)
		}
	}
	// Twice, and the same runs from the SQLite store: nothing added.
	for _, p := range []string{jsonPath, dbPath} {
		o = run(t, "import", p, "--db", db)
		wantCode(t, o, ExitOK)
		if strings.Contains(o.stdout, "imported legacy run") || strings.Count(o.stdout, "already imported") != 2 {
			t.Errorf("import of %s again: %s", filepath.Base(p), o.stdout)
		}
	}
	runs := storedRuns(t, db)
	if len(runs) != 2 {
		t.Fatalf("%d runs stored, want 2", len(runs))
	}
	for _, r := range runs {
		if r["legacy"] != true || r["requests"] != nil || r["ttft_p50_ms"] != nil {
			t.Errorf("runs --format json: %v: want legacy true and no flperf figures", r)
		}
	}
	o = run(t, "runs", "--db", db)
	wantCode(t, o, ExitOK)
	if strings.Count(o.stdout, "LEGACY (original FLPerformance)") != 2 {
		t.Errorf("runs table does not mark both runs LEGACY:\n%s", o.stdout)
	}

	o = run(t, "show", idA, "--db", db)
	wantCode(t, o, ExitOK)
	for _, want := range []string{"LEGACY   imported from the original FLPerformance (storage.json, run " + legacytest.RunStreamed,
		"LEGACY figures, as the original FLPerformance computed them (3 iterations per scenario, one at a time, streamed, timeout 60000 ms)",
		"qwen2.5-0.5b", "18.4", "1911.5", "3/3", "ttft (upper median)", "latency p50 (nearest rank)",
		"Tokens counted as chunks", "Nearest-rank percentiles", "Sequential only", "Retried errors hidden"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("show: lacks %q:\n%s", want, o.stdout)
		}
	}
	if strings.Contains(o.stdout, "Per model × scenario") {
		t.Errorf("show prints flperf's (empty) table for a legacy run:\n%s", o.stdout)
	}
	o = run(t, "show", idA, "--db", db, "--format", "markdown")
	wantCode(t, o, ExitOK)
	for _, want := range []string{"> [!CAUTION]\n> **LEGACY**", "#### LEGACY figures", "| qwen2.5-0.5b | Simple Q\\&A - Short | 18.4 | 410 |", "Retried errors hidden"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("show --format markdown: lacks %q:\n%s", want, o.stdout)
		}
	}
	doc := decodeJSON(t, run(t, "show", idA, "--db", db, "--format", "json").stdout)
	l := obj(t, doc, "legacy")
	res := objects(t, list(t, l, "results"))
	if len(res) != 2 || num(t, res[0], "tps") != legacytest.TPS || num(t, res[0], "latency_p95") != legacytest.P95 || len(list(t, res[0], "iterations")) != 3 {
		t.Errorf("show --format json: legacy results %v", res)
	}
	if len(list(t, l, "caveats")) != 4 || len(list(t, l, "methods")) == 0 || str(t, l, "source") != "storage.json" {
		t.Errorf("show --format json: legacy block %v", l)
	}
	if w := list(t, doc, "warnings"); len(w) == 0 || !strings.HasPrefix(w[0].(string), "LEGACY") {
		t.Errorf("warnings %v: want the LEGACY warning first", w)
	}

	// An export of a legacy run imported elsewhere stays legacy.
	exp := filepath.Join(dir, "exported.json")
	wantCode(t, run(t, "export", idB, "--format", "json", "--out", exp, "--db", db), ExitOK)
	other := newDB(t)
	wantCode(t, run(t, "import", exp, "--db", other), ExitOK)
	if doc := decodeJSON(t, run(t, "show", idB, "--db", other, "--format", "json").stdout); str(t, obj(t, doc, "legacy"), "original_status") != "failed" {
		t.Errorf("a legacy run lost its legacy block through export and import: %v", doc["legacy"])
	}

	// Against a new run: the warning comes first, the gate refuses.
	s := startTestSim(t, fastProfile("tiny"))
	newID := savedID(t, db, s, "--model", "tiny", "--suite", writeFile(t, "tiny.json", tinySuite), "--requests", "3")
	o = run(t, "compare", idA, newID, "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.HasPrefix(o.stdout, "!! LEGACY run "+idA+" (base)") || !strings.Contains(o.stdout, "NOT compared") {
		t.Errorf("compare does not warn first:\n%s", o.stdout)
	}
	cmp := decodeJSON(t, run(t, "compare", newID, idA, "--db", db, "--format", "json").stdout)
	if lw := list(t, cmp, "legacy"); len(lw) != 1 || !strings.Contains(lw[0].(string), "(candidate)") {
		t.Errorf("compare --format json: legacy %v", cmp["legacy"])
	}
	for _, f := range []string{"table", "markdown"} {
		o = run(t, "compare", idA, newID, "--db", db, "--fail-if-slower", "5%", "--format", f)
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, "--fail-if-slower refused") || !strings.Contains(o.stdout, "LEGACY run "+idA) {
			t.Errorf("gate on a legacy run (%s): stdout %q stderr %q", f, o.stdout, o.stderr)
		}
		if strings.Contains(strings.ToLower(o.stdout), "no regression") {
			t.Errorf("compare --format %s passes a gate it refused:\n%s", f, o.stdout)
		}
	}
}

// A malformed file is refused with the field named, and nothing of it is
// stored, even when only its last run is malformed.
func TestLegacyImportMalformedAddsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "storage.json")
	err := legacytest.WriteStorage(path, func(s map[string]any) {
		s["benchmark_results"].(map[string]any)[legacytest.RunUnstreamed].([]any)[0].(map[string]any)["latency_p99"] = "slow"
	})
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	o := run(t, "import", path, "--db", db)
	wantCode(t, o, ExitUsage)
	want := `benchmark_results["` + legacytest.RunUnstreamed + `"][0].latency_p99: want a number, got the string "slow"`
	if !strings.Contains(o.stderr, want) {
		t.Errorf("stderr %q, want %q", o.stderr, want)
	}
	if runs := storedRuns(t, db); len(runs) != 0 {
		t.Errorf("%d runs stored from a refused file", len(runs))
	}
}
