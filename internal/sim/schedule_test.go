package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/tokens"
)

// TestScheduleExact checks that chunks go out when the schedule says: the
// server's own due times exactly (first + i/DecodeTPS from the Slot event),
// none flushed early, and the flush times close to the due times (median
// within 2 ms, none more than 20 ms late). The closeness check allows three
// attempts, since a loaded machine can delay any one run; a server that
// drifts or sleeps relative durations fails all three. Under the race
// detector, which slows everything many times, it is only logged.
func TestScheduleExact(t *testing.T) {
	checkLeaks(t)
	for _, per := range []int{1, 4} {
		t.Run(map[int]string{1: "1-per-chunk", 4: "4-per-chunk"}[per], func(t *testing.T) {
			var problem string
			for attempt := 1; attempt <= 3; attempt++ {
				if problem = scheduleRun(t, per); problem == "" {
					return
				}
				t.Logf("attempt %d: %s", attempt, problem)
			}
			if !raceOn {
				t.Error(problem)
			}
		})
	}
}

// scheduleRun streams one request with per tokens per chunk, fails t on any
// exact mismatch and returns a description of a timing problem, if any.
func scheduleRun(t *testing.T, per int) string {
	t.Helper()
	const (
		ttft = 30 * time.Millisecond
		tps  = 250 // 4 ms a token
		n    = 40
	)
	s, base, c := start(t, Profile{Name: "m", TTFT: ttft, DecodeTPS: tps, TokensPerChunk: per})
	tr := trace(s)
	chunks, done := stream(t, c, base, chatBody("m", "hello", true, map[string]any{"max_tokens": n}))
	if !done {
		t.Error("no [DONE]")
	}
	slot := tr.one(t, 1, Slot)
	evs := tr.of(1, Chunk)
	if len(evs) != n/per {
		t.Fatalf("%d chunk events, want %d", len(evs), n/per)
	}
	if got := len(chunks); got != n/per+1 { // plus the finish chunk
		t.Errorf("%d chunks on the wire, want %d", got, n/per+1)
	}
	var late []time.Duration
	sent := 0
	for i, e := range evs {
		if e.Tokens != per {
			t.Errorf("chunk %d: %d tokens, want %d", i, e.Tokens, per)
		}
		sent += e.Tokens
		want := slot.At.Add(ttft + time.Duration(float64(sent-1)*1e9/tps))
		if d := e.Due.Sub(want); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("chunk %d: due %v after the slot, want %v", i, e.Due.Sub(slot.At), want.Sub(slot.At))
		}
		if e.At.Before(want) {
			t.Errorf("chunk %d flushed %v early", i, want.Sub(e.At))
		}
		late = append(late, e.At.Sub(want))
	}
	if end := tr.one(t, 1, End); end.Tokens != n {
		t.Errorf("End.Tokens = %d, want %d", end.Tokens, n)
	}
	slices.Sort(late)
	med, mx := late[len(late)/2], late[len(late)-1]
	t.Logf("lateness: median %v, max %v", med, mx)
	if med > 2*time.Millisecond || mx > 20*time.Millisecond {
		return fmt.Sprintf("lateness median %v (want ≤ 2ms), max %v (want ≤ 20ms); all: %v", med, mx, late)
	}
	return ""
}

// TestScheduleJitter checks that jitter stays within its bounds, really
// varies the gaps, and repeats exactly with the same seed.
func TestScheduleJitter(t *testing.T) {
	checkLeaks(t)
	const (
		ttft   = 2 * time.Millisecond
		tps    = 5000
		jitter = 0.5
		n      = 50
	)
	offsets := func(seed int64) []time.Duration {
		s, base, c := start(t, Profile{Name: "m", TTFT: ttft, DecodeTPS: tps, Jitter: jitter, Seed: seed})
		tr := trace(s)
		stream(t, c, base, chatBody("m", "hi", true, map[string]any{"max_tokens": n}))
		slot := tr.one(t, 1, Slot)
		var out []time.Duration
		for _, e := range tr.of(1, Chunk) {
			out = append(out, e.Due.Sub(slot.At))
		}
		return out
	}
	a := offsets(7)
	if len(a) != n {
		t.Fatalf("%d chunks, want %d", len(a), n)
	}
	lo, hi := time.Duration(float64(ttft)*(1-jitter)), time.Duration(float64(ttft)*(1+jitter))
	if a[0] < lo || a[0] > hi {
		t.Errorf("first token at %v, want within [%v, %v]", a[0], lo, hi)
	}
	gap := 1e9 / tps
	distinct := map[time.Duration]bool{}
	for i := 1; i < n; i++ {
		g := a[i] - a[i-1]
		if float64(g) < gap*(1-jitter)-1 || float64(g) > gap*(1+jitter)+1 {
			t.Errorf("gap %d = %v, want within ±%.0f%% of %v", i, g, jitter*100, time.Duration(gap))
		}
		distinct[g] = true
	}
	if len(distinct) < n/2 {
		t.Errorf("only %d distinct gaps out of %d: jitter is not applied per gap", len(distinct), n-1)
	}
	if b := offsets(7); !slices.Equal(a, b) {
		t.Errorf("same seed, different schedule:\n%v\n%v", a, b)
	}
	if b := offsets(8); slices.Equal(a, b) {
		t.Error("different seeds gave the same schedule")
	}
}

// TestPrefill checks that TTFT grows by N_in/PrefillTPS: exactly in the due
// times, and within timer tolerance in the flush times.
func TestPrefill(t *testing.T) {
	checkLeaks(t)
	const (
		ttft    = 10 * time.Millisecond
		prefill = 20000.0
	)
	s, base, c := start(t, Profile{Name: "m", TTFT: ttft, PrefillTPS: prefill, DecodeTPS: 1000, Usage: true})
	tr := trace(s)
	short := "hello there"
	long := strings.Repeat("lorem ipsum dolor sit amet, ", 500)
	nLong, nShort := tokens.Estimate(long), tokens.Estimate(short)
	want := time.Duration(float64(nLong-nShort) / prefill * 1e9)
	if want < 50*time.Millisecond {
		t.Fatalf("test prompt too short: prefill difference %v", want)
	}
	var req int64
	var got time.Duration
	// The flush-time check allows three attempts (see TestScheduleExact).
	for attempt := 1; attempt <= 3; attempt++ {
		var first [2]time.Duration
		for i, prompt := range []string{short, long} {
			chunks, _ := stream(t, c, base, chatBody("m", prompt, true, map[string]any{
				"max_tokens": 2, "stream_options": map[string]any{"include_usage": true}}))
			nIn := tokens.Estimate(prompt)
			u := chunks[len(chunks)-1].usage(t)
			if u == nil || u.PromptTokens != nIn {
				t.Fatalf("prompt %d: usage %+v, want prompt_tokens %d", i, u, nIn)
			}
			req++
			slot := tr.one(t, req, Slot)
			ch := tr.of(req, Chunk)[0]
			wantDue := ttft + time.Duration(math.Round(float64(nIn)/prefill*1e9))
			if d := ch.Due.Sub(slot.At) - wantDue; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("prompt %d (%d tokens): first token due %v after the slot, want %v", i, nIn, ch.Due.Sub(slot.At), wantDue)
			}
			if ch.At.Before(ch.Due) {
				t.Errorf("prompt %d: first token flushed before it was due", i)
			}
			first[i] = ch.At.Sub(slot.At)
		}
		got = first[1] - first[0]
		if got >= want-20*time.Millisecond && got <= want+20*time.Millisecond {
			return
		}
		t.Logf("attempt %d: TTFT(long) − TTFT(short) = %v, want about %v", attempt, got, want)
	}
	if !raceOn {
		t.Errorf("TTFT(long) − TTFT(short) = %v, want %v ± 20ms", got, want)
	}
}

// TestSleeperCancel checks that a sleep ends as soon as its context does.
func TestSleeperCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sl := newSleeper(ctx)
	defer sl.stop()
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	if err := sl.until(start.Add(time.Hour)); err != context.Canceled {
		t.Errorf("until = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled sleep took %v", d)
	}
	if err := sl.until(time.Now().Add(-time.Second)); err != context.Canceled {
		t.Errorf("until(past) after cancel = %v, want context.Canceled", err)
	}
}
