package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// TestPrefixCacheBlocks checks a --prefix-cache warm run's cold vs warm
// block in the table and in the Markdown report: cold TTFT 100 ms with
// nothing cached, warm 40 ms with 256 of 300 input tokens cached, so the
// saving is 60 % and the warm cached share 85.3 %.
func TestPrefixCacheBlocks(t *testing.T) {
	r := result(t)
	r.Config.PrefixCache, r.Config.PrefixTokens = runner.PrefixWarm, 256
	var agg stats.Aggregator
	for i := range 4 {
		stage, ttft, cached := runner.StagePrefixCold, 100*time.Millisecond, 0
		if i >= 2 {
			stage, ttft, cached = runner.StagePrefixWarm, 40*time.Millisecond, 256
		}
		sent := r.Started.Add(time.Duration(i) * time.Second)
		agg.Add(&record.Record{Seq: int64(i), Model: "fast", Scenario: "chat", Stage: stage, Stream: true, MaxTok: 10,
			Scheduled: sent, Sent: sent, FirstToken: ttft, LastToken: ttft + 90*time.Millisecond, End: ttft + 91*time.Millisecond,
			ChunkCount: 10, InputTokens: 300, InputSource: record.SourceUsage, CachedTokens: cached,
			OutputTokens: 10, OutputSource: record.SourceUsage, Status: 200, Outcome: record.OK})
	}
	r.Summary = agg.Summary(stats.Options{})
	var b bytes.Buffer
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var row string
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); len(f) == 7 && f[0] == "fast" && f[1] == "chat" {
			row = strings.Join(f, " ")
		}
	}
	if !strings.Contains(out, "Prefix cache (a shared prefix of 256 tokens") || row != "fast chat 100 40.0 60.0% – 85.3%" {
		t.Fatalf("prefix row %q in\n%s", row, out)
	}
	b.Reset()
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); !strings.Contains(md, "#### Prefix cache\n\nA shared prefix of 256 tokens") ||
		!strings.Contains(md, "| fast | chat | 100 | 40.0 | 60.0% | – | 85.3% |") {
		t.Fatalf("Markdown lacks the prefix block:\n%s", md)
	}
}
