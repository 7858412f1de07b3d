package load

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// feed drives a detector with synthetic series at its sampling interval up
// to end: in-flight inFlight(t) and three TTFTs per sample, ttft(t). It
// returns the first reason to stop, or nil.
func feed(d *detector, end time.Duration, inFlight, ttft func(t float64) float64) *Oversaturated {
	dt := d.interval()
	for now := dt; now <= end; now += dt {
		s := now.Seconds()
		d.observeInFlight(now, int(math.Round(max(inFlight(s), 0))))
		for k := range 3 {
			at := now - dt + time.Duration(k+1)*dt/3
			d.observeTTFT(at, time.Duration(max(ttft(at.Seconds()), 0)*float64(time.Second)))
		}
		if why := d.check(now); why != nil {
			return why
		}
	}
	return nil
}

// noise returns uniform noise in [-a, a] from a seeded generator.
func noise(seed uint64, a float64) func() float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	return func() float64 { return (2*rng.Float64() - 1) * a }
}

var testOversat = Oversaturation{Window: 2 * time.Second, MinArrivals: 10, Sustain: 500 * time.Millisecond}

// A stationary queue (flat in-flight count and TTFT, with noise as large
// as the level) never looks over-saturated, for any seed.
func TestDetectorFlatNeverFires(t *testing.T) {
	for seed := range uint64(20) {
		d := newDetector(testOversat, 50)
		n, e := noise(seed, 4), noise(seed+100, 0.2)
		if why := feed(d, 60*time.Second, func(float64) float64 { return 5 + n() }, func(float64) float64 { return 0.3 + e() }); why != nil {
			t.Fatalf("seed %d: fired on a flat series: %s", seed, why)
		}
	}
}

// A queue that grows steadily (twice capacity: in flight grows at half the
// arrival rate, TTFT by half a second per second) is stopped once the
// window is full and the trend has held for Sustain, with the slopes it
// saw.
func TestDetectorLinearGrowthFires(t *testing.T) {
	const rate = 50.0
	for seed := range uint64(5) {
		d := newDetector(testOversat, rate)
		n, e := noise(seed, 4), noise(seed+100, 0.2)
		why := feed(d, 60*time.Second, func(t float64) float64 { return 2 + rate/2*t + n() }, func(t float64) float64 { return 0.3 + t/2 + e() })
		if why == nil {
			t.Fatalf("seed %d: a queue growing at half the arrival rate was never stopped", seed)
		}
		if min := (testOversat.Window + testOversat.Sustain).Seconds(); why.ElapsedS < min-1e-9 || why.ElapsedS > min+0.5 {
			t.Errorf("seed %d: stopped at %.3gs, want just after the window plus the sustain (%.3gs)", seed, why.ElapsedS, min)
		}
		if math.Abs(why.InFlightSlope-rate/2) > 2 || math.Abs(why.TTFTSlope-0.5) > 0.1 || why.Rate != rate || why.WindowS != 2 {
			t.Errorf("seed %d: reason %+v, want in-flight slope ≈ %v/s and TTFT slope ≈ 0.5", seed, why, rate/2)
		}
		if !strings.Contains(why.String(), "fell behind") {
			t.Errorf("reason text %q", why.String())
		}
	}
}

// A one-off step (a burst the engine then holds steady) is not a steady
// growth: each half of the window is flat somewhere.
func TestDetectorStepNeverFires(t *testing.T) {
	for seed := range uint64(20) {
		d := newDetector(testOversat, 50)
		n, e := noise(seed, 1), noise(seed+100, 0.05)
		step := func(lo, hi float64) func(float64) float64 {
			return func(t float64) float64 {
				if t < 10 {
					return lo
				}
				return hi
			}
		}
		in, tt := step(5, 40), step(0.3, 3)
		if why := feed(d, 30*time.Second, func(t float64) float64 { return in(t) + n() }, func(t float64) float64 { return tt(t) + e() }); why != nil {
			t.Fatalf("seed %d: fired on a step: %s", seed, why)
		}
	}
}

// Both trends are needed, and the in-flight growth must reach Growth of
// the arrival rate.
func TestDetectorNeedsBothTrends(t *testing.T) {
	const rate = 500.0
	cases := []struct {
		name         string
		inFlight, tt func(float64) float64
	}{
		{"in flight grows, TTFT flat", func(t float64) float64 { return rate / 2 * t }, func(float64) float64 { return 0.3 }},
		{"TTFT grows, in flight flat", func(float64) float64 { return 5 }, func(t float64) float64 { return t / 2 }},
		{"growth below the threshold", func(t float64) float64 { return 0.05 * rate * t }, func(t float64) float64 { return t / 2 }},
	}
	for _, c := range cases {
		if why := feed(newDetector(testOversat, rate), 30*time.Second, c.inFlight, c.tt); why != nil {
			t.Errorf("%s: fired: %s", c.name, why)
		}
	}
	// The last case fires once the threshold is lowered below its growth.
	o := testOversat
	o.Growth = 0.02
	if why := feed(newDetector(o, rate), 30*time.Second, cases[2].inFlight, cases[2].tt); why == nil {
		t.Error("growth 0.05 of the rate did not fire with growth=0.02")
	}
	if newDetector(Oversaturation{Off: true}, rate) != nil {
		t.Error("an off detector was built")
	}
}

// The window is widened to hold MinArrivals arrivals at a low rate.
func TestDetectorWindowHoldsMinArrivals(t *testing.T) {
	d := newDetector(Oversaturation{Window: time.Second, MinArrivals: 40}, 2)
	if d.window != 20 {
		t.Fatalf("window %vs at 2/s with 40 arrivals, want 20s", d.window)
	}
	if d := newDetector(Oversaturation{}, 100); d.window != DefaultOversatWindow.Seconds() || d.opt.Sustain != DefaultOversatSustain {
		t.Fatalf("defaults: window %v, options %+v", d.window, d.opt)
	}
}

// On an exact line every pair has the line's slope, so the estimate and
// its lower bound are that slope; one outlier does not move the median.
func TestTheilSen(t *testing.T) {
	var ps []point
	for i := range 20 {
		ps = append(ps, point{float64(i), 3 + 2*float64(i)})
	}
	if s, lo := theilSen(ps, 2.33); s != 2 || lo != 2 {
		t.Fatalf("line of slope 2: slope %v, lower %v", s, lo)
	}
	ps[7].v = 1000
	if s, lo := theilSen(ps, 2.33); s != 2 || lo != 2 {
		t.Fatalf("one outlier: slope %v, lower %v", s, lo)
	}
	// Noise of ±1 leaves the estimate near 2 and moves the bound below
	// it, not below 1.
	n := noise(3, 1)
	for i := range ps {
		ps[i].v = 3 + 2*float64(i) + n()
	}
	if s, lo := theilSen(ps, 2.33); math.Abs(s-2) > 0.1 || !(lo < s && lo > 1) {
		t.Fatalf("noisy line: slope %v, lower %v", s, lo)
	}
	if s, lo := theilSen(ps[:4], 2.33); s != s || !math.IsInf(lo, -1) {
		t.Fatalf("4 points: slope %v, lower %v (want no bound)", s, lo)
	}
	if s, _ := theilSen(ps[:2], 2.33); !math.IsNaN(s) {
		t.Fatalf("2 points: slope %v", s)
	}
}

func TestParseOversaturation(t *testing.T) {
	good := map[string]Oversaturation{
		"":                       {},
		"on":                     {},
		"off":                    {Off: true},
		"window=30s, growth=0.2": {Window: 30 * time.Second, Growth: 0.2},
		"min_arrivals=100,confidence=0.95,sustain=10s": {MinArrivals: 100, Confidence: 0.95, Sustain: 10 * time.Second},
	}
	for in, want := range good {
		got, err := ParseOversaturation(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
			continue
		}
		// The text form reads back to the same options.
		b, _ := got.MarshalText()
		var back Oversaturation
		if err := back.UnmarshalText(b); err != nil || back != got {
			t.Errorf("%q: text %q read back as %+v, %v", in, b, back, err)
		}
	}
	if s := (Oversaturation{Window: DefaultOversatWindow, Growth: 0.3}).String(); s != "growth=0.3" {
		t.Errorf("String %q: defaults are left out", s)
	}
	bad := map[string]string{
		"maybe":               "key=value",
		"window=fast":         "window",
		"window=10ms":         "window must be between",
		"growth=1":            "growth must be",
		"growth=0":            "must not be 0",
		"confidence=0.3":      "confidence must be",
		"min_arrivals=3":      "min_arrivals must be",
		"sustain=-1s":         "sustain must be",
		"speed=2":             "unknown key",
		"window=1s,window=2s": "twice",
	}
	for in, want := range bad {
		if _, err := ParseOversaturation(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", in, err, want)
		}
	}
}

func TestPlanValidateOpenLoopOptions(t *testing.T) {
	cases := []struct {
		p     Plan
		field string
	}{
		{Plan{Mode: Rate, Rate: 1, Requests: 1, MaxInFlight: 2, OnFull: "spill"}, "on_full"},
		{Plan{Mode: Rate, Rate: 1, Requests: 1, OnFull: Drop}, "on_full"},
		{Plan{Mode: Concurrency, Concurrency: 2, Requests: 1, OnFull: Drop}, "on_full"},
		{Plan{Mode: Rate, Rate: 1, Requests: 1, Oversaturation: Oversaturation{Growth: 2}}, "oversaturation"},
	}
	for _, c := range cases {
		errs := c.p.Validate()
		if len(errs) != 1 || errs[0].(*FieldError).Field != c.field {
			t.Errorf("%+v: %v, want one problem with %s", c.p, errs, c.field)
		}
	}
	ok := Plan{Mode: Rate, Rate: 1, Requests: 1, MaxInFlight: 2, OnFull: Drop, Oversaturation: Oversaturation{Off: true}}
	if errs := ok.Validate(); errs != nil {
		t.Errorf("valid drop plan: %v", errs)
	}
	if s := ok.String(); s != "rate=1/s cap=2 drop" {
		t.Errorf("label %q", s)
	}
}

// Under OnFull drop, an arrival that finds MaxInFlight requests in flight
// is not sent and is counted: with two requests holding both slots until
// every arrival of a constant schedule has come, exactly the first two
// are admitted and the other 18 dropped.
func TestOpenLoopDropCountsExactly(t *testing.T) {
	f := &fake{gate: make(chan struct{})}
	p := Plan{Mode: Rate, Rate: MaxRate, Requests: 20, MaxInFlight: 2, OnFull: Drop}
	ch, rep := RunStage(context.Background(), p, f.do)
	waitFor(t, "two requests in flight", func() bool { return f.inFlight.Load() == 2 })
	// All 20 arrivals are due within 19µs of the first; the generator
	// handles them in a loop that never waits, long before this.
	time.Sleep(300 * time.Millisecond)
	close(f.gate)
	recs := drain(t, ch)
	if rep.Arrivals != 20 || rep.Dropped != 18 || len(recs) != 2 || f.calls.Load() != 2 {
		t.Fatalf("arrivals %d, dropped %d, records %d, calls %d; want 20, 18, 2, 2", rep.Arrivals, rep.Dropped, len(recs), f.calls.Load())
	}
	for _, r := range bySeq(t, recs) {
		if job := f.jobOf(t, r.Seq); job.Index != int(r.Seq) || r.Worker > 1 {
			t.Errorf("admitted Seq %d: arrival %d, slot %d; want arrivals 0 and 1 in slots 0 and 1", r.Seq, job.Index, r.Worker)
		}
	}
}

// With slots freeing while the schedule goes on, whatever the timing,
// dropped = arrivals − admitted, no request ever waits for a slot, and the
// cap holds.
func TestOpenLoopDropIdentity(t *testing.T) {
	f := &fake{sleep: 20 * time.Millisecond}
	p := Plan{Mode: Rate, Rate: 400, Requests: 120, MaxInFlight: 4, OnFull: Drop}
	ch, rep := RunStage(context.Background(), p, f.do)
	recs := drain(t, ch)
	if rep.Arrivals != 120 || rep.Dropped != rep.Arrivals-len(recs) || rep.Dropped == 0 || len(recs) == 0 {
		t.Fatalf("arrivals %d, dropped %d, records %d", rep.Arrivals, rep.Dropped, len(recs))
	}
	if pk := f.peak.Load(); pk > 4 {
		t.Errorf("peak in flight %d above the cap 4", pk)
	}
	// The same plan queueing drops nothing and sends every arrival.
	p.OnFull = Queue
	ch, rep = RunStage(context.Background(), p, (&fake{sleep: time.Millisecond}).do)
	if recs := drain(t, ch); rep.Dropped != 0 || rep.Arrivals != 120 || len(recs) != 120 {
		t.Errorf("queue: arrivals %d, dropped %d, records %d", rep.Arrivals, rep.Dropped, len(recs))
	}
}
