package original

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/legacy"
	"flperf/internal/legacy/legacytest"
	"flperf/internal/runner"
)

// checkHistory asserts what both stores hold: two runs, oldest first, with
// the original's figures kept as stored and its configuration as written
// (temperature 0 stays 0).
func checkHistory(t *testing.T, f *File, sqlite, withTPOT bool) {
	t.Helper()
	if len(f.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(f.Runs))
	}
	a, b := f.Runs[0], f.Runs[1]
	if a.ID != "legacy-"+legacytest.RunStreamed || b.ID != "legacy-"+legacytest.RunUnstreamed {
		t.Fatalf("ids %s, %s", a.ID, b.ID)
	}
	if !a.Started.Equal(time.UnixMilli(legacytest.StartedMs)) || a.Ended.Sub(a.Started) != 9*time.Second {
		t.Errorf("times %v – %v", a.Started, a.Ended)
	}
	if a.Status != runner.Completed || b.Status != runner.Interrupted || b.Legacy.OriginalStatus != "failed" {
		t.Errorf("statuses %s, %s (%s)", a.Status, b.Status, b.Legacy.OriginalStatus)
	}
	if got := strings.Join(a.Config.Models, ","); got != legacytest.Alias+","+legacytest.Alias2 {
		t.Errorf("models %q: want the aliases in the run's order", got)
	}
	if a.Config.Concurrency != 1 || a.Legacy.Concurrency == nil || *a.Legacy.Concurrency != 4 {
		t.Errorf("concurrency %d, stored %v: the original ran one at a time whatever it stored", a.Config.Concurrency, a.Legacy.Concurrency)
	}
	if b.Legacy.Temperature == nil || *b.Legacy.Temperature != 0 || b.Config.Temperature == nil || *b.Config.Temperature != 0 {
		t.Errorf("temperature %v: a stored 0 must stay 0", b.Legacy.Temperature)
	}
	if len(a.Warnings) == 0 || !strings.HasPrefix(a.Warnings[0], legacy.Label) {
		t.Errorf("warnings %q: want the LEGACY warning first", a.Warnings)
	}
	l := a.Legacy
	if len(l.Results) != 2 || len(b.Legacy.Results) != 1 {
		t.Fatalf("results %d and %d", len(l.Results), len(b.Legacy.Results))
	}
	r := l.Results[0]
	if r.Model != legacytest.Alias || r.CatalogID != "qwen2.5-0.5b-instruct-generic-cpu:4" || r.Scenario != legacytest.Scenario {
		t.Errorf("result 0: %q %q %q", r.Model, r.CatalogID, r.Scenario)
	}
	if r.TPS == nil || *r.TPS != legacytest.TPS || r.LatencyP95 == nil || *r.LatencyP95 != legacytest.P95 || r.TTFT == nil || *r.TTFT != 410 {
		t.Errorf("figures tps %v p95 %v ttft %v", r.TPS, r.LatencyP95, r.TTFT)
	}
	if withTPOT != (r.TPOT != nil) {
		t.Errorf("tpot %v: stored %v", r.TPOT, withTPOT)
	}
	if r.ErrorRate == nil || *r.ErrorRate != 0 {
		t.Errorf("error rate %v: want 0 (the SQLite store's NULL given back by raw_data's counts)", r.ErrorRate)
	}
	if sqlite != (r.TotalTokens == nil) {
		t.Errorf("total_tokens %v: the SQLite store has no such column", r.TotalTokens)
	}
	if len(r.Iterations) != 3 || *r.Iterations[0].LatencyMs != legacytest.P95-100 || *r.Iterations[2].TTFTMs != 415 || r.Iterations[1].Tokens != 14 {
		t.Errorf("iterations %+v", r.Iterations)
	}
	if b.Legacy.Results[0].TTFT != nil {
		t.Errorf("unstreamed ttft %v, want none", *b.Legacy.Results[0].TTFT)
	}
	keys := []string{}
	for _, c := range l.Caveats {
		keys = append(keys, c.Key)
	}
	if strings.Join(keys, ",") != "chunks_as_tokens,nearest_rank,sequential_only,hidden_retries" {
		t.Errorf("caveats %q", keys)
	}
	if !strings.Contains(l.Caveats[0].Text, "chunks") || strings.Contains(b.Legacy.Caveats[0].Text, "counted content chunks") {
		t.Errorf("chunk caveat must depend on streaming: %q / %q", l.Caveats[0].Text, b.Legacy.Caveats[0].Text)
	}
	var hw map[string]map[string]any
	if err := json.Unmarshal(l.Hardware, &hw); err != nil || hw["memory"]["total"] != "63 GB" {
		t.Errorf("hardware %s (%v)", l.Hardware, err)
	}
}

func TestReadStorageJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "storage.json")
	if err := legacytest.WriteStorage(path, nil); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != Storage {
		t.Errorf("format %q", f.Format)
	}
	checkHistory(t, f, false, true)
}

func TestReadSQLiteBothShapes(t *testing.T) {
	for _, withTPOT := range []bool{false, true} {
		// A name that says nothing: the format is told by content.
		path := filepath.Join(t.TempDir(), "history.bin")
		if err := legacytest.WriteSQLite(path, withTPOT, ""); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(path)
		f, err := ReadFile(path)
		if err != nil {
			t.Fatalf("tpot columns %v: %v", withTPOT, err)
		}
		if f.Format != SQLite {
			t.Errorf("format %q", f.Format)
		}
		checkHistory(t, f, true, withTPOT)
		after, _ := os.ReadFile(path)
		if string(before) != string(after) {
			t.Errorf("reading changed the original's database")
		}
	}
}

func TestReadExport(t *testing.T) {
	s := legacytest.Storage()
	doc := map[string]any{
		"run":         s["benchmark_runs"].(map[string]any)[legacytest.RunStreamed],
		"results":     s["benchmark_results"].(map[string]any)[legacytest.RunStreamed],
		"exported_at": legacytest.StartedMs + 99000,
	}
	b, _ := json.Marshal(doc)
	f, err := ParseJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != Export || len(f.Runs) != 1 || f.Runs[0].ID != "legacy-"+legacytest.RunStreamed {
		t.Fatalf("%+v", f)
	}
	// Without the models table the app's model id is the label.
	if m := f.Runs[0].Legacy.Results[0].Model; m != "model_1769000000001_ab12" {
		t.Errorf("model %q", m)
	}
}

// Every malformed field is named in the error.
func TestMalformedJSONNamesTheField(t *testing.T) {
	run := func(s map[string]any) map[string]any {
		return s["benchmark_runs"].(map[string]any)[legacytest.RunStreamed].(map[string]any)
	}
	row := func(s map[string]any) map[string]any {
		return s["benchmark_results"].(map[string]any)[legacytest.RunStreamed].([]any)[0].(map[string]any)
	}
	id := `benchmark_runs["` + legacytest.RunStreamed + `"]`
	res := `benchmark_results["` + legacytest.RunStreamed + `"][0]`
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"runs not an object", func(s map[string]any) { s["benchmark_runs"] = []any{} }, "benchmark_runs: want an object keyed by run id"},
		{"started_at text", func(s map[string]any) { run(s)["started_at"] = "yesterday" }, id + `.started_at: want a number, got the string "yesterday"`},
		{"started_at missing", func(s map[string]any) { delete(run(s), "started_at") }, id + ".started_at: missing"},
		{"started_at far", func(s map[string]any) { run(s)["started_at"] = 9e15 }, id + ".started_at: want unix milliseconds"},
		{"completed_at", func(s map[string]any) { run(s)["completed_at"] = true }, id + ".completed_at: want a number"},
		{"suite_name", func(s map[string]any) { run(s)["suite_name"] = 7 }, id + ".suite_name: want a string"},
		{"config", func(s map[string]any) { run(s)["config"] = "fast" }, id + ".config: want an object"},
		{"iterations", func(s map[string]any) { run(s)["config"].(map[string]any)["iterations"] = 2.5 }, id + ".config.iterations: want a whole number"},
		{"streaming", func(s map[string]any) { run(s)["config"].(map[string]any)["streaming"] = "yes" }, id + ".config.streaming: want true or false"},
		{"model_ids", func(s map[string]any) { run(s)["model_ids"] = []any{1} }, id + ".model_ids[0]: want a model id string"},
		{"hardware_info", func(s map[string]any) { run(s)["hardware_info"] = "big" }, id + ".hardware_info: want an object"},
		{"results not an array", func(s map[string]any) { s["benchmark_results"].(map[string]any)[legacytest.RunStreamed] = 3 }, `benchmark_results["` + legacytest.RunStreamed + `"]: want an array`},
		{"tps", func(s map[string]any) { row(s)["tps"] = "18" }, res + `.tps: want a number, got the string "18"`},
		{"latency_p95", func(s map[string]any) { row(s)["latency_p95"] = []any{} }, res + ".latency_p95: want a number, got an array"},
		{"error_rate", func(s map[string]any) { row(s)["error_rate"] = map[string]any{} }, res + ".error_rate: want a number"},
		{"total_tokens", func(s map[string]any) { row(s)["total_tokens"] = -1 }, res + ".total_tokens: want a whole number ≥ 0"},
		{"model_id", func(s map[string]any) { delete(row(s), "model_id") }, res + ".model_id: missing"},
		{"scenario", func(s map[string]any) { row(s)["scenario"] = "" }, res + ".scenario: empty"},
		{"raw_data", func(s map[string]any) { row(s)["raw_data"] = 5 }, res + ".raw_data: want an object"},
		{"iteration tokens", func(s map[string]any) {
			row(s)["raw_data"].(map[string]any)["iterations"].([]any)[1].(map[string]any)["tokens"] = "many"
		}, res + ".raw_data.iterations[1].tokens: want a number"},
		{"iteration end", func(s map[string]any) {
			row(s)["raw_data"].(map[string]any)["iterations"].([]any)[2].(map[string]any)["endTime"] = 1
		}, res + ".raw_data.iterations[2].endTime: before startTime"},
		{"long string", func(s map[string]any) { row(s)["scenario"] = strings.Repeat("x", 5000) }, res + ".scenario: longer than 4096 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "storage.json")
			if err := legacytest.WriteStorage(path, c.edit); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			var fe *FieldError
			if !strings.Contains(c.name, "not an") && !errors.As(err, &fe) {
				t.Errorf("error %T, want a *FieldError", err)
			}
		})
	}
}

func TestMalformedJSONSyntaxNamesTheLine(t *testing.T) {
	_, err := ParseJSON([]byte("{\n  \"benchmark_runs\": {\n    \"a\": {,}\n  }\n}"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("error %v, want the line", err)
	}
	if _, err := ParseJSON([]byte(`{"id": "x", "records": []}`)); !errors.Is(err, ErrNotOriginal) {
		t.Errorf("flperf's own export: %v, want ErrNotOriginal", err)
	}
}

func TestMalformedSQLiteNamesRowAndColumn(t *testing.T) {
	for _, c := range []struct{ name, sql, want string }{
		{"tps text", `UPDATE benchmark_results SET tps = 'fast' WHERE id = 'r-2'`, `table benchmark_results, row id "r-2".tps: want a number, got the string "fast"`},
		{"config", `UPDATE benchmark_runs SET config = '{iterations: 3' WHERE id = '` + legacytest.RunUnstreamed + `'`, `table benchmark_runs, row id "` + legacytest.RunUnstreamed + `".config: want JSON text`},
		{"raw_data", `UPDATE benchmark_results SET raw_data = '{"iterations": 4}' WHERE id = 'r-3'`, `table benchmark_results, row id "r-3".raw_data.iterations: want an array`},
		{"started_at", `UPDATE benchmark_runs SET started_at = 'soon'`, `.started_at: want a number`},
		{"no runs table", `DROP TABLE benchmark_runs`, `without the table benchmark_runs`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "benchmarks.db")
			if err := legacytest.WriteSQLite(path, true, c.sql); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestRunIDStable(t *testing.T) {
	if RunID("abc-1") != "legacy-abc-1" {
		t.Error(RunID("abc-1"))
	}
	odd := RunID("../../etc/passwd")
	if odd != RunID("../../etc/passwd") || strings.ContainsAny(odd, "./") || len(odd) != len("legacy-")+32 {
		t.Errorf("unsafe id %q", odd)
	}
}

// FuzzParseJSON: any input gives runs or an error, never a panic, and
// every run it gives is a well-formed legacy run.
func FuzzParseJSON(f *testing.F) {
	b, _ := json.Marshal(legacytest.Storage())
	f.Add(b)
	f.Add([]byte(`{"benchmark_runs": {"a": {"started_at": 1, "config": {"streaming": true}}}, "benchmark_results": {"a": [{"model_id": "m", "scenario": "s", "tps": 1e308, "raw_data": {"iterations": [{}]}}]}}`))
	f.Add([]byte(`{"run": {"id": "x", "started_at": 5}, "results": [], "exported_at": 1}`))
	f.Add([]byte(`{"benchmark_runs": {"\u0000": {"started_at": -0}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseJSON(data)
		if err != nil {
			return
		}
		for _, r := range file.Runs {
			if r.Legacy == nil || !strings.HasPrefix(r.ID, "legacy-") || len(r.ID) > len("legacy-")+64 || r.Started.IsZero() && r.Started.UnixMilli() != 0 {
				t.Fatalf("bad run %+v", r)
			}
			if len(r.Legacy.Caveats) != 4 || r.Legacy.Results == nil {
				t.Fatalf("run without caveats or results list: %+v", r.Legacy)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("run does not encode: %v", err)
			}
		}
	})
}
