package runner

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/suite"
)

// convSuite is a conversation of three generated 30-token user turns
// after a 200-token system prompt.
var convSuite = `{"name":"conv","scenarios":[{"name":"chat","system":"` + strings.TrimSpace(strings.Repeat("word ", 200)) +
	`","conversation":{"turns":3,"user_tokens":30},"max_tokens":20}]}`

// runConversation runs cfg's requests of convSuite against the simulated
// profile p and returns the result and every record.
func runConversation(t *testing.T, p sim.Profile, cfg Config) (*Result, []record.Record) {
	t.Helper()
	s := startSim(t, p)
	st, err := suite.Parse("conv.json", []byte(convSuite))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Models, cfg.Stream, cfg.Endpoint, cfg.CacheBust = []string{p.Name}, true, s.base, true
	cfg.Timeout = Duration(30 * time.Second)
	sink := &collect{}
	r := &Runner{
		Client: backend.New(s.base, backend.Options{Timeout: 30 * time.Second}),
		Engine: engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true},
		Suite:  st, Scenarios: st.Scenarios, Config: cfg, Sinks: []Sink{sink},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, sink.recs
}

// convProfile prefills 1000 tokens/s after a 2 ms base, reports usage and
// llama.cpp timings, and has a prefix cache.
func convProfile() sim.Profile {
	return sim.Profile{Name: "chat", TTFT: 2 * time.Millisecond, PrefillTPS: 1000, DecodeTPS: 20000,
		Usage: true, Timings: true, PrefixCache: 64, Seed: 3}
}

// TestConversationHitsThePrefixCache runs two conversations of three turns
// side by side: every turn carries the whole history, later turns are
// served from the cache up to the end of the previous answer (exact
// cached_tokens), and the engine's prefill time is the simulator's
// 2 ms + uncached/1000 s; the client's TTFT is never below it.
func TestConversationHitsThePrefixCache(t *testing.T) {
	res, recs := runConversation(t, convProfile(), Config{Mode: load.Concurrency, Concurrency: 2, Requests: 6, Seed: 1})
	if len(recs) != 6 {
		t.Fatalf("%d records", len(recs))
	}
	byWorker := map[int][]record.Record{}
	for _, r := range recs {
		byWorker[r.Worker] = append(byWorker[r.Worker], r)
	}
	turns := 0
	for w, rs := range byWorker {
		slices.SortFunc(rs, func(a, b record.Record) int { return int(a.Seq - b.Seq) })
		prev, nonce := record.Record{}, 0
		for i, r := range rs {
			if r.Outcome != record.OK || r.Turn != i%3+1 {
				t.Fatalf("worker %d request %d: outcome %s turn %d", w, i, r.Outcome, r.Turn)
			}
			// System 200 + the nonce's few tokens, then per turn 30
			// user tokens and the previous answers' 20 tokens.
			if r.Turn == 1 {
				nonce = r.InputTokens - 230
				if nonce < 1 || nonce > 8 {
					t.Fatalf("turn 1: input %d, want 230 + the nonce's tokens", r.InputTokens)
				}
			}
			wantIn := 200 + nonce + 30*r.Turn + 20*(r.Turn-1)
			wantCached := 0
			if r.Turn > 1 {
				wantCached = prev.InputTokens + prev.OutputTokens
			}
			if r.InputTokens != wantIn || r.OutputTokens != 20 || r.CachedTokens != wantCached {
				t.Fatalf("worker %d turn %d: input %d output %d cached %d, want %d, 20, %d",
					w, r.Turn, r.InputTokens, r.OutputTokens, r.CachedTokens, wantIn, wantCached)
			}
			wantMS := 2 + float64(wantIn-wantCached)
			if got := *r.Server.PromptMS; got < wantMS-1e-6 || got > wantMS+1e-6 {
				t.Fatalf("turn %d: engine prompt_ms %v, want %v", r.Turn, got, wantMS)
			}
			if ttft, _ := r.TTFT(); ttft < time.Duration(wantMS*float64(time.Millisecond)) {
				t.Fatalf("turn %d: TTFT %v below the prefill time %v ms", r.Turn, ttft, wantMS)
			}
			if r.Turn == 3 && wantIn-wantCached != 30 {
				t.Fatalf("turn 3 prefilled %d tokens, want only its 30 new ones", wantIn-wantCached)
			}
			prev = r
			turns++
		}
	}
	if turns != 6 {
		t.Fatalf("%d turns", turns)
	}
	// The summary's per-turn figures are the records' own.
	tf := res.Groups[0].Turns
	if len(tf) != 3 {
		t.Fatalf("summary turns: %+v", tf)
	}
	for _, f := range tf {
		var in, cached, n int
		for _, r := range recs {
			if r.Turn == f.Turn {
				in, cached, n = in+r.InputTokens, cached+r.CachedTokens, n+1
			}
		}
		if f.OK != n || f.TTFT.N != n || f.InputTokens != float64(in)/float64(n) || f.CachedTokens != float64(cached)/float64(n) ||
			f.CachedShare == nil || *f.CachedShare != float64(cached)/float64(in) {
			t.Fatalf("turn %d figures %+v, want ok %d, input %d/%d, cached %d/%d", f.Turn, f, n, in, n, cached, n)
		}
		if (f.Turn == 1) != (cached == 0) {
			t.Fatalf("turn %d: cached %d", f.Turn, cached)
		}
	}
	if res.Models[0].Turns != nil {
		t.Fatal("the model row carries per-turn figures")
	}
}

// TestConversationEndsAtAFailedTurn checks that a failed turn ends its
// conversation: the worker's next request starts turn 1 of a new one.
func TestConversationEndsAtAFailedTurn(t *testing.T) {
	p := convProfile()
	p.Faults.Status500 = 0.35
	res, recs := runConversation(t, p, Config{Mode: load.Sequential, Concurrency: 1, Requests: 30, Seed: 1})
	slices.SortFunc(recs, func(a, b record.Record) int { return int(a.Seq - b.Seq) })
	failed := 0
	for i, r := range recs {
		want := 1
		if i > 0 && recs[i-1].Outcome == record.OK && recs[i-1].Turn < 3 {
			want = recs[i-1].Turn + 1
		}
		if r.Turn != want {
			t.Fatalf("request %d: turn %d after turn %d (%s), want %d", i, r.Turn, recs[i-1].Turn, recs[i-1].Outcome, want)
		}
		if r.Outcome != record.OK {
			failed++
		} else if r.Turn > 1 && r.CachedTokens == 0 {
			t.Fatalf("request %d: turn %d of a conversation missed the cache", i, r.Turn)
		}
	}
	if failed == 0 || failed == len(recs) {
		t.Fatalf("%d of %d failed", failed, len(recs))
	}
	// Per turn, the requests count the failed ones too.
	for _, f := range res.Groups[0].Turns {
		n, ok := 0, 0
		for _, r := range recs {
			if r.Turn == f.Turn {
				n++
				if r.Outcome == record.OK {
					ok++
				}
			}
		}
		if f.Requests != n || f.OK != ok {
			t.Errorf("turn %d: %d/%d in the summary, %d/%d records", f.Turn, f.OK, f.Requests, ok, n)
		}
	}
}

// TestConversationOnOllamaNative runs a conversation on the simulated
// Ollama's native /api/chat, which reports no cached tokens. As the real
// Ollama 0.6.5 does (CI's TestRealEngines/ollama-ci/conversation-and-num-ctx),
// it counts the whole prompt in prompt_eval_count, so no hit can be read
// and none may be reported: each turn's input is the previous turn's input
// + output + the 30 new tokens, cached 0. An Ollama that counts only the
// tokens it evaluated (CacheAsEvaluated) shows a drop: the runner reads the
// hit from it (the previous turn's input + output), and the input is the
// evaluated tokens plus the cached ones.
func TestConversationOnOllamaNative(t *testing.T) {
	for _, evaluated := range []bool{false, true} {
		t.Run(fmt.Sprintf("evaluated-only=%v", evaluated), func(t *testing.T) { conversationOnOllama(t, evaluated) })
	}
}

func conversationOnOllama(t *testing.T, evaluated bool) {
	p := convProfile()
	p.Name, p.Timings, p.CacheAsEvaluated = "chat:1b", false, evaluated
	o, err := dialect.NewOllama(p)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(o)
	t.Cleanup(ts.Close)
	st, err := suite.Parse("conv.json", []byte(convSuite))
	if err != nil {
		t.Fatal(err)
	}
	sink := &collect{}
	r := &Runner{
		Client: backend.NewOllamaNative(ts.URL, backend.Options{Timeout: 30 * time.Second}),
		Engine: engine.Info{Kind: engine.Ollama, Endpoint: ts.URL},
		Suite:  st, Scenarios: st.Scenarios, Sinks: []Sink{sink},
		Config: Config{Models: []string{p.Name}, Mode: load.Sequential, Concurrency: 1, Requests: 3, Seed: 2, Stream: true,
			CacheBust: true, Endpoint: ts.URL, Timeout: Duration(30 * time.Second)},
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := sink.recs
	slices.SortFunc(recs, func(a, b record.Record) int { return int(a.Seq - b.Seq) })
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		if r.Outcome != record.OK || r.Turn != i+1 || r.InputSource != record.SourceEngine {
			t.Fatalf("turn %d: %s, turn %d, input source %q (%s)", i+1, r.Outcome, r.Turn, r.InputSource, r.Error)
		}
		prev := 0
		if i > 0 {
			prev = recs[i-1].InputTokens + recs[i-1].OutputTokens
		}
		want := 0
		if evaluated {
			want = prev
		}
		if r.CachedTokens != want || i > 0 && r.InputTokens != prev+30 {
			t.Fatalf("turn %d: input %d cached %d, want input %d (30 new tokens) and cached %d", i+1, r.InputTokens, r.CachedTokens, prev+30, want)
		}
	}
}

// TestConversationTTFTFollowsPrefill checks the client's own TTFT, not
// only the engine's: on a model prefilling 10,000 tokens/s, turn 1 of a
// conversation with a 3,000-token system prompt waits 300 ms more than the
// base, and turn 2, served all but its 50 new tokens from the cache, only
// 5 ms more. A timing-precision test: skipped with -short.
func TestConversationTTFTFollowsPrefill(t *testing.T) {
	if testing.Short() {
		t.Skip("timing precision")
	}
	p := sim.Profile{Name: "chat", TTFT: 5 * time.Millisecond, PrefillTPS: 10000, DecodeTPS: 20000, Usage: true, PrefixCache: 64}
	s := startSim(t, p)
	st, err := suite.Parse("conv.json", []byte(`{"name":"c","scenarios":[{"name":"chat","system":"`+
		strings.TrimSpace(strings.Repeat("word ", 3000))+`","conversation":{"turns":2,"user_tokens":30},"max_tokens":20}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sink := &collect{}
	r := &Runner{Client: backend.New(s.base, backend.Options{Timeout: 30 * time.Second}),
		Engine: engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true}, Suite: st, Scenarios: st.Scenarios, Sinks: []Sink{sink},
		Config: Config{Models: []string{"chat"}, Mode: load.Sequential, Concurrency: 1, Requests: 6, Seed: 4, Stream: true,
			CacheBust: true, Endpoint: s.base, Timeout: Duration(30 * time.Second)}}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, rec := range sink.recs {
		ttft, _ := rec.TTFT()
		want := 5*time.Millisecond + time.Duration(float64(rec.InputTokens-rec.CachedTokens)/10000*float64(time.Second))
		// Never below the schedule; above it by the client's and the
		// shared machine's delays (a loaded 2-core machine adds tens of
		// milliseconds), bounded well below the 300 ms a cache miss would
		// add to turn 2.
		slack := 100*time.Millisecond + want/4
		if rec.Outcome != record.OK || ttft < want || ttft > want+slack {
			t.Errorf("turn %d (%d input, %d cached): TTFT %v, want %v to %v", rec.Turn, rec.InputTokens, rec.CachedTokens, ttft, want, want+slack)
		}
	}
}

// TestAnsweredReadsOllamaHits checks when a drop in Ollama's input count
// is read as a cache hit: after a whole answer without reasoning, and when
// what was evaluated is about the new message; a count near the previous
// context is a truncated prompt, and other engines' counts are never read
// so.
func TestAnsweredReadsOllamaHits(t *testing.T) {
	user := strings.TrimSpace(strings.Repeat("word ", 30)) // 30 tokens
	for _, c := range []struct {
		name      string
		evaluated bool
		prev, in  int
		want      int // cached tokens read
	}{
		{"hit", true, 1000, 35, 1000},
		{"truncated to num_ctx", true, 3000, 2048, 0},
		{"no drop", true, 1000, 1035, 0},
		{"not Ollama", false, 1000, 35, 0},
	} {
		conv := &conversation{context: c.prev}
		rec := record.Record{Outcome: record.OK, InputTokens: c.in, InputSource: record.SourceEngine, OutputTokens: 10}
		conv.answered(&rec, user, c.evaluated)
		if rec.CachedTokens != c.want || c.want > 0 && rec.InputTokens != c.in+c.want {
			t.Errorf("%s: cached %d input %d, want cached %d", c.name, rec.CachedTokens, rec.InputTokens, c.want)
		}
	}
	// After a cut answer or one with reasoning, the next turn reads no hit.
	for _, prev := range []record.Record{
		{Outcome: record.OK, InputTokens: 900, OutputTokens: 100, AnswerCut: true},
		{Outcome: record.OK, InputTokens: 900, OutputTokens: 100, ReasonChunk: 3},
	} {
		conv := &conversation{}
		conv.answered(&prev, user, true)
		next := record.Record{Outcome: record.OK, InputTokens: 35, InputSource: record.SourceEngine}
		conv.answered(&next, user, true)
		if next.CachedTokens != 0 || conv.sent != 2 {
			t.Errorf("after %+v: cached %d", prev, next.CachedTokens)
		}
	}
}
