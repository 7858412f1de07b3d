package load

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Oversaturation configures the open loop's over-saturation detector
// (docs/metrics.md §7). The zero value is the detector on, with the
// defaults below; a zero field takes its default.
//
// An open loop whose engine serves fewer requests per second than arrive
// falls behind for good: the requests in the system (arrived, not dropped,
// not finished; those waiting for a MaxInFlight slot included) grow at the
// arrival rate minus the engine's capacity, and every new request's
// queue-inclusive TTFT is longer than the last. Waiting out such a stage
// measures nothing but the length of a queue that only grows. The detector
// samples the requests in the system and collects each finished request's
// queue-inclusive TTFT over a sliding window, and fits a Theil–Sen slope to
// each with Sen's one-sided lower confidence bound. The stage is stopped
// (scheduling ends, requests in flight finish) when, in each half of the
// window:
//
//   - the lower bound of the in-flight slope is at least Growth × the
//     arrival rate (in overload it is 1 − capacity/rate of it), and
//   - the lower bound of the TTFT slope is above zero (at least 5 TTFTs in
//     each half),
//
// and this has held at every check for Sustain. Asking it of each half, not
// of the whole window, is what "steadily" means: a one-off step (a burst
// the engine then holds) lies in one half at most, and the other is flat.
// Below capacity neither series has a trend, so the detector never fires
// there; at twice capacity the in-flight slope is half the arrival rate.
type Oversaturation struct {
	Off bool // the detector is off: an overloaded stage runs to its end
	// Window is the sliding window the trends are fitted over (default
	// 20s); it is widened to hold MinArrivals arrivals at the plan's rate.
	Window time.Duration
	// MinArrivals is the fewest arrivals a window may hold (default 40).
	MinArrivals int
	// Growth is the least in-flight growth, as a fraction of the arrival
	// rate, that counts as falling behind (default 0.1: about 11 % beyond
	// capacity).
	Growth float64
	// Confidence is the one-sided confidence of the slopes' lower bounds
	// (default 0.99).
	Confidence float64
	// Sustain is how long both trends must hold before the stage is
	// stopped (default 5s).
	Sustain time.Duration
}

// The detector's defaults and bounds.
const (
	DefaultOversatWindow      = 20 * time.Second
	DefaultOversatMinArrivals = 40
	DefaultOversatGrowth      = 0.1
	DefaultOversatConfidence  = 0.99
	DefaultOversatSustain     = 5 * time.Second

	minOversatWindow = 100 * time.Millisecond
	maxOversatSpan   = time.Hour
	minOversatTTFTs  = 5  // TTFTs each half of the window must hold
	oversatSamples   = 40 // in-flight samples per window
	oversatMaxFit    = 64 // points a slope is fitted to (evenly thinned beyond)
)

// withDefaults fills the zero fields.
func (o Oversaturation) withDefaults() Oversaturation {
	if o.Window == 0 {
		o.Window = DefaultOversatWindow
	}
	if o.MinArrivals == 0 {
		o.MinArrivals = DefaultOversatMinArrivals
	}
	if o.Growth == 0 {
		o.Growth = DefaultOversatGrowth
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultOversatConfidence
	}
	if o.Sustain == 0 {
		o.Sustain = DefaultOversatSustain
	}
	return o
}

// validate reports the problems of the options under the field name
// "oversaturation".
func (o Oversaturation) validate() []string {
	var bad []string
	if o.Window != 0 && (o.Window < minOversatWindow || o.Window > maxOversatSpan) {
		bad = append(bad, fmt.Sprintf("window must be between %v and %v, got %v", minOversatWindow, maxOversatSpan, o.Window))
	}
	if o.MinArrivals != 0 && (o.MinArrivals < 10 || o.MinArrivals > 1_000_000) {
		bad = append(bad, fmt.Sprintf("min_arrivals must be between 10 and 1000000, got %d", o.MinArrivals))
	}
	if o.Growth != 0 && !(o.Growth > 0 && o.Growth < 1) {
		bad = append(bad, fmt.Sprintf("growth must be a fraction of the arrival rate above 0 and below 1, got %v", o.Growth))
	}
	if o.Confidence != 0 && !(o.Confidence >= 0.5 && o.Confidence <= 0.9999) {
		bad = append(bad, fmt.Sprintf("confidence must be between 0.5 and 0.9999, got %v", o.Confidence))
	}
	if o.Sustain < 0 || o.Sustain > maxOversatSpan {
		bad = append(bad, fmt.Sprintf("sustain must be between 0 and %v, got %v", maxOversatSpan, o.Sustain))
	}
	return bad
}

// String is the options' text form, read by ParseOversaturation: "off",
// "" for the defaults, else the fields that differ from their default,
// e.g. "window=30s,growth=0.2".
func (o Oversaturation) String() string {
	if o.Off {
		return "off"
	}
	var parts []string
	add := func(key, v string) { parts = append(parts, key+"="+v) }
	if o.Window != 0 && o.Window != DefaultOversatWindow {
		add("window", o.Window.String())
	}
	if o.MinArrivals != 0 && o.MinArrivals != DefaultOversatMinArrivals {
		add("min_arrivals", strconv.Itoa(o.MinArrivals))
	}
	if o.Growth != 0 && o.Growth != DefaultOversatGrowth {
		add("growth", strconv.FormatFloat(o.Growth, 'g', -1, 64))
	}
	if o.Confidence != 0 && o.Confidence != DefaultOversatConfidence {
		add("confidence", strconv.FormatFloat(o.Confidence, 'g', -1, 64))
	}
	if o.Sustain != 0 && o.Sustain != DefaultOversatSustain {
		add("sustain", o.Sustain.String())
	}
	return strings.Join(parts, ",")
}

// MarshalText writes String.
func (o Oversaturation) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads ParseOversaturation's form.
func (o *Oversaturation) UnmarshalText(b []byte) error {
	v, err := ParseOversaturation(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// ParseOversaturation reads the detector's options: "off", "on" or "" (the
// defaults), or comma-separated key=value pairs among window=20s,
// min_arrivals=40, growth=0.1, confidence=0.99 and sustain=5s (the others
// keep their defaults). The values are checked as Plan.Validate does.
func ParseOversaturation(s string) (Oversaturation, error) {
	var o Oversaturation
	switch s = strings.TrimSpace(s); s {
	case "", "on":
		return o, nil
	case "off":
		return Oversaturation{Off: true}, nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || val == "" {
			return o, fmt.Errorf("want off, on, or key=value pairs (window, min_arrivals, growth, confidence, sustain), got %q", part)
		}
		if seen[key] {
			return o, fmt.Errorf("%s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "window":
			o.Window, err = time.ParseDuration(val)
		case "sustain":
			o.Sustain, err = time.ParseDuration(val)
		case "min_arrivals":
			o.MinArrivals, err = strconv.Atoi(val)
		case "growth":
			o.Growth, err = strconv.ParseFloat(val, 64)
		case "confidence":
			o.Confidence, err = strconv.ParseFloat(val, 64)
		default:
			return o, fmt.Errorf("unknown key %q (want window, min_arrivals, growth, confidence or sustain)", key)
		}
		if err != nil {
			return o, fmt.Errorf("%s: cannot read %q", key, val)
		}
		if key == "window" && o.Window == 0 || key == "min_arrivals" && o.MinArrivals == 0 ||
			key == "growth" && o.Growth == 0 || key == "confidence" && o.Confidence == 0 {
			return o, fmt.Errorf("%s: must not be 0", key)
		}
	}
	if bad := o.validate(); len(bad) > 0 {
		return o, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return o, nil
}

// Oversaturated is why the detector stopped a stage: the trends it saw
// over its last window. Slopes are Theil–Sen estimates over the whole
// window (the decision used each half's lower confidence bounds).
type Oversaturated struct {
	ElapsedS      float64 `json:"elapsed_s"`       // seconds from the stage's first measured arrival to the stop
	WindowS       float64 `json:"window_s"`        // the window the trends were fitted over, in seconds
	Rate          float64 `json:"rate"`            // the arrival rate, per second
	InFlight      int     `json:"in_flight"`       // requests in the system when stopped (arrived, not dropped, not finished)
	InFlightSlope float64 `json:"in_flight_slope"` // their growth, requests per second
	TTFTSlope     float64 `json:"ttft_slope"`      // growth of queue-inclusive TTFT, seconds per second
}

// String says what the detector saw, for people.
func (o *Oversaturated) String() string {
	return fmt.Sprintf("the engine fell behind: over the last %s, requests in flight grew by %.3g/s (of %.3g arrivals/s) and queue-inclusive TTFT by %.3g s per second; scheduling stopped %s into the stage with %d in flight",
		secs(o.WindowS), o.InFlightSlope, o.Rate, o.TTFTSlope, secs(o.ElapsedS), o.InFlight)
}

// secs writes seconds as a rounded duration.
func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Millisecond).String()
}

// point is one observation: t in seconds from the stage start.
type point struct{ t, v float64 }

// detector is the over-saturation detector of one open-loop stage. Its
// methods are safe for concurrent use; times are offsets from the stage's
// first measured arrival, so it can be driven without a clock.
type detector struct {
	opt    Oversaturation // defaults applied
	rate   float64
	window float64 // seconds: Window, widened to MinArrivals arrivals
	z      float64 // the normal quantile of Confidence

	mu       sync.Mutex
	inFlight []point
	ttft     []point
	holding  float64 // when the condition began to hold (seconds); NaN: it does not
}

// newDetector returns the detector for an open loop of rate arrivals per
// second; nil when o is off.
func newDetector(o Oversaturation, rate float64) *detector {
	if o.Off {
		return nil
	}
	o = o.withDefaults()
	w := max(o.Window.Seconds(), float64(o.MinArrivals)/rate)
	return &detector{opt: o, rate: rate, window: w, holding: math.NaN(),
		z: math.Sqrt2 * math.Erfinv(2*o.Confidence-1)}
}

// interval is how often the requests in flight are sampled.
func (d *detector) interval() time.Duration {
	return max(time.Duration(d.window/oversatSamples*float64(time.Second)), time.Millisecond)
}

// observeInFlight notes n requests in the system at t.
func (d *detector) observeInFlight(t time.Duration, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inFlight = append(d.inFlight, point{t.Seconds(), float64(n)})
}

// observeTTFT notes a request whose queue-inclusive TTFT, ttft, became
// known at t (when it finished).
func (d *detector) observeTTFT(t, ttft time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ttft = append(d.ttft, point{t.Seconds(), ttft.Seconds()})
}

// check evaluates the window ending at now and returns the reason to stop
// the stage, or nil.
func (d *detector) check(now time.Duration) *Oversaturated {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := now.Seconds()
	from := t - d.window
	d.inFlight = trim(d.inFlight, from)
	d.ttft = trim(d.ttft, from)
	if from < 0 || !d.holds(from, t) {
		d.holding = math.NaN()
		return nil
	}
	if math.IsNaN(d.holding) {
		d.holding = t
	}
	if t-d.holding < d.opt.Sustain.Seconds() {
		return nil
	}
	in, _ := theilSen(thin(d.inFlight), d.z)
	tt, _ := theilSen(thin(d.ttft), d.z)
	n := 0
	if k := len(d.inFlight); k > 0 {
		n = int(d.inFlight[k-1].v)
	}
	return &Oversaturated{ElapsedS: t, WindowS: d.window, Rate: d.rate, InFlight: n, InFlightSlope: in, TTFTSlope: tt}
}

// holds reports whether both trends are present in each half of the
// window [from, to] (the points are none later than to).
func (d *detector) holds(from, to float64) bool {
	mid := (from + to) / 2
	for _, h := range [2][2]float64{{from, mid}, {mid, math.Inf(1)}} {
		in := between(d.inFlight, h[0], h[1])
		tt := between(d.ttft, h[0], h[1])
		if len(tt) < minOversatTTFTs {
			return false
		}
		if _, lo := theilSen(thin(in), d.z); !(lo >= d.opt.Growth*d.rate) {
			return false
		}
		if _, lo := theilSen(thin(tt), d.z); !(lo > 0) {
			return false
		}
	}
	return true
}

// trim drops the points before from (they are in time order).
func trim(ps []point, from float64) []point {
	i, _ := slices.BinarySearchFunc(ps, from, func(p point, t float64) int {
		if p.t < t {
			return -1
		}
		return 1
	})
	if i == 0 {
		return ps
	}
	return append(ps[:0], ps[i:]...)
}

// between returns the points with from <= t < to.
func between(ps []point, from, to float64) []point {
	var out []point
	for _, p := range ps {
		if p.t >= from && p.t < to {
			out = append(out, p)
		}
	}
	return out
}

// thin keeps at most oversatMaxFit points, evenly spread by index.
func thin(ps []point) []point {
	n := len(ps)
	if n <= oversatMaxFit {
		return ps
	}
	out := make([]point, oversatMaxFit)
	for i := range out {
		out[i] = ps[i*(n-1)/(oversatMaxFit-1)]
	}
	return out
}

// theilSen returns the Theil–Sen slope of ps (the median of the slopes of
// every pair with distinct times) and Sen's one-sided lower confidence
// bound for it at the normal quantile z: the slope of rank (N − z·σ_S)/2
// among the N pair slopes, σ_S² = n(n−1)(2n+5)/18 being the variance of
// Kendall's S. With too few points for that bound it is −Inf; with fewer
// than 3 points both are NaN.
func theilSen(ps []point, z float64) (slope, lower float64) {
	n := len(ps)
	if n < 3 {
		return math.NaN(), math.NaN()
	}
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			if dx := ps[j].t - ps[i].t; dx != 0 {
				slopes = append(slopes, (ps[j].v-ps[i].v)/dx)
			}
		}
	}
	N := len(slopes)
	if N == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(slopes)
	if N%2 == 1 {
		slope = slopes[N/2]
	} else {
		slope = (slopes[N/2-1] + slopes[N/2]) / 2
	}
	fn := float64(n)
	c := z * math.Sqrt(fn*(fn-1)*(2*fn+5)/18)
	rank := int(math.Floor((float64(N) - c) / 2)) // 1-based
	if rank < 1 {
		return slope, math.Inf(-1)
	}
	return slope, slopes[rank-1]
}
