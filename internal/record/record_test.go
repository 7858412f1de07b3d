package record

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestOutcomeFailed(t *testing.T) {
	want := map[Outcome]bool{OK: false, Canceled: false, Timeout: true, HTTPError: true, StreamError: true, ConnectError: true}
	for _, o := range Outcomes {
		if o.Failed() != want[o] {
			t.Errorf("%s.Failed() = %v", o, o.Failed())
		}
	}
}

func TestTPOT(t *testing.T) {
	r := Record{FirstToken: 100 * ms, LastToken: 190 * ms, OutputTokens: 10}
	if d, ok := r.TPOT(); !ok || d != 10*ms {
		t.Fatalf("TPOT = %v, %v; want 10ms", d, ok)
	}
	r.OutputTokens = 1
	if _, ok := r.TPOT(); ok {
		t.Fatal("TPOT defined for one token")
	}
	r = Record{LastToken: 190 * ms, OutputTokens: 10}
	if _, ok := r.TPOT(); ok {
		t.Fatal("TPOT defined without a first token")
	}
}

func TestQueueWait(t *testing.T) {
	t0 := time.Now()
	r := Record{Scheduled: t0, Sent: t0.Add(7 * ms)}
	if r.QueueWait() != 7*ms {
		t.Fatalf("QueueWait = %v", r.QueueWait())
	}
	r.Sent = t0.Add(-ms) // sent early (clock quirk): never negative
	if r.QueueWait() != 0 {
		t.Fatalf("QueueWait = %v, want 0", r.QueueWait())
	}
}

func TestITLExactPerChunkCounts(t *testing.T) {
	// Server-reported tokens per chunk: each gap is split over the tokens
	// of the later chunk.
	r := Record{Chunks: []Chunk{{At: 10 * ms, Tokens: 1, Est: 1}, {At: 18 * ms, Tokens: 4, Est: 9}, {At: 20 * ms, Tokens: 2, Est: 1}}}
	got := r.ITL(nil)
	want := []time.Duration{2 * ms, 2 * ms, 2 * ms, 2 * ms, ms, ms}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ITL = %v, want %v", got, want)
	}
}

func TestITLEstimatedScaledToUsage(t *testing.T) {
	// No per-chunk counts: the estimate (2, 2, 2 after the first) is scaled
	// so that the samples add up to N_out − k_first = 12 − 2 = 10 over three
	// events: 3, 4, 3 by cumulative rounding, total exact.
	r := Record{OutputTokens: 12, OutputSource: SourceUsage,
		Chunks: []Chunk{{At: 0, Est: 2}, {At: 30 * ms, Est: 2}, {At: 60 * ms, Est: 2}, {At: 100 * ms, Est: 2}}}
	got := r.ITL(nil)
	if len(got) != 10 {
		t.Fatalf("%d samples, want 10 (N_out − first chunk's tokens): %v", len(got), got)
	}
	var sum time.Duration
	for _, d := range got {
		sum += d
	}
	if sum < 99*ms || sum > 100*ms {
		t.Fatalf("samples add up to %v, want the 100ms between first and last event", sum)
	}
	// Chunk-count token sources are not trusted for scaling.
	r.OutputSource = SourceChunks
	if n := len(r.ITL(nil)); n != 6 {
		t.Fatalf("with a chunk-count N_out: %d samples, want the estimate's 6", n)
	}
}

func TestChunkGaps(t *testing.T) {
	r := Record{Chunks: []Chunk{{At: 5 * ms}, {At: 9 * ms}, {At: 20 * ms}}}
	if got := r.ChunkGaps(nil); !reflect.DeepEqual(got, []time.Duration{4 * ms, 11 * ms}) {
		t.Fatalf("ChunkGaps = %v", got)
	}
	if got := (&Record{Chunks: r.Chunks[:1]}).ITL(nil); len(got) != 0 {
		t.Fatalf("one chunk gives ITL samples %v", got)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 14, 0, 0, 123456789, time.UTC)
	r := Record{Seq: 3, Model: "m,\"x\"", Scenario: "s", Stream: true, MaxTok: 50, Scheduled: t0, Sent: t0.Add(ms),
		FirstByte: 2 * ms, FirstToken: 30 * ms, FirstAnswer: 30 * ms, LastToken: 90 * ms, End: 91 * ms,
		Chunks: []Chunk{{At: 30 * ms, Est: 1}, {At: 90 * ms, Tokens: 2, Est: 2}}, ChunkCount: 2,
		InputTokens: 12, InputSource: SourceUsage, OutputTokens: 0, OutputSource: SourceUsage,
		Status: 200, FinishReason: "stop", Outcome: OK, Text: "<b>not html</b>", TextBytes: 15}
	b, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, back) {
		t.Fatalf("round trip changed the record:\n%+v\n%+v", r, back)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if v, ok := m["output_tokens"]; !ok || v != 0.0 {
		t.Fatalf("output_tokens 0 must stay 0 in JSON, got %v (present %v)", v, ok)
	}
}
