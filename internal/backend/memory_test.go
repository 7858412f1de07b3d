package backend

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/memtest"
	"flperf/internal/record"
	"flperf/internal/stats"
)

// Hostile engines: each test below serves what a misbehaving engine could
// send, stops by itself within seconds, and asserts the client's peak heap
// while it runs (README "Memory bounds"). The bounds are generous (the
// garbage collector lags), yet far below what an unbounded client reaches.

const mib = 1 << 20

// hostile serves every request with fn on 127.0.0.1 as an event stream.
func hostile(t *testing.T, fn func(w http.ResponseWriter, fl http.Flusher)) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		fn(w, w.(http.Flusher))
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL+"/v1", Options{Timeout: time.Minute})
}

func textEvent(s string) string {
	return `data: {"choices":[{"delta":{"content":"` + s + `"}}]}` + "\n\n"
}

// A usage object claiming 50,000,000 (or 2^63 − 1) tokens for a few words
// once made the statistics hold one ITL sample per claimed token (GBs). The
// claim is now a token-source disagreement with a warning, its figures come
// from the estimate, and the samples stay those of the events received.
func TestHostileUsageClaim(t *testing.T) {
	for _, claim := range []string{"50000000", "9223372036854775807"} {
		t.Run(claim, func(t *testing.T) {
			c := hostile(t, func(w http.ResponseWriter, fl http.Flusher) {
				for i := range 20 {
					// Continuous usage too, climbing by the claim.
					fmt.Fprintf(w, `data: {"choices":[{"delta":{"content":"word%d "}}],"usage":{"completion_tokens":%d}}`+"\n\n", i, i+1)
				}
				fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"end"}}],"usage":{"completion_tokens":`+claim+`}}`+"\n\n")
				fmt.Fprint(w, `data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":`+claim+`}}`+"\n\ndata: [DONE]\n\n")
			})
			var sum stats.Summary
			recs := make([]record.Record, 3)
			peak := memtest.PeakHeap(func() {
				var agg stats.Aggregator
				for i := range recs {
					recs[i] = record.Record{Seq: int64(i), Model: "m", Scenario: "s"}
					c.Do(context.Background(), chatReq(), &recs[i])
					agg.Add(&recs[i])
				}
				sum = agg.Summary(stats.Options{})
			})
			rec := &recs[0]
			expect(t, rec, record.OK, "")
			if out, src, impossible := rec.Output(); !impossible || src != record.SourceEstimate || out != rec.EstOutTokens || out > 100 {
				t.Errorf("Output() = %d %s %v: want the estimate, the claim marked impossible (record %d %s, %d bytes)", out, src, impossible, rec.OutputTokens, rec.OutputSource, rec.TextBytes)
			}
			if n := len(rec.ITL(nil)); n < 20 || n > 100 {
				t.Errorf("%d ITL samples for 21 events of about one word", n)
			}
			g := sum.Total
			if g.ITL.N != 3*len(rec.ITL(nil)) {
				t.Errorf("summary ITL samples %d", g.ITL.N)
			}
			found := false
			for _, w := range g.Warnings {
				found = found || strings.Contains(w, "3 of 3 ok requests report more output tokens than their text can hold") && strings.Contains(w, claim)
			}
			if !found {
				t.Errorf("no warning about the impossible count in %q", g.Warnings)
			}
			if peak > 50*mib {
				t.Errorf("peak heap growth %d MiB, want < 50", peak/mib)
			}
			t.Logf("peak heap growth %.1f MiB", float64(peak)/mib)
		})
	}
}

// Data lines that never end their event (no blank line) once grew the
// event without limit (3.1 GB in 8 s): the event is held to the line limit
// and the request fails.
func TestHostileEndlessEvent(t *testing.T) {
	line := "data: " + strings.Repeat("x", 64<<10) + "\n"
	c := hostile(t, func(w http.ResponseWriter, fl http.Flusher) {
		fmt.Fprint(w, textEvent("hello"))
		for range 512 << 20 / len(line) { // stops by itself after 512 MiB
			if _, err := fmt.Fprint(w, line); err != nil {
				return
			}
		}
	})
	rec := &record.Record{}
	peak := memtest.PeakHeap(func() { c.Do(context.Background(), chatReq(), rec) })
	expect(t, rec, record.StreamError, record.PhaseStream)
	if !strings.Contains(rec.Error, "stream event longer than 64 MiB") || rec.Text != "hello" {
		t.Errorf("error %q, text %q", rec.Error, rec.Text)
	}
	if peak > 200*mib {
		t.Errorf("peak heap growth %d MiB, want < 200", peak/mib)
	}
	t.Logf("peak heap growth %.1f MiB", float64(peak)/mib)
}

// Every byte of generated text was once kept: 256 KiB deltas reached 3 GB
// before a 10 s timeout. A record keeps its first 2 KiB and counts the rest.
func TestHostileHugeDeltas(t *testing.T) {
	delta := strings.Repeat("abcdefgh ", 256<<10/9)
	const events = 256 // 64 MiB of text, then [DONE]
	c := hostile(t, func(w http.ResponseWriter, fl http.Flusher) {
		ev := textEvent(delta)
		for range events {
			if _, err := fmt.Fprint(w, ev); err != nil {
				return
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	rec := &record.Record{}
	peak := memtest.PeakHeap(func() { c.Do(context.Background(), chatReq(), rec) })
	expect(t, rec, record.OK, "")
	if rec.TextBytes != events*len(delta) || len(rec.Text) != record.TextLimit || rec.EstOutTokens != events*len(delta)/9*2 {
		t.Errorf("text bytes %d, kept %d, estimate %d", rec.TextBytes, len(rec.Text), rec.EstOutTokens)
	}
	if peak > 32*mib {
		t.Errorf("peak heap growth %d MiB, want < 32", peak/mib)
	}
	t.Logf("peak heap growth %.1f MiB for %d MiB of text", float64(peak)/mib, rec.TextBytes/mib)
}

// Eight streams of 100 MB lines once held 886 MB (each up to the 64 MiB
// line limit): sixteen together now hold at most the shared buffer budget,
// and each fails clearly.
func TestHostileLongLinesTogether(t *testing.T) {
	chunk := strings.Repeat("y", 1<<20)
	c := hostile(t, func(w http.ResponseWriter, fl http.Flusher) {
		fmt.Fprint(w, "data: ")
		for range 100 { // a 100 MiB line, then the end of the body
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
	})
	recs := make([]record.Record, 16)
	peak := memtest.PeakHeap(func() {
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() { c.Do(context.Background(), chatReq(), &recs[i]) })
		}
		wg.Wait()
	})
	for i := range recs {
		rec := &recs[i]
		expect(t, rec, record.StreamError, record.PhaseFirstToken)
		if !strings.Contains(rec.Error, "stream line longer than 64 MiB") && !strings.Contains(rec.Error, "responses in flight together buffer more than 128 MiB") {
			t.Errorf("stream %d: error %q", i, rec.Error)
		}
	}
	if left := bufferBudget.left.Load(); left != DefaultBufferBudget {
		t.Errorf("budget left %d after every stream ended, want all of it", left)
	}
	// The collector lets garbage reach about the live heap, and more while
	// it runs: 4 × the budget (16 unbounded streams would hold 16 × 64 MiB,
	// and as much again in garbage).
	if limit := uint64(4 * DefaultBufferBudget); peak > limit {
		t.Errorf("peak heap growth %d MiB, want < %d", peak/mib, limit/mib)
	}
	t.Logf("peak heap growth %.1f MiB", float64(peak)/mib)
}
