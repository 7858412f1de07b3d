package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Mode is the load model of a stage.
type Mode string

// The load models.
const (
	Sequential  Mode = "sequential"  // one request at a time (closed loop of 1)
	Concurrency Mode = "concurrency" // closed loop of Plan.Concurrency workers
	Rate        Mode = "rate"        // open loop at Plan.Rate arrivals per second
)

// Arrival is how open-loop arrivals are spaced.
type Arrival string

// The arrival processes.
const (
	Constant Arrival = "constant" // evenly spaced, 1/Rate apart (the default)
	Poisson  Arrival = "poisson"  // exponential gaps of mean 1/Rate, seeded
)

// OnFull is what an open-loop arrival does when MaxInFlight requests are
// already in flight.
type OnFull string

// The choices of OnFull.
const (
	Queue OnFull = "queue" // wait for a slot, keeping the intended Scheduled time (the default)
	Drop  OnFull = "drop"  // not sent, no record: counted in Report.Dropped
)

// Limits on a Plan, so that a hostile or mistyped configuration cannot ask
// for millions of goroutines.
const (
	MaxWorkers = 10000 // largest Concurrency and MaxInFlight
	MaxRate    = 1e6   // largest Rate, in requests per second
)

// Plan describes one load stage. The zero Mode means Sequential and the zero
// Arrival means Constant; at least one of Requests and Duration must be set.
// Fields that do not apply to the Mode must be left zero, so that a plan never
// silently ignores a setting; the exceptions are harmless defaults: Concurrency
// may be 1 in any mode, Arrival may be constant, OnFull queue, and Seed and
// Oversaturation anything.
type Plan struct {
	Mode        Mode    // load model (zero: sequential)
	Concurrency int     // concurrency mode: N closed-loop workers (>= 1)
	Rate        float64 // rate mode: requests per second (> 0)
	Arrival     Arrival // rate mode: constant (default) or poisson
	MaxInFlight int     // rate mode: optional cap on requests in flight (0: none); a request that finds no free slot waits, keeping its intended Scheduled time
	OnFull      OnFull  // rate mode with MaxInFlight: an arrival that finds no free slot waits (queue, the default) or is dropped and counted (drop)
	// Oversaturation is the rate mode's over-saturation detector (zero: on,
	// with its defaults); it is not used by the closed loop.
	Oversaturation Oversaturation
	Requests       int           // measured requests to send (0: unbounded, then Duration must be set)
	Duration       time.Duration // stop scheduling measured requests this long after the first measured one (0: unbounded, then Requests must be set); in-flight ones finish
	Warmup         int           // warm-up requests sent first, one at a time, flagged Warmup
	Seed           int64         // seeds the Poisson schedule
}

// FieldError is one problem with one field of a Plan.
type FieldError struct {
	Field   string // the field, as it is spelled in configuration: "concurrency", "max_in_flight", …
	Problem string // what is wrong, with the offending value
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// mode returns the plan's mode with the default applied.
func (p Plan) mode() Mode {
	if p.Mode == "" {
		return Sequential
	}
	return p.Mode
}

// arrival returns the plan's arrival process with the default applied.
func (p Plan) arrival() Arrival {
	if p.Arrival == "" {
		return Constant
	}
	return p.Arrival
}

// workers is the number of closed-loop workers.
func (p Plan) workers() int {
	if p.mode() == Concurrency {
		return p.Concurrency
	}
	return 1
}

// Validate reports every problem with the plan at once, each a *FieldError
// naming its field. A nil result means Run will execute the plan.
func (p Plan) Validate() []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fieldErr(field, format, args...))
	}
	mode := p.mode()
	switch mode {
	case Sequential, Concurrency, Rate:
	default:
		add("mode", "must be one of sequential, concurrency, rate, got %q", string(p.Mode))
	}

	switch {
	case mode == Concurrency && p.Concurrency < 1:
		add("concurrency", "must be >= 1, got %d", p.Concurrency)
	case mode == Concurrency && p.Concurrency > MaxWorkers:
		add("concurrency", "must be <= %d, got %d", MaxWorkers, p.Concurrency)
	case mode == Sequential && p.Concurrency != 0 && p.Concurrency != 1:
		add("concurrency", "sequential mode sends one request at a time, got %d (use mode concurrency)", p.Concurrency)
	case mode == Rate && p.Concurrency != 0 && p.Concurrency != 1:
		add("concurrency", "not used in rate mode, got %d (use max_in_flight to cap requests in flight)", p.Concurrency)
	}

	switch {
	case mode == Rate && (math.IsNaN(p.Rate) || math.IsInf(p.Rate, 0) || p.Rate <= 0):
		add("rate", "must be a number > 0 requests per second, got %v", p.Rate)
	case mode == Rate && p.Rate > MaxRate:
		add("rate", "must be <= %v requests per second, got %v", MaxRate, p.Rate)
	case mode != Rate && p.Rate != 0:
		add("rate", "only used in rate mode, got %v in %s mode", p.Rate, mode)
	}

	switch arr := p.arrival(); {
	case arr != Constant && arr != Poisson:
		add("arrival", "must be constant or poisson, got %q", string(p.Arrival))
	case mode != Rate && arr != Constant:
		add("arrival", "only used in rate mode, got %q in %s mode", string(p.Arrival), mode)
	}

	switch {
	case p.MaxInFlight < 0:
		add("max_in_flight", "must be >= 0 (0: no cap), got %d", p.MaxInFlight)
	case p.MaxInFlight > MaxWorkers:
		add("max_in_flight", "must be <= %d, got %d", MaxWorkers, p.MaxInFlight)
	case mode != Rate && p.MaxInFlight != 0:
		add("max_in_flight", "only used in rate mode, got %d in %s mode", p.MaxInFlight, mode)
	}

	switch {
	case p.OnFull != "" && p.OnFull != Queue && p.OnFull != Drop:
		add("on_full", "must be queue or drop, got %q", string(p.OnFull))
	case p.OnFull == Drop && mode != Rate:
		add("on_full", "drop is only used in rate mode, got %s mode", mode)
	case p.OnFull == Drop && p.MaxInFlight == 0:
		add("on_full", "drop needs max_in_flight (arrivals are dropped when that many requests are in flight)")
	}
	for _, problem := range p.Oversaturation.validate() {
		add("oversaturation", "%s", problem)
	}

	if p.Requests < 0 {
		add("requests", "must be >= 0 (0: bounded by duration), got %d", p.Requests)
	}
	if p.Duration < 0 {
		add("duration", "must be >= 0 (0: bounded by requests), got %v", p.Duration)
	}
	if p.Requests == 0 && p.Duration == 0 {
		add("requests", "set requests or duration (or both): an unbounded stage never ends")
	}
	if p.Warmup < 0 {
		add("warmup", "must be >= 0, got %d", p.Warmup)
	}
	return errs
}

// String labels the load model for reports: "sequential", "concurrency=8",
// "rate=5/s", "rate=5/s poisson cap=16", "rate=5/s cap=16 drop". Bounds and warm-ups are not part of
// the label.
func (p Plan) String() string {
	switch mode := p.mode(); mode {
	case Sequential:
		return string(Sequential)
	case Concurrency:
		return "concurrency=" + strconv.Itoa(p.Concurrency)
	case Rate:
		var b strings.Builder
		b.WriteString("rate=")
		b.WriteString(strconv.FormatFloat(p.Rate, 'g', -1, 64))
		b.WriteString("/s")
		if arr := p.arrival(); arr != Constant {
			b.WriteString(" ")
			b.WriteString(string(arr))
		}
		if p.MaxInFlight > 0 {
			b.WriteString(" cap=")
			b.WriteString(strconv.Itoa(p.MaxInFlight))
			if p.OnFull == Drop {
				b.WriteString(" drop")
			}
		}
		return b.String()
	default:
		return "mode=" + strconv.Quote(string(mode))
	}
}
