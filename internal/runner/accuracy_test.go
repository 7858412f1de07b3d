package runner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
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
// known schedule (docs/metrics.md §3): with jitter off, TTFT is the profile's
// TTFT plus N_in/PrefillTPS, and every token gap is 1/DecodeTPS.

// simServer serves profiles on a loopback port until the test ends and
// keeps the server-side trace of every request.
type simServer struct {
	*sim.Server
	base string
	mu   sync.Mutex
	reqs map[reqKey]*served
}

type reqKey struct {
	model string
	req   int64
}

// served is what the simulated engine did for one request.
type served struct {
	slot   time.Time   // schedule origin
	at     []time.Time // text chunk flushed
	due    []time.Time // text chunk due (its last token's due time)
	tokens []int
}

func startSim(t *testing.T, profiles ...sim.Profile) *simServer {
	t.Helper()
	r, err := sim.Start("", profiles...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	s := &simServer{Server: r.Server, base: r.URL, reqs: map[reqKey]*served{}}
	r.SetTrace(func(e sim.Event) {
		s.mu.Lock()
		defer s.mu.Unlock()
		key := reqKey{e.Model, e.Req} // request ids count per model
		r := s.reqs[key]
		if r == nil {
			r = &served{}
			s.reqs[key] = r
		}
		switch e.Kind {
		case sim.Slot:
			r.slot = e.At
		case sim.Chunk:
			r.at, r.due, r.tokens = append(r.at, e.At), append(r.due, e.Due), append(r.tokens, e.Tokens)
		}
	})
	return s
}

// match finds the server's trace of a client record: the request whose first
// text chunk was flushed nearest to the client's first-token stamp (the two
// stamps are on this process's monotonic clock, microseconds apart).
func (s *simServer) match(r *record.Record) (*served, float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	client := r.Sent.Add(r.FirstToken)
	var best *served
	bestD := math.Inf(1)
	for _, v := range s.reqs {
		if len(v.at) == 0 {
			continue
		}
		if d := math.Abs(ms(client.Sub(v.at[0]))); d < bestD {
			best, bestD = v, d
		}
	}
	return best, bestD
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
		cfg.Mode, cfg.Concurrency = load.Sequential, 1
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

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return stats.Percentile(s, 50)
}

// checks collects timing comparisons of one attempt. Timing on a shared
// machine only ever gets worse under load (another test binary hogging the
// cores delays both the engine and the client), so a test may try a few
// times and pass on the first attempt whose every figure is within tolerance.
type checks struct {
	t      *testing.T
	failed []string
}

func (c *checks) within(what string, got, want, tol float64) {
	c.t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		c.failed = append(c.failed, fmt.Sprintf("%s = %.3f, want %.3f ± %.3f", what, got, want, tol))
	} else {
		c.t.Logf("%s = %.3f (schedule %.3f)", what, got, want)
	}
}

// attempts runs try up to n times, until one attempt has no failed check.
func attempts(t *testing.T, n int, try func(c *checks)) {
	t.Helper()
	for i := 1; ; i++ {
		c := &checks{t: t}
		try(c)
		if len(c.failed) == 0 {
			return
		}
		if i == n {
			for _, f := range c.failed {
				t.Error(f)
			}
			return
		}
		t.Logf("attempt %d of %d out of tolerance (machine busy?): %s", i, n, strings.Join(c.failed, "; "))
	}
}

// checkSchedule compares every record with the engine's own schedule for
// that request: TTFT with (first chunk due − schedule origin), TPOT with
// (last due − first due)/(N_out − 1), and the pooled per-token ITL samples
// with the scheduled per-token gaps. The medians of the differences must be
// within tol milliseconds. It also checks that the client stamped each first
// token when the server flushed it.
func checkSchedule(t *testing.T, c *checks, s *simServer, res *Result, recs []record.Record, tol float64) {
	t.Helper()
	g := res.Groups[0]
	if g.OK != g.Requests || g.Requests == 0 {
		t.Fatalf("ok %d of %d: %v", g.OK, g.Requests, g.Failures)
	}
	var lag, dTTFT, dTPOT, clientITL, serverITL []float64
	for i := range recs {
		r := &recs[i]
		if r.InputSource != record.SourceUsage || r.OutputSource != record.SourceUsage {
			t.Fatalf("token sources %s/%s, want usage", r.InputSource, r.OutputSource)
		}
		if r.OutputTokens != 40 {
			t.Fatalf("N_out = %d, want exactly 40 from usage", r.OutputTokens)
		}
		v, d := s.match(r)
		if v == nil || len(v.due) != r.ChunkCount {
			t.Fatalf("no server trace matches record %d", r.Seq)
		}
		lag = append(lag, d)
		ttft, _ := r.TTFT()
		tpot, _ := r.TPOT()
		n := len(v.due)
		dTTFT = append(dTTFT, ms(ttft)-ms(v.due[0].Sub(v.slot)))
		dTPOT = append(dTPOT, ms(tpot)-ms(v.due[n-1].Sub(v.due[0]))/float64(r.OutputTokens-1))
		for _, x := range r.ITL(nil) {
			clientITL = append(clientITL, ms(x))
		}
		for j := 1; j < n; j++ {
			gap := ms(v.due[j].Sub(v.due[j-1])) / float64(v.tokens[j])
			for k := 0; k < v.tokens[j]; k++ {
				serverITL = append(serverITL, gap)
			}
		}
	}
	c.within("client first-token stamp vs server flush, median |difference| (ms)", median(lag), 0, tol)
	c.within("TTFT − scheduled TTFT, median (ms)", median(dTTFT), 0, tol)
	c.within("TPOT − scheduled TPOT, median (ms)", median(dTPOT), 0, tol)
	c.within("ITL median (ms)", median(clientITL), median(serverITL), tol)
}

func TestAccuracySequentialRoleChunkFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("timing accuracy test")
	}
	p := sim.Profile{Name: "acc-seq", TTFT: 80 * time.Millisecond, PrefillTPS: 10000, DecodeTPS: 200,
		TokensPerChunk: 1, RoleChunk: true, Usage: true}
	attempts(t, 3, func(c *checks) {
		s := startSim(t, p)
		res, recs := runAgainst(t, s, p.Name, Config{Requests: 12, Warmup: 1, Seed: 1})
		if len(recs) != 13 || !recs[0].Warmup || res.Groups[0].Requests != 12 || res.Groups[0].Warmup != 1 {
			t.Fatalf("records %d (first warm-up %v), group requests %d warmup %d", len(recs), recs[0].Warmup, res.Groups[0].Requests, res.Groups[0].Warmup)
		}
		// The role chunk arrives at headers time, 80 ms before the first
		// token: TTFT must not start there.
		for _, r := range recs {
			if r.FirstToken-r.FirstByte < 70*time.Millisecond {
				t.Fatalf("TTFT %v but first byte %v: the role-only chunk started the clock", r.FirstToken, r.FirstByte)
			}
		}
		g := res.Groups[0]
		nIn := recs[1].InputTokens
		c.within("TTFT p50 vs profile (ms)", g.TTFT.P50, ms(p.TTFT)+float64(nIn)/p.PrefillTPS*1000, 1)
		c.within("TPOT p50 vs profile (ms)", g.TPOT.P50, 1000/p.DecodeTPS, 1)
		c.within("ITL p50 vs profile (ms)", g.ITL.P50, 1000/p.DecodeTPS, 1)
		c.within("decode rate p50 (tok/s)", g.DecodeTPS.P50, p.DecodeTPS, p.DecodeTPS*0.02)
		checkSchedule(t, c, s, res, recs[1:], 1.0)
	})
}

func TestAccuracyConcurrency64(t *testing.T) {
	if testing.Short() {
		t.Skip("timing accuracy test")
	}
	// Jitter desynchronises the 64 streams, as real traffic is; the schedule
	// of every request is still known exactly from the engine's trace.
	p := sim.Profile{Name: "acc-c64", TTFT: 150 * time.Millisecond, PrefillTPS: 20000, DecodeTPS: 100,
		TokensPerChunk: 1, Usage: true, Jitter: 0.2, Seed: 5}
	attempts(t, 3, func(c *checks) {
		s := startSim(t, p)
		// Three waves of 64: the first wave also opens 64 connections at
		// once, which is real client latency but not the engine's schedule.
		res, recs := runAgainst(t, s, p.Name, Config{Mode: load.Concurrency, Concurrency: 64, Requests: 192, Seed: 2})
		if got := s.Stats().MaxInFlight; got != 64 {
			t.Fatalf("the engine saw at most %d requests overlapping, want 64", got)
		}
		checkSchedule(t, c, s, res, recs, 2.0)
	})
}

func TestITLWithMultiTokenChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("timing accuracy test")
	}
	p := sim.Profile{Name: "acc-4pc", TTFT: 30 * time.Millisecond, DecodeTPS: 200, TokensPerChunk: 4, Usage: true}
	attempts(t, 3, func(c *checks) {
		s := startSim(t, p)
		res, recs := runAgainst(t, s, p.Name, Config{Requests: 8, Seed: 3})
		for _, r := range recs {
			if r.ChunkCount != 10 {
				t.Fatalf("%d text chunks for 40 tokens at 4 per chunk, want 10", r.ChunkCount)
			}
		}
		g := res.Groups[0]
		// 9 gaps of 4 tokens each per request: 36 per-token samples.
		if g.ITL.N != 8*36 {
			t.Fatalf("ITL samples = %d, want %d (per token, not per chunk)", g.ITL.N, 8*36)
		}
		c.within("ITL p50 (ms) at 4 tokens/chunk", g.ITL.P50, 5, 5*0.02)
		c.within("TPOT p50 (ms)", g.TPOT.P50, (9*20.0)/39, 0.5)
	})
}
