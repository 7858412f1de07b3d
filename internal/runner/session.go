package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"flperf/internal/engineseries"
	"flperf/internal/load"
	"flperf/internal/stats"
	"flperf/internal/suite"
	"flperf/internal/telemetry"
)

// Session is a run in progress whose stages its caller chooses one at a
// time: Run runs the configured ones (every model, scenario and load level);
// a capacity search picks each load level from the figures of the last.
// Begin starts it (the run's id, its resource sampler, the watch on its
// sinks), RunStage runs one model × scenario at one load level, End
// finishes it into the Result. A Session is used from one goroutine.
type Session struct {
	r       *Runner
	ctx     context.Context // the caller's, with the save guard's stop
	st      *runState
	sampler *telemetry.Sampler
	queue   *engineseries.Sampler // the engine series; nil: not sampled
	stopped <-chan struct{}
	windows []stageWindow
	colds   map[string]*coldStart // per model, once its first stage began
	models  []string              // models in the order their first stage ran
	noted   map[string]bool       // model/scenario pairs whose skip was logged
	ended   bool
}

// StageSpec is one stage to run: a model × scenario at one load level.
// Plan.Warmup is ignored: the run's warm-up (Config.Warmup) is sent before
// each model's first stage of the session, and never again.
type StageSpec struct {
	Model    string
	Scenario *suite.Scenario
	Plan     load.Plan // Level.Apply(Config.Plan()) for a level of the run's own load
	Stage    string    // the label its records carry: Level.Label(); "" in a run of one level
}

// StageResult is what one stage did.
type StageResult struct {
	Stage   string
	Skipped *ContextFit // set when the context check skipped the model × scenario: nothing ran
	Records int         // records of the stage, warm-ups included
	Warmups int
	Start   time.Time
	End     time.Time
	// Summary is the stage's measured records summarised as the run's
	// summary will (its group of model × scenario × stage), with the
	// run's SLO for goodput.
	Summary stats.Group
	// Stopped: scheduling was stopped during or before the stage (the
	// user, or results that can no longer be saved); run no further stage.
	Stopped bool
}

// Begin starts a run whose stages the caller runs with RunStage; End must
// follow. It fails only for set-up problems.
func (r *Runner) Begin(ctx context.Context) (*Session, error) {
	if r.Client == nil || r.Suite == nil || len(r.Scenarios) == 0 || len(r.Config.Models) == 0 {
		return nil, fmt.Errorf("runner: client, suite, scenarios and models are required")
	}
	for i := range r.Scenarios {
		if sc := &r.Scenarios[i]; sc.InputTokens != nil && r.Inputs == nil {
			return nil, fmt.Errorf("runner: scenario %q asks for input_tokens %s, but its prompts were not resolved (bench.Prepare resolves them)", sc.Name, sc.InputTokens)
		}
	}
	now := r.now()
	id := r.ID
	if id == "" {
		id = NewID(now())
	}
	res := &Result{
		ID:      id,
		Tool:    CurrentTool(),
		Status:  Completed,
		Started: now(),
		Engine:  r.Engine,
		Config:  r.Config,
		Suite:   NewSuiteInfo(r.Suite, r.Scenarios),
	}
	res.Config.Levels = slices.Clone(r.Config.Levels)
	res.Suite.ContextFit = slices.Clone(r.ContextFit)
	res.Suite.ContextWindows = maps.Clone(r.ContextWindows)
	if r.InputLengths != nil {
		il := *r.InputLengths
		il.Prompts = slices.Clone(il.Prompts)
		res.Suite.InputLengths = &il
	}
	res.Hardware = r.Hardware
	s := &Session{r: r, colds: map[string]*coldStart{}, noted: map[string]bool{}}
	if r.Resources != nil {
		var err error
		if s.sampler, err = telemetry.Start(context.WithoutCancel(ctx), *r.Resources); err != nil {
			return nil, fmt.Errorf("runner: resource sampling: %w", err)
		}
	}
	if r.EngineSeries != nil {
		var err error
		if s.queue, err = engineseries.Start(context.WithoutCancel(ctx), *r.EngineSeries); err != nil {
			if s.sampler != nil {
				s.sampler.Stop()
			}
			return nil, fmt.Errorf("runner: engine series: %w", err)
		}
	}
	plans := stagePlans(&r.Config)
	st := &runState{res: res, plan: r.Config.Plan(), stages: len(r.Config.Models) * len(r.Scenarios) * len(plans)}
	s.ctx, st.save = r.guardSaving(ctx)
	if st.plan.Requests > 0 && st.plan.Duration == 0 {
		for _, model := range r.Config.Models {
			if n := r.runnable(model); n > 0 {
				st.total += n*len(plans)*st.plan.Requests + st.plan.Warmup
				if r.Config.PrefixCache == PrefixWarm {
					st.total += n // each warm stage's priming warm-up
				}
			}
		}
	}
	st.start = time.Now()
	s.st = st
	s.stopped = load.Stopped(s.ctx)
	return s, nil
}

// Stopped reports whether scheduling was stopped (by the user, or because
// results can no longer be saved): no further stage should run.
func (s *Session) Stopped() bool { return isClosed(s.stopped) }

// RunStage runs one stage and returns what it did. The first stage of a
// model starts with its cold start (Runner.Cold) and the run's warm-up;
// a model × scenario the context check skipped runs nothing.
func (s *Session) RunStage(spec StageSpec) StageResult {
	r := s.r
	out := StageResult{Stage: spec.Stage}
	if f := skipped(r.ContextFit, spec.Model, spec.Scenario.Name); f != nil {
		if key := spec.Model + "\x00" + spec.Scenario.Name; !s.noted[key] {
			s.noted[key] = true
			r.log("info", f.String())
		}
		out.Skipped, out.Stopped = f, s.Stopped()
		return out
	}
	p := spec.Plan
	p.Warmup = 0
	cold, seen := s.colds[spec.Model]
	if !seen {
		if n := len(s.models); n > 0 {
			s.noCold(s.models[n-1])
		}
		cold = r.coldStart(s.ctx, spec.Model)
		s.colds[spec.Model] = cold
		s.models = append(s.models, spec.Model)
		p.Warmup = r.Config.Warmup // warm-up once per model, before its first stage
	}
	if spec.Stage == StagePrefixWarm {
		p.Warmup = max(p.Warmup, 1) // it primes the engine's cache with the prefix
	}
	var agg stats.Aggregator
	win := r.runStage(s.ctx, s.st, spec.Model, spec.Scenario, p, spec.Stage, cold, &agg)
	s.windows = append(s.windows, win)
	if win.server != nil {
		s.st.res.Server = append(s.st.res.Server, StageServer{Model: spec.Model, Scenario: win.scenario, Stage: spec.Stage,
			ClientRequests: win.records, ClientWarmups: win.warmups, Stats: *win.server})
	}
	out.Records, out.Warmups, out.Start, out.End = win.records, win.warmups, win.start, win.end
	if sum := agg.Summary(stats.Options{SLO: r.Config.SLO}); len(sum.Groups) > 0 {
		out.Summary = sum.Groups[0]
	} else {
		out.Summary = stats.Group{Model: spec.Model, Scenario: spec.Scenario.Name, Stage: spec.Stage}
	}
	out.Stopped = s.Stopped()
	return out
}

// End finishes the run: its status, the sinks closed, the summaries, the
// resources and the warnings. It returns the first error a sink returned.
func (s *Session) End() (*Result, error) {
	if s.ended {
		return nil, fmt.Errorf("runner: session already ended")
	}
	s.ended = true
	r, st, res := s.r, s.st, s.st.res
	defer st.save.stop()
	if n := len(s.models); n > 0 && !isClosed(s.stopped) {
		s.noCold(s.models[n-1])
	}
	for _, model := range s.models {
		s.colds[model].record(&res.Engine, model)
	}
	st.save.close()
	saveErr := st.save.failure()
	switch {
	case s.ctx.Err() != nil:
		res.Status = Canceled
		r.log("warn", "canceled by the user: requests in flight were cancelled")
	case saveErr != nil:
		res.Status = Interrupted
	case isClosed(s.stopped):
		res.Status = Interrupted
		r.log("warn", "interrupted by the user: scheduling stopped, requests in flight finished")
	}
	for _, sk := range r.Sinks {
		if err := sk.Close(); err != nil && st.sinkErr == nil {
			st.sinkErr = err
		}
	}
	res.Ended = r.now()()
	if s.sampler != nil {
		res.Series = s.sampler.Stop()
		res.Resources = resources(res.Series, s.windows)
	}
	if s.queue != nil {
		res.EngineSeries = engineSeries(s.queue, s.windows)
	}
	res.Summary = st.agg.Summary(stats.Options{SLO: r.Config.SLO})
	res.Engine.ConnectionReuse = connectionReuse(r.Client)
	truncation(res)
	res.Warnings = append(runWarnings(res), crossCheck(res)...)
	if saveErr != nil {
		res.Warnings = append([]string{fmt.Sprintf("results could no longer be saved (%v): the run stopped there; the database holds only what was saved before.", saveErr)}, res.Warnings...)
	}
	return res, st.sinkErr
}

// noCold says, once a model's stages are over, that its cold start was
// measured by no request.
func (s *Session) noCold(model string) {
	if cold := s.colds[model]; cold != nil && cold.Seq < 0 {
		s.r.log("warn", fmt.Sprintf("cold start of %s: no warm-up request measured the cold TTFT (use --warmup 1 or more)", model))
	}
}

// now is the runner's clock.
func (r *Runner) now() func() time.Time {
	if r.Now != nil {
		return r.Now
	}
	return time.Now
}
