package result

import (
	"fmt"

	"flperf/internal/load"
)

// OpenLoop is what an open-loop stage did beyond its records
// (docs/metrics.md §7): the arrivals it dropped because --max-in-flight
// requests were in flight (on_full drop), and whether the over-saturation
// detector stopped its scheduling. It is stored with the run (in its suite
// block) for every stage that dropped arrivals or was stopped, and shown
// by every report.
type OpenLoop struct {
	Model    string      `json:"model"`
	Scenario string      `json:"scenario"`
	Stage    string      `json:"stage,omitempty"` // the load level's label in a sweep
	Rate     float64     `json:"rate"`            // arrivals per second
	OnFull   load.OnFull `json:"on_full"`         // queue or drop
	// Arrivals is how many measured arrivals came due and were sent or
	// dropped; Dropped is how many of them were dropped: never sent, no
	// record, in no figure (docs/metrics.md §7).
	Arrivals int `json:"arrivals"`
	Dropped  int `json:"dropped"`
	// Requests is how many requests of the stage were sent (warm-ups
	// included): its records.
	Requests int `json:"requests"`
	// Oversaturated is why the detector stopped the stage (null: it ran
	// to its end).
	Oversaturated *load.Oversaturated `json:"oversaturated,omitempty"`
}

// String is the stage's line among the run's warnings.
func (o *OpenLoop) String() string {
	where := fmt.Sprintf("model %s, scenario %q", o.Model, o.Scenario)
	if o.Stage != "" {
		where += ", " + o.Stage
	}
	var s string
	if o.OnFull == load.Drop {
		s = fmt.Sprintf("open loop: %s: %d of %d arrivals dropped because --max-in-flight requests were in flight; dropped arrivals were never sent, so they count in neither the error rate nor the throughput", where, o.Dropped, o.Arrivals)
	}
	if o.Oversaturated != nil {
		stop := fmt.Sprintf("over-saturated: %s stopped early after %d requests: %s; its latencies describe an engine that could not keep up (a lower --rate, or --max-in-flight with --on-full drop, measures one that can)", where, o.Requests, o.Oversaturated)
		if s == "" {
			return stop
		}
		s += "; " + stop
	}
	return s
}
