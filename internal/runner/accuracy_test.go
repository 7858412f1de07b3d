package runner

import (
	"context"
	"math"
	"slices"
	"sync"
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

// These tests check every headline metric against the simulated engine's
// known schedule (metrics.md §3): with jitter off, TTFT is the profile's
// TTFT plus N_in/PrefillTPS, and every token gap is 1/DecodeTPS.

// simServer serves profiles on a loopback port until the test ends and
// records the server-side trace.
type simServer struct {
	*sim.Server
	base string
	mu   sync.Mutex
	firstChunk map[int64]time.Time // request id → first text chunk flushed
}

func startSim(t *testing.T, profiles ...sim.Profile) *simServer {
	t.Helper()
	srv, err := sim.New(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := sim.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	s := &simServer{Server: srv, base: "http://" + ln.Addr().String() + "/v1", firstChunk: map[int64]time.Time{}}
	srv.SetTrace(func(e sim.Event) {
		if e.Kind == sim.Chunk {
			s.mu.Lock()
			if _, ok := s.firstChunk[e.Req]; !ok {
				s.firstChunk[e.Req] = e.At
			}
			s.mu.Unlock()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// collect is a Sink that keeps every record.
type collect struct{ recs []record.Record }

func (c *collect) Add(r *record.Record) error { c.recs = append(c.recs, *r); return nil }
func (c *collect) Close() error               { return nil }

const accuracySuite = `{"name":"accuracy","scenarios":[
 {"name":"fixed","prompt":"Write about the sea in plain words, please.","max_tokens":40}]}`

// runAgainst benchmarks model on s with cfg's load and returns the result
// and every record.
func runAgainst(t *testing.T, s *simServer, model string, cfg Config) (*Result, []record.Record) {
	t.Helper()
	st, err := suite.Parse("accuracy.json", []byte(accuracySuite))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode == "" {
		cfg.Mode, cfg.Concurrency = load.Mode("sequential"), 1
	}
	cfg.Models, cfg.Stream, cfg.Endpoint = []string{model}, true, s.base
	if cfg.Timeout == 0 {
		cfg.Timeout = Duration(30 * time.Second)
	}
	sink := &collect{}
	r := &Runner{
		Client:    backend.New(s.base, backend.Options{Timeout: time.Duration(cfg.Timeout)}),
		Engine:    engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true},
		Suite:     st,
		Scenarios: st.Scenarios,
		Config:    cfg,
		Sinks:     []Sink{sink},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, sink.recs
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return stats.Percentile(s, 50)
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.3f, want %.3f ± %.3f", what, got, want, tol)
	} else {
		t.Logf("%s = %.3f (schedule %.3f)", what, got, want)
	}
}

// checkSchedule asserts TTFT, TPOT and ITL medians against the schedule and
// that the client saw each first token when the server flushed it.
func checkSchedule(t *testing.T, s *simServer, p sim.Profile, res *Result, recs []record.Record, tol float64) {
	t.Helper()
	g := res.Groups[0]
	if g.OK != g.Requests || g.Requests == 0 {
		t.Fatalf("ok %d of %d: %v", g.OK, g.Requests, g.Failures)
	}
	var nIn int
	for _, r := range recs {
		if r.InputSource != record.SourceUsage || r.OutputSource != record.SourceUsage {
			t.Fatalf("token sources %s/%s, want usage", r.InputSource, r.OutputSource)
		}
		if r.OutputTokens != 40 {
			t.Fatalf("N_out = %d, want exactly 40 from usage", r.OutputTokens)
		}
		nIn = r.InputTokens
	}
	wantTTFT := ms(p.TTFT) + float64(nIn)/p.PrefillTPS*1000
	gap := 1000 / p.DecodeTPS
	within(t, "TTFT p50 (ms)", g.TTFT.P50, wantTTFT, tol)
	within(t, "TPOT p50 (ms)", g.TPOT.P50, gap, tol)
	within(t, "ITL p50 (ms)", g.ITL.P50, gap, tol)
	within(t, "decode rate p50 (tok/s)", g.DecodeTPS.P50, p.DecodeTPS, p.DecodeTPS*0.02)

	// The client's first-token stamp against the server's own flush time of
	// the same request's first text chunk (both on this process's monotonic
	// clock). Requests arrive in Seq order only at concurrency 1; in general
	// match each record to the nearest server stamp.
	s.mu.Lock()
	var server []time.Time
	for _, at := range s.firstChunk {
		server = append(server, at)
	}
	s.mu.Unlock()
	var lags []float64
	for _, r := range recs {
		client := r.Sent.Add(r.FirstToken)
		best := math.Inf(1)
		for _, at := range server {
			if d := ms(client.Sub(at)); d >= 0 && d < best {
				best = d
			}
		}
		lags = append(lags, best)
	}
	within(t, "client first-token stamp minus server flush, median (ms)", median(lags), 0, tol)
}

func TestAccuracySequentialRoleChunkFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("timing accuracy test")
	}
	p := sim.Profile{Name: "acc-seq", TTFT: 80 * time.Millisecond, PrefillTPS: 10000, DecodeTPS: 200,
		TokensPerChunk: 1, RoleChunk: true, Usage: true}
	s := startSim(t, p)
	res, recs := runAgainst(t, s, p.Name, Config{Requests: 12, Warmup: 1, Seed: 1})
	if len(recs) != 13 || !recs[0].Warmup || res.Groups[0].Requests != 12 || res.Groups[0].Warmup != 1 {
		t.Fatalf("records %d (first warm-up %v), group requests %d warmup %d", len(recs), recs[0].Warmup, res.Groups[0].Requests, res.Groups[0].Warmup)
	}
	// The role chunk arrives at headers time, 80 ms before the first token:
	// TTFT must not start there.
	for _, r := range recs {
		if r.FirstToken-r.FirstByte < 70*time.Millisecond {
			t.Fatalf("TTFT %v but first byte %v: the role-only chunk started the clock", r.FirstToken, r.FirstByte)
		}
	}
	checkSchedule(t, s, p, res, recs[1:], 1.0)
}

func TestAccuracyConcurrency64(t *testing.T) {
	if testing.Short() {
		t.Skip("timing accuracy test")
	}
	p := sim.Profile{Name: "acc-c64", TTFT: 150 * time.Millisecond, PrefillTPS: 20000, DecodeTPS: 100,
		TokensPerChunk: 1, Usage: true}
	s := startSim(t, p)
	res, recs := runAgainst(t, s, p.Name, Config{Mode: load.Mode("concurrency"), Concurrency: 64, Requests: 128, Seed: 2})
	if got := s.Stats().MaxInFlight; got != 64 {
		t.Fatalf("the engine saw at most %d requests overlapping, want 64", got)
	}
	checkSchedule(t, s, p, res, recs, 2.0)
}

func TestITLWithMultiTokenChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("timing accuracy test")
	}
	p := sim.Profile{Name: "acc-4pc", TTFT: 30 * time.Millisecond, DecodeTPS: 200, TokensPerChunk: 4, Usage: true}
	s := startSim(t, p)
	res, recs := runAgainst(t, s, p.Name, Config{Requests: 8, Seed: 3})
	for _, r := range recs {
		if r.ChunkCount != 10 {
			t.Fatalf("%d text chunks for 40 tokens at 4 per chunk, want 10", r.ChunkCount)
		}
	}
	g := res.Groups[0]
	within(t, "ITL p50 (ms) at 4 tokens/chunk", g.ITL.P50, 5, 5*0.02)
	// 9 gaps of 4 tokens each per request: 36 per-token samples.
	if g.ITL.N != 8*36 {
		t.Fatalf("ITL samples = %d, want %d (per token, not per chunk)", g.ITL.N, 8*36)
	}
	within(t, "TPOT p50 (ms)", g.TPOT.P50, (9*20.0)/39, 0.5)
}
