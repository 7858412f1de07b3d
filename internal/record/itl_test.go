package record

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Whatever a record claims, its ITL samples stay bounded by its events and
// its text, and every sample keeps its gap over the event's token count.
func TestITLBoundedByWhatWasReceived(t *testing.T) {
	chunks := func(tokens int, est ...int) []Chunk {
		cs := make([]Chunk, len(est))
		for i, e := range est {
			cs[i] = Chunk{At: time.Duration(i+1) * 10 * ms, Tokens: tokens, Est: e}
		}
		return cs
	}
	cases := []struct {
		name string
		r    Record
		want int // samples
	}{
		{"usage claim beyond the text: the estimate's split",
			Record{TextBytes: 40, OutputTokens: 50_000_000, OutputSource: SourceUsage, Chunks: chunks(0, 1, 2, 3)}, 5},
		{"largest claim", Record{TextBytes: 40, OutputTokens: math.MaxInt, OutputSource: SourceUsage, Chunks: chunks(0, 1, 2, 3)}, 5},
		{"per-chunk counts beyond the text: the estimate's split",
			Record{TextBytes: 40, Chunks: chunks(math.MaxInt/2, 1, 1, 1)}, 2},
		{"a claimed huge text: at most MaxEventSamples per event",
			Record{TextBytes: math.MaxInt, OutputTokens: math.MaxInt, OutputSource: SourceUsage, Chunks: chunks(0, 1, 1, 1)}, 2 * MaxEventSamples},
		{"estimates that overflow", Record{TextBytes: 40, Chunks: chunks(0, 1, math.MaxInt, math.MaxInt)}, 2},
		{"a possible count is used", Record{TextBytes: 40, OutputTokens: 11, OutputSource: SourceUsage, Chunks: chunks(0, 1, 2, 3)}, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			for d, k := range c.r.ITLRuns {
				if k < 1 || k > MaxEventSamples || d < 0 || d > 10*ms {
					t.Fatalf("run of %d samples of %v", k, d)
				}
				n += k
			}
			if n != c.want || len(c.r.ITL(nil)) != n {
				t.Fatalf("%d samples (ITL %d), want %d", n, len(c.r.ITL(nil)), c.want)
			}
		})
	}
}

func TestOutputImpossibleCount(t *testing.T) {
	r := Record{TextBytes: 100, OutputTokens: 265, OutputSource: SourceUsage, EngineOutTokens: 30, EstOutTokens: 25, ChunkCount: 20}
	if n, src, bad := r.Output(); n != 30 || src != SourceEngine || !bad {
		t.Errorf("usage 265 for 100 bytes (max 264): %d %s %v, want the engine's 30", n, src, bad)
	}
	r.OutputTokens = 264
	if n, src, bad := r.Output(); n != 264 || src != SourceUsage || bad {
		t.Errorf("usage 264 for 100 bytes: %d %s %v, want it used", n, src, bad)
	}
	r.OutputTokens, r.EngineOutTokens = 1000, 0
	if n, src, bad := r.Output(); n != 25 || src != SourceEstimate || !bad {
		t.Errorf("usage 1000 without an engine count: %d %s %v, want the estimate", n, src, bad)
	}
	r = Record{OutputTokens: 5000, OutputSource: SourceUsage}
	if n, _, bad := r.Output(); n != 5000 || bad {
		t.Errorf("a response without text is not checked: %d %v", n, bad)
	}
	if d, ok := (&Record{TextBytes: 10, OutputTokens: 1 << 40, OutputSource: SourceUsage, EstOutTokens: 3, FirstToken: ms, LastToken: 5 * ms}).TPOT(); !ok || d != 2*ms {
		t.Errorf("TPOT %v %v: want (5−1) ms over the estimate's 3 − 1 tokens", d, ok)
	}
}

func TestCheckCounts(t *testing.T) {
	ok := Record{TextBytes: 10, Text: "0123456789", ChunkCount: 3, EstOutTokens: 4, Chunks: []Chunk{{Est: 1}, {Est: 2}, {Est: 3}}}
	if err := ok.CheckCounts(); err != nil {
		t.Fatal(err)
	}
	for field, mod := range map[string]func(r *Record){
		"text_bytes 9 is less than the 10 bytes":   func(r *Record) { r.TextBytes = 9 },
		"text_bytes 10 is less than chunk_count":   func(r *Record) { r.ChunkCount, r.Text = 11, "" },
		"estimated_output_tokens 11 exceeds":       func(r *Record) { r.EstOutTokens = 11 },
		"chunks[2].est: the events' estimates add": func(r *Record) { r.Chunks[2].Est = 8 },
	} {
		r := ok
		r.Chunks = append([]Chunk(nil), ok.Chunks...)
		mod(&r)
		if err := r.CheckCounts(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
}
