package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrent callers of do for one key share one computation, whose value
// is kept; a value not to be kept, a failure, a removeTag meanwhile and a
// panic leave nothing behind.
func TestLRUDo(t *testing.T) {
	ctx := context.Background()
	c := newLRU(8)
	var calls atomic.Int32
	release := make(chan struct{})
	slow := func() (any, bool, error) {
		calls.Add(1)
		<-release
		return "v", true, nil
	}
	var wg sync.WaitGroup
	vals := make([]any, 6)
	for i := range vals {
		wg.Go(func() {
			v, err := c.do(ctx, "k", "t", slow)
			if err != nil {
				t.Error(err)
			}
			vals[i] = v
		})
	}
	time.Sleep(50 * time.Millisecond) // let them pile up (the test holds without it)
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("%d computations for concurrent callers, want 1", calls.Load())
	}
	for i, v := range vals {
		if v != "v" {
			t.Errorf("caller %d got %v", i, v)
		}
	}
	if v, ok := c.get("k"); !ok || v != "v" {
		t.Errorf("kept %v %v", v, ok)
	}

	// Not to be kept: computed each time.
	n := 0
	for range 3 {
		c.do(ctx, "live", "t", func() (any, bool, error) { n++; return n, false, nil })
	}
	if _, ok := c.get("live"); ok || n != 3 {
		t.Errorf("a value not to be kept: computed %d times, kept %v", n, ok)
	}
	// A failure is not kept, and the caller waiting on it computes anew.
	fail := errors.New("fail")
	started, fails := make(chan struct{}), make(chan struct{})
	go func() {
		c.do(ctx, "f", "t", func() (any, bool, error) { close(started); <-fails; return nil, true, fail })
	}()
	<-started
	done := make(chan any)
	go func() {
		v, _ := c.do(ctx, "f", "t", func() (any, bool, error) { return "second", true, nil })
		done <- v
	}()
	close(fails)
	if v := <-done; v != "second" {
		t.Errorf("after a failure the waiter got %v", v)
	}
	// A waiter whose context ends stops waiting; the computation goes on.
	hold := make(chan struct{})
	started = make(chan struct{})
	go c.do(ctx, "slow", "t", func() (any, bool, error) { close(started); <-hold; return 1, true, nil })
	<-started
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.do(cctx, "slow", "t", slow); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled waiter: %v", err)
	}
	// removeTag while computing: the value is not kept.
	c.removeTag("t")
	close(hold)
	for {
		c.mu.Lock()
		_, busy := c.flights["slow"]
		c.mu.Unlock()
		if !busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, ok := c.get("slow"); ok {
		t.Error("a value computed across removeTag was kept")
	}
	since := c.removals()
	c.removeTag("other")
	c.putSince("p", "t", 1, since)
	if _, ok := c.get("p"); ok {
		t.Error("putSince kept a value across removeTag")
	}
	// A panic ends the flight.
	func() {
		defer func() { recover() }()
		c.do(ctx, "boom", "t", func() (any, bool, error) { panic("boom") })
	}()
	if v, err := c.do(ctx, "boom", "t", func() (any, bool, error) { return 2, true, nil }); v != 2 || err != nil {
		t.Errorf("after a panic: %v %v", v, err)
	}
}
