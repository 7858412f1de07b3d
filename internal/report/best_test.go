package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// modelSpec is one model of a one-scenario run built by bestRun: n
// requests, the first failed of them timing out, the others answering with
// TTFT ttft and 10 tokens 10 ms apart.
type modelSpec struct {
	name   string
	n      int
	failed int
	ttft   time.Duration
}

func bestRun(specs ...modelSpec) *runner.Result {
	var agg stats.Aggregator
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var names []string
	seq := int64(0)
	for _, m := range specs {
		names = append(names, m.name)
		for i := range m.n {
			sent := t0.Add(time.Duration(i) * time.Second)
			r := &record.Record{Seq: seq, Model: m.name, Scenario: "chat", Stream: true, MaxTok: 10, Scheduled: sent, Sent: sent}
			seq++
			if i < m.failed {
				r.Outcome, r.Phase, r.Error = record.Timeout, record.PhaseHeaders, "deadline"
			} else {
				last := m.ttft + 90*time.Millisecond
				r.FirstByte, r.FirstToken, r.FirstAnswer, r.LastToken, r.End = m.ttft, m.ttft, m.ttft, last, last+time.Millisecond
				r.Chunks = []record.Chunk{{At: m.ttft, Est: 1}, {At: last, Est: 9}}
				r.ChunkCount, r.OutputTokens, r.OutputSource = 2, 10, record.SourceUsage
				r.InputTokens, r.InputSource, r.Status, r.FinishReason, r.Outcome = 20, record.SourceUsage, 200, "length", record.OK
			}
			agg.Add(r)
		}
	}
	return &runner.Result{ID: "20260301-120000-abcdef", Status: runner.Completed, Started: t0, Ended: t0.Add(time.Minute),
		Config:  runner.Config{Models: names, Mode: load.Sequential, Concurrency: 1, Stream: true},
		Suite:   runner.SuiteInfo{Name: "t", Scenarios: []string{"chat"}},
		Summary: agg.Summary(stats.Options{})}
}

func claim(t *testing.T, cs []BestClaim, key string) BestClaim {
	t.Helper()
	for _, c := range cs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no %q claim in %+v", key, cs)
	return BestClaim{}
}

func models(es []BestEntry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Model)
	}
	return strings.Join(s, ",")
}

// TestBestRanksAtMostFivePercentErrors: a model with 8 % of its requests
// failed (which the app's cards, at 10 %, used to rank) is never best at
// speed, however fast; one at exactly 5 % is ranked.
func TestBestRanksAtMostFivePercentErrors(t *testing.T) {
	res := bestRun(
		modelSpec{"flaky", 25, 2, 10 * time.Millisecond}, // 8 %: fastest, but fails
		modelSpec{"edge", 20, 1, 30 * time.Millisecond},  // 5 %: ranked
		modelSpec{"solid", 20, 0, 20 * time.Millisecond},
	)
	cs := Best(res)
	if len(cs) != 5 {
		t.Fatalf("%d claims", len(cs))
	}
	ttft := claim(t, cs, "ttft")
	if models(ttft.Ranked) != "solid,edge" || models(ttft.Excluded) != "flaky" || ttft.Reason != "" || ttft.Tie {
		t.Fatalf("TTFT: ranked %s, excluded %s, reason %q", models(ttft.Ranked), models(ttft.Excluded), ttft.Reason)
	}
	if e := ttft.Ranked[0]; e.Value != 20 || e.N != 20 || e.ErrorRate != 0 || e.MedianCI == nil || e.MedianCI[0] != 20 {
		t.Errorf("TTFT best entry %+v", e)
	}
	if ttft.MaxErrorRate == nil || *ttft.MaxErrorRate != 0.05 || !ttft.LowerIsBetter || ttft.Unit != "ms" {
		t.Errorf("TTFT claim %+v", ttft)
	}
	// Every model decodes alike: a tie, in the run's model order.
	dec := claim(t, cs, "decode")
	if models(dec.Ranked) != "edge,solid" || !dec.Tie || dec.LowerIsBetter {
		t.Errorf("decode: ranked %s, tie %v", models(dec.Ranked), dec.Tie)
	}
	rel := claim(t, cs, "reliable")
	if models(rel.Ranked) != "solid,edge,flaky" || rel.MaxErrorRate != nil || rel.Ranked[2].Value != 0.08 || rel.Ranked[2].N != 25 {
		t.Errorf("reliable: %+v", rel)
	}
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"key":"ttft"`, `"ranked":[`, `"excluded":[`, `"max_error_rate":0.05`, `"max_error_rate":null`, `"median_ci":[20,20]`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
}

// TestBestNoneQualifies: when every model fails too often, no model is
// ranked at speed (the cards used to rank them anyway) and the claim says
// why; "most reliable" still ranks them.
func TestBestNoneQualifies(t *testing.T) {
	res := bestRun(modelSpec{"a", 10, 1, 10 * time.Millisecond}, modelSpec{"b", 10, 5, 5 * time.Millisecond})
	cs := Best(res)
	for _, key := range []string{"ttft", "decode", "throughput", "e2e"} {
		c := claim(t, cs, key)
		if len(c.Ranked) != 0 || models(c.Excluded) != "a,b" || c.Ranked == nil {
			t.Errorf("%s: ranked %s, excluded %s", key, models(c.Ranked), models(c.Excluded))
		}
		for _, want := range []string{"every model with a " + c.Metric, "more than 5.0%", "a 10.0%", "b 50.0%"} {
			if !strings.Contains(c.Reason, want) {
				t.Errorf("%s: reason %q lacks %q", key, c.Reason, want)
			}
		}
	}
	if rel := claim(t, cs, "reliable"); models(rel.Ranked) != "a,b" || rel.Reason != "" {
		t.Errorf("reliable: %+v", rel)
	}
	// With no successful request at all, there is no figure to exclude.
	none := Best(bestRun(modelSpec{"dead", 3, 3, 0}))
	if c := claim(t, none, "ttft"); len(c.Excluded) != 0 || c.Reason != "no model has a TTFT p50 in this run" {
		t.Errorf("all failed: excluded %s, reason %q", models(c.Excluded), c.Reason)
	}
}

// TestBestAgreesWithTheTable: on a one-scenario run the terminal report's
// winner of each headline is the cards' first-ranked model.
func TestBestAgreesWithTheTable(t *testing.T) {
	res := bestRun(
		modelSpec{"flaky", 25, 2, 10 * time.Millisecond},
		modelSpec{"solid", 20, 0, 20 * time.Millisecond},
		modelSpec{"slow", 20, 0, 40 * time.Millisecond},
	)
	var b bytes.Buffer
	if err := Table(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	cs := Best(res)
	for _, key := range []string{"ttft", "decode", "e2e", "throughput"} {
		h := headlineByKey(key)
		c := claim(t, cs, key)
		if len(c.Ranked) == 0 {
			t.Fatalf("%s: nothing ranked", key)
		}
		want := h.name + ":"
		i := strings.Index(out, want)
		if i < 0 {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
		line := out[i : i+strings.Index(out[i:], "\n")]
		if !strings.Contains(line, c.Ranked[0].Model+" in 1 of 1 scenarios") || strings.Contains(line, "flaky") {
			t.Errorf("%s: table says %q, cards rank %s first", key, line, c.Ranked[0].Model)
		}
	}
}
