package load

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flperf/internal/record"
)

// patience bounds every wait in these tests; it is far longer than any of
// them needs, so that only a real bug (a hang) reaches it.
const patience = 20 * time.Second

// fake is a DoFunc that sleeps (or waits on a gate), tracks how many calls
// overlap, and logs starts and ends in order.
type fake struct {
	sleep time.Duration // how long each call takes, unless gate is set
	gate  chan struct{} // when set, calls wait for it to close (or for ctx)

	calls    atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	ctxErr   atomic.Int64 // calls that saw ctx.Err() != nil on return

	mu     sync.Mutex
	events []event
	jobs   []Job
}

type event struct {
	seq   int64
	start bool
}

func (f *fake) do(ctx context.Context, job Job) record.Record {
	f.calls.Add(1)
	n := f.inFlight.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	f.mu.Lock()
	f.events = append(f.events, event{job.Seq, true})
	f.jobs = append(f.jobs, job)
	f.mu.Unlock()

	sent := time.Now()
	rec := record.Record{Sent: sent, Outcome: record.OK}
	switch {
	case f.gate != nil:
		select {
		case <-f.gate:
		case <-ctx.Done():
		case <-time.After(patience):
			rec.Error = "gate never opened"
		}
	case f.sleep > 0:
		tm := time.NewTimer(f.sleep)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
		}
	}
	if ctx.Err() != nil {
		f.ctxErr.Add(1)
		rec.Outcome = record.Canceled
	}
	rec.End = max(time.Since(sent), 1)

	f.mu.Lock()
	f.events = append(f.events, event{job.Seq, false})
	f.mu.Unlock()
	f.inFlight.Add(-1)
	return rec
}

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// drain receives every record until the channel closes.
func drain(t *testing.T, ch <-chan record.Record) []record.Record {
	t.Helper()
	var recs []record.Record
	timeout := time.After(patience)
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return recs
			}
			recs = append(recs, r)
		case <-timeout:
			t.Fatalf("channel not closed after %v (%d records so far)", patience, len(recs))
		}
	}
}

// bySeq sorts records by Seq and checks that Seqs are 0..n-1.
func bySeq(t *testing.T, recs []record.Record) []record.Record {
	t.Helper()
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b record.Record) int { return int(a.Seq - b.Seq) })
	for i, r := range recs {
		if r.Seq != int64(i) {
			t.Fatalf("Seqs are not 0..%d: position %d has Seq %d", len(recs)-1, i, r.Seq)
		}
	}
	return recs
}

// measured returns the non-warm-up records.
func measured(recs []record.Record) []record.Record {
	var out []record.Record
	for _, r := range recs {
		if !r.Warmup {
			out = append(out, r)
		}
	}
	return out
}

// jobOf returns the Job the fake saw for a Seq.
func (f *fake) jobOf(t *testing.T, seq int64) Job {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.Seq == seq {
			return j
		}
	}
	t.Fatalf("no job with Seq %d", seq)
	return Job{}
}

// checkNoLeak fails if goroutines started after base do not all end.
func checkNoLeak(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines still running, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
