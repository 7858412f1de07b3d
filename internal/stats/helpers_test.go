package stats

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
)

// t0 is the start of every constructed run.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const msec = time.Millisecond

// okRec returns an ok streamed record sent at t0+sent with the given TTFT
// and E2E; the last token arrives 1 ms before the end. Token counts come
// from usage and the response stopped at the limit (not short).
func okRec(model, scenario string, sent, ttft, e2e time.Duration, out int) *record.Record {
	last := e2e - msec
	if last < ttft {
		last = ttft
	}
	return &record.Record{
		Model: model, Scenario: scenario, Stream: true, MaxTok: out,
		Scheduled: t0.Add(sent), Sent: t0.Add(sent),
		FirstByte: ttft / 2, FirstToken: ttft, FirstAnswer: ttft, LastToken: last, End: e2e,
		InputTokens: 10, InputSource: record.SourceUsage,
		OutputTokens: out, OutputSource: record.SourceUsage,
		FinishReason: "length", Outcome: record.OK, Status: 200,
	}
}

// failRec returns a failed (or canceled) record sent at t0+sent that ended
// after e2e.
func failRec(model, scenario string, sent, e2e time.Duration, o record.Outcome) *record.Record {
	return &record.Record{
		Model: model, Scenario: scenario, Stream: true,
		Scheduled: t0.Add(sent), Sent: t0.Add(sent), End: e2e, Outcome: o,
	}
}

// summarize adds the records to a fresh Aggregator and summarises them.
func summarize(opts Options, recs ...*record.Record) Summary {
	var a Aggregator
	for _, r := range recs {
		a.Add(r)
	}
	return a.Summary(opts)
}

// hasWarning reports whether some warning of g contains sub.
func hasWarning(g Group, sub string) bool {
	for _, w := range g.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// wantWarning fails unless some warning of g contains sub.
func wantWarning(t *testing.T, g Group, sub string) {
	t.Helper()
	if !hasWarning(g, sub) {
		t.Errorf("no warning containing %q in %q", sub, g.Warnings)
	}
}

// noWarning fails if some warning of g contains sub.
func noWarning(t *testing.T, g Group, sub string) {
	t.Helper()
	if hasWarning(g, sub) {
		t.Errorf("unexpected warning containing %q in %q", sub, g.Warnings)
	}
}

// jsonMarshal is json.Marshal, for tests.
var jsonMarshal = json.Marshal
