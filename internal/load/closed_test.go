package load

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"flperf/internal/record"
)

func TestClosedLoopConcurrency(t *testing.T) {
	f := &fake{sleep: 20 * time.Millisecond}
	recs := drain(t, Run(context.Background(), Plan{Mode: Concurrency, Concurrency: 8, Requests: 50}, f.do))
	if len(recs) != 50 || f.calls.Load() != 50 {
		t.Fatalf("%d records from %d calls, want 50", len(recs), f.calls.Load())
	}
	if p := f.peak.Load(); p != 8 {
		t.Errorf("peak concurrency %d, want 8", p)
	}
	recs = bySeq(t, recs)
	perWorker := map[int][]record.Record{}
	for i, r := range recs {
		if r.Warmup {
			t.Errorf("Seq %d flagged warm-up", r.Seq)
		}
		if r.Worker < 0 || r.Worker >= 8 {
			t.Errorf("Seq %d: worker %d outside [0,8)", r.Seq, r.Worker)
		}
		if job := f.jobOf(t, r.Seq); job.Index != i || job.Worker != r.Worker || !job.Scheduled.Equal(r.Scheduled) {
			t.Errorf("Seq %d: job %+v does not match record (index %d, worker %d)", r.Seq, job, i, r.Worker)
		}
		if r.Sent.Before(r.Scheduled) {
			t.Errorf("Seq %d sent before it was picked", r.Seq)
		}
		if i > 0 && r.Scheduled.Before(recs[i-1].Scheduled) {
			t.Errorf("Seq %d picked before Seq %d: Seq and Scheduled disagree", r.Seq, r.Seq-1)
		}
		perWorker[r.Worker] = append(perWorker[r.Worker], r)
	}
	if len(perWorker) != 8 {
		t.Errorf("%d workers sent requests, want 8", len(perWorker))
	}
	// Closed loop: a worker picks its next job only after its previous one ended.
	for w, rs := range perWorker {
		for i := 1; i < len(rs); i++ {
			if end := rs[i-1].Sent.Add(rs[i-1].End); rs[i].Scheduled.Before(end) {
				t.Errorf("worker %d picked Seq %d before Seq %d ended", w, rs[i].Seq, rs[i-1].Seq)
			}
		}
	}
}

// TestClosedLoopOverlap proves the workers run at once: every call waits
// until all N are in flight, which a serial implementation never reaches.
func TestClosedLoopOverlap(t *testing.T) {
	const n = 5
	var inFlight atomic.Int64
	all := make(chan struct{})
	do := func(ctx context.Context, job Job) record.Record {
		if inFlight.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return record.Record{Outcome: record.OK}
		case <-time.After(patience):
			return record.Record{Outcome: record.Timeout, Error: "requests never overlapped"}
		}
	}
	recs := drain(t, Run(context.Background(), Plan{Mode: Concurrency, Concurrency: n, Requests: n}, do))
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for _, r := range recs {
		if r.Outcome != record.OK {
			t.Fatalf("Seq %d: %s", r.Seq, r.Error)
		}
	}
}

func TestClosedLoopCounts(t *testing.T) {
	tests := []struct {
		plan    Plan
		workers int // distinct worker ids expected
	}{
		{Plan{Mode: Concurrency, Concurrency: 3, Requests: 10}, 3},
		{Plan{Mode: Concurrency, Concurrency: 5, Requests: 2}, 2},
		{Plan{Mode: Concurrency, Concurrency: 4, Requests: 4}, 4},
		{Plan{Mode: Sequential, Requests: 7}, 1},
		{Plan{Requests: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.plan.String(), func(t *testing.T) {
			f := &fake{sleep: 5 * time.Millisecond}
			recs := drain(t, Run(context.Background(), tt.plan, f.do))
			if len(recs) != tt.plan.Requests {
				t.Fatalf("%d records, want %d", len(recs), tt.plan.Requests)
			}
			recs = bySeq(t, recs)
			workers := map[int]bool{}
			for i, r := range recs {
				if job := f.jobOf(t, r.Seq); job.Index != i {
					t.Errorf("Seq %d has Index %d, want %d", r.Seq, job.Index, i)
				}
				workers[r.Worker] = true
			}
			if tt.workers == 1 && f.peak.Load() != 1 {
				t.Errorf("%v: peak concurrency %d, want 1", tt.plan, f.peak.Load())
			}
			if len(workers) > tt.workers {
				t.Errorf("%d distinct workers, want at most %d", len(workers), tt.workers)
			}
		})
	}
}

func TestSequentialOrder(t *testing.T) {
	f := &fake{sleep: time.Millisecond}
	recs := bySeq(t, drain(t, Run(context.Background(), Plan{Mode: Sequential, Requests: 6, Warmup: 2}, f.do)))
	for i := 1; i < len(recs); i++ {
		if prevEnd := recs[i-1].Sent.Add(recs[i-1].End); recs[i].Sent.Before(prevEnd) {
			t.Errorf("Seq %d sent before Seq %d ended", recs[i].Seq, recs[i-1].Seq)
		}
		if recs[i].Worker != 0 {
			t.Errorf("Seq %d: worker %d, want 0", recs[i].Seq, recs[i].Worker)
		}
	}
}

// checkWarmups checks that the first w Seqs are warm-ups run one at a time
// and ended before any measured request started.
func checkWarmups(t *testing.T, f *fake, recs []record.Record, w, n int) {
	t.Helper()
	if len(recs) != w+n {
		t.Fatalf("%d records, want %d warm-ups + %d", len(recs), w, n)
	}
	recs = bySeq(t, recs)
	for i, r := range recs {
		job := f.jobOf(t, r.Seq)
		wantWarm, wantIndex := i < w, i
		if !wantWarm {
			wantIndex = i - w
		}
		if r.Warmup != wantWarm || job.Warmup != wantWarm || job.Index != wantIndex {
			t.Errorf("Seq %d: warmup %v (job %v) index %d, want warmup %v index %d", r.Seq, r.Warmup, job.Warmup, job.Index, wantWarm, wantIndex)
		}
	}
	if got := len(measured(recs)); got != n {
		t.Errorf("%d measured records, want %d", got, n)
	}
	// In the event log, warm-up i starts, then ends, before anything else.
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range w {
		s, e := f.events[2*i], f.events[2*i+1]
		if s != (event{int64(i), true}) || e != (event{int64(i), false}) {
			t.Fatalf("events %d,%d = %+v %+v, want warm-up %d start then end", 2*i, 2*i+1, s, e, i)
		}
	}
}

func TestWarmupClosedLoop(t *testing.T) {
	f := &fake{sleep: 5 * time.Millisecond}
	recs := drain(t, Run(context.Background(), Plan{Mode: Concurrency, Concurrency: 2, Requests: 5, Warmup: 3}, f.do))
	checkWarmups(t, f, recs, 3, 5)
}

func TestClosedLoopDuration(t *testing.T) {
	const (
		workers = 2
		dur     = 200 * time.Millisecond
		sleep   = 10 * time.Millisecond
	)
	f := &fake{sleep: sleep}
	recs := drain(t, Run(context.Background(), Plan{Mode: Concurrency, Concurrency: workers, Duration: dur, Warmup: 1}, f.do))
	m := measured(bySeq(t, recs))
	// Each call takes at least sleep, so a worker fits at most dur/sleep+1 picks.
	if len(m) == 0 || len(m) > workers*(int(dur/sleep)+1) {
		t.Fatalf("%d measured records, want between 1 and %d", len(m), workers*(int(dur/sleep)+1))
	}
	first := m[0].Scheduled
	for _, r := range m {
		if d := r.Scheduled.Sub(first); d >= dur {
			t.Errorf("Seq %d picked %v after the first, past the %v duration", r.Seq, d, dur)
		}
	}
	// The count bound wins when it comes first.
	f = &fake{}
	recs = drain(t, Run(context.Background(), Plan{Mode: Concurrency, Concurrency: 3, Requests: 7, Duration: time.Hour}, f.do))
	if len(recs) != 7 {
		t.Errorf("Requests 7 with a long Duration gave %d records", len(recs))
	}
}

func TestRunFillsRecord(t *testing.T) {
	scheduled := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	do := func(ctx context.Context, job Job) record.Record {
		if job.Warmup {
			return record.Record{} // everything left to Run
		}
		return record.Record{Seq: 99, Worker: 7, Scheduled: scheduled, Warmup: true}
	}
	recs := drain(t, Run(context.Background(), Plan{Requests: 1, Warmup: 2}, do))
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for i, r := range recs[:2] {
		if r.Seq != int64(i) || !r.Warmup || r.Worker != 0 || r.Scheduled.IsZero() {
			t.Errorf("warm-up %d not filled in: %+v", i, r)
		}
	}
	if r := recs[2]; r.Seq != 99 || r.Worker != 7 || !r.Scheduled.Equal(scheduled) || !r.Warmup {
		t.Errorf("fields the DoFunc set were overwritten: %+v", r)
	}
	// A worker id set by Run for a closed-loop worker other than 0.
	recs = drain(t, Run(context.Background(), Plan{Mode: Concurrency, Concurrency: 2, Requests: 2}, (&fake{sleep: 10 * time.Millisecond}).do))
	workers := []int{recs[0].Worker, recs[1].Worker}
	slices.Sort(workers)
	if !slices.Equal(workers, []int{0, 1}) {
		t.Errorf("workers %v, want [0 1]", workers)
	}
}

func TestRunInvalid(t *testing.T) {
	f := &fake{}
	for _, p := range []Plan{{Mode: Concurrency, Requests: 3}, {Mode: "burst", Requests: 1}, {}} {
		if recs := drain(t, Run(context.Background(), p, f.do)); len(recs) != 0 {
			t.Errorf("invalid plan %+v gave %d records", p, len(recs))
		}
	}
	if recs := drain(t, Run(context.Background(), Plan{Requests: 1}, nil)); len(recs) != 0 {
		t.Errorf("nil DoFunc gave %d records", len(recs))
	}
	if f.calls.Load() != 0 {
		t.Errorf("DoFunc called %d times for invalid input", f.calls.Load())
	}
}
