package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/tokens"
)

// statuses sends n non-streaming requests one after another and returns
// their statuses (0 for a transport error).
func statuses(t *testing.T, c *http.Client, base string, n int) []int {
	t.Helper()
	var out []int
	for range n {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
			bytesReader(chatBody("m", "x", false, map[string]any{"max_tokens": 2})))
		resp, err := c.Do(req)
		if err != nil {
			out = append(out, 0)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	return out
}

func TestFaultStatusAlways(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		f      Faults
		status int
		typ    string
	}{
		{Faults{Status429: 1}, 429, "rate_limit_error"},
		{Faults{Status500: 1}, 500, "server_error"},
		{Faults{Status503: 1}, 503, "server_error"},
	} {
		p := fast("m")
		p.Faults = tc.f
		s, base, c := start(t, p)
		for i := range 20 {
			stream := i%2 == 0
			resp := post(t, context.Background(), c, base, chatBody("m", "x", stream, nil))
			e := decodeError(t, resp, tc.status)
			if e.Type != tc.typ || !strings.Contains(e.Message, "simulated") {
				t.Errorf("%d: error %+v", tc.status, e)
			}
			if ra := resp.Header.Get("Retry-After"); (tc.status != 500) != (ra != "") {
				t.Errorf("%d: Retry-After %q", tc.status, ra)
			}
		}
		if st := s.Stats(); st.Requests != 20 || st.MaxInFlight != 0 {
			t.Errorf("%d: stats %+v: want 20 requests, none generated", tc.status, st)
		}
	}
}

func TestFaultProbability(t *testing.T) {
	checkLeaks(t)
	p := fast("m")
	p.Faults = Faults{Status429: 0.3, Status503: 0.1}
	_, base, c := start(t, p)
	got := statuses(t, c, base, 200)
	count := map[int]int{}
	for _, st := range got {
		count[st]++
	}
	// Binomial(200, 0.3): mean 60, sd 6.5; (200, 0.1): mean 20, sd 4.2.
	if count[429] < 30 || count[429] > 90 || count[503] < 5 || count[503] > 40 || count[200]+count[429]+count[503] != 200 {
		t.Errorf("statuses %v: want about 60 × 429, 20 × 503, the rest 200", count)
	}
}

func TestFaultSameSeed(t *testing.T) {
	checkLeaks(t)
	seq := func(seed int64) []int {
		p := fast("m")
		p.Seed = seed
		p.Faults = Faults{Status429: 0.2, Status500: 0.2, Cut: 0.2}
		_, base, c := start(t, p)
		return statuses(t, c, base, 60)
	}
	a := seq(11)
	if !slices.Contains(a, 0) || !slices.Contains(a, 429) || !slices.Contains(a, 500) || !slices.Contains(a, 200) {
		t.Fatalf("sequence %v lacks some outcome", a)
	}
	if b := seq(11); !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if b := seq(12); slices.Equal(a, b) {
		t.Errorf("different seeds, same faults %v", a)
	}
}

func TestFaultCut(t *testing.T) {
	checkLeaks(t)
	p := fast("m")
	p.RoleChunk = true
	p.Faults = Faults{Cut: 1}
	s, base, c := start(t, p)
	tr := trace(s)
	resp := post(t, context.Background(), c, base, chatBody("m", "x", true, map[string]any{"max_tokens": 20}))
	frames, err := readSSE(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("cut stream ended cleanly")
	}
	text := ""
	for _, f := range frames {
		if f.data == "[DONE]" {
			t.Fatal("cut stream sent [DONE]")
		}
		var ch chunkJSON
		if err := json.Unmarshal([]byte(f.data), &ch); err != nil {
			t.Fatalf("frame %q: %v", f.data, err)
		}
		if ch.Choices[0].FinishReason != nil {
			t.Error("cut stream sent a finish chunk")
		}
		if d := ch.Choices[0].Delta.Content; d != nil {
			text += *d
		}
	}
	if n := tokens.Estimate(text); n != 10 {
		t.Errorf("%d tokens before the cut, want 10 (half of 20)", n)
	}
	waitFor(t, "the cut request to end", func() bool { return len(tr.of(1, End)) == 1 })
	if e := tr.one(t, 1, End); e.Tokens != 10 {
		t.Errorf("End.Tokens %d, want 10", e.Tokens)
	}
	// Non-streaming: no answer at all.
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", bytesReader(chatBody("m", "x", false, nil)))
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("non-streaming cut request got status %d", resp.StatusCode)
	}
	waitFor(t, "nothing in flight", func() bool { return s.Stats().InFlight == 0 })
}

func TestFaultMalformed(t *testing.T) {
	checkLeaks(t)
	p := fast("m")
	p.Faults = Faults{Malformed: 1}
	_, base, c := start(t, p)
	resp := post(t, context.Background(), c, base, chatBody("m", "x", true, map[string]any{"max_tokens": 8}))
	frames, err := readSSE(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	bad, text := 0, ""
	for i, f := range frames {
		var ch chunkJSON
		switch {
		case f.data == "[DONE]":
		case json.Unmarshal([]byte(f.data), &ch) != nil:
			bad++
			if text == "" {
				t.Errorf("malformed frame %d comes before any token", i)
			}
		case len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != nil:
			text += *ch.Choices[0].Delta.Content
		}
	}
	if bad != 1 || frames[len(frames)-1].data != "[DONE]" || tokens.Estimate(text) != 8 {
		t.Errorf("%d malformed frames, last %q, %d tokens: want 1, [DONE], 8", bad, frames[len(frames)-1].data, tokens.Estimate(text))
	}
	// Non-streaming: an unparsable body.
	resp = post(t, context.Background(), c, base, chatBody("m", "x", false, nil))
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v any
	if resp.StatusCode != 200 || json.Unmarshal(b, &v) == nil {
		t.Errorf("non-streaming malformed answer: %d %s", resp.StatusCode, b)
	}
}

// TestFaultStall checks that a stall delays the rest of the schedule by
// StallFor at the configured point.
func TestFaultStall(t *testing.T) {
	checkLeaks(t)
	const (
		ttft  = 5 * time.Millisecond
		tps   = 1000
		stall = 120 * time.Millisecond
		n     = 8
	)
	for _, at := range []int{-1, 0, 3, n} {
		p := Profile{Name: "m", TTFT: ttft, DecodeTPS: tps, Faults: Faults{Stall: 1, StallFor: stall, StallAt: at}}
		s, base, c := start(t, p)
		tr := trace(s)
		_, done := stream(t, c, base, chatBody("m", "x", true, map[string]any{"max_tokens": n}))
		if !done {
			t.Errorf("StallAt %d: no [DONE]", at)
		}
		slot, hdr, end := tr.one(t, 1, Slot), tr.one(t, 1, Headers), tr.one(t, 1, End)
		if h := hdr.At.Sub(slot.At); (at < 0) != (h >= stall) {
			t.Errorf("StallAt %d: headers %v after the slot", at, h)
		}
		evs := tr.of(1, Chunk)
		for i, e := range evs {
			want := ttft + time.Duration(i)*time.Second/tps
			if at < 0 || i >= at {
				want += stall
			}
			if got := e.Due.Sub(slot.At); got < want-time.Microsecond || got > want+time.Microsecond {
				t.Errorf("StallAt %d: token %d due %v after the slot, want %v", at, i, got, want)
			}
			if e.At.Before(e.Due) {
				t.Errorf("StallAt %d: token %d flushed early", at, i)
			}
		}
		if at == n {
			if d := end.At.Sub(evs[n-1].Due); d < stall {
				t.Errorf("StallAt %d: finished %v after the last token was due, want ≥ %v", at, d, stall)
			}
		}
	}
}
