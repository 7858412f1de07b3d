package cli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// newDB returns the path of a database file no other test uses.
func newDB(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "h.db")
}

// savedRun runs `flperf run` against s with args (model, suite, requests…),
// saving in db, and returns the JSON document the run printed.
func savedRun(t *testing.T, db string, s *testSim, args ...string) map[string]any {
	t.Helper()
	o := run(t, append([]string{"run", "--db", db, "--endpoint", s.base, "--warmup", "0", "--format", "json"}, args...)...)
	wantCode(t, o, ExitOK)
	return decodeJSON(t, o.stdout)
}

// savedID is savedRun's run id.
func savedID(t *testing.T, db string, s *testSim, args ...string) string {
	t.Helper()
	return str(t, savedRun(t, db, s, args...), "id")
}

// storedRuns decodes `flperf runs --format json` on db (with extra flags).
func storedRuns(t *testing.T, db string, extra ...string) []map[string]any {
	t.Helper()
	o := run(t, append([]string{"runs", "--db", db, "--format", "json"}, extra...)...)
	wantCode(t, o, ExitOK)
	dec := json.NewDecoder(strings.NewReader(o.stdout))
	var runs []map[string]any
	if err := dec.Decode(&runs); err != nil {
		t.Fatalf("flperf runs --format json: not a JSON array: %v\n%s", err, o.stdout)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("flperf runs --format json: more than one JSON document:\n%s", o.stdout)
	}
	if runs == nil {
		t.Fatalf("flperf runs --format json printed null, want an array:\n%s", o.stdout)
	}
	return runs
}

// runIDs returns the "id" of each run, in order.
func runIDs(t *testing.T, runs []map[string]any) []string {
	t.Helper()
	var ids []string
	for _, r := range runs {
		ids = append(ids, str(t, r, "id"))
	}
	return ids
}

// tableIDs returns the first column of each row of `flperf runs` (table),
// after checking the header.
func tableIDs(t *testing.T, stdout string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "STATUS") {
		t.Fatalf("flperf runs: no header line:\n%s", stdout)
	}
	var ids []string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			t.Fatalf("flperf runs: blank row:\n%s", stdout)
		}
		ids = append(ids, f[0])
	}
	return ids
}

// TestRunSavesByDefault checks that `flperf run` saves the run: `flperf
// runs` lists it under the id the JSON document printed, completed, with its
// models, suite, engine and headline numbers, and stderr says where it was
// saved; --no-save saves nothing and does not even create the database.
func TestRunSavesByDefault(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	db := newDB(t)
	o := run(t, "run", "--db", db, "--endpoint", s.base, "--model", "tiny", "--suite", suitePath,
		"--requests", "4", "--warmup", "0", "--format", "json")
	wantCode(t, o, ExitOK)
	id := str(t, decodeJSON(t, o.stdout), "id")
	if !strings.Contains(o.stderr, "run "+id+" saved in "+db) {
		t.Errorf("stderr does not say run %s was saved in %s:\n%s", id, db, o.stderr)
	}

	runs := storedRuns(t, db)
	if len(runs) != 1 {
		t.Fatalf("%d runs stored, want 1: %v", len(runs), runs)
	}
	r := runs[0]
	if got := str(t, r, "id"); got != id {
		t.Errorf("stored id %q, want the run's %q", got, id)
	}
	if st := str(t, r, "status"); st != "completed" {
		t.Errorf("status %q, want completed", st)
	}
	if m := list(t, r, "models"); !slices.Equal(m, []any{"tiny"}) {
		t.Errorf("models %v, want [tiny]", m)
	}
	if su := str(t, r, "suite"); su != "one" {
		t.Errorf("suite %q, want the suite's name one", su)
	}
	eng := obj(t, r, "engine")
	if k := str(t, eng, "kind"); k != "sim" {
		t.Errorf("engine.kind %q, want sim", k)
	}
	if sim, _ := eng["simulated"].(bool); !sim {
		t.Errorf("engine.simulated = %v, want true", eng["simulated"])
	}
	if n := num(t, r, "records"); n != 4 {
		t.Errorf("records %v, want 4", n)
	}
	if n, ok := num(t, r, "requests"), num(t, r, "ok"); n != 4 || ok != 4 {
		t.Errorf("requests %v ok %v, want 4 and 4", n, ok)
	}
	if e := num(t, r, "error_rate"); e != 0 {
		t.Errorf("error_rate %v, want 0", e)
	}
	for _, k := range []string{"ttft_p50_ms", "decode_p50_tps", "output_tokens_per_s"} {
		if v := num(t, r, k); !(v > 0) {
			t.Errorf("%s = %v, want a positive headline number", k, v)
		}
	}

	// --no-save into the same database: still one run.
	o = run(t, "run", "--db", db, "--no-save", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath,
		"--requests", "4", "--warmup", "0", "--format", "json")
	wantCode(t, o, ExitOK)
	if strings.Contains(o.stderr, "saved") {
		t.Errorf("--no-save: stderr still says the run was saved:\n%s", o.stderr)
	}
	if ids := runIDs(t, storedRuns(t, db)); !slices.Equal(ids, []string{id}) {
		t.Errorf("after a --no-save run the database holds %v, want only %s", ids, id)
	}

	// --no-save with a fresh path: no file at all.
	fresh := newDB(t)
	o = run(t, "run", "--db", fresh, "--no-save", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath,
		"--requests", "4", "--warmup", "0", "--format", "json")
	wantCode(t, o, ExitOK)
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--no-save created %s (stat: %v)", fresh, err)
	}
}

// TestRunsTable checks `flperf runs`: a header and one row per run, newest
// first; --model, --status and --limit filter; an empty database or a filter
// that matches nothing prints a hint on stderr and exits 0.
func TestRunsTable(t *testing.T) {
	s := startTestSim(t, fastProfile("a"), fastProfile("b"))
	suitePath := writeFile(t, "one.json", oneSuite)
	db := newDB(t)

	o := run(t, "runs", "--db", db)
	wantCode(t, o, ExitOK)
	if o.stdout != "" || !strings.Contains(o.stderr, "no runs stored in "+db) {
		t.Errorf("empty database: stdout %q, stderr %q; want nothing on stdout and the hint on stderr", o.stdout, o.stderr)
	}
	if runs := storedRuns(t, db); len(runs) != 0 {
		t.Errorf("empty database lists %v", runs)
	}

	r1 := savedID(t, db, s, "--model", "a", "--suite", suitePath, "--requests", "2")
	r2 := savedID(t, db, s, "--model", "b", "--suite", suitePath, "--requests", "2")
	r3 := savedID(t, db, s, "--model", "a", "--suite", suitePath, "--requests", "2")

	o = run(t, "runs", "--db", db)
	wantCode(t, o, ExitOK)
	if ids := tableIDs(t, o.stdout); !slices.Equal(ids, []string{r3, r2, r1}) {
		t.Errorf("rows %v, want newest first %v\n%s", ids, []string{r3, r2, r1}, o.stdout)
	}
	for _, l := range strings.Split(strings.TrimSpace(o.stdout), "\n")[1:] {
		if !strings.Contains(l, "completed") || !strings.Contains(l, "SIMULATED") || !strings.Contains(l, "2/2") {
			t.Errorf("row %q does not show completed, SIMULATED and 2/2", l)
		}
	}

	for _, c := range []struct {
		flags []string
		want  []string
	}{
		{[]string{"--model", "a"}, []string{r3, r1}},
		{[]string{"--model", "b"}, []string{r2}},
		{[]string{"--status", "completed"}, []string{r3, r2, r1}},
		{[]string{"--limit", "1"}, []string{r3}},
		{[]string{"--limit", "2", "--model", "a"}, []string{r3, r1}},
		{[]string{"--limit", "0"}, []string{r3, r2, r1}},
	} {
		o := run(t, append([]string{"runs", "--db", db}, c.flags...)...)
		wantCode(t, o, ExitOK)
		if ids := tableIDs(t, o.stdout); !slices.Equal(ids, c.want) {
			t.Errorf("runs %v: rows %v, want %v", c.flags, ids, c.want)
		}
		if ids := runIDs(t, storedRuns(t, db, c.flags...)); !slices.Equal(ids, c.want) {
			t.Errorf("runs --format json %v: %v, want %v", c.flags, ids, c.want)
		}
	}

	o = run(t, "runs", "--db", db, "--status", "interrupted")
	wantCode(t, o, ExitOK)
	if o.stdout != "" || !strings.Contains(o.stderr, "no stored run matches") {
		t.Errorf("a filter matching nothing: stdout %q, stderr %q; want a hint that nothing matches", o.stdout, o.stderr)
	}
	o = run(t, "runs", "--db", db, "--format", "yaml")
	wantCode(t, o, ExitUsage)
}

// TestShow checks `flperf show`: the JSON report recomputed from the stored
// records equals the one the run printed (same records, same aggregator);
// csv, jsonl and the table work; a prefix shared by two runs is refused with
// both candidates, an unknown one with "no run id starts with".
func TestShow(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	db := newDB(t)
	doc := savedRun(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "4")
	id := str(t, doc, "id")
	prefix := id[:len(id)-2] // unique while it is the only run

	o := run(t, "show", prefix, "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	shown := decodeJSON(t, o.stdout)
	if got := str(t, shown, "id"); got != id {
		t.Errorf("show %s: id %q, want %q", prefix, got, id)
	}
	if st := str(t, shown, "status"); st != "completed" {
		t.Errorf("status %q, want completed", st)
	}
	for _, key := range []string{"groups", "models"} {
		want, got := objects(t, list(t, doc, key)), objects(t, list(t, shown, key))
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d shown, %d printed by the run", key, len(got), len(want))
		}
		for i := range want {
			w, g := want[i], got[i]
			name := str(t, w, "model") + "/" + str(t, w, "scenario")
			if gn := str(t, g, "model") + "/" + str(t, g, "scenario"); gn != name {
				t.Errorf("%s[%d] is %s, want %s", key, i, gn, name)
			}
			for _, k := range []string{"requests", "ok"} {
				if num(t, g, k) != num(t, w, k) {
					t.Errorf("%s %s: %s %v shown, %v printed by the run", key, name, k, num(t, g, k), num(t, w, k))
				}
			}
			for _, k := range []string{"ttft_ms", "tpot_ms"} {
				wp, gp := num(t, obj(t, w, k), "p50"), num(t, obj(t, g, k), "p50")
				if gp != wp {
					t.Errorf("%s %s: %s.p50 %v shown, %v printed by the run", key, name, k, gp, wp)
				}
			}
		}
	}

	// --recompute gives the same document as the stored summary.
	re := run(t, "show", prefix, "--db", db, "--format", "json", "--recompute")
	wantCode(t, re, ExitOK)
	if re.stdout != o.stdout {
		t.Errorf("show --recompute differs from the stored summary:\n%s\n%s", re.stdout, o.stdout)
	}

	o = run(t, "show", id, "--db", db, "--format", "csv")
	wantCode(t, o, ExitOK)
	rows, err := csv.NewReader(strings.NewReader(o.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("show --format csv: %v\n%s", err, o.stdout)
	}
	if len(rows) != 1+2+1 {
		t.Errorf("show --format csv: %d rows, want header + 2 scenarios + 1 model", len(rows))
	}

	o = run(t, "show", id, "--db", db, "--format", "jsonl")
	wantCode(t, o, ExitOK)
	if n := len(jsonlRecords(t, o.stdout)); n != 2*4 {
		t.Errorf("show --format jsonl: %d lines, want one per record (8)", n)
	}

	o = run(t, "show", id, "--db", db)
	wantCode(t, o, ExitOK)
	if first, _, _ := strings.Cut(o.stdout, "\n"); !strings.HasPrefix(first, "FLPerformance run "+id) {
		t.Errorf("show: first line %q, want the run header", first)
	}

	o = run(t, "show", id, "--db", db, "--format", "xml")
	wantCode(t, o, ExitUsage)

	id2 := savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "2")
	common := commonPrefix(id, id2)
	if common == "" || common == id || common == id2 {
		t.Fatalf("ids %s and %s share no proper prefix", id, id2)
	}
	o = run(t, "show", common, "--db", db)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "ambiguous") || !strings.Contains(o.stderr, id) || !strings.Contains(o.stderr, id2) {
		t.Errorf("ambiguous prefix %q: stderr does not list both candidates:\n%s", common, o.stderr)
	}
	o = run(t, "show", "19990101-nope", "--db", db)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "no run id starts with") {
		t.Errorf("unknown id: stderr %q", o.stderr)
	}
	o = run(t, "show", "--db", db)
	wantCode(t, o, ExitUsage)
}

// commonPrefix returns the longest common prefix of a and b.
func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return a[:n]
}

// TestDeleteAndPrune checks that delete removes a run (runs no longer lists
// it, show fails), that prune --keep keeps the newest, --older-than deletes
// by age, and that prune without a rule or with a bad age is a usage error.
func TestDeleteAndPrune(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	db := newDB(t)
	var ids []string
	for range 4 {
		ids = append(ids, savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "1"))
	}

	o := run(t, "delete", ids[1], "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "deleted run "+ids[1]) {
		t.Errorf("delete: stdout %q", o.stdout)
	}
	if got := runIDs(t, storedRuns(t, db)); !slices.Equal(got, []string{ids[3], ids[2], ids[0]}) {
		t.Errorf("after delete: %v", got)
	}
	wantCode(t, run(t, "show", ids[1], "--db", db), ExitFailure)
	wantCode(t, run(t, "delete", ids[1], "--db", db), ExitFailure)
	wantCode(t, run(t, "delete", "--db", db), ExitUsage)

	for _, bad := range [][]string{{}, {"--older-than", "banana"}, {"--older-than", "-3d"}, {"--keep", "-1"}} {
		o := run(t, append([]string{"prune", "--db", db}, bad...)...)
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, "flperf prune:") {
			t.Errorf("prune %v: stderr %q", bad, o.stderr)
		}
	}

	o = run(t, "prune", "--older-than", "30d", "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "deleted 0 runs") {
		t.Errorf("prune --older-than 30d: stdout %q, want nothing deleted", o.stdout)
	}
	if n := len(storedRuns(t, db)); n != 3 {
		t.Errorf("prune --older-than 30d left %d runs, want 3", n)
	}

	o = run(t, "prune", "--keep", "1", "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "deleted 2 runs") {
		t.Errorf("prune --keep 1: stdout %q", o.stdout)
	}
	if got := runIDs(t, storedRuns(t, db)); !slices.Equal(got, []string{ids[3]}) {
		t.Errorf("prune --keep 1 left %v, want the newest %s", got, ids[3])
	}

	// 0s: every run not being written, the newest included.
	o = run(t, "prune", "--older-than", "0s", "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "deleted 1 runs") {
		t.Errorf("prune --older-than 0s: stdout %q", o.stdout)
	}
	if n := len(storedRuns(t, db)); n != 0 {
		t.Errorf("prune --older-than 0s left %d runs", n)
	}
}

// TestDBBackupAndPath checks `flperf db backup FILE` (a database that lists
// the same runs; an existing FILE is refused and left alone) and `flperf db
// path`; `flperf db` alone is a usage error.
func TestDBBackupAndPath(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	db := newDB(t)
	savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "2")
	savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "3")

	backup := filepath.Join(t.TempDir(), "copy.db")
	o := run(t, "db", "backup", backup, "--db", db)
	wantCode(t, o, ExitOK)
	want := run(t, "runs", "--db", db, "--format", "json").stdout
	got := run(t, "runs", "--db", backup, "--format", "json").stdout
	if got != want || len(storedRuns(t, backup)) != 2 {
		t.Errorf("the backup lists\n%s\nthe database\n%s", got, want)
	}
	if ids := runIDs(t, storedRuns(t, backup)); len(ids) != 2 {
		t.Errorf("the backup holds %v, want 2 runs", ids)
	}

	before, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	o = run(t, "db", "backup", backup, "--db", db)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "already exists") {
		t.Errorf("backup onto an existing file: stderr %q", o.stderr)
	}
	if after, _ := os.ReadFile(backup); string(after) != string(before) {
		t.Error("a refused backup changed the existing file")
	}

	o = run(t, "db", "path", "--db", "/some/where/x.db")
	wantCode(t, o, ExitOK)
	if o.stdout != "/some/where/x.db\n" {
		t.Errorf("db path --db: %q", o.stdout)
	}
	o = cli(t, t.Context(), map[string]string{"FLPERF_DB": "/else/y.db"}, "db", "path")
	wantCode(t, o, ExitOK)
	if o.stdout != "/else/y.db\n" {
		t.Errorf("db path with FLPERF_DB: %q", o.stdout)
	}
	wantCode(t, run(t, "db"), ExitUsage)
	wantCode(t, run(t, "db", "shrink"), ExitUsage)
	wantCode(t, run(t, "db", "backup", "--db", db), ExitUsage)
}
