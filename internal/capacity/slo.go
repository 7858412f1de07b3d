package capacity

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Metric is a per-request latency an objective bounds (docs/metrics.md §3).
type Metric string

// The metrics an objective can bound. TTFT and E2E are queue-inclusive
// (t_first − t_sched, t_end − t_sched): in an open loop the time a request
// waited for its turn is time its user waited; in a closed loop they equal
// the plain figures.
const (
	TTFT Metric = "ttft"
	TPOT Metric = "tpot"
	E2E  Metric = "e2e"
)

// metrics lists the metrics in the order messages name them.
var metrics = []Metric{TTFT, TPOT, E2E}

// Name is the metric as reports write it: "TTFT", "TPOT", "E2E".
func (m Metric) Name() string { return strings.ToUpper(string(m)) }

// Objective bounds one percentile of one metric: at load, the Percentile-th
// percentile of Metric must be at most Target.
type Objective struct {
	Metric     Metric
	Percentile float64 // in [MinPercentile, MaxPercentile], e.g. 99
	Target     time.Duration
}

// Bounds of an objective's percentile: below 50 an objective says little
// about a tail; above 99.9 no level could run the requests its confidence
// interval needs.
const (
	MinPercentile = 50
	MaxPercentile = 99.9
)

// Key is the objective's name in an SLO: "ttft_p99", "tpot_p99.9".
func (o Objective) Key() string {
	return string(o.Metric) + "_p" + strconv.FormatFloat(o.Percentile, 'g', -1, 64)
}

// Label is the objective as reports write it: "TTFT p99".
func (o Objective) Label() string {
	return o.Metric.Name() + " p" + strconv.FormatFloat(o.Percentile, 'g', -1, 64)
}

// objectiveJSON is an Objective's JSON form.
type objectiveJSON struct {
	Key        string  `json:"key"`
	Metric     Metric  `json:"metric"`
	Percentile float64 `json:"percentile"`
	TargetMS   float64 `json:"target_ms"`
}

// MarshalJSON writes {"key", "metric", "percentile", "target_ms"}.
func (o Objective) MarshalJSON() ([]byte, error) {
	return json.Marshal(objectiveJSON{Key: o.Key(), Metric: o.Metric, Percentile: o.Percentile, TargetMS: ms(o.Target)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (o *Objective) UnmarshalJSON(b []byte) error {
	var j objectiveJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*o = Objective{Metric: j.Metric, Percentile: j.Percentile, Target: time.Duration(math.Round(j.TargetMS * float64(time.Millisecond)))}
	return nil
}

// SLO is the objectives a level must meet, all of them.
type SLO []Objective

// ParseSLO reads a comma-separated list of METRIC_pPCT=DURATION items, e.g.
// "ttft_p99=2s,tpot_p99=100ms": METRIC is ttft, tpot or e2e, PCT a
// percentile from 50 to 99.9, DURATION a positive Go duration with a unit.
// Each metric × percentile at most once; at least one item. Errors name the
// bad item.
func ParseSLO(s string) (SLO, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("slo: give at least one objective, e.g. ttft_p99=2s,tpot_p99=100ms")
	}
	var slo SLO
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("slo: %q is not metric_pNN=duration (e.g. ttft_p99=2s)", item)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		name, pct, ok := strings.Cut(key, "_p")
		m := Metric(name)
		if !ok || (m != TTFT && m != TPOT && m != E2E) {
			return nil, fmt.Errorf("slo: %q: want ttft_pNN, tpot_pNN or e2e_pNN (e.g. ttft_p99)", key)
		}
		p, err := strconv.ParseFloat(pct, 64)
		if err != nil || !(p >= MinPercentile && p <= MaxPercentile) {
			return nil, fmt.Errorf("slo: %q: the percentile must be a number from %d to %g", key, MinPercentile, MaxPercentile)
		}
		o := Objective{Metric: m, Percentile: p}
		if seen[o.Key()] {
			return nil, fmt.Errorf("slo: %s given twice", o.Key())
		}
		seen[o.Key()] = true
		val = strings.TrimSpace(val)
		d, err := time.ParseDuration(val)
		if err != nil {
			return nil, fmt.Errorf("slo: %s=%q: not a duration with a unit (e.g. 2s, 100ms)", key, val)
		}
		if d <= 0 {
			return nil, fmt.Errorf("slo: %s=%q: must be positive", key, val)
		}
		o.Target = d
		slo = append(slo, o)
	}
	return slo, nil
}

// String writes the SLO in the syntax ParseSLO reads.
func (s SLO) String() string {
	parts := make([]string, len(s))
	for i, o := range s {
		parts[i] = o.Key() + "=" + o.Target.String()
	}
	return strings.Join(parts, ",")
}

// ms is a duration in float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
