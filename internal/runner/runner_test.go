package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/suite"
)

func TestHTTP500sShowInErrorRate(t *testing.T) {
	p := sim.Profile{Name: "flaky", TTFT: time.Millisecond, DecodeTPS: 5000, Usage: true, Seed: 7,
		Faults: sim.Faults{Status500: 0.3}}
	s := startSim(t, p)
	res, recs := runAgainst(t, s, p.Name, Config{Mode: load.Mode("concurrency"), Concurrency: 4, Requests: 60, Seed: 1})
	n500 := 0
	for _, r := range recs {
		if r.Status == 500 {
			n500++
			if r.Outcome != record.HTTPError || r.Error == "" {
				t.Fatalf("HTTP 500 record: outcome %s, error %q", r.Outcome, r.Error)
			}
		}
	}
	g := res.Groups[0]
	if n500 == 0 || n500 == 60 {
		t.Fatalf("%d of 60 requests got HTTP 500 at a 30%% fault rate", n500)
	}
	if g.Failures[record.HTTPError] != n500 || g.OK != 60-n500 {
		t.Fatalf("summary: ok %d, http_error %d; records: %d HTTP 500", g.OK, g.Failures[record.HTTPError], n500)
	}
	if want := float64(n500) / 60; g.ErrorRate != want {
		t.Fatalf("error rate %v, want %v (the original reported 0%%)", g.ErrorRate, want)
	}
	if g.TTFT.N != g.OK {
		t.Fatalf("TTFT samples %d, want one per ok request (%d): failures never enter latency", g.TTFT.N, g.OK)
	}
}

func TestCutMidStreamIsStreamError(t *testing.T) {
	p := sim.Profile{Name: "cut", TTFT: time.Millisecond, DecodeTPS: 2000, Usage: true, Faults: sim.Faults{Cut: 1}}
	s := startSim(t, p)
	res, recs := runAgainst(t, s, p.Name, Config{Requests: 5, Seed: 1})
	for _, r := range recs {
		if r.Outcome != record.StreamError || r.ChunkCount == 0 || r.FirstToken == 0 {
			t.Fatalf("cut stream: outcome %s, %d chunks kept, first token %v", r.Outcome, r.ChunkCount, r.FirstToken)
		}
	}
	if g := res.Groups[0]; g.Failures[record.StreamError] != 5 || g.ErrorRate != 1 {
		t.Fatalf("summary: %v, error rate %v", g.Failures, g.ErrorRate)
	}
}

// A model whose every request times out must never rank as fast, nor show
// latency figures of 0.
func TestAllTimeoutsNeverLookFast(t *testing.T) {
	slow := sim.Profile{Name: "too-slow", TTFT: 5 * time.Second, DecodeTPS: 10, Usage: true}
	fast := sim.Profile{Name: "fine", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Usage: true}
	s := startSim(t, slow, fast)
	st, _ := suite.Parse("accuracy.json", []byte(accuracySuite))
	cfg := Config{Mode: load.Mode("concurrency"), Concurrency: 3, Requests: 3, Models: []string{"too-slow", "fine"},
		Stream: true, Timeout: Duration(150 * time.Millisecond)}
	r := &Runner{Client: backend.New(s.base, backend.Options{Timeout: 150 * time.Millisecond}),
		Engine: engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true}, Suite: st, Scenarios: st.Scenarios, Config: cfg}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var slowG, fastG = res.Models[0], res.Models[1]
	if slowG.Model != "too-slow" || slowG.Failures[record.Timeout] != 3 || slowG.ErrorRate != 1 {
		t.Fatalf("slow model: %+v", slowG)
	}
	if slowG.TTFT.N != 0 || slowG.E2E.N != 0 || slowG.OK != 0 {
		t.Fatalf("a model with only timeouts has latency samples: TTFT n=%d E2E n=%d", slowG.TTFT.N, slowG.E2E.N)
	}
	if fastG.OK != 3 {
		t.Fatalf("fast model ok = %d", fastG.OK)
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "too-slow") && strings.Contains(w, "failed")
	}
	if !found {
		t.Fatalf("no run warning about the failing model: %q", res.Warnings)
	}
	if !res.Engine.Simulated || !strings.Contains(res.Warnings[0], "SIMULATED") {
		t.Fatalf("simulated run not labelled: %q", res.Warnings)
	}
}

func TestStopSchedulingDrainsAndMarksInterrupted(t *testing.T) {
	p := sim.Profile{Name: "steady", TTFT: 20 * time.Millisecond, DecodeTPS: 400, Usage: true}
	s := startSim(t, p)
	st, _ := suite.Parse("accuracy.json", []byte(accuracySuite))
	ctx, stop := load.WithStop(context.Background())
	cfg := Config{Mode: load.Mode("concurrency"), Concurrency: 4, Requests: 1000, Models: []string{p.Name}, Stream: true, Timeout: Duration(10 * time.Second)}
	r := &Runner{Client: backend.New(s.base, backend.Options{Timeout: 10 * time.Second}), Suite: st, Scenarios: st.Scenarios, Config: cfg,
		Engine: engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true}}
	r.Progress = func(p Progress) {
		if p.Done == 10 {
			stop()
		}
	}
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g := res.Groups[0]
	if res.Status != Interrupted || g.Requests >= 1000 || g.Requests < 10 {
		t.Fatalf("status %s after %d requests", res.Status, g.Requests)
	}
	if g.OK != g.Requests {
		t.Fatalf("in-flight requests were not drained: ok %d of %d (%v, canceled %d)", g.OK, g.Requests, g.Failures, g.Canceled)
	}
	if s.Stats().InFlight != 0 {
		t.Fatalf("%d requests still in flight at the engine", s.Stats().InFlight)
	}
}

// An engine that disappears in the middle of a run: every request after it
// is a connect_error record, the run goes on to the end, and nothing already
// measured is lost.
func TestEngineDisappearsMidRun(t *testing.T) {
	p := sim.Profile{Name: "vanishing", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Usage: true}
	srv, err := sim.Start("", p)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := suite.Parse("accuracy.json", []byte(accuracySuite))
	cfg := Config{Mode: load.Sequential, Concurrency: 1, Requests: 12, Models: []string{p.Name}, Stream: true, Timeout: Duration(5 * time.Second)}
	sink := &collect{}
	r := &Runner{Client: backend.New(srv.URL, backend.Options{Timeout: 5 * time.Second}), Suite: st, Scenarios: st.Scenarios, Config: cfg,
		Engine: engine.Info{Kind: engine.Sim, Endpoint: srv.URL, Simulated: true}, Sinks: []Sink{sink}}
	r.Progress = func(p Progress) {
		if p.Done == 4 {
			srv.Close() // the engine goes away
		}
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Completed || len(sink.recs) != 12 {
		t.Fatalf("status %s with %d records, want a completed run with all 12", res.Status, len(sink.recs))
	}
	// The generator may have sent the next request before the engine went
	// away (the close happens when the 4th record reaches the sinks): the
	// records are ok up to some point and failures from then on.
	firstFail := -1
	for i, rec := range sink.recs {
		switch {
		case firstFail < 0 && rec.Outcome == record.OK:
		case firstFail < 0:
			firstFail = i
			// The first request after the loss may go out on the kept-alive
			// connection the engine reset: sent, then no answer.
			if rec.Outcome != record.ConnectError && rec.Outcome != record.StreamError {
				t.Fatalf("record %d: %s (%s)", i, rec.Outcome, rec.Error)
			}
		case rec.Outcome != record.ConnectError:
			t.Fatalf("record %d after the engine left: %s (%s)", i, rec.Outcome, rec.Error)
		}
	}
	if firstFail < 4 || firstFail > 6 {
		t.Fatalf("first failure at record %d, want right after the 4th", firstFail)
	}
	if g := res.Groups[0]; g.OK != firstFail || g.ErrorRate != float64(12-firstFail)/12 || g.TTFT.N != firstFail {
		t.Fatalf("summary: ok %d, failures %v, TTFT n %d", g.OK, g.Failures, g.TTFT.N)
	}
}

// TestNewIDWide: a new run id carries 8 random bytes after the UTC
// second, so that ids from many machines do not collide, and sorts by
// time.
func TestNewIDWide(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	seen := map[string]bool{}
	for range 1000 {
		id := NewID(now)
		if len(id) != len("20261207-020405-0123456789abcdef") || !strings.HasPrefix(id, "20261207-020405-") {
			t.Fatalf("id %q", id)
		}
		if seen[id] {
			t.Fatalf("id %s drawn twice", id)
		}
		seen[id] = true
	}
	if a, b := NewID(now), NewID(now.Add(time.Second)); a >= b {
		t.Errorf("%s does not sort before %s", a, b)
	}
}
