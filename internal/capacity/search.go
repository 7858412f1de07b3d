package capacity

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"flperf/internal/stats"
)

// By is what a capacity search varies.
type By string

// The load a search varies (docs/metrics.md §7).
const (
	ByConcurrency By = "concurrency" // closed loop: requests in flight, whole numbers
	ByRate        By = "rate"        // open loop: arrivals per second
)

// RateResolution is how close a rate search brackets the limit: it stops
// bisecting once the lowest failing rate is within 10 % of the highest
// passing one, so the rate it reports is at most 10 % below the true limit.
// A concurrency search bisects to the exact whole number.
const RateResolution = 0.10

// MinRate is the lowest rate a search tries, in requests per second.
const MinRate = 0.01

// Params is a search.
type Params struct {
	By  By
	SLO SLO
	// Start is the first level (0: 1 request in flight, or 1 request/s).
	Start float64
	// Max is the highest level tried (0: no bound but the load generator's).
	Max float64
	// Requests is the measured requests of each level: at least Needed(SLO)
	// (a smaller value is raised to it).
	Requests int
	// MaxTime bounds the whole search (0: none): a level starts only when
	// its shortest possible duration fits in what is left, and it stops
	// scheduling when the time is up.
	MaxTime time.Duration
	// Timeout is the per-request deadline: no request lasts longer, so a
	// level stops scheduling this long before the budget ends until
	// earlier levels show a shorter tail (0 with MaxTime: refused).
	Timeout time.Duration
	// Now is the clock (nil: time.Now); tests give a fake one.
	Now func() time.Time
}

// Observation is what running one level produced.
type Observation struct {
	Stage   string      // the label its records carry, e.g. "c=4"
	Samples []Sample    // one per measured request that was not canceled
	Group   stats.Group // the level's summary (throughput, window)
	// Stopped: the user stopped the run (or results could no longer be
	// saved); the search ends after this level, which is not judged.
	Stopped bool
}

// RunFunc runs one level: requests measured requests at level, stopping
// its scheduling after budget (0: no limit) whatever is left.
type RunFunc func(ctx context.Context, level float64, requests int, budget time.Duration) (Observation, error)

// Search finds the highest level that meets every objective of p.SLO:
// from p.Start the level doubles while levels pass; once one fails (or the
// first one does, halving then) it bisects between the highest passing and
// the lowest failing level, to the whole number for concurrency and to
// RateResolution for rates. It returns what it found and every level tried;
// an error only when run returns one.
func Search(ctx context.Context, p Params, run RunFunc) (*Result, error) {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	p = p.normalized()
	res := &Result{By: p.By, SLO: p.SLO.String(), Objectives: p.SLO, Requests: p.Requests}
	if p.MaxTime > 0 {
		res.MaxTime = p.MaxTime.String()
		if p.Timeout <= 0 {
			return res, fmt.Errorf("capacity: a time budget needs the per-request timeout")
		}
	}
	start := now()
	lo, hi := math.NaN(), math.NaN() // highest passing, lowest failing
	level := p.Start
	for {
		left := time.Duration(0)
		if p.MaxTime > 0 {
			left = p.MaxTime - now().Sub(start)
			if need, ok := res.minDuration(p, level); left <= 0 || (ok && need > left) {
				res.Stop = fmt.Sprintf("the time budget (%s) left %s, and %s needs at least %s for its %d requests",
					p.MaxTime, max(left, 0).Round(time.Second), levelName(p.By, level), need.Round(time.Second), p.Requests)
				break
			}
		}
		// Scheduling stops early enough for the requests then in flight
		// to end within the budget: as long as the longest seen so far.
		budget := left
		if p.MaxTime > 0 {
			budget -= res.tail(p)
			if budget <= 0 {
				res.Stop = fmt.Sprintf("the time budget (%s) has %s left, too little to start %s", p.MaxTime, max(left, 0).Round(time.Second), levelName(p.By, level))
				break
			}
		}
		t0 := now()
		obs, err := run(ctx, level, p.Requests, budget)
		if err != nil {
			return res, err
		}
		lv := judgeLevel(p, level, obs, now().Sub(t0))
		res.Levels = append(res.Levels, lv)
		if obs.Stopped {
			res.Stop = fmt.Sprintf("stopped by the user during %s", levelName(p.By, level))
			break
		}
		if !lv.Complete {
			res.Stop = fmt.Sprintf("the time budget (%s) ran out during %s: %d of its %d requests ran", p.MaxTime, levelName(p.By, level), lv.Requests, p.Requests)
			break
		}
		if lv.Pass {
			lo = level
		} else {
			hi = level
		}
		next, why := p.next(lo, hi)
		if why != "" {
			res.Stop = why
			break
		}
		level = next
	}
	res.finish(lo, hi)
	return res, nil
}

// normalized applies p's defaults.
func (p Params) normalized() Params {
	if p.Start <= 0 {
		p.Start = 1
	}
	if p.By == ByConcurrency {
		p.Start = math.Max(1, math.Round(p.Start))
		p.Max = math.Floor(p.Max)
	}
	if p.Max <= 0 {
		p.Max = math.Inf(1)
	}
	p.Start = math.Min(p.Start, p.Max)
	p.Requests = max(p.Requests, Needed(p.SLO))
	return p
}

// next is the level after the highest passing lo and the lowest failing
// hi (NaN: none yet), or why the search is over.
func (p Params) next(lo, hi float64) (float64, string) {
	name := func(v float64) string { return levelName(p.By, v) }
	switch {
	case math.IsNaN(hi): // every level so far passed: grow
		if lo >= p.Max {
			return 0, fmt.Sprintf("no level failed up to %s, the highest the search tries", name(p.Max))
		}
		return math.Min(lo*2, p.Max), ""
	case math.IsNaN(lo): // every level so far failed: shrink
		floor := 1.0
		if p.By == ByRate {
			floor = MinRate
		}
		if hi <= floor {
			return 0, fmt.Sprintf("even %s fails", name(hi))
		}
		if p.By == ByConcurrency {
			return math.Floor(hi / 2), ""
		}
		return math.Max(roundRate(hi/2), floor), ""
	}
	if p.By == ByConcurrency {
		if hi-lo <= 1 {
			return 0, fmt.Sprintf("%s passes and %s fails", name(lo), name(hi))
		}
		return math.Floor((lo + hi) / 2), ""
	}
	mid := roundRate((lo + hi) / 2)
	if hi <= lo*(1+RateResolution) || mid <= lo || mid >= hi {
		return 0, fmt.Sprintf("%s passes and %s fails (within %.0f %%)", name(lo), name(hi), RateResolution*100)
	}
	return mid, ""
}

// roundRate rounds a rate to 3 significant digits, so stage labels stay short.
func roundRate(r float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(r, 'g', 3, 64), 64)
	return v
}

// levelName names a level in prose: "4 concurrent streams", "2.5 requests/s".
func levelName(by By, v float64) string {
	if by == ByRate {
		return strconv.FormatFloat(v, 'g', -1, 64) + " requests/s"
	}
	if v == 1 {
		return "1 concurrent stream"
	}
	return strconv.FormatFloat(v, 'g', -1, 64) + " concurrent streams"
}

// minDuration is the shortest time level can take to run p.Requests,
// from what earlier levels showed; ok is false when nothing is known yet
// (the first level of a closed loop).
func (r *Result) minDuration(p Params, level float64) (time.Duration, bool) {
	if p.By == ByRate {
		return time.Duration(float64(p.Requests) / level * float64(time.Second)), true
	}
	// A closed loop of c streams completes at most c requests per fastest
	// mean end-to-end latency seen at any level.
	best := math.Inf(1)
	for _, l := range r.Levels {
		if l.meanE2E > 0 {
			best = math.Min(best, l.meanE2E)
		}
	}
	if math.IsInf(best, 1) {
		return 0, false
	}
	return time.Duration(float64(p.Requests) * best / level * float64(time.Millisecond)), true
}

// tail is how long before the budget ends a level stops scheduling, so
// that the requests then in flight end within it: the per-request timeout,
// or in a closed loop, once a level completed, twice the longest
// end-to-end latency seen (a level at most doubles the last one, and a
// closed loop of twice the streams keeps each request at most about twice
// as long), when that is shorter. An open loop past its capacity queues
// without bound, so it keeps the timeout.
func (r *Result) tail(p Params) time.Duration {
	if p.By == ByRate {
		return p.Timeout
	}
	var m float64
	for _, l := range r.Levels {
		if l.Complete {
			m = math.Max(m, l.maxE2E)
		}
	}
	if m == 0 {
		return p.Timeout
	}
	return min(p.Timeout, time.Duration(2*m*float64(time.Millisecond)))
}
