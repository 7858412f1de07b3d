package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSweepRoundTrip runs a concurrency sweep through the command line and
// follows its stages everywhere: the JSON document (one row per model ×
// scenario × level), the table (a LOAD column), show, export → import →
// export (the same bytes), and compare (rows paired by stage).
func TestSweepRoundTrip(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	db := newDB(t)
	doc := savedRun(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "3", "--concurrency", "2,1")
	id := str(t, doc, "id")
	var rows []string
	for _, g := range list(t, doc, "groups") {
		m := g.(map[string]any)
		rows = append(rows, str(t, m, "scenario")+"@"+str(t, m, "stage"))
	}
	if want := []string{"alpha@c=1", "alpha@c=2", "beta@c=1", "beta@c=2"}; !slices.Equal(rows, want) {
		t.Fatalf("groups %v, want %v", rows, want)
	}
	if n := len(list(t, doc, "models")); n != 2 {
		t.Fatalf("%d pooled rows, want one per level (2)", n)
	}
	cfg := doc["config"].(map[string]any)
	if lv, _ := cfg["levels"].([]any); len(lv) != 2 || lv[0] != 1.0 || lv[1] != 2.0 {
		t.Fatalf("config levels %v, want [1 2]", cfg["levels"])
	}
	if cmd := strings.Join(anyStrings(cfg["command"]), " "); !strings.Contains(cmd, "--concurrency 1,2") {
		t.Fatalf("repeat command %q does not sweep", cmd)
	}

	o := run(t, "show", id, "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "LOAD") || !strings.Contains(o.stdout, "c=1") || !strings.Contains(o.stdout, "c=2") ||
		!strings.Contains(o.stdout, "concurrency sweep, each level a stage: c=1 c=2") {
		t.Fatalf("show does not show the levels:\n%s", o.stdout)
	}

	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	wantCode(t, run(t, "export", id, "--format", "json", "--out", a, "--db", db), ExitOK)
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]int{}
	for _, r := range list(t, decodeJSON(t, string(data)), "records") {
		stages[str(t, r.(map[string]any), "stage")]++
	}
	if stages["c=1"] != 2*3 || stages["c=2"] != 2*3 || len(stages) != 2 {
		t.Fatalf("exported records per stage %v, want 6 of each (no warm-up)", stages)
	}
	db2 := newDB(t)
	wantCode(t, run(t, "import", a, "--db", db2), ExitOK)
	o = run(t, "export", id, "--format", "json", "--db", db2)
	wantCode(t, o, ExitOK)
	if o.stdout != string(data) {
		t.Fatalf("export → import → export changed the sweep")
	}

	// A second sweep of the same model: compare pairs each level with
	// the same level, never c=1 with c=2.
	id2 := savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "3", "--sweep", "concurrency=1..2")
	o = run(t, "compare", id, id2, "--db", db, "--metric", "ttft_ms", "--format", "json")
	wantCode(t, o, ExitOK)
	cmp := decodeJSON(t, o.stdout)
	var paired []string
	for _, r := range list(t, cmp, "rows") {
		m := r.(map[string]any)
		if m["pooled"] == true {
			continue
		}
		st, _ := m["stage"].(string)
		b := m["base"].(map[string]any)
		paired = append(paired, str(t, m, "scenario")+"@"+st)
		if b["n"] != 3.0 {
			t.Errorf("row %v: base n %v, want 3 (one level's records)", m, b["n"])
		}
	}
	if want := []string{"alpha@c=1", "alpha@c=2", "beta@c=1", "beta@c=2"}; !slices.Equal(paired, want) {
		t.Fatalf("compare rows %v, want %v", paired, want)
	}
	o = run(t, "compare", id, id2, "--db", db, "--metric", "ttft_ms")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "alpha @ c=2") {
		t.Fatalf("compare's table does not name the level:\n%s", o.stdout)
	}
}

// TestSweepFlagErrors checks that bad sweeps are usage errors naming the
// flag, and that nothing runs.
func TestSweepFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--concurrency", "1,x"}, `-concurrency: not a whole number: "x"`},
		{[]string{"--concurrency", "1,,2"}, "-concurrency: empty value"},
		{[]string{"--concurrency", "1,0"}, "--concurrency: each level must be between 1"},
		{[]string{"--rate", "1,-1"}, "--rate: each level must be a number > 0"},
		{[]string{"--sweep", "concurrency=8..2"}, "--sweep: want 0 < LOW < HIGH"},
		{[]string{"--sweep", "concurrency=1..8", "--rate", "1,2"}, "--sweep: sweep one of concurrency and rate"},
		{[]string{"--concurrency", "1,2", "--max-in-flight", "4"}, "--max-in-flight: only used with --rate"},
	} {
		o := run(t, append([]string{"run", "--engine", "sim", "--no-save"}, c.args...)...)
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, c.says) || o.stdout != "" {
			t.Errorf("%v: stderr %q, want it to say %q", c.args, o.stderr, c.says)
		}
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
