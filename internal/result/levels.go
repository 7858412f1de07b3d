package result

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"flperf/internal/load"
)

// Level is one load level: a closed loop of Concurrency requests always in
// flight, or an open loop of Rate arrivals per second. A sweep runs each of
// its levels as a stage of every model × scenario (docs/metrics.md §7).
type Level struct {
	Mode        load.Mode `json:"mode"` // load.Concurrency or load.Rate
	Concurrency int       `json:"concurrency,omitempty"`
	Rate        float64   `json:"rate,omitempty"`
}

// ConcurrencyLevel is the closed-loop level of n requests in flight.
func ConcurrencyLevel(n int) Level { return Level{Mode: load.Concurrency, Concurrency: n} }

// RateLevel is the open-loop level of r arrivals per second.
func RateLevel(r float64) Level { return Level{Mode: load.Rate, Rate: r} }

// Label is the stage label of the level, the one form used in records,
// summaries, tables, exports and the app: "c=4" (4 requests in flight) or
// "rate=2/s" (2 arrivals per second; 0.5 is "rate=0.5/s").
func (l Level) Label() string {
	if l.Mode == load.Rate {
		return "rate=" + strconv.FormatFloat(l.Rate, 'g', -1, 64) + "/s"
	}
	return "c=" + strconv.Itoa(l.Concurrency)
}

// Value is the level in its mode's unit: requests in flight or per second.
func (l Level) Value() float64 {
	if l.Mode == load.Rate {
		return l.Rate
	}
	return float64(l.Concurrency)
}

// Apply returns p at this level: its mode and concurrency or rate are the
// level's; bounds, warm-up, arrival process, in-flight cap and seed stay
// p's (the arrival process and the cap only apply to a rate level).
func (l Level) Apply(p load.Plan) load.Plan {
	p.Mode = l.Mode
	switch l.Mode {
	case load.Rate:
		p.Concurrency, p.Rate = 0, l.Rate
	default:
		p.Concurrency, p.Rate, p.Arrival, p.MaxInFlight = l.Concurrency, 0, "", 0
	}
	return p
}

// ParseLevel reads a stage label written by Label ("c=4", "rate=2/s");
// ok is false for anything else (the stage of a run of one level is "").
func ParseLevel(stage string) (Level, bool) {
	var n int
	var r float64
	if _, err := fmt.Sscanf(stage, "c=%d", &n); err == nil && n > 0 {
		if l := ConcurrencyLevel(n); l.Label() == stage {
			return l, true
		}
	}
	if len(stage) > 7 && stage[:5] == "rate=" && stage[len(stage)-2:] == "/s" {
		v, err := strconv.ParseFloat(stage[5:len(stage)-2], 64)
		if err == nil && v > 0 && !math.IsInf(v, 0) {
			r = v
			if l := RateLevel(r); l.Label() == stage {
				return l, true
			}
		}
	}
	return Level{}, false
}

// Sweep returns the run's load levels, ascending, when the run sweeps
// (Config.Levels holds two or more); nil for a run of one level, whose
// stages carry no label.
func (c *Config) Sweep() []Level {
	if len(c.Levels) < 2 {
		return nil
	}
	vals := slices.Clone(c.Levels)
	slices.Sort(vals)
	out := make([]Level, 0, len(vals))
	for _, v := range vals {
		if c.Mode == load.Rate {
			out = append(out, RateLevel(v))
		} else {
			out = append(out, ConcurrencyLevel(int(v)))
		}
	}
	return out
}
