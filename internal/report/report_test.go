package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// result builds a two-model run: "fast" answers every request, "broken"
// times out on all of them.
func result(t *testing.T) *runner.Result {
	t.Helper()
	var agg stats.Aggregator
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 4; i++ {
		sent := t0.Add(time.Duration(i) * time.Second)
		agg.Add(&record.Record{Seq: int64(i), Model: "fast", Scenario: `Q&A, "short"`, Stream: true, MaxTok: 10,
			Scheduled: sent, Sent: sent, FirstByte: 5 * time.Millisecond, FirstToken: 40 * time.Millisecond,
			FirstAnswer: 40 * time.Millisecond, LastToken: 130 * time.Millisecond, End: 131 * time.Millisecond,
			Chunks:     []record.Chunk{{At: 40 * time.Millisecond, Est: 1}, {At: 130 * time.Millisecond, Est: 9}},
			ChunkCount: 2, InputTokens: 20, InputSource: record.SourceUsage, OutputTokens: 10, OutputSource: record.SourceUsage,
			Status: 200, FinishReason: "length", Outcome: record.OK})
		agg.Add(&record.Record{Seq: int64(10 + i), Model: "broken", Scenario: `Q&A, "short"`, Stream: true, MaxTok: 10,
			Scheduled: sent, Sent: sent, Outcome: record.Timeout, Phase: record.PhaseHeaders, Error: "deadline"})
	}
	return &runner.Result{
		ID: "20261127-120000-abcdef", Status: runner.Completed, Started: t0, Ended: t0.Add(5 * time.Second),
		Engine:  engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true},
		Config:  runner.Config{Models: []string{"fast", "broken"}, Mode: load.Sequential, Concurrency: 1, Requests: 4, Stream: true, Seed: 9},
		Suite:   runner.SuiteInfo{Name: "t", Scenarios: []string{`Q&A, "short"`}},
		Summary: agg.Summary(stats.Options{}),
	}
}

func TestJSONKeepsRunFields(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, result(t)); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "tool", "status", "started", "ended", "engine", "config", "suite", "records", "groups", "models", "total", "warnings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON document lacks %q", k)
		}
	}
	if !strings.Contains(b.String(), `"Q&A, \"short\""`) {
		t.Errorf("names are HTML-escaped or mangled: %s", b.String()[:200])
	}
	broken := doc["models"].([]any)[1].(map[string]any)
	if broken["model"] != "broken" || broken["ttft_ms"].(map[string]any)["p50"] != nil || broken["error_rate"] != 1.0 {
		t.Fatalf("all-timeout model: %v", broken)
	}
}

func TestCSVQuotingAndNulls(t *testing.T) {
	var b bytes.Buffer
	if err := CSV(&b, result(t)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := CSVHeader()
	if len(rows) != 1+2+2 {
		t.Fatalf("%d rows, want header + 2 groups + 2 models", len(rows))
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if len(r) != len(head) {
			t.Fatalf("row has %d cells, header %d", len(r), len(head))
		}
	}
	fast, broken := rows[1], rows[2]
	if fast[col["scenario"]] != `Q&A, "short"` || fast[col["ttft_ms_p50"]] != "40" || fast[col["error_rate"]] != "0" {
		t.Fatalf("fast row: scenario %q ttft %q error_rate %q", fast[col["scenario"]], fast[col["ttft_ms_p50"]], fast[col["error_rate"]])
	}
	if broken[col["ttft_ms_p50"]] != "" || broken[col["ttft_ms_n"]] != "0" || broken[col["requests_per_s"]] != "" || broken[col["timeout"]] != "4" {
		t.Fatalf("all-timeout row must have empty figures, not 0: ttft %q n %q req/s %q timeouts %q",
			broken[col["ttft_ms_p50"]], broken[col["ttft_ms_n"]], broken[col["requests_per_s"]], broken[col["timeout"]])
	}
}

func TestTableNeverRanksAFailingModel(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, result(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	best := out[strings.Index(out, "Best model"):]
	if strings.Contains(best, "broken") || !strings.Contains(best, "fast in 1 of 1 scenarios") {
		t.Fatalf("ranking:\n%s", best)
	}
	var brokenRow string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "broken") && strings.Contains(line, "0/4") {
			brokenRow = line
		}
	}
	if brokenRow == "" || !strings.Contains(brokenRow, "100.0%") || !strings.Contains(brokenRow, "–") {
		t.Fatalf("the all-timeout row must show 100%% errors and – for figures:\n%s", out)
	}
	for _, want := range []string{"SIMULATED", "FLPerformance run 20261127-120000-abcdef", "Per model (all scenarios pooled"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.01234: "0.012", 1.5: "1.50", 12.34: "12.3", 1234.5: "1234"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
