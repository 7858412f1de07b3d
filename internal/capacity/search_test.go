package capacity

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"flperf/internal/stats"
)

// fakeEngine is a load level → samples model with a fake clock: each
// request takes perReq of E2E, and a level of concurrency c runs c at a
// time; levels at or below limit answer with TTFT good, above with bad.
type fakeEngine struct {
	t           *testing.T
	by          By
	limit       float64
	good, bad   float64 // TTFT ms
	perReq      time.Duration
	clock       time.Time
	passAt      func(level float64) bool // overrides limit when set
	ran         []float64
	stopAtLevel float64 // the user stops the run during this level (0: never)
}

func (f *fakeEngine) now() time.Time { return f.clock }

func (f *fakeEngine) run(_ context.Context, level float64, n int, budget time.Duration) (Observation, error) {
	f.ran = append(f.ran, level)
	pass := level <= f.limit
	if f.passAt != nil {
		pass = f.passAt(level)
	}
	ttft := f.good
	if !pass {
		ttft = f.bad
	}
	// How long the level takes: n requests, level at a time (a rate
	// level: n/level seconds).
	per := float64(f.perReq) / level
	if f.by == ByRate {
		per = float64(time.Second) / level
	}
	if budget > 0 && time.Duration(per*float64(n)) > budget {
		n = int(float64(budget) / per) // scheduling stops at the budget
	}
	took := time.Duration(per*float64(n)) + f.perReq // the last requests end
	f.clock = f.clock.Add(took)
	obs := Observation{Stage: fmt.Sprintf("L%g", level), Stopped: f.stopAtLevel == level}
	for range n {
		obs.Samples = append(obs.Samples, Sample{TTFT: ttft, TPOT: 10, E2E: ms(f.perReq)})
	}
	obs.Group = stats.Group{Window: took.Seconds(), RequestsPerS: float64(n) / took.Seconds(), OutputTokensPerS: 100 * float64(n) / took.Seconds()}
	return obs, nil
}

var fakeSLO = SLO{{Metric: TTFT, Percentile: 99, Target: 100 * time.Millisecond}, {Metric: TPOT, Percentile: 95, Target: 50 * time.Millisecond}}

func newFake(t *testing.T, by By, limit float64) *fakeEngine {
	return &fakeEngine{t: t, by: by, limit: limit, good: 50, bad: 500, perReq: 100 * time.Millisecond, clock: time.Unix(1e9, 0)}
}

// checkConsistent asserts what every search result must satisfy: the
// reported level passed when run, every tried level is judged the way the
// bracket says, and first_failing is the lowest failing level above it.
func checkConsistent(t *testing.T, r *Result) {
	t.Helper()
	if r.Answer != Line(r) || r.Answer == "" {
		t.Errorf("answer %q is not Line's", r.Answer)
	}
	if r.Level != nil {
		sus := r.Sustained()
		if sus == nil || !sus.Pass || !sus.Complete {
			t.Fatalf("reported level %v did not pass: %+v", *r.Level, sus)
		}
	}
	for _, l := range r.Levels {
		if !l.Complete {
			continue
		}
		if r.Level != nil && l.Level <= *r.Level && !l.Pass && l.Level == *r.Level {
			t.Errorf("level %v both reported and failed", l.Level)
		}
		if l.Pass && r.Level != nil && l.Level > *r.Level {
			t.Errorf("level %v passed but %v was reported", l.Level, *r.Level)
		}
		if !l.Pass && r.FirstFailing != nil && l.Level < r.FirstFailing.Level && (r.Level == nil || l.Level > *r.Level) {
			t.Errorf("level %v failed below first_failing %v", l.Level, r.FirstFailing.Level)
		}
	}
	if r.Level != nil && r.FirstFailing != nil && r.FirstFailing.Level <= *r.Level {
		t.Errorf("first failing %v is not above the level %v", r.FirstFailing.Level, *r.Level)
	}
}

func TestSearchConcurrencyMonotoneEveryLimit(t *testing.T) {
	for limit := 1; limit <= 70; limit++ {
		f := newFake(t, ByConcurrency, float64(limit))
		r, err := Search(context.Background(), Params{By: ByConcurrency, SLO: fakeSLO, Now: f.now}, f.run)
		if err != nil {
			t.Fatal(err)
		}
		checkConsistent(t, r)
		if r.Level == nil || *r.Level != float64(limit) {
			t.Fatalf("limit %d: found %v (tried %v)", limit, r.Level, f.ran)
		}
		if r.FirstFailing == nil || r.FirstFailing.Level != float64(limit+1) {
			t.Fatalf("limit %d: first failing %+v (tried %v)", limit, r.FirstFailing, f.ran)
		}
		if !strings.Contains(r.FirstFailing.Why, "TTFT p99 is 500 ms > 100 ms") {
			t.Errorf("limit %d: why %q", limit, r.FirstFailing.Why)
		}
		// Doubling then bisecting: about 2·log2(limit)+2 levels, never a level twice.
		if max := 2*int(math.Ceil(math.Log2(float64(limit+1)))) + 2; len(f.ran) > max {
			t.Errorf("limit %d: %d levels tried (%v), want at most %d", limit, len(f.ran), f.ran, max)
		}
		seen := map[float64]bool{}
		for _, l := range f.ran {
			if seen[l] {
				t.Errorf("limit %d: level %v tried twice (%v)", limit, l, f.ran)
			}
			seen[l] = true
		}
		for _, l := range r.Levels {
			if l.Requests != 441 {
				t.Fatalf("level %v ran %d requests, want 441 (the p99's upper bound)", l.Level, l.Requests)
			}
		}
	}
}

func TestSearchRateBracketsWithinResolution(t *testing.T) {
	for _, limit := range []float64{0.37, 1, 1.5, 2.2, 7.9, 13, 100.4} {
		f := newFake(t, ByRate, limit)
		r, err := Search(context.Background(), Params{By: ByRate, SLO: fakeSLO, Start: 1, Now: f.now}, f.run)
		if err != nil {
			t.Fatal(err)
		}
		checkConsistent(t, r)
		if r.Level == nil || *r.Level > limit || *r.Level < limit/(1+RateResolution) {
			t.Fatalf("limit %v: found %v, want within %v %% below (tried %v)", limit, r.Level, RateResolution*100, f.ran)
		}
		if r.FirstFailing == nil || r.FirstFailing.Level <= limit || r.FirstFailing.Level > *r.Level*(1+RateResolution) {
			t.Fatalf("limit %v: first failing %+v, level %v", limit, r.FirstFailing, *r.Level)
		}
	}
}

func TestSearchNoisyBoundary(t *testing.T) {
	// Around the limit a level passes or fails by chance (a noisy engine):
	// whatever happens, the reported level passed when it ran, and the
	// first failing level is the next whole number.
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))
		f := newFake(t, ByConcurrency, 0)
		f.passAt = func(l float64) bool {
			switch {
			case l <= 9:
				return true
			case l >= 13:
				return false
			}
			return rng.IntN(2) == 0
		}
		r, err := Search(context.Background(), Params{By: ByConcurrency, SLO: fakeSLO, Now: f.now}, f.run)
		if err != nil {
			t.Fatal(err)
		}
		checkConsistent(t, r)
		if r.Level == nil || *r.Level < 8 || *r.Level > 12 || r.FirstFailing == nil || r.FirstFailing.Level != *r.Level+1 {
			t.Fatalf("seed %d: level %v, first failing %+v (tried %v)", seed, r.Level, r.FirstFailing, f.ran)
		}
	}
}

func TestSearchFirstLevelFails(t *testing.T) {
	f := newFake(t, ByConcurrency, 0)
	r, err := Search(context.Background(), Params{By: ByConcurrency, SLO: fakeSLO, Now: f.now}, f.run)
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, r)
	if r.Level != nil || r.FirstFailing == nil || r.FirstFailing.Level != 1 || len(f.ran) != 1 {
		t.Fatalf("level %v, first failing %+v, tried %v", r.Level, r.FirstFailing, f.ran)
	}
	if !strings.HasPrefix(r.Answer, "sustains no level within ttft_p99=100ms,tpot_p95=50ms; at 1, TTFT p99 is 500 ms > 100 ms") {
		t.Errorf("answer %q", r.Answer)
	}
	// Starting high, it halves down to a passing level and bisects up.
	f = newFake(t, ByConcurrency, 3)
	r, _ = Search(context.Background(), Params{By: ByConcurrency, SLO: fakeSLO, Start: 16, Now: f.now}, f.run)
	checkConsistent(t, r)
	if r.Level == nil || *r.Level != 3 || r.FirstFailing.Level != 4 {
		t.Fatalf("from 16: level %v, first failing %+v, tried %v", r.Level, r.FirstFailing, f.ran)
	}
	// A rate that fails at its lowest tried: none.
	f = newFake(t, ByRate, 0.001)
	r, _ = Search(context.Background(), Params{By: ByRate, SLO: fakeSLO, Start: 0.04, Now: f.now}, f.run)
	checkConsistent(t, r)
	if r.Level != nil || !strings.Contains(r.Stop, "even 0.01 requests/s fails") {
		t.Fatalf("rate: level %v, stop %q, tried %v", r.Level, r.Stop, f.ran)
	}
}

func TestSearchNeverFailsUpToMax(t *testing.T) {
	f := newFake(t, ByConcurrency, 1e9)
	r, err := Search(context.Background(), Params{By: ByConcurrency, SLO: fakeSLO, Max: 50, Now: f.now}, f.run)
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, r)
	want := []float64{1, 2, 4, 8, 16, 32, 50}
	if fmt.Sprint(f.ran) != fmt.Sprint(want) || r.Level == nil || *r.Level != 50 || r.FirstFailing != nil {
		t.Fatalf("tried %v, level %v, first failing %+v", f.ran, r.Level, r.FirstFailing)
	}
	if !strings.Contains(r.Answer, "sustains 50 concurrent streams") || !strings.Contains(r.Answer, "no level failed up to 50 concurrent streams") {
		t.Errorf("answer %q", r.Answer)
	}
}

func TestSearchStopsWithinMaxTime(t *testing.T) {
	for _, budget := range []time.Duration{time.Second, 30 * time.Second, 90 * time.Second, 3 * time.Minute, 10 * time.Minute} {
		for _, by := range []By{ByConcurrency, ByRate} {
			f := newFake(t, by, 40)
			start := f.clock
			r, err := Search(context.Background(), Params{By: by, SLO: fakeSLO, MaxTime: budget, Timeout: 2 * time.Second, Now: f.now}, f.run)
			if err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, r)
			if took := f.clock.Sub(start); took > budget {
				t.Fatalf("%s, budget %s: the search took %s (tried %v)", by, budget, took, f.ran)
			}
			done := r.Level != nil && *r.Level == 40 && r.FirstFailing != nil && r.FirstFailing.Level == 41
			if !done && !strings.Contains(r.Stop, "time budget") || budget <= 90*time.Second && done {
				t.Errorf("%s, budget %s: stop %q does not say the budget ended it", by, budget, r.Stop)
			}
			if r.Level != nil && *r.Level > 40 {
				t.Errorf("%s, budget %s: reported %v above the limit", by, budget, *r.Level)
			}
		}
	}
}

func TestSearchStoppedByUser(t *testing.T) {
	f := newFake(t, ByConcurrency, 20)
	f.stopAtLevel = 8
	r, _ := Search(context.Background(), Params{By: ByConcurrency, SLO: fakeSLO, Now: f.now}, f.run)
	checkConsistent(t, r)
	if r.Level == nil || *r.Level != 4 || r.FirstFailing != nil || !strings.Contains(r.Stop, "stopped by the user") {
		t.Fatalf("level %v, first failing %+v, stop %q", r.Level, r.FirstFailing, r.Stop)
	}
}
