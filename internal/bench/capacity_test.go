package bench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	mstats "github.com/aclements/go-moremath/stats"

	"flperf/internal/capacity"
	"flperf/internal/engine"
	"flperf/internal/runner"
	"flperf/internal/sim"
	"flperf/internal/stats"
)

// simCapacity is the true capacity of a simulated model under one
// objective on TTFT or E2E for levels of n requests, derived from the
// simulator's schedule (package sim): with Jitter 0 every request takes
// S = TTFT + (M−1)/DecodeTPS once it has a slot, and a closed loop of c
// streams on N slots settles into rounds of S in which the N slots take N
// requests at once, c−N of which waited a whole round (c ≤ 2N). So a
// fraction w = (c−N)/N of the requests are S slower than the bare figure,
// and the level passes exactly when the upper end of the percentile's
// confidence interval (its order statistic, stats' method) falls among
// the bare ones: HiOrder ≤ n·(1−w). A level too close to call panics, so
// that the test never depends on luck; the machine's own hiccups (a slow
// request now and then) can only push a few bare requests up, which the
// margin absorbs.
func simCapacity(p sim.Profile, tokens, n int, o capacity.Objective) int {
	s := float64(p.TTFT)/1e6 + float64(tokens-1)/p.DecodeTPS*1000 // ms
	bare := float64(p.TTFT) / 1e6
	if o.Metric == capacity.E2E {
		bare = s
	}
	target := float64(o.Target) / 1e6
	if bare > target || bare+s <= target {
		panic("the objective does not separate waiting requests from others")
	}
	hi := mstats.QuantileCI(n, o.Percentile/100, stats.Confidence).HiOrder
	best := 0
	for c := 1; c <= 2*p.Slots; c++ {
		w := float64(max(c-p.Slots, 0)) / float64(p.Slots)
		nbare := float64(n) * (1 - w)
		if math.Abs(float64(hi)-nbare) < 0.08*float64(n) {
			panic(fmt.Sprintf("c=%d is too close to call: bound at order %d, %.0f bare requests", c, hi, nbare))
		}
		if float64(hi) > nbare {
			break
		}
		best = c
	}
	return best
}

// startSimEngine serves profiles on a loopback port as a simulated engine.
func startSimEngine(t *testing.T, profiles ...sim.Profile) *Engine {
	t.Helper()
	r, err := sim.Start("", profiles...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &Engine{Info: engine.Info{Kind: engine.Sim, Endpoint: r.URL, Simulated: true, Version: sim.Version, DetectedBy: "test"}, Builtin: true}
}

// runCapacity resolves, prepares and runs one capacity search.
func runCapacity(t *testing.T, eng *Engine, model string, tokens int, cs CapacitySpec, start, requests int) *runner.Result {
	t.Helper()
	spec := &Spec{Models: []string{model}, Scenarios: []string{"Simple Q&A - Short"}, MaxTokens: tokens, Warmup: intp(1),
		SampleInterval: "off", Timeout: "2s", Concurrency: intp(start), Requests: intp(requests)}
	cr, err := ResolveCapacity(spec, cs, Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), cr.Resolved, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunCapacity(context.Background(), cr, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Capacity == nil {
		t.Fatal("no capacity result")
	}
	return res
}

func TestCapacityFindsTheSimulatorsLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 40 s of simulated load")
	}
	const n = 60 // requests per level
	// Times of tens of milliseconds, so that a loaded machine's delays of
	// a few stay well inside every margin.
	p1 := sim.Profile{Name: "two-slots", TTFT: 20 * time.Millisecond, DecodeTPS: 500, Slots: 2, Usage: true, Seed: 1}
	p2 := sim.Profile{Name: "four-slots", TTFT: 20 * time.Millisecond, DecodeTPS: 1000, Slots: 4, Usage: true, Seed: 2}
	eng := startSimEngine(t, p1, p2)
	for _, c := range []struct {
		p      sim.Profile
		tokens int
		slo    string
	}{
		{p1, 20, "ttft_p50=45ms"},                // S = 58 ms: 2 (at 3 streams half the requests wait)
		{p1, 20, "e2e_p75=90ms,tpot_p50=5ms"},    // bare E2E 58 ms; TPOT 2 ms holds at any load: 2
		{p2, 30, "ttft_p50=40ms,tpot_p90=4ms"},   // S = 49 ms: 5 (a quarter waits; the p50's bound is below)
		{p2, 30, "e2e_p75=80ms"},                 // bare E2E 49 ms: 4 (at 5 a quarter waits: the p75's bound is among them)
		{p2, 30, "ttft_p50=40ms,tpot_p50=500us"}, // TPOT 1 ms > 0.5 ms: no level
	} {
		slo, err := capacity.ParseSLO(c.slo)
		if err != nil {
			t.Fatal(err)
		}
		want := math.MaxInt
		for _, o := range slo {
			if o.Metric == capacity.TPOT {
				if float64(o.Target) < 1e9/c.p.DecodeTPS {
					want = 0
				}
				continue
			}
			want = min(want, simCapacity(c.p, c.tokens, n, o))
		}
		// A loaded machine only ever adds latency, so it can make the
		// search find less than the schedule's capacity, never more: every
		// try must stay at or below it. The exact level (and the first
		// failing one above it, and a re-run of it alone passing again) is
		// required of one of up to three tries, so that a burst of other
		// work on a shared 2-core machine does not fail the test while a
		// search that misjudges levels still does.
		var why []string
		for try := 1; try <= 3; try++ {
			res := runCapacity(t, eng, c.p.Name, c.tokens, CapacitySpec{SLO: c.slo}, 1, n)
			got := res.Config.Capacity
			t.Logf("%s %s (try %d): %s", c.p.Name, c.slo, try, got.Answer)
			if got.Level != nil && int(*got.Level) > want {
				t.Fatalf("%s %s: capacity %v, above the %d the schedule allows\n%+v", c.p.Name, c.slo, *got.Level, want, got.Levels)
			}
			// The run holds one stage per level tried, each with its requests.
			if res.Status != runner.Completed || len(res.Groups) != len(got.Levels) {
				t.Fatalf("status %s, %d groups for %d levels", res.Status, len(res.Groups), len(got.Levels))
			}
			for i, l := range got.Levels {
				if g := res.Groups[i]; g.Stage != l.Stage || g.Requests != n || l.Requests != n {
					t.Fatalf("level %d: group %s/%d, level %s/%d", i, g.Stage, g.Requests, l.Stage, l.Requests)
				}
			}
			if want == 0 {
				if got.Level != nil || got.FirstFailing == nil || got.FirstFailing.Level != 1 {
					t.Fatalf("%s %s: want no level, got %v (first failing %+v)", c.p.Name, c.slo, got.Level, got.FirstFailing)
				}
				why = nil
				break
			}
			if got.Level == nil || int(*got.Level) != want {
				why = append(why, fmt.Sprintf("try %d: capacity %v, the schedule says %d: %+v", try, got.Level, want, got.Levels))
				continue
			}
			if got.FirstFailing == nil || int(got.FirstFailing.Level) != want+1 {
				why = append(why, fmt.Sprintf("try %d: first failing %+v, want %d", try, got.FirstFailing, want+1))
				continue
			}
			// A re-run of the level found, alone, passes again.
			again := runCapacity(t, eng, c.p.Name, c.tokens, CapacitySpec{SLO: c.slo, MaxLevel: ptr(float64(want))}, want, n).Config.Capacity
			if again.Level == nil || int(*again.Level) != want || len(again.Levels) != 1 {
				why = append(why, fmt.Sprintf("try %d: the re-run of %d: %s", try, want, again.Answer))
				continue
			}
			why = nil
			break
		}
		if why != nil {
			t.Fatalf("%s %s: no try found the schedule's capacity exactly:\n%s", c.p.Name, c.slo, strings.Join(why, "\n"))
		}
	}
}

func TestCapacityStopsWithinMaxTime(t *testing.T) {
	// 441 requests a level (a p99) of 58 ms each take 26 s at 1 stream:
	// a 4 s budget with a 2 s request timeout stops scheduling at 2 s.
	p := sim.Profile{Name: "two-slots", TTFT: 20 * time.Millisecond, DecodeTPS: 500, Slots: 2, Usage: true, Seed: 1}
	eng := startSimEngine(t, p)
	t0 := time.Now()
	res := runCapacity(t, eng, p.Name, 20, CapacitySpec{SLO: "ttft_p99=1s", MaxTime: "4s"}, 1, 0)
	took := time.Since(t0)
	got := res.Config.Capacity
	if took > 4*time.Second {
		t.Fatalf("the search took %s, over its 4 s budget", took)
	}
	if got.Level != nil || len(got.Levels) != 1 || got.Levels[0].Complete || !strings.Contains(got.Stop, "time budget (4s) ran out during 1 concurrent stream") {
		t.Fatalf("level %v, levels %+v, stop %q", got.Level, got.Levels, got.Stop)
	}
	if !strings.Contains(got.Answer, "search ended: the time budget") {
		t.Errorf("answer %q", got.Answer)
	}
}

func TestResolveCapacityProblems(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		cs   CapacitySpec
		want string
	}{
		{Spec{Scenarios: []string{"Simple Q&A - Short"}}, CapacitySpec{SLO: "ttft=1s"}, "slo: slo: \"ttft\""},
		{Spec{}, CapacitySpec{SLO: "ttft_p99=1s"}, "scenarios: a capacity search measures one scenario; pick one of: Simple Q&A - Short;"},
		{Spec{Scenarios: []string{"Simple Q&A - Short"}, Rate: ptr(2.0)}, CapacitySpec{SLO: "ttft_p99=1s"}, "rate: a search by concurrency"},
		{Spec{Scenarios: []string{"Simple Q&A - Short"}}, CapacitySpec{SLO: "ttft_p99=1s", By: "tokens"}, `by: must be concurrency or rate, got "tokens"`},
		{Spec{Scenarios: []string{"Simple Q&A - Short"}, Duration: "1m"}, CapacitySpec{SLO: "ttft_p99=1s"}, "duration: each level"},
		{Spec{Scenarios: []string{"Simple Q&A - Short"}, Timeout: "2m"}, CapacitySpec{SLO: "ttft_p99=1s", MaxTime: "1m"}, "max_time: must be longer than the per-request timeout (2m0s)"},
		{Spec{Scenarios: []string{"Simple Q&A - Short"}, Models: []string{"a", "b"}}, CapacitySpec{SLO: "ttft_p99=1s"}, "models: a capacity search measures one model"},
		{Spec{Scenarios: []string{"Simple Q&A - Short"}, Concurrency: intp(8)}, CapacitySpec{SLO: "ttft_p99=1s", MaxLevel: ptr(4.0)}, "max_level: must be a number from the first level (8)"},
		{Spec{Scenarios: []string{"Simple Q&A - Short"}, PrefixTokens: 100, PrefixCache: "warm"}, CapacitySpec{SLO: "ttft_p99=1s"}, "prefix_cache: a capacity search runs its own load levels"},
	} {
		_, err := ResolveCapacity(&c.spec, c.cs, Check{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v %+v: error %v, want %q", c.spec, c.cs, err, c.want)
		}
	}
	cr, err := ResolveCapacity(&Spec{Scenarios: []string{"Simple Q&A - Short"}, Rate: ptr(0.5), Requests: intp(10)}, CapacitySpec{SLO: "ttft_p95=1s", By: "rate"}, Check{})
	if err != nil {
		t.Fatal(err)
	}
	if cr.Params.Start != 0.5 || cr.Params.Requests != 90 || cr.Config.Requests != 90 || cr.Config.Rate != 0.5 || cr.Params.MaxTime != DefaultCapacityTime {
		t.Fatalf("params %+v config %+v", cr.Params, cr.Config)
	}
}

func ptr[T any](v T) *T { return &v }
