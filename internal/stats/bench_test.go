package stats

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"flperf/internal/record"
)

// benchRecords builds n streamed ok records of chunks one-token events,
// spread over 2 models × 5 scenarios, with usage counts (so ITL takes the
// scaled-estimate path, the common one).
func benchRecords(n, chunks int) []*record.Record {
	rng := rand.New(rand.NewPCG(7, 8))
	recs := make([]*record.Record, n)
	for i := range recs {
		ttft := time.Duration(50+rng.IntN(200)) * msec
		cs := make([]record.Chunk, chunks)
		at := ttft
		for j := range cs {
			cs[j] = record.Chunk{At: at, Est: 1}
			at += time.Duration(5+rng.IntN(20)) * msec
		}
		r := okRec(fmt.Sprintf("model-%d", i%2), fmt.Sprintf("scenario-%d", i%5), time.Duration(i)*msec, ttft, at+msec, chunks)
		r.LastToken = cs[chunks-1].At
		r.Chunks = cs
		recs[i] = r
	}
	return recs
}

func BenchmarkAddSummary(b *testing.B) {
	const n, chunks = 10_000, 200
	recs := benchRecords(n, chunks)
	opts := Options{SLO: SLO{TTFT: 200 * msec, TPOT: 20 * msec}}
	var s Summary
	for b.Loop() {
		var a Aggregator
		for _, r := range recs {
			a.Add(r)
		}
		s = a.Summary(opts)
	}
	if s.Total.ITL.N != n*(chunks-1) {
		b.Fatalf("ITL samples %d, want %d", s.Total.ITL.N, n*(chunks-1))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
