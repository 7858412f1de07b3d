package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/stats"
	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// TestPrefixWarmVsCold runs --prefix-cache warm with a 500-token prefix:
// the cold stage prefills the whole prompt on every request, the warm
// stage's warm-up primes the cache and its requests are served the 500
// prefix tokens from it; the engine's prefill time is 2 ms + uncached/1000
// s, so the warm stage saves exactly 500 ms of prefill per request.
func TestPrefixWarmVsCold(t *testing.T) {
	p := convProfile()
	s := startSim(t, p)
	st, err := suite.Parse("p.json", []byte(`{"name":"p","scenarios":[{"name":"ask","prompt":"what is the answer to this","max_tokens":8}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Models: []string{p.Name}, Mode: load.Sequential, Concurrency: 1, Requests: 4, Seed: 5, Stream: true,
		CacheBust: true, Endpoint: s.base, Timeout: Duration(30 * time.Second), PrefixTokens: 500, PrefixCache: PrefixWarm}
	if err := cfg.CheckPrefix(); err != nil {
		t.Fatal(err)
	}
	sink := &collect{}
	r := &Runner{Client: backend.New(s.base, backend.Options{Timeout: 30 * time.Second}),
		Engine: engine.Info{Kind: engine.Sim, Endpoint: s.base, Simulated: true},
		Suite:  st, Scenarios: st.Scenarios, Config: cfg, Sinks: []Sink{sink}}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	prompt := 500 + tokens.Estimate("what is the answer to this")
	var cold, warm, primes int
	for _, rec := range sink.recs {
		if rec.Outcome != record.OK {
			t.Fatalf("record %d: %s %s", rec.Seq, rec.Outcome, rec.Error)
		}
		nonce := rec.InputTokens - prompt // the nonce's few tokens
		if nonce < 1 || nonce > 8 {
			t.Fatalf("record %d: input %d, want %d + the nonce", rec.Seq, rec.InputTokens, prompt)
		}
		wantCached := 0
		switch {
		case rec.Stage == StagePrefixWarm && rec.Warmup:
			primes++
		case rec.Stage == StagePrefixWarm:
			wantCached = 500
			warm++
		case rec.Stage == StagePrefixCold && !rec.Warmup:
			cold++
		}
		if rec.CachedTokens != wantCached {
			t.Fatalf("record %d (%s, warm-up %v): cached %d, want %d", rec.Seq, rec.Stage, rec.Warmup, rec.CachedTokens, wantCached)
		}
		wantMS := 2 + float64(rec.InputTokens-wantCached)
		if got := *rec.Server.PromptMS; got < wantMS-1e-6 || got > wantMS+1e-6 {
			t.Fatalf("record %d: prompt_ms %v, want %v", rec.Seq, got, wantMS)
		}
	}
	if cold != 4 || warm != 4 || primes != 1 {
		t.Fatalf("%d cold, %d warm, %d priming requests; want 4, 4, 1", cold, warm, primes)
	}
	var gc, gw *stats.Group
	for i := range res.Groups {
		switch res.Groups[i].Stage {
		case StagePrefixCold:
			gc = &res.Groups[i]
		case StagePrefixWarm:
			gw = &res.Groups[i]
		}
	}
	if gc == nil || gw == nil || gc.CachedShare != nil || gw.CachedShare == nil || gw.CachedTokens != 2000 {
		t.Fatalf("groups: cold %+v, warm %+v", gc, gw)
	}
	if gw.Engine.TTFT.Mean > gc.Engine.TTFT.Mean-500+1e-6 || gw.Engine.TTFT.Mean < gc.Engine.TTFT.Mean-500-1e-6 {
		t.Fatalf("engine TTFT: cold %v, warm %v ms: want 500 ms saved", gc.Engine.TTFT.Mean, gw.Engine.TTFT.Mean)
	}
}

// TestCheckPrefix names the flag of each bad setting.
func TestCheckPrefix(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{PrefixCache: "hot"}, `prefix_cache: must be "cold" or "warm", got "hot"`},
		{Config{PrefixTokens: -1}, "prefix_tokens: must be between 0 and 1048576, got -1"},
		{Config{PrefixCache: PrefixWarm}, `prefix_cache: "warm" needs prefix_tokens`},
		{Config{PrefixCache: PrefixWarm, PrefixTokens: 10, Levels: []float64{1, 2}}, "cannot be combined with a load sweep"},
	} {
		if err := c.cfg.CheckPrefix(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if err := (&Config{PrefixTokens: 10}).CheckPrefix(); err != nil {
		t.Error(err)
	}
}
