package sim

import (
	"context"
	"math"
	"time"
)

// schedule yields the absolute due time of each token of one request, in
// order. Every due time is computed from the origin, never by adding sleeps,
// so timer lateness does not accumulate.
type schedule struct {
	origin  time.Time
	firstNS float64 // offset of token 0 from the origin, jitter applied
	gapNS   float64 // nominal gap between tokens
	jitter  float64
	rng     rng
	i       int     // index of the token next() returns
	sumNS   float64 // sum of the jittered gaps before token i (jitter > 0 only)
	shift   time.Duration
	shiftAt int // tokens with index ≥ shiftAt are due shift later (a stall)
}

// newSchedule starts the schedule of a request with promptTokens input
// tokens whose slot was acquired at origin; r draws the jitter.
func newSchedule(p *Profile, origin time.Time, promptTokens int, r rng) schedule {
	first := float64(p.TTFT)
	if p.PrefillTPS > 0 {
		first += float64(promptTokens) / p.PrefillTPS * 1e9
	}
	s := schedule{
		origin:  origin,
		gapNS:   1e9 / p.DecodeTPS,
		jitter:  p.Jitter,
		rng:     r,
		shiftAt: math.MaxInt,
	}
	s.firstNS = first * s.factor()
	return s
}

// factor draws one jitter multiplier 1+U(−J,J); exactly 1 without jitter.
func (s *schedule) factor() float64 {
	if s.jitter == 0 {
		return 1
	}
	return 1 + s.jitter*(2*s.rng.float()-1)
}

// stall makes tokens from index at onwards due d later.
func (s *schedule) stall(at int, d time.Duration) { s.shiftAt, s.shift = at, d }

// next returns the due time of the next token.
func (s *schedule) next() time.Time {
	i := s.i
	s.i++
	var off float64
	if s.jitter == 0 {
		off = s.firstNS + float64(i)*s.gapNS
	} else {
		if i > 0 {
			s.sumNS += s.gapNS * s.factor()
		}
		off = s.firstNS + s.sumNS
	}
	d := durationOf(off)
	if i >= s.shiftAt {
		d = addDur(d, s.shift)
	}
	return s.origin.Add(d)
}

// maxOffset bounds every offset so that hostile inputs (a huge prompt with a
// slow prefill) cannot overflow time.Duration.
const maxOffset = time.Duration(1 << 60)

func durationOf(ns float64) time.Duration {
	if !(ns < float64(maxOffset)) {
		return maxOffset
	}
	return time.Duration(math.Round(ns))
}

func addDur(a, b time.Duration) time.Duration { return min(a+b, 2*maxOffset) }

// sleeper waits for absolute deadlines with one reusable timer.
type sleeper struct {
	timer *time.Timer
	done  <-chan struct{}
	ctx   context.Context
}

func newSleeper(ctx context.Context) sleeper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return sleeper{timer: t, done: ctx.Done(), ctx: ctx}
}

// timerSlack is how late a Go timer may fire: the runtime's poller waits in
// whole milliseconds on Linux.
const timerSlack = 1500 * time.Microsecond

// until returns once t is reached, or early with the context's error.
//
// A Go timer fires up to about a millisecond late. To keep the schedule
// exact, until sleeps on the timer only to within timerSlack of t, then
// finishes with a precise sleep of the OS thread (preciseSleep) when one of
// the few precise sleepers is free; under heavy concurrency it falls back to
// the timer, which costs nothing per stream but is up to 1 ms late.
func (s *sleeper) until(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return s.ctx.Err()
	}
	if d > timerSlack {
		if err := s.wait(d - timerSlack); err != nil {
			return err
		}
		d = time.Until(t)
	}
	if d > 0 && !preciseSleep(d) {
		return s.wait(d)
	}
	return s.ctx.Err()
}

// wait sleeps d on the reusable timer, or returns early with the context's error.
func (s *sleeper) wait(d time.Duration) error {
	s.timer.Reset(d)
	select {
	case <-s.timer.C:
		return nil
	case <-s.done:
		s.timer.Stop()
		return s.ctx.Err()
	}
}

func (s *sleeper) stop() { s.timer.Stop() }
