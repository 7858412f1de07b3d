package runner

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/stats"
	"flperf/internal/suite"
)

// BenchmarkStreams10k holds 10,000 concurrent streams against the simulated
// engine in this one process and reports how far the measured TTFT of a
// 200 ms-TTFT profile drifts at p50, over the requests sent while at least
// 10,000 streams were in flight.
//
// The engine is reached over an in-memory listener: each TCP stream would
// cost two file descriptors in one process, and this machine caps a process
// at 20,000. An open loop ramps up to
// about 10,600 in flight and holds there (1,000/s of 10.7-second streams at 2
// tokens/s, or 2,000/s of 5.3-second streams at 10 tokens/s).
//
//	go test -run '^$' -bench Streams10k -benchtime 1x ./internal/runner/
func BenchmarkStreams10k(b *testing.B) {
	// At 2 tokens/s per stream (a realistic share of an engine serving
	// 10,000 streams) the whole load is 21,000 tokens/s; at 10 tokens/s it is
	// 106,000 tokens/s, which saturates a 2-core machine running both ends.
	b.Run("decode=2tok/s", func(b *testing.B) { streams10k(b, 1000, 16000, 2, 22) })
	b.Run("decode=10tok/s", func(b *testing.B) { streams10k(b, 2000, 24000, 10, 52) })
}

func streams10k(b *testing.B, rate float64, requests int, decode float64, maxTokens int) {
	const target = 10000
	p := sim.Profile{Name: "sim-200ms", TTFT: 200 * time.Millisecond, DecodeTPS: decode, TokensPerChunk: 1, Usage: true}
	for b.Loop() {
		srv, err := sim.New(p)
		if err != nil {
			b.Fatal(err)
		}
		// The engine's own lateness: how long after its due time each first
		// text chunk was flushed (a saturated machine delays the engine too).
		var lateMu sync.Mutex
		var late []float64
		seen := map[int64]bool{}
		srv.SetTrace(func(e sim.Event) {
			if e.Kind != sim.Chunk {
				return
			}
			lateMu.Lock()
			if !seen[e.Req] {
				seen[e.Req] = true
				late = append(late, ms(e.At.Sub(e.Due)))
			}
			lateMu.Unlock()
		})
		ln := sim.NewMemListener()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); srv.Serve(ctx, ln) }()

		tr := backend.NewTransport(2 * target)
		tr.DialContext = ln.DialContext
		base := "http://sim.invalid/v1"
		client := backend.New(base, backend.Options{Timeout: time.Minute, HTTPClient: &http.Client{Transport: tr}})
		st, _ := suite.Parse("bench.json", []byte(fmt.Sprintf(`{"name":"bench","scenarios":[{"name":"short","prompt":"Say something.","max_tokens":%d}]}`, maxTokens)))

		// Track in-flight streams as the engine sees them, per send time.
		var mu sync.Mutex
		inflight := map[time.Time]int64{}
		r := &Runner{
			Client: client, Engine: engine.Info{Kind: engine.Sim, Endpoint: base, Simulated: true},
			Suite: st, Scenarios: st.Scenarios,
			Config: Config{Models: []string{p.Name}, Mode: load.Rate, Rate: rate, Requests: requests, Stream: true, Timeout: Duration(time.Minute), Seed: 1},
		}
		var recs []record.Record
		r.Sinks = []Sink{sinkFunc(func(rec *record.Record) {
			mu.Lock()
			recs = append(recs, *rec)
			mu.Unlock()
		})}
		stop := make(chan struct{})
		var peakHeap uint64
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case now := <-t.C:
					mu.Lock()
					inflight[now] = srv.Stats().InFlight
					mu.Unlock()
					if i%25 == 0 {
						var m runtime.MemStats
						runtime.ReadMemStats(&m)
						peakHeap = max(peakHeap, m.HeapInuse+m.StackInuse)
					}
				case <-stop:
					return
				}
			}
		}()
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		res, err := r.Run(ctx)
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		close(stop)
		<-sampled
		cancel()
		<-done
		if err != nil {
			b.Fatal(err)
		}
		// Requests sent while the engine held at least the target in flight.
		var full []time.Time
		for at, n := range inflight {
			if n >= target {
				full = append(full, at)
			}
		}
		slices.SortFunc(full, func(a, b time.Time) int { return a.Compare(b) })
		if len(full) == 0 {
			b.Fatalf("never reached %d streams in flight (peak %d)", target, srv.Stats().MaxInFlight)
		}
		from, to := full[0], full[len(full)-1]
		var ttft []float64
		failed := 0
		for _, rec := range recs {
			if rec.Outcome != record.OK {
				failed++
				continue
			}
			if !rec.Sent.Before(from) && rec.Sent.Before(to) {
				ttft = append(ttft, ms(rec.FirstToken))
			}
		}
		slices.Sort(ttft)
		p50 := stats.Percentile(ttft, 50)
		cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		wall := res.Ended.Sub(res.Started)
		b.ReportMetric(float64(srv.Stats().MaxInFlight), "peak-streams")
		b.ReportMetric(float64(len(ttft)), "measured-at-peak")
		b.ReportMetric(p50, "ttft-p50-ms")
		b.ReportMetric(p50-ms(p.TTFT), "ttft-drift-p50-ms")
		b.ReportMetric(stats.Percentile(ttft, 99)-ms(p.TTFT), "ttft-drift-p99-ms")
		b.ReportMetric(float64(failed), "failed")
		lateMu.Lock()
		slices.Sort(late)
		b.ReportMetric(stats.Percentile(late, 50), "engine-late-p50-ms")
		lateMu.Unlock()
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%-of-a-core(client+engine)")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap+stack-MiB")
	}
}

// sinkFunc adapts a function to Sink.
type sinkFunc func(*record.Record)

func (f sinkFunc) Add(r *record.Record) error { f(r); return nil }
func (f sinkFunc) Close() error               { return nil }
