package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/suite"
)

// errFull is a failing disk's error.
var errFull = errors.New("database or disk is full")

// failingSink takes records until it has addOK of them, then fails: in Add
// (inAdd) or, like the store's writer, in the background (its Failed
// closes while Add still returns nil for the records already queued).
type failingSink struct {
	addOK  int
	inAdd  bool
	n      int
	failed chan struct{}
	once   sync.Once
}

func (s *failingSink) Add(*record.Record) error {
	s.n++
	if s.n <= s.addOK {
		return nil
	}
	if s.inAdd {
		return errFull
	}
	s.once.Do(func() { close(s.failed) })
	return nil
}

func (s *failingSink) Close() error            { return nil }
func (s *failingSink) Failed() <-chan struct{} { return s.failed }
func (s *failingSink) Err() error              { return errFull }

// TestRunStopsWhenASinkFails runs 1,000 requests into a sink that fails
// after 20 records, in Add or in the background: scheduling stops at the
// failure, the requests in flight still reach the other sinks, the failure
// is logged as it happens, and the run ends interrupted, saying why. A run
// whose sinks never fail still completes.
func TestRunStopsWhenASinkFails(t *testing.T) {
	p := sim.Profile{Name: "steady", TTFT: 10 * time.Millisecond, DecodeTPS: 400, Usage: true}
	s := startSim(t, p)
	st, _ := suite.Parse("accuracy.json", []byte(accuracySuite))
	for _, c := range []struct {
		name  string
		inAdd bool
		fails bool
	}{{"in Add", true, true}, {"in the background", false, true}, {"never", false, false}} {
		t.Run(c.name, func(t *testing.T) {
			requests := 1000
			if !c.fails {
				requests = 30
			}
			cfg := Config{Mode: load.Mode("concurrency"), Concurrency: 4, Requests: requests, Models: []string{p.Name}, Stream: true, Timeout: Duration(10 * time.Second)}
			bad := &failingSink{addOK: 20, inAdd: c.inAdd, failed: make(chan struct{})}
			if !c.fails {
				bad.addOK = 1 << 30
			}
			all := &collect{}
			var mu sync.Mutex
			var logged []string
			r := &Runner{Client: backend.New(s.base, backend.Options{Timeout: 10 * time.Second}), Suite: st, Scenarios: st.Scenarios, Config: cfg,
				Engine: engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true}, Sinks: []Sink{bad, all},
				Log: func(level, msg string) {
					mu.Lock()
					defer mu.Unlock()
					if level == "error" {
						logged = append(logged, msg)
					}
				}}
			res, err := r.Run(context.Background())
			if !c.fails {
				if err != nil || res.Status != Completed || res.Records != 30 || len(logged) != 0 {
					t.Fatalf("no failure: %v, %s after %d records, logged %q", err, res.Status, res.Records, logged)
				}
				return
			}
			if c.inAdd != (err != nil) {
				t.Errorf("Run's error %v; want the sink's error exactly when Add failed", err)
			}
			if res.Status != Interrupted {
				t.Errorf("status %s, want interrupted", res.Status)
			}
			if res.Records >= 1000 || res.Records < 21 {
				t.Errorf("%d records: the run did not stop at the failure", res.Records)
			}
			if len(all.recs) != res.Records {
				t.Errorf("the other sink got %d records of %d: those in flight must reach it", len(all.recs), res.Records)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(logged) != 1 || !strings.Contains(logged[0], "can no longer be saved") || !strings.Contains(logged[0], errFull.Error()) {
				t.Errorf("logged %q; want the failure said once", logged)
			}
			if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "could no longer be saved") {
				t.Errorf("warnings %q do not say why the run stopped", res.Warnings)
			}
		})
	}
}
