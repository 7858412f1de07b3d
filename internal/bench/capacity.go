package bench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"flperf/internal/backend"
	"flperf/internal/capacity"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
)

// CapacitySpec asks for a capacity search (docs/metrics.md §10) beside a
// run request: `flperf capacity` and the app's POST /api/v1/capacity.
type CapacitySpec struct {
	SLO      string   `json:"slo"`                 // objectives on percentiles, e.g. "ttft_p99=2s,tpot_p99=100ms"
	By       string   `json:"by,omitempty"`        // concurrency (default) or rate
	MaxTime  string   `json:"max_time,omitempty"`  // the search's time budget, a Go duration; default 10m
	MaxLevel *float64 `json:"max_level,omitempty"` // the highest level tried; default 1024 streams (the client's connections), or the load generator's highest rate
}

// Limits of a capacity search.
const (
	DefaultCapacityTime = 10 * time.Minute
	MaxCapacityTime     = 24 * time.Hour
)

// CapacityRun is a valid capacity search: the run's resolved request (one
// model at most, one scenario, the first level's load) and the search.
type CapacityRun struct {
	*Resolved
	Params capacity.Params
}

// ResolveCapacity validates a capacity search: the run request s as
// Validate checks it, with the first level taken from its concurrency (by
// concurrency, default 1) or rate (by rate, default 1/s), and cs. Every
// problem is reported at once as Problems.
func ResolveCapacity(s *Spec, cs CapacitySpec, c Check) (*CapacityRun, error) {
	var errs Problems
	bad := func(field, format string, a ...any) { errs = append(errs, c.problem(field, format, a...)) }
	n := c.name
	p := capacity.Params{By: capacity.By(cs.By), MaxTime: DefaultCapacityTime}
	slo, err := capacity.ParseSLO(cs.SLO)
	if err != nil {
		bad("slo", "%v", err)
	}
	p.SLO = slo
	sp := *s
	switch p.By {
	case "", capacity.ByConcurrency:
		p.By = capacity.ByConcurrency
		if s.Rate != nil || len(s.RateList) > 0 {
			bad("rate", "a search by concurrency varies the streams in flight; %s is for %s rate", n("rate"), n("by"))
		}
		start := 1
		if s.Concurrency != nil {
			start = *s.Concurrency
		}
		sp.Mode, sp.Concurrency = string(load.Concurrency), &start
		p.Start = float64(start)
	case capacity.ByRate:
		if s.Concurrency != nil || len(s.ConcurrencyList) > 0 {
			bad("concurrency", "a search by rate varies the arrival rate; %s is for %s concurrency", n("concurrency"), n("by"))
		}
		start := 1.0
		if s.Rate != nil {
			start = *s.Rate
		}
		sp.Mode, sp.Rate, sp.Concurrency = string(load.Rate), &start, nil
		p.Start = start
	default:
		bad("by", "must be concurrency or rate, got %q", cs.By)
	}
	if len(s.ConcurrencyList) > 0 || len(s.RateList) > 0 || s.Sweep != "" {
		bad("sweep", "a capacity search chooses its own load levels: give one starting %s or %s", n("concurrency"), n("rate"))
	}
	sp.ConcurrencyList, sp.RateList, sp.Sweep = nil, nil, ""
	if s.PrefixCache == runner.PrefixWarm {
		bad("prefix_cache", "a capacity search runs its own load levels; %q runs a cold and a warm stage: run it apart", runner.PrefixWarm)
	}
	if s.Duration != "" {
		bad("duration", "each level of a capacity search runs a number of requests (%s); bound the search with %s", n("requests"), n("max_time"))
	}
	if cs.MaxTime != "" {
		d, err := time.ParseDuration(cs.MaxTime)
		switch {
		case err != nil:
			bad("max_time", "want a duration like 10m, got %q", cs.MaxTime)
		case d <= 0 || d > MaxCapacityTime:
			bad("max_time", "must be between 1s and %s, got %s", MaxCapacityTime, d)
		default:
			p.MaxTime = d
		}
	}
	if cs.MaxLevel != nil {
		if v := *cs.MaxLevel; !(v >= p.Start) || math.IsInf(v, 0) || (p.By == capacity.ByConcurrency && v > backend.DefaultMaxConns) || v > load.MaxRate {
			bad("max_level", "must be a number from the first level (%g) to the load generator's limit, got %g", p.Start, v)
		} else {
			p.Max = v
		}
	}
	if p.Max == 0 {
		// As many streams as the client holds connections by default.
		p.Max = backend.DefaultMaxConns
		if p.By == capacity.ByRate {
			p.Max = load.MaxRate
		}
	}
	if len(s.Models) > 1 {
		bad("models", "a capacity search measures one model; give one (compare two searches with flperf compare)")
	}
	// The requests of a level: what its percentiles need, or more when asked.
	req := capacity.Needed(slo)
	if s.Requests != nil && *s.Requests > req {
		req = *s.Requests
	}
	sp.Requests = &req
	rs, verr := sp.Validate(c)
	if verr != nil {
		if ps, ok := verr.(Problems); ok {
			errs = append(errs, ps...)
		} else {
			bad("", "%v", verr)
		}
	}
	if rs != nil {
		if len(rs.Scenarios) != 1 {
			names := make([]string, len(rs.Scenarios))
			for i, sc := range rs.Scenarios {
				names[i] = sc.Name
			}
			bad("scenarios", "a capacity search measures one scenario; pick one of: %s", strings.Join(names, "; "))
		}
		p.Timeout = time.Duration(rs.Config.Timeout)
		if p.MaxTime <= p.Timeout {
			bad("max_time", "must be longer than the per-request timeout (%s): a level's requests may last that long", p.Timeout)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	p.Requests = req
	rs.Config.Capacity = &capacity.Result{By: p.By, SLO: p.SLO.String(), Objectives: p.SLO, MaxTime: p.MaxTime.String(),
		Requests: req, Scenario: rs.Scenarios[0].Name, Levels: []capacity.Level{}}
	return &CapacityRun{Resolved: rs, Params: p}, nil
}

// RunCapacity runs the search of cr with the prepared runner r (Prepare of
// cr.Resolved): each level a stage of one run, whose Result carries the
// search in its configuration (Config.Capacity). It returns an error only
// for set-up problems, as runner.Run does.
func RunCapacity(ctx context.Context, cr *CapacityRun, r *runner.Runner) (*runner.Result, error) {
	if len(r.Config.Models) != 1 {
		return nil, Problems{cr.check.problem("models", "a capacity search measures one model; the engine has %s: pick one", strings.Join(r.Config.Models, ", "))}
	}
	model, sc := r.Config.Models[0], &r.Scenarios[0]
	col := &sampleSink{byStage: map[string][]capacity.Sample{}}
	r.Sinks = append(r.Sinks, col)
	found := *r.Config.Capacity
	found.Model = model
	r.Config.Capacity = &found
	s, err := r.Begin(ctx)
	if err != nil {
		return nil, err
	}
	run := func(_ context.Context, level float64, requests int, budget time.Duration) (capacity.Observation, error) {
		lv := runner.ConcurrencyLevel(int(level))
		if cr.Params.By == capacity.ByRate {
			lv = runner.RateLevel(level)
		}
		plan := lv.Apply(r.Config.Plan())
		plan.Requests, plan.Duration = requests, budget
		res := s.RunStage(runner.StageSpec{Model: model, Scenario: sc, Plan: plan, Stage: lv.Label()})
		if res.Skipped != nil {
			return capacity.Observation{}, fmt.Errorf("%s", res.Skipped.String())
		}
		return capacity.Observation{Stage: lv.Label(), Samples: col.take(lv.Label()), Group: res.Summary, Stopped: res.Stopped}, nil
	}
	p := cr.Params
	out, serr := capacity.Search(ctx, p, run)
	res, err := s.End()
	if out != nil {
		out.Model, out.Scenario = model, sc.Name
		res.Config.Capacity = out
		if serr != nil {
			out.Stop = "the search could not go on: " + serr.Error()
			out.Answer = capacity.Line(out)
		}
		if r.Log != nil {
			r.Log("info", "capacity: "+out.Answer)
		}
	}
	return res, err
}

// sampleSink keeps each stage's capacity samples as the records arrive.
type sampleSink struct {
	mu      sync.Mutex
	byStage map[string][]capacity.Sample
}

func (c *sampleSink) Add(rec *record.Record) error {
	if s, ok := capacity.SampleOf(rec); ok {
		c.mu.Lock()
		c.byStage[rec.Stage] = append(c.byStage[rec.Stage], s)
		c.mu.Unlock()
	}
	return nil
}

func (c *sampleSink) Close() error { return nil }

// take returns and forgets the samples of stage.
func (c *sampleSink) take(stage string) []capacity.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.byStage[stage]
	delete(c.byStage, stage)
	return s
}
