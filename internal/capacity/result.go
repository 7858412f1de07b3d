package capacity

import (
	"math"
	"strings"
	"time"
)

// Result is a capacity search: the `capacity` object of `flperf capacity
// --format json`, stored with the run (its configuration's "capacity").
type Result struct {
	By         By     `json:"by"`
	SLO        string `json:"slo"` // in ParseSLO syntax
	Objectives SLO    `json:"objectives"`
	MaxTime    string `json:"max_time,omitempty"` // the time budget, a Go duration; "": none
	Requests   int    `json:"requests_per_level"` // measured requests each level runs
	Model      string `json:"model,omitempty"`
	Scenario   string `json:"scenario,omitempty"`
	// Level is the highest level that met every objective; nil when none did.
	Level *float64 `json:"level"`
	// FirstFailing is the lowest level tried above Level that failed, with
	// what failed; nil when none failed.
	FirstFailing *Failing `json:"first_failing"`
	Levels       []Level  `json:"levels"` // in the order tried
	Stop         string   `json:"stop"`   // why the search ended
	Answer       string   `json:"answer"` // the one-line answer (Line)
}

// Failing is the first failing level and what failed there.
type Failing struct {
	Level float64 `json:"level"`
	Stage string  `json:"stage"`
	Why   string  `json:"why"`
}

// Level is one load level as the search ran and judged it.
type Level struct {
	Level     float64 `json:"level"`
	Stage     string  `json:"stage"` // its stage label in the run, e.g. "c=4"
	Requests  int     `json:"requests"`
	OK        int     `json:"ok"`
	Failed    int     `json:"failed"`
	DurationS float64 `json:"duration_s"` // how long the level ran
	// Throughput over the level's window (docs/metrics.md §5).
	RequestsPerS     float64 `json:"requests_per_s"`
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	Goodput          Goodput `json:"goodput"`
	// Objectives is each objective as this level met it or not.
	Objectives []Measured `json:"objectives"`
	// Complete: every planned request ran; an incomplete level is not judged.
	Complete bool   `json:"complete"`
	Pass     bool   `json:"pass"`
	Why      string `json:"why,omitempty"` // what failed; "" when it passed

	meanE2E float64 // ms; for the time estimate of later levels
	maxE2E  float64 // ms
}

// Goodput is the level's requests that met every objective's target
// (docs/metrics.md §5, with the targets of the SLO's objectives).
type Goodput struct {
	Good     int     `json:"good"`
	PerS     float64 `json:"good_per_s"`
	Fraction float64 `json:"fraction"` // good / measured requests
}

// judgeLevel judges the observation of one level.
func judgeLevel(p Params, level float64, obs Observation, took time.Duration) Level {
	g := &obs.Group
	lv := Level{Level: level, Stage: obs.Stage, Requests: len(obs.Samples), DurationS: took.Seconds(),
		RequestsPerS: finiteOr0(g.RequestsPerS), OutputTokensPerS: finiteOr0(g.OutputTokensPerS)}
	var sum float64
	var n int
	for _, s := range obs.Samples {
		if s.Failed {
			lv.Failed++
			continue
		}
		lv.OK++
		if !math.IsNaN(s.E2E) {
			sum += s.E2E
			n++
			lv.maxE2E = math.Max(lv.maxE2E, s.E2E)
		}
		good := true
		for _, o := range p.SLO {
			if v := s.value(o.Metric); math.IsNaN(v) || v > ms(o.Target) {
				good = false
			}
		}
		if good {
			lv.Goodput.Good++
		}
	}
	if n > 0 {
		lv.meanE2E = sum / float64(n)
	}
	if lv.Requests > 0 {
		lv.Goodput.Fraction = float64(lv.Goodput.Good) / float64(lv.Requests)
	}
	if g.Window > 0 {
		lv.Goodput.PerS = float64(lv.Goodput.Good) / g.Window
	}
	lv.Complete = !obs.Stopped && lv.Requests >= p.Requests
	lv.Pass = lv.Complete
	var why []string
	for _, o := range p.SLO {
		m := judge(o, obs.Samples)
		lv.Objectives = append(lv.Objectives, m)
		if !m.Pass {
			lv.Pass = false
			if m.Why != "" {
				why = append(why, m.Why)
			}
		}
	}
	lv.Why = strings.Join(why, "; ")
	if !lv.Complete {
		lv.Pass, lv.Why = false, "incomplete: not judged"
	}
	return lv
}

// finish sets the result's level, first failing level and answer.
func (r *Result) finish(lo, hi float64) {
	if !math.IsNaN(lo) {
		v := lo
		r.Level = &v
	}
	if !math.IsNaN(hi) {
		if lv := r.find(hi); lv != nil {
			r.FirstFailing = &Failing{Level: hi, Stage: lv.Stage, Why: lv.Why}
		}
	}
	if r.Levels == nil {
		r.Levels = []Level{}
	}
	if r.Objectives == nil {
		r.Objectives = SLO{}
	}
	r.Answer = Line(r)
}

// find is the last run of level v.
func (r *Result) find(v float64) *Level {
	for i := len(r.Levels) - 1; i >= 0; i-- {
		if r.Levels[i].Level == v && r.Levels[i].Complete {
			return &r.Levels[i]
		}
	}
	return nil
}

// Sustained is the level entry of the capacity found; nil when none.
func (r *Result) Sustained() *Level {
	if r.Level == nil {
		return nil
	}
	return r.find(*r.Level)
}

// finiteOr0 is v, or 0 where it is not a finite number (a level without a
// window).
func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
