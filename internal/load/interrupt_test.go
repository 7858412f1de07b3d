package load

import (
	"context"
	"testing"
	"time"

	"flperf/internal/record"
)

// plans used by the interrupt tests: long enough never to end by themselves
// before the test interrupts them.
var interruptPlans = []struct {
	name     string
	plan     Plan
	inFlight int64 // requests in flight when the test interrupts
	exact    bool  // no request can start between the count and the interrupt
}{
	{"sequential", Plan{Mode: Sequential, Requests: 1000}, 1, true},
	{"concurrency", Plan{Mode: Concurrency, Concurrency: 4, Requests: 1000}, 4, true},
	{"rate capped", Plan{Mode: Rate, Rate: 1000, MaxInFlight: 3, Requests: 1000}, 3, true},
	{"rate uncapped", Plan{Mode: Rate, Rate: 1000, Requests: 1000}, 5, false},
}

func TestStopMidRun(t *testing.T) {
	for _, tt := range interruptPlans {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{gate: make(chan struct{})}
			ctx, stop := WithStop(context.Background())
			defer stop()
			ch := Run(ctx, tt.plan, f.do)
			waitFor(t, "requests in flight", func() bool { return f.inFlight.Load() >= tt.inFlight })
			stop()
			stoppedAt := time.Now()
			started := f.calls.Load()
			close(f.gate) // let the requests in flight finish
			recs := drain(t, ch)
			calls := f.calls.Load()
			if tt.exact {
				if started != tt.inFlight {
					t.Fatalf("%d started before the stop, want %d", started, tt.inFlight)
				}
				// Every worker or slot was busy: nothing could be
				// scheduled but not yet sent.
				if calls != started {
					t.Errorf("%d requests started after the stop", calls-started)
				}
			}
			// In the open loop an arrival is a request of the stage once
			// its time has come and the generator has handed it on (it
			// has a Seq; see Run); its goroutine may call do only after
			// the stop, and then it is sent and recorded like any late
			// request. What the stop forbids is scheduling: no record
			// may have been scheduled after it.
			late := 0
			for _, r := range recs {
				if r.Scheduled.After(stoppedAt) {
					if late++; late == 1 {
						t.Errorf("Seq %d scheduled %v after the stop", r.Seq, r.Scheduled.Sub(stoppedAt))
					}
				}
			}
			if late > 1 {
				t.Errorf("%d records in all scheduled after the stop", late)
			}
			if !tt.exact && calls != started {
				t.Logf("%d requests scheduled before the stop were sent after it", calls-started)
			}
			if int64(len(recs)) != calls {
				t.Errorf("%d records for %d requests sent", len(recs), calls)
			}
			if calls >= int64(tt.plan.Requests) {
				t.Errorf("the stop stopped nothing: %d sent", calls)
			}
			for _, r := range recs {
				if r.Outcome != record.OK {
					t.Errorf("Seq %d: outcome %s after a gentle stop, want ok", r.Seq, r.Outcome)
				}
			}
			if f.ctxErr.Load() != 0 {
				t.Errorf("%d requests saw a cancelled ctx after a gentle stop", f.ctxErr.Load())
			}
			bySeq(t, recs) // Seqs stay contiguous
		})
	}
}

func TestCancelMidRun(t *testing.T) {
	for _, tt := range interruptPlans {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{gate: make(chan struct{})} // never opened: only ctx ends the calls
			defer close(f.gate)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := Run(ctx, tt.plan, f.do)
			waitFor(t, "requests in flight", func() bool { return f.inFlight.Load() >= tt.inFlight })
			cancel()
			recs := drain(t, ch)
			started := f.calls.Load()
			if tt.exact && started != tt.inFlight {
				t.Fatalf("%d started, want %d", started, tt.inFlight)
			}
			if int64(len(recs)) != started {
				t.Errorf("%d records for %d requests started", len(recs), started)
			}
			if f.ctxErr.Load() != started {
				t.Errorf("%d of %d requests saw ctx.Err() != nil", f.ctxErr.Load(), started)
			}
			for _, r := range recs {
				if r.Outcome != record.Canceled {
					t.Errorf("Seq %d: outcome %s, want canceled", r.Seq, r.Outcome)
				}
			}
		})
	}
}

// TestTwoStageInterrupt: stop, then cancel, as two Ctrl-Cs do.
func TestTwoStageInterrupt(t *testing.T) {
	f := &fake{gate: make(chan struct{})}
	defer close(f.gate)
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx, stop := WithStop(parent)
	defer stop()
	ch := Run(ctx, Plan{Mode: Concurrency, Concurrency: 3, Requests: 100}, f.do)
	waitFor(t, "3 requests in flight", func() bool { return f.inFlight.Load() == 3 })
	stop()
	// The requests in flight carry on after the first stage…
	if f.ctxErr.Load() != 0 || f.inFlight.Load() != 3 {
		t.Fatalf("after stop: %d in flight, %d cancelled; want 3, 0", f.inFlight.Load(), f.ctxErr.Load())
	}
	// …and end as canceled at the second.
	cancel()
	recs := drain(t, ch)
	if len(recs) != 3 || f.calls.Load() != 3 {
		t.Fatalf("%d records, %d calls; want 3, 3", len(recs), f.calls.Load())
	}
	for _, r := range recs {
		if r.Outcome != record.Canceled {
			t.Errorf("Seq %d: %s, want canceled", r.Seq, r.Outcome)
		}
	}
}

func TestStopDuringWarmup(t *testing.T) {
	for _, p := range []Plan{
		{Mode: Concurrency, Concurrency: 4, Requests: 10, Warmup: 5},
		{Mode: Rate, Rate: 100, Requests: 10, Warmup: 5},
	} {
		t.Run(p.String(), func(t *testing.T) {
			ctx, stop := WithStop(context.Background())
			defer stop()
			do := func(ctx context.Context, job Job) record.Record {
				if job.Index == 1 {
					stop() // during the second warm-up
				}
				return record.Record{Outcome: record.OK}
			}
			recs := drain(t, Run(ctx, p, do))
			if len(recs) != 2 {
				t.Fatalf("%d records, want the 2 warm-ups started before the stop", len(recs))
			}
			for _, r := range recs {
				if !r.Warmup {
					t.Errorf("Seq %d: a measured request started after the stop", r.Seq)
				}
			}
		})
	}
}

func TestAlreadyStopped(t *testing.T) {
	ctx, stop := WithStop(context.Background())
	stop()
	f := &fake{}
	if recs := drain(t, Run(ctx, Plan{Mode: Rate, Rate: 10, Requests: 5, Warmup: 1}, f.do)); len(recs) != 0 || f.calls.Load() != 0 {
		t.Errorf("a stopped context gave %d records, %d calls", len(recs), f.calls.Load())
	}
}
