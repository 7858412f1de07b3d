package sim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serveMem serves s on a MemListener until the test ends and returns a
// client that dials it.
func serveMem(t testing.TB, s *Server) (*MemListener, *http.Client) {
	t.Helper()
	ml := NewMemListener()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ml) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	tr := &http.Transport{DialContext: ml.DialContext, MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return ml, &http.Client{Transport: tr}
}

func TestMemListener(t *testing.T) {
	checkLeaks(t)
	s, err := New(Profile{Name: "m", DecodeTPS: 1e5, TokensPerChunk: 2, Usage: true, OutputTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	ml, c := serveMem(t, s)
	const base = "http://sim.invalid"
	r := streamDecoded(t, c, base, chatBody("m", "hi", true, map[string]any{"stream_options": map[string]any{"include_usage": true}}))
	if !r.done || r.usage == nil || r.usage.CompletionTokens != 6 {
		t.Errorf("stream over MemListener: done %v usage %+v", r.done, r.usage)
	}
	resp, err := c.Get(base + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /health: %v", err)
	}
	resp.Body.Close()
	if ml.Addr().Network() != "mem" {
		t.Errorf("Addr().Network() = %q", ml.Addr().Network())
	}

	// A closed listener refuses dials and accepts.
	other := NewMemListener()
	other.Close()
	other.Close()
	if _, err := other.DialContext(context.Background(), "tcp", "x:80"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("dial after Close: %v", err)
	}
	if _, err := other.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
	// A dial nobody accepts ends with its context.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := NewMemListener().DialContext(ctx, "tcp", "x:80"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unaccepted dial: %v", err)
	}
}

// TestMemListenerManyStreams holds thousands of concurrent streams in this
// process and checks that they cost no file descriptors.
func TestMemListenerManyStreams(t *testing.T) {
	checkLeaks(t)
	n := 2000
	if raceOn {
		n = 500
	}
	if testing.Short() {
		n = 200
	}
	s, err := New(Profile{Name: "m", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, TokensPerChunk: 2, OutputTokens: 20, Usage: true})
	if err != nil {
		t.Fatal(err)
	}
	// Hold every request at its slot until all n have one, so that they are
	// all open at once when the descriptors are counted.
	var placed atomic.Int64
	all, gate := make(chan struct{}), make(chan struct{})
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gate) }) }
	t.Cleanup(release)
	s.SetTrace(func(e Event) {
		if e.Kind == Slot {
			if placed.Add(1) == int64(n) {
				close(all)
			}
			<-gate
		}
	})
	_, c := serveMem(t, s)
	fdsBefore := countFDs()

	var wg sync.WaitGroup
	var bad atomic.Int64
	var firstErr atomic.Value
	for range n {
		wg.Go(func() {
			r, done, err := streamErr(c, "http://sim.invalid", chatBody("m", "hi", true, map[string]any{"stream_options": map[string]any{"include_usage": true}}))
			if err == nil && (!done || len(r) == 0 || len(r[len(r)-1].Choices) != 0) {
				err = errors.New("incomplete stream")
			}
			if err != nil {
				bad.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	select {
	case <-all:
	case <-time.After(60 * time.Second):
		release()
		wg.Wait()
		t.Fatalf("only %d of %d requests got a slot", placed.Load(), n)
	}
	fdsDuring := countFDs()
	release()
	wg.Wait()
	if b := bad.Load(); b > 0 {
		t.Errorf("%d of %d streams failed; first: %v", b, n, firstErr.Load())
	}
	if st := s.Stats(); st.MaxInFlight != int64(n) || st.Requests != int64(n) {
		t.Errorf("stats %+v: want %d requests all in flight at once", st, n)
	}
	if fdsBefore >= 0 && fdsDuring > fdsBefore+20 {
		t.Errorf("%d open file descriptors with %d streams open, %d before", fdsDuring, n, fdsBefore)
	}
}

// countFDs returns the number of open file descriptors, -1 if unknown.
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
