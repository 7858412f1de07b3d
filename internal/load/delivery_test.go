package load

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"flperf/internal/record"
)

// TestSlowConsumer: the generator finishes every request while nobody reads
// the channel (far more records than its buffer holds), then delivers them all.
func TestSlowConsumer(t *testing.T) {
	const n = 4 * outBuffer
	for _, p := range []Plan{
		{Mode: Concurrency, Concurrency: 2, Requests: n},
		{Mode: Rate, Rate: 5000, MaxInFlight: 2, Requests: n},
	} {
		t.Run(p.String(), func(t *testing.T) {
			f := &fake{}
			ch := Run(context.Background(), p, f.do)
			waitFor(t, "every request to run while nobody reads", func() bool {
				return f.calls.Load() == n && f.inFlight.Load() == 0
			})
			if recs := drain(t, ch); len(recs) != n {
				t.Fatalf("%d records, want %d", len(recs), n)
			}
		})
	}
}

func TestMailboxOrder(t *testing.T) {
	m := newMailbox()
	out := make(chan record.Record) // unbuffered: forward waits on every record
	go m.forward(out)
	for i := range 100 {
		m.put(record.Record{Seq: int64(i)})
	}
	m.close()
	var got []int64
	for r := range out {
		got = append(got, r.Seq)
	}
	want := make([]int64, 100)
	for i := range want {
		want[i] = int64(i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want 0..99 in order", got)
	}
	// An empty mailbox closes its channel too.
	m = newMailbox()
	out = make(chan record.Record)
	go m.forward(out)
	m.close()
	if _, ok := <-out; ok {
		t.Fatal("empty mailbox delivered a record")
	}
}

func TestSlotsUncapped(t *testing.T) {
	s := newSlots(0)
	ctx := context.Background()
	get := func() int {
		id, ok := s.acquire(ctx, nil)
		if !ok {
			t.Fatal("uncapped acquire failed")
		}
		return id
	}
	if a, b, c := get(), get(), get(); a != 0 || b != 1 || c != 2 {
		t.Fatalf("first ids %d %d %d, want 0 1 2", a, b, c)
	}
	s.release(2)
	s.release(0)
	s.release(1)
	if a, b, c, d := get(), get(), get(), get(); a != 0 || b != 1 || c != 2 || d != 3 {
		t.Fatalf("reused ids %d %d %d %d, want smallest first: 0 1 2 3", a, b, c, d)
	}
}

func TestSlotsCapped(t *testing.T) {
	s := newSlots(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	a, _ := s.acquire(ctx, stopped)
	b, _ := s.acquire(ctx, stopped)
	if got := []int{a, b}; !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("ids %v, want [0 1]", got)
	}
	// Full: a waiter gets the slot released next.
	done := make(chan int)
	go func() {
		id, ok := s.acquire(ctx, stopped)
		if !ok {
			id = -1
		}
		done <- id
	}()
	select {
	case id := <-done:
		t.Fatalf("acquired slot %d beyond the cap", id)
	case <-time.After(20 * time.Millisecond):
	}
	s.release(b)
	if id := <-done; id != b {
		t.Fatalf("waiter got slot %d, want %d", id, b)
	}
	// Full again: a stop releases the waiter empty-handed.
	go func() {
		_, ok := s.acquire(ctx, stopped)
		done <- map[bool]int{true: 1, false: 0}[ok]
	}()
	close(stopped)
	if ok := <-done; ok != 0 {
		t.Fatal("acquire succeeded after the stop with no free slot")
	}
}

// TestNoGoroutineLeak runs every kind of stage to its end, including
// interrupted ones, and checks that every goroutine Run started has ended.
func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	plans := []Plan{
		{Mode: Sequential, Requests: 3, Warmup: 1},
		{Mode: Concurrency, Concurrency: 8, Requests: 20},
		{Mode: Concurrency, Concurrency: 4, Duration: 30 * time.Millisecond},
		{Mode: Rate, Rate: 1000, Requests: 20, Warmup: 2},
		{Mode: Rate, Rate: 500, Arrival: Poisson, MaxInFlight: 2, Duration: 30 * time.Millisecond},
		{Mode: "bad"},
	}
	for _, p := range plans {
		drain(t, Run(context.Background(), p, (&fake{sleep: time.Millisecond}).do))
	}
	for _, p := range interruptPlans {
		ctx, stop := WithStop(context.Background())
		f := &fake{gate: make(chan struct{})}
		ch := Run(ctx, p.plan, f.do)
		waitFor(t, "requests in flight", func() bool { return f.inFlight.Load() >= p.inFlight })
		stop()
		close(f.gate)
		drain(t, ch)

		cctx, cancel := context.WithCancel(context.Background())
		f = &fake{gate: make(chan struct{})}
		ch = Run(cctx, p.plan, f.do)
		waitFor(t, "requests in flight", func() bool { return f.inFlight.Load() >= p.inFlight })
		cancel()
		drain(t, ch)
		close(f.gate)
	}
	checkNoLeak(t, base)
}
