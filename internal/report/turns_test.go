package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// TestTurnsInTableAndJSON checks the per-turn block of the table and the
// turns of the JSON: two conversations of two turns, turn 2 served 100 of
// its 150 input tokens from the cache.
func TestTurnsInTableAndJSON(t *testing.T) {
	r := result(t)
	var agg stats.Aggregator
	t0 := r.Started
	for i := range 4 {
		turn, in, cached, ttft := 1, 100, 0, 80*time.Millisecond
		if i%2 == 1 {
			turn, in, cached, ttft = 2, 150, 100, 30*time.Millisecond
		}
		sent := t0.Add(time.Duration(i) * time.Second)
		agg.Add(&record.Record{Seq: int64(i), Model: "fast", Scenario: "chat", Stream: true, MaxTok: 10, Turn: turn,
			Scheduled: sent, Sent: sent, FirstToken: ttft, LastToken: ttft + 90*time.Millisecond, End: ttft + 91*time.Millisecond,
			ChunkCount: 10, InputTokens: in, InputSource: record.SourceUsage, CachedTokens: cached,
			OutputTokens: 10, OutputSource: record.SourceUsage, Status: 200, Outcome: record.OK})
	}
	agg.Add(&record.Record{Seq: 9, Model: "fast", Scenario: "chat", Stream: true, MaxTok: 10, Turn: 2, Sent: t0, Scheduled: t0,
		Outcome: record.Timeout, Phase: record.PhaseFirstToken}) // a failed turn 2: ok 2 of 3
	r.Summary = agg.Summary(stats.Options{})
	var b bytes.Buffer
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "Per conversation turn") {
		t.Fatalf("no per-turn block:\n%s", out)
	}
	var lines []string
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); len(f) == 9 && f[1] == "chat" {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	want := []string{"fast chat 1 2/2 80.0 80.0 100 0 0.0%", "fast chat 2 2/3 30.0 30.0 150 100 66.7%"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("per-turn rows:\n%s\nwant\n%s\nin\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"), out)
	}
	b.Reset()
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); !strings.Contains(md, "#### Per conversation turn") ||
		!strings.Contains(md, "| fast | chat |  | 2 | 2/3 | 30.0 | 30.0 | 150 | 100 | 66.7% |") {
		t.Fatalf("Markdown lacks the turns:\n%s", md)
	}
	b.Reset()
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Turns []struct {
				Turn         int      `json:"turn"`
				OK           int      `json:"ok"`
				Requests     int      `json:"requests"`
				InputTokens  float64  `json:"input_tokens"`
				CachedTokens float64  `json:"cached_tokens"`
				CachedShare  *float64 `json:"cached_share"`
				TTFT         struct {
					P50 float64 `json:"p50"`
				} `json:"ttft_ms"`
			} `json:"turns"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ts := doc.Groups[0].Turns
	if len(ts) != 2 || ts[1].Turn != 2 || ts[1].OK != 2 || ts[1].Requests != 3 || ts[0].Requests != 2 || ts[1].InputTokens != 150 || ts[1].CachedTokens != 100 ||
		*ts[1].CachedShare != 100.0/150 || ts[1].TTFT.P50 != 30 || *ts[0].CachedShare != 0 {
		t.Fatalf("JSON turns: %+v", ts)
	}
}
