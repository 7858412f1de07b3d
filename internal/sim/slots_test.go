package sim

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSlotsQueue sends 5 requests, each once the previous one is placed, to
// a 2-slot model: two generate at once, the rest wait their turn in arrival
// order, and their headers and first chunks come only once a slot frees.
// The first two are held at their Slot event until all five are placed, so
// the outcome does not depend on the machine's speed.
func TestSlotsQueue(t *testing.T) {
	checkLeaks(t)
	const ttft = 20 * time.Millisecond
	s, base, c := start(t, Profile{Name: "m", TTFT: ttft, DecodeTPS: 1000, OutputTokens: 10, Slots: 2})
	tr := trace(s)
	gate := make(chan struct{})
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gate) }) }
	t.Cleanup(release)
	s.SetTrace(func(e Event) {
		tr.mu.Lock()
		tr.ev = append(tr.ev, e)
		tr.mu.Unlock()
		if e.Kind == Slot && e.Req <= 2 {
			<-gate
		}
	})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			chunks, done, err := streamErr(c, base, chatBody("m", "queue", true, nil))
			if err != nil || !done || len(chunks) != 11 {
				t.Errorf("request %d: %d chunks, done %v, error %v", i, len(chunks), done, err)
			}
		})
		// Send the next one only when this one holds a slot or is queued, so
		// that the arrival order is known.
		waitFor(t, "request to be placed", func() bool {
			st := s.Stats()
			return st.Active+st.Queued == int64(i+1)
		})
	}
	if st := s.Stats(); st.Active != 2 || st.Queued != 3 || st.InFlight != 5 {
		t.Errorf("stats %+v with five placed: want 2 active, 3 queued", st)
	}
	release()
	wg.Wait()
	st := s.Stats()
	if st.MaxActive != 2 || st.MaxInFlight != 5 || st.Requests != 5 || st.InFlight != 0 || st.Active != 0 || st.Queued != 0 {
		t.Errorf("stats %+v: want MaxActive 2, MaxInFlight 5, Requests 5, nothing left", st)
	}
	// The queued ones got their slots only after one of the first two had
	// sent its last chunk, in arrival order.
	lastOf := func(req int64) time.Time { ev := tr.of(req, Chunk); return ev[len(ev)-1].At }
	firstDone := lastOf(1)
	if l2 := lastOf(2); l2.Before(firstDone) {
		firstDone = l2
	}
	for req := int64(3); req <= 5; req++ {
		slot := tr.one(t, req, Slot)
		if slot.At.Before(firstDone) {
			t.Errorf("request %d got a slot before either of the first two finished", req)
		}
		if h := tr.one(t, req, Headers); h.At.Before(slot.At) {
			t.Errorf("request %d: headers before its slot", req)
		}
		if prev := tr.one(t, req-1, Slot); !prev.At.Before(slot.At) {
			t.Errorf("request %d got its slot before request %d (not FIFO)", req, req-1)
		}
		first := tr.of(req, Chunk)[0]
		for early := int64(1); early <= 2; early++ {
			if !tr.of(early, Chunk)[0].At.Before(first.At) {
				t.Errorf("queued request %d's first chunk is not later than request %d's", req, early)
			}
		}
		if first.At.Sub(slot.At) < ttft {
			t.Errorf("request %d: first chunk %v after its slot, want ≥ TTFT", req, first.At.Sub(slot.At))
		}
	}
}

// TestSlotsCancel checks that a client that gives up while queued or while
// generating frees its place at once, without waiting for its schedule.
func TestSlotsCancel(t *testing.T) {
	checkLeaks(t)
	s, base, c := start(t, Profile{Name: "m", TTFT: time.Hour, DecodeTPS: 1, Slots: 1})
	tr := trace(s)
	send := func() (context.CancelFunc, <-chan struct{}) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions",
				bytesReader(chatBody("m", "wait", true, nil)))
			resp, err := c.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		return cancel, done
	}
	cancelA, doneA := send()
	waitFor(t, "A to hold the slot", func() bool { return s.Stats().Active == 1 })
	cancelB, doneB := send()
	waitFor(t, "B to queue", func() bool { return s.Stats().Queued == 1 })
	cancelB()
	<-doneB
	waitFor(t, "B to leave the queue", func() bool { st := s.Stats(); return st.Queued == 0 && st.InFlight == 1 })
	cancelC, doneC := send()
	waitFor(t, "C to queue", func() bool { return s.Stats().Queued == 1 })
	cancelA()
	<-doneA
	waitFor(t, "C to get the slot", func() bool { return len(tr.of(3, Slot)) == 1 })
	if len(tr.of(2, Slot)) != 0 {
		t.Error("cancelled queued request B got a slot")
	}
	cancelC()
	<-doneC
	waitFor(t, "everything to end", func() bool { st := s.Stats(); return st.InFlight == 0 && st.Active == 0 })
	if st := s.Stats(); st.MaxActive != 1 {
		t.Errorf("MaxActive %d, want 1", st.MaxActive)
	}
	for req := int64(1); req <= 3; req++ {
		tr.one(t, req, End)
	}
}
