package load

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Pacer paces open-loop arrivals, in the manner of vegeta's Pacer.
type Pacer interface {
	// Pace returns how long to wait, from elapsed since the stage start,
	// before the next arrival, given that sent arrivals have already been
	// sent. A wait of zero means the arrival is due (or overdue). stop is
	// true when the schedule has no further arrival.
	Pace(elapsed time.Duration, sent uint64) (wait time.Duration, stop bool)
}

// Schedule is a Pacer whose arrival times are fixed in advance. Run sends
// each arrival with Scheduled = stage start + At(n), however late it is
// actually sent, so lateness never shifts later arrivals.
type Schedule interface {
	Pacer
	// At returns the intended offset of arrival n (from 0) from the stage
	// start; ok is false when there is no such arrival (the offset would
	// overflow a time.Duration, or the rate is invalid).
	At(n uint64) (offset time.Duration, ok bool)
}

// pace implements Pacer on top of an arrival schedule.
func pace(s Schedule, elapsed time.Duration, sent uint64) (time.Duration, bool) {
	at, ok := s.At(sent)
	if !ok {
		return 0, true
	}
	if at <= elapsed {
		return 0, false
	}
	return at - elapsed, false
}

// validRate reports whether rate can pace arrivals.
func validRate(rate float64) bool {
	return rate > 0 && !math.IsInf(rate, 0) && !math.IsNaN(rate)
}

// ConstantPacer returns a Schedule of evenly spaced arrivals, rate per
// second: arrival n is due n/rate seconds after the stage start (rounded to
// the nanosecond, computed from n, so rounding never accumulates). The
// returned value implements Schedule. A rate that is not a finite number > 0
// gives a pacer that stops at once.
func ConstantPacer(rate float64) Pacer { return constantPacer{rate: rate} }

type constantPacer struct{ rate float64 }

// At implements Schedule.
func (c constantPacer) At(n uint64) (time.Duration, bool) {
	if !validRate(c.rate) {
		return 0, false
	}
	ns := math.Round(float64(n) * float64(time.Second) / c.rate)
	if !(ns < math.MaxInt64) { // also false for NaN
		return 0, false
	}
	return time.Duration(ns), true
}

// Pace implements Pacer.
func (c constantPacer) Pace(elapsed time.Duration, sent uint64) (time.Duration, bool) {
	return pace(c, elapsed, sent)
}

// poissonStream is the second PCG seed word; the first is the plan's seed.
const poissonStream = 0x9e3779b97f4a7c15

// PoissonPacer returns a Schedule of Poisson arrivals, rate per second on
// average: arrival 0 is due at the stage start and each later arrival follows
// the previous one after an exponentially distributed gap of mean 1/rate
// (each gap rounded to the nanosecond), drawn from a math/rand/v2 PCG seeded
// with (seed, 0x9e3779b97f4a7c15). The schedule is a pure function of rate
// and seed: the same seed gives the same arrivals whatever the order of the
// calls. The returned value implements Schedule and is safe for concurrent
// use; asking for arrivals in increasing order costs O(1) each, going back
// replays the draws from the start. A rate that is not a finite number > 0
// gives a pacer that stops at once.
func PoissonPacer(rate float64, seed int64) Pacer {
	p := &poissonPacer{rate: rate, seed: seed}
	p.reset()
	return p
}

type poissonPacer struct {
	rate float64
	seed int64

	mu   sync.Mutex
	rng  *rand.Rand
	n    uint64        // arrival whose offset is at
	at   time.Duration // offset of arrival n
	over bool          // the offset of arrival n+1 overflows
}

func (p *poissonPacer) reset() {
	p.rng = rand.New(rand.NewPCG(uint64(p.seed), poissonStream))
	p.n, p.at, p.over = 0, 0, false
}

// At implements Schedule.
func (p *poissonPacer) At(n uint64) (time.Duration, bool) {
	if !validRate(p.rate) {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < p.n {
		p.reset()
	}
	for p.n < n {
		if p.over {
			return 0, false
		}
		gap := math.Round(p.rng.ExpFloat64() / p.rate * float64(time.Second))
		if !(gap < float64(math.MaxInt64-p.at)) {
			p.over = true
			return 0, false
		}
		p.at += time.Duration(gap)
		p.n++
	}
	return p.at, true
}

// Pace implements Pacer.
func (p *poissonPacer) Pace(elapsed time.Duration, sent uint64) (time.Duration, bool) {
	return pace(p, elapsed, sent)
}

// schedule returns the arrival schedule of a rate-mode plan.
func (p Plan) schedule() Schedule {
	if p.arrival() == Poisson {
		return PoissonPacer(p.Rate, p.Seed).(Schedule)
	}
	return ConstantPacer(p.Rate).(Schedule)
}
