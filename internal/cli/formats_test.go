package cli

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"flperf/internal/report"
)

// TestRunJSONL checks `--format jsonl`: one JSON object per line and per
// request record, warm-ups included and flagged, sequence numbers unique,
// and a first-token time on every ok streamed record.
func TestRunJSONL(t *testing.T) {
	suitePath := writeFile(t, "tiny.json", tinySuite)
	o := run(t, "run", "--engine", "sim", "--suite", suitePath, "--requests", "2", "--warmup", "1",
		"--seed", "3", "--format", "jsonl")
	wantCode(t, o, ExitOK)
	recs := jsonlRecords(t, o.stdout)
	// Per model: one warm-up, then 2 scenarios × 2 requests.
	if len(recs) != 2*(1+2*2) {
		t.Fatalf("%d records, want 10 (2 models × (1 warm-up + 2 scenarios × 2))", len(recs))
	}
	seqs := map[float64]bool{}
	warmups := map[string]int{}
	measured := map[string]int{}
	for i, r := range recs {
		seq := num(t, r, "seq")
		if seqs[seq] {
			t.Errorf("seq %v repeated", seq)
		}
		seqs[seq] = true
		model, scenario := str(t, r, "model"), str(t, r, "scenario")
		if model == "" || scenario == "" {
			t.Errorf("record %d has model %q scenario %q", i, model, scenario)
		}
		if w, _ := r["warmup"].(bool); w {
			warmups[model]++
			if scenario != "alpha" {
				t.Errorf("warm-up on scenario %q, want the model's first scenario", scenario)
			}
		} else {
			measured[model+"/"+scenario]++
		}
		if oc := str(t, r, "outcome"); oc != "ok" {
			t.Errorf("record %d outcome %q, want ok", i, oc)
			continue
		}
		if s, _ := r["stream"].(bool); !s {
			t.Errorf("record %d is not streamed", i)
		}
		if ft := num(t, r, "first_token_ns"); ft <= 0 {
			t.Errorf("record %d: first_token_ns = %v, want > 0 for an ok streamed record", i, ft)
		}
		if end, ft := num(t, r, "end_ns"), num(t, r, "first_token_ns"); end < ft {
			t.Errorf("record %d: end_ns %v before first_token_ns %v", i, end, ft)
		}
	}
	for i := range len(recs) {
		if !seqs[float64(i)] {
			t.Errorf("no record with seq %d: seqs are not 0..%d", i, len(recs)-1)
		}
	}
	if warmups["sim-fast"] != 1 || warmups["sim-slow"] != 1 {
		t.Errorf("warm-ups per model %v, want 1 each, flagged", warmups)
	}
	for _, k := range []string{"sim-fast/alpha", "sim-fast/beta", "sim-slow/alpha", "sim-slow/beta"} {
		if measured[k] != 2 {
			t.Errorf("%s: %d measured records, want 2", k, measured[k])
		}
	}
}

// odd is a scenario name that CSV must quote: it has quotes and a comma.
const odd = `Q "quoted", comma`

// TestRunCSV checks `--format csv`: it parses with encoding/csv, the header
// is report.CSVHeader(), there is one row per model × scenario then one per
// model, names that need quoting round-trip exactly (a model named with a
// comma, a scenario named with quotes and a comma), and figures a
// non-streaming run cannot have (TTFT) are empty cells, never 0.
func TestRunCSV(t *testing.T) {
	// A comma can only reach a model name through the engine's own model
	// list: --model splits on commas, and the simulator refuses quotes.
	const model = "we,ird"
	s := startTestSim(t, fastProfile(model))
	suitePath := writeFile(t, "odd.json", fmt.Sprintf(`{"name":"odd","scenarios":[
 {"name":%q,"prompt":"Say hi.","max_tokens":5},
 {"name":"plain","prompt":"Say bye.","max_tokens":5}]}`, odd))
	o := run(t, "run", "--endpoint", s.base, "--suite", suitePath, "--requests", "2", "--warmup", "0",
		"--no-stream", "--format", "csv")
	wantCode(t, o, ExitOK)

	rows, err := csv.NewReader(strings.NewReader(o.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, o.stdout)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], report.CSVHeader()) {
		t.Fatalf("header %q, want report.CSVHeader()", rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	body := rows[1:]
	if len(body) != 2+1 {
		t.Fatalf("%d rows, want 3 (1 model × 2 scenarios, then 1 per-model row)", len(body))
	}
	for i, want := range []string{odd, "plain", ""} {
		r := body[i]
		if r[col["model"]] != model {
			t.Errorf("row %d model %q, want %q exactly", i, r[col["model"]], model)
		}
		if r[col["scenario"]] != want {
			t.Errorf("row %d scenario %q, want %q exactly", i, r[col["scenario"]], want)
		}
		if r[col["simulated"]] != "true" || r[col["engine"]] != "sim" {
			t.Errorf("row %d engine %q simulated %q, want sim true", i, r[col["engine"]], r[col["simulated"]])
		}
		if i < 2 && r[col["requests"]] != "2" || i == 2 && r[col["requests"]] != "4" {
			t.Errorf("row %d requests %q", i, r[col["requests"]])
		}
		// Non-streaming: TTFT is unknown, so its figures are empty cells.
		if r[col["ttft_ms_n"]] != "0" {
			t.Errorf("row %d ttft_ms_n = %q, want 0", i, r[col["ttft_ms_n"]])
		}
		for _, c := range []string{"ttft_ms_mean", "ttft_ms_p50", "ttft_ms_p99", "tpot_ms_mean"} {
			if r[col[c]] != "" {
				t.Errorf("row %d %s = %q, want an empty cell for an unknown figure", i, c, r[col[c]])
			}
		}
		if r[col["e2e_ms_mean"]] == "" || r[col["e2e_ms_n"]] != r[col["ok"]] {
			t.Errorf("row %d e2e_ms_mean %q n %q: E2E is known without streaming", i, r[col["e2e_ms_mean"]], r[col["e2e_ms_n"]])
		}
	}
	if !strings.Contains(o.stdout, `"we,ird"`) || !strings.Contains(o.stdout, `"Q ""quoted"", comma"`) {
		t.Errorf("names are not quoted as RFC 4180 says:\n%s", o.stdout)
	}
}

// TestRunTable checks the human table's fixed lines, one row per model ×
// scenario, the per-model section and the warnings.
func TestRunTable(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny-a"), fastProfile("tiny-b"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	o := run(t, "run", "--endpoint", s.base, "--model", "tiny-a,tiny-b", "--suite", suitePath,
		"--requests", "2", "--warmup", "0", "--seed", "5")
	wantCode(t, o, ExitOK)
	lines := strings.Split(o.stdout, "\n")
	if len(lines) < 5 {
		t.Fatalf("table too short:\n%s", o.stdout)
	}
	for i, prefix := range []string{"FLPerformance run ", "Engine   SIMULATED engine", "Suite    tiny (2 scenarios)",
		"Load     sequential, 2 requests per scenario, 0 warm-up per model, seed 5", "Request  streaming"} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], prefix)
		}
	}
	if !strings.Contains(lines[0], " completed ") {
		t.Errorf("first line %q does not give the status", lines[0])
	}
	if !strings.Contains(lines[1], s.base) {
		t.Errorf("engine line %q does not give the endpoint %s", lines[1], s.base)
	}
	groupsAt := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Per model × scenario") })
	modelsAt := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Per model (all scenarios pooled") })
	if groupsAt < 0 || modelsAt < groupsAt {
		t.Fatalf("no per-group section followed by a per-model section:\n%s", o.stdout)
	}
	for _, m := range []string{"tiny-a", "tiny-b"} {
		for _, sc := range []string{"alpha", "beta"} {
			n := 0
			for _, l := range lines[groupsAt:modelsAt] {
				if f := strings.Fields(l); slices.Contains(f, m) && slices.Contains(f, sc) {
					n++
					if !slices.Contains(f, "2/2") {
						t.Errorf("row %q does not show 2/2 ok", l)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d rows for %s / %s, want 1", n, m, sc)
			}
		}
		n := 0
		for _, l := range lines[modelsAt:] {
			if f := strings.Fields(l); len(f) > 1 && f[0] == m && f[1] == "4/4" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d per-model rows for %s with 4/4 ok, want 1:\n%s", n, m, o.stdout)
		}
	}
	if !strings.Contains(o.stdout, "\nBest model per scenario") {
		t.Errorf("no best-model section for two models:\n%s", o.stdout)
	}
	if !strings.Contains(o.stdout, "\nWarnings\n  ! SIMULATED engine") {
		t.Errorf("no SIMULATED warning:\n%s", o.stdout)
	}
}

// TestRunOutFile checks --out: the report goes to the file, nothing to
// stdout, and stderr says where it went.
func TestRunOutFile(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	for _, format := range []string{"json", "table", "csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "result."+format)
			o := run(t, "run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--requests", "2",
				"--warmup", "0", "--format", format, "--out", path)
			wantCode(t, o, ExitOK)
			if o.stdout != "" {
				t.Errorf("stdout %q, want nothing with --out", o.stdout)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			switch format {
			case "json":
				groups := list(t, decodeJSON(t, string(data)), "groups")
				if len(groups) != 1 {
					t.Errorf("%d groups in the file, want 1", len(groups))
				}
			case "table":
				if !strings.HasPrefix(string(data), "FLPerformance run ") {
					t.Errorf("file does not hold the table:\n%s", data)
				}
			case "csv":
				rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
				if err != nil || len(rows) != 1+2 {
					t.Errorf("file has %d CSV rows (%v), want header + 2", len(rows), err)
				}
			case "jsonl":
				if n := len(jsonlRecords(t, string(data))); n != 2 {
					t.Errorf("file has %d records, want 2", n)
				}
			}
			if !strings.Contains(o.stderr, "written to "+path) {
				t.Errorf("stderr does not say where the %s went:\n%s", format, o.stderr)
			}
		})
	}
}

// TestRunOutFileUnwritable checks that an --out that cannot be created
// fails with exit code 1 before any request is sent.
func TestRunOutFileUnwritable(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	path := filepath.Join(t.TempDir(), "no-such-dir", "result.json")
	o := run(t, "run", "--endpoint", s.base, "--model", "tiny", "--suite", writeFile(t, "one.json", oneSuite),
		"--requests", "2", "--warmup", "0", "--format", "json", "--out", path)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "--out") {
		t.Errorf("stderr does not name --out:\n%s", o.stderr)
	}
	if n := len(s.chats()); n != 0 {
		t.Errorf("the engine got %d requests although the output could not be written", n)
	}
	if o.stdout != "" {
		t.Errorf("stdout %q, want nothing", o.stdout)
	}
}
