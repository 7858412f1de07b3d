package cli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"flperf/internal/report"
)

// TestExportImportRoundTrip checks the lossless exchange through the CLI:
// export --format json from database A, import into B, export from B gives
// the same bytes; a second import is refused; a failed import adds nothing.
func TestExportImportRoundTrip(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	dbA, dbB := newDB(t), newDB(t)
	id := savedID(t, dbA, s, "--model", "tiny", "--suite", suitePath, "--requests", "3")

	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	o := run(t, "export", id, "--format", "json", "--out", a, "--db", dbA)
	wantCode(t, o, ExitOK)
	if o.stdout != "" {
		t.Errorf("export --out also wrote to stdout: %.200q", o.stdout)
	}
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a + ".partial"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("export left %s.partial behind", a)
	}
	doc := decodeJSON(t, string(data))
	if got := str(t, doc, "id"); got != id {
		t.Errorf("exported id %q, want %q", got, id)
	}
	if n := len(list(t, doc, "records")); n != 2*3 {
		t.Errorf("export holds %d records, want 6", n)
	}

	o = run(t, "import", a, "--db", dbB)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "imported run "+id+" (6 records)") {
		t.Errorf("import: stdout %q", o.stdout)
	}
	o = run(t, "export", id[:len(id)-1], "--format", "json", "--db", dbB)
	wantCode(t, o, ExitOK)
	if o.stdout != string(data) {
		t.Errorf("export → import → export changed the document:\nfirst:\n%.2000s\nsecond:\n%.2000s", data, o.stdout)
	}
	if got := storedRuns(t, dbB); len(got) != 1 || str(t, got[0], "status") != "completed" {
		t.Errorf("database B lists %v, want the one completed run", got)
	}

	o = run(t, "import", a, "--db", dbB)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "already exists") {
		t.Errorf("second import: stderr %q, want it to say the run already exists", o.stderr)
	}

	valid := strings.TrimSpace(string(data))
	for _, c := range []struct{ name, content, want string }{
		{"text.json", "hello, world\n", "not an flperf export document"},
		{"empty.json", "", "not an flperf export document"},
		{"noid.json", `{"status":"completed","records":[]}`, "no run id"},
		{"trailing.json", valid + "\n{}\n", "trailing data"},
		{"brace.json", valid + "}", "trailing data"},
		{"bracket.json", valid + "\n]", "trailing data"},
		{"array.json", "[" + valid + "]", "not an flperf export document"},
	} {
		dbC := newDB(t)
		o := run(t, "import", writeFile(t, c.name, c.content), "--db", dbC)
		if o.code != ExitUsage || !strings.Contains(o.stderr, c.want) {
			t.Errorf("import %s: exit %d, stderr %q; want exit 2 and %q", c.name, o.code, o.stderr, c.want)
		}
		if n := len(storedRuns(t, dbC)); n != 0 {
			t.Errorf("import %s: a refused import stored %d runs", c.name, n)
		}
	}
	o = run(t, "import", filepath.Join(dir, "missing.json"), "--db", dbB)
	wantCode(t, o, ExitUsage)
	wantCode(t, run(t, "import", "--db", dbB), ExitUsage)
}

// TestExportFormats checks the other export formats: csv (parsed with
// encoding/csv: one row per group and per model), jsonl (one line per
// record), benchstat (one BenchmarkLLM/ line per ok measured record, no
// "run:" line), and a usage error for an unknown format.
func TestExportFormats(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	db := newDB(t)
	id := savedID(t, db, s, "--model", "tiny", "--suite", suitePath, "--requests", "3")

	o := run(t, "export", id, "--format", "csv", "--db", db)
	wantCode(t, o, ExitOK)
	rows, err := csv.NewReader(strings.NewReader(o.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("export --format csv does not parse: %v\n%s", err, o.stdout)
	}
	if len(rows) != 1+2+1 {
		t.Fatalf("%d CSV rows, want header + 2 groups + 1 model", len(rows))
	}
	if !slices.Equal(rows[0], report.CSVHeader()) {
		t.Errorf("CSV header %v", rows[0])
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	var scenarios, requests []string
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) || r[col("run_id")] != id || r[col("model")] != "tiny" {
			t.Errorf("CSV row %q: want %d cells, run_id %s, model tiny", r, len(rows[0]), id)
			continue
		}
		scenarios = append(scenarios, r[col("scenario")])
		requests = append(requests, r[col("requests")])
	}
	if !slices.Equal(scenarios, []string{"alpha", "beta", ""}) || !slices.Equal(requests, []string{"3", "3", "6"}) {
		t.Errorf("CSV scenarios %q requests %q, want alpha 3, beta 3, then the pooled model row with 6", scenarios, requests)
	}

	o = run(t, "export", id, "--format", "jsonl", "--db", db)
	wantCode(t, o, ExitOK)
	recs := jsonlRecords(t, o.stdout)
	if len(recs) != 2*3 {
		t.Errorf("export --format jsonl: %d lines, want 6", len(recs))
	}
	seqs := map[float64]bool{}
	for _, r := range recs {
		seqs[num(t, r, "seq")] = true
	}
	if len(seqs) != len(recs) {
		t.Errorf("export --format jsonl repeats seqs: %v", seqs)
	}

	o = run(t, "export", id, "--format", "benchstat", "--db", db)
	wantCode(t, o, ExitOK)
	bench := 0
	for _, l := range strings.Split(strings.TrimSuffix(o.stdout, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "BenchmarkLLM/"):
			bench++
			if !strings.Contains(l, "/model=tiny/") || !strings.Contains(l, " ttft-ns") {
				t.Errorf("benchmark line %q lacks the model or TTFT", l)
			}
		case strings.HasPrefix(l, "run:"):
			t.Errorf("export --format benchstat has a run: line (%q): two exports would not compare", l)
		case strings.HasPrefix(l, "Unit "), strings.HasPrefix(l, "goos:"), strings.HasPrefix(l, "goarch:"), strings.HasPrefix(l, "pkg:"), l == "":
		default:
			t.Errorf("unexpected benchstat line %q", l)
		}
	}
	if bench != 2*3 {
		t.Errorf("%d BenchmarkLLM lines, want one per measured record (6)\n%s", bench, o.stdout)
	}

	out := filepath.Join(t.TempDir(), "r.xml")
	o = run(t, "export", id, "--format", "xml", "--out", out, "--db", db)
	wantCode(t, o, ExitUsage)
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused export created %s", out)
	}
	wantCode(t, run(t, "export", "19990101-nope", "--db", db), ExitFailure)
	wantCode(t, run(t, "export", id, "--out", filepath.Join(t.TempDir(), "no", "such", "dir", "x.json"), "--db", db), ExitFailure)
}

// TestImportRefusesImpossibleRuns imports documents that no run could have
// produced: ids the app could not open (a path, a space, markup), an unknown
// status, negative counts, an HTTP status that is none. Each is a
// usage error naming the field, and stores nothing. A document with an
// unusual but valid id is imported, and the app opens and deletes it.
func TestImportRefusesImpossibleRuns(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	dbA := newDB(t)
	id := savedID(t, dbA, s, "--model", "tiny", "--suite", writeFile(t, "one.json", oneSuite), "--requests", "2", "--warmup", "0")
	o := run(t, "export", id, "--format", "json", "--db", dbA)
	wantCode(t, o, ExitOK)
	edited := func(edit func(doc map[string]any)) string {
		doc := decodeJSON(t, o.stdout)
		edit(doc)
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, "doc.json", string(b))
	}
	rec := func(doc map[string]any) map[string]any { return objects(t, list(t, doc, "records"))[0] }
	for _, c := range []struct {
		name, want string
		edit       func(map[string]any)
	}{
		{"path id", `id: "../../etc/passwd" is not a run id`, func(d map[string]any) { d["id"] = "../../etc/passwd" }},
		{"space id", `id: "a b" is not a run id`, func(d map[string]any) { d["id"] = "a b" }},
		{"markup id", `id: "<script>alert(1)</script>" is not a run id`, func(d map[string]any) { d["id"] = "<script>alert(1)</script>" }},
		{"long id", "is not a run id", func(d map[string]any) { d["id"] = strings.Repeat("a", 129) }},
		{"status", `status: "pwned" is not a run status`, func(d map[string]any) { d["status"] = "pwned" }},
		{"requests", "config.requests: must be 0 or more, got -1", func(d map[string]any) { obj(t, d, "config")["requests"] = -1 }},
		{"output tokens", "records[0].output_tokens: must be 0 or more, got -7", func(d map[string]any) { rec(d)["output_tokens"] = -7 }},
		{"http status", "records[0].status: -200 is not an HTTP status", func(d map[string]any) { rec(d)["status"] = -200 }},
	} {
		dbB := newDB(t)
		o := run(t, "import", edited(c.edit), "--db", dbB)
		if o.code != ExitUsage || !strings.Contains(o.stderr, c.want) {
			t.Errorf("import with a bad %s: exit %d, stderr %q; want exit 2 and %q", c.name, o.code, o.stderr, c.want)
		}
		if n := len(storedRuns(t, dbB)); n != 0 {
			t.Errorf("import with a bad %s stored %d runs", c.name, n)
		}
	}

	// What import takes, the app opens and deletes.
	dbB := newDB(t)
	wantCode(t, run(t, "import", edited(func(d map[string]any) { d["id"] = "Imported-Run-7" }), "--db", dbB), ExitOK)
	app, stop := serveApp(t, nil, "serve", "--listen", "127.0.0.1:0", "--db", dbB)
	defer stop()
	if code, body := appDo(t, http.MethodGet, app+"api/v1/runs/Imported-Run-7"); code != http.StatusOK {
		t.Errorf("GET the imported run: %d %.300s", code, body)
	}
	if code, body := appDo(t, http.MethodDelete, app+"api/v1/runs/Imported-Run-7"); code != http.StatusOK {
		t.Errorf("DELETE the imported run: %d %.300s", code, body)
	}
}
