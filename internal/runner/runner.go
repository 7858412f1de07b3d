// Package runner executes one benchmark run: for every model, one after
// another, and every selected scenario, it drives the load generator against
// the backend client, fans each record out in one place (the statistics
// aggregator, then every Sink: JSONL files, and later the store and the live
// web feed), and returns the run's Result. It is used by `flperf run` and,
// later, by the web app's POST /api/v1/runs.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/stats"
	"flperf/internal/suite"
	"flperf/internal/telemetry"
)

// Sink receives every record of a run, in the order records complete, from
// one goroutine. Close is called once after the last record.
type Sink interface {
	Add(*record.Record) error
	Close() error
}

// Progress is reported after every record.
type Progress struct {
	Model, Scenario string
	Done, Total     int           // requests finished and planned (Total 0: duration-bound, unknown)
	Errors          int           // failed requests so far (warm-ups excluded)
	Elapsed         time.Duration // since the run started
	ETA             time.Duration // estimated time left (0: unknown)
}

// Doer sends one request and fills its record (backend.Client for the
// OpenAI routes, backend.OllamaNative for Ollama's own /api/chat).
type Doer interface {
	Do(ctx context.Context, req backend.Request, rec *record.Record)
}

// Runner holds everything one run needs. Build it, then call Run once.
type Runner struct {
	ID        string // run id; empty: NewID at start (set it to register the run elsewhere first)
	Client    Doer
	Engine    engine.Info
	Suite     *suite.Suite
	Scenarios []suite.Scenario // selected, in order
	Config    Config
	Sinks     []Sink
	Progress  func(Progress)          // optional
	Log       func(level, msg string) // optional: stage changes and notable events, for the run's event log
	// Prepare, when set, runs before each request is sent (and before its
	// t_send is stamped), e.g. to reload a model the engine unloaded: its
	// time is never part of any request's figures. An error becomes a note
	// in the run's log; the request is still sent and its outcome recorded.
	Prepare func(ctx context.Context, model string) error
	// Cold, when set, runs before each model's first request and returns the
	// engine's load time after a fresh load (a cold start): the model's first
	// warm-up request then measures the cold TTFT, reported apart from every
	// warm figure (docs/metrics.md §8).
	Cold func(ctx context.Context, model string) (time.Duration, error)
	// Scrape, when set, reads the engine's Prometheus metrics; it runs
	// before and after each model × scenario stage, and the difference is
	// kept beside the client's figures (Result.Server).
	Scrape func(ctx context.Context) (engine.MetricsSnapshot, error)
	// Hardware describes the machine (telemetry.Fingerprint); it is stored
	// with the run.
	Hardware *telemetry.Hardware
	// Resources, when set, samples the machine in the background for the
	// whole run (never between requests) and summarises it per stage, per
	// model and per run (Result.Resources, Result.Series).
	Resources *telemetry.Options
	// ContextFit is what was found before the run about the prompts and
	// the models' context windows (bench.Prepare): stages marked FitSkipped
	// are not run, and every entry is kept in the result.
	ContextFit []ContextFit
	Now        func() time.Time
}

// Status says how a run ended.
type Status string

// Run statuses.
const (
	Completed   Status = "completed"   // every planned request was attempted
	Interrupted Status = "interrupted" // the user stopped scheduling; in-flight requests finished
	Canceled    Status = "canceled"    // the user cancelled in-flight requests too
)

// NewID returns a new run id: sortable by time, unique.
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Run executes the run. It returns an error only for set-up problems; every
// request's failure is data in the records and the summary.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	if r.Client == nil || r.Suite == nil || len(r.Scenarios) == 0 || len(r.Config.Models) == 0 {
		return nil, fmt.Errorf("runner: client, suite, scenarios and models are required")
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
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
	res.Suite.ContextFit = slices.Clone(r.ContextFit)
	res.Hardware = r.Hardware
	var sampler *telemetry.Sampler
	if r.Resources != nil {
		var err error
		if sampler, err = telemetry.Start(context.WithoutCancel(ctx), *r.Resources); err != nil {
			return nil, fmt.Errorf("runner: resource sampling: %w", err)
		}
	}
	st := &runState{res: res, plan: r.Config.Plan(), stages: len(r.Config.Models) * len(r.Scenarios)}
	ctx, st.save = r.guardSaving(ctx)
	defer st.save.stop()
	if st.plan.Requests > 0 && st.plan.Duration == 0 {
		for _, model := range r.Config.Models {
			if n := r.runnable(model); n > 0 {
				st.total += n*st.plan.Requests + st.plan.Warmup
			}
		}
	}
	st.start = time.Now()
	stopped := load.Stopped(ctx)
	var windows []stageWindow

models:
	for _, model := range r.Config.Models {
		if r.runnable(model) == 0 {
			r.log("info", fmt.Sprintf("model %s: every scenario skipped (context window)", model))
			continue
		}
		cold := r.coldStart(ctx, model)
		warmed := false
		for i := range r.Scenarios {
			if f := skipped(r.ContextFit, model, r.Scenarios[i].Name); f != nil {
				r.log("info", f.String())
				continue
			}
			p := st.plan
			if warmed {
				p.Warmup = 0 // warm-up once per model, before its first scenario run
			}
			warmed = true
			win := r.runStage(ctx, st, model, &r.Scenarios[i], p, cold)
			windows = append(windows, win)
			if win.server != nil {
				res.Server = append(res.Server, StageServer{Model: model, Scenario: win.scenario,
					ClientRequests: win.records, ClientWarmups: win.warmups, Stats: *win.server})
			}
			if isClosed(stopped) {
				cold.record(&res.Engine, model)
				break models
			}
		}
		if cold != nil && cold.Seq < 0 {
			r.log("warn", fmt.Sprintf("cold start of %s: no warm-up request measured the cold TTFT (use --warmup 1 or more)", model))
		}
		cold.record(&res.Engine, model)
	}
	st.save.close()
	saveErr := st.save.failure()
	switch {
	case ctx.Err() != nil:
		res.Status = Canceled
		r.log("warn", "canceled by the user: requests in flight were cancelled")
	case saveErr != nil:
		res.Status = Interrupted
	case isClosed(stopped):
		res.Status = Interrupted
		r.log("warn", "interrupted by the user: scheduling stopped, requests in flight finished")
	}
	for _, s := range r.Sinks {
		if err := s.Close(); err != nil && st.sinkErr == nil {
			st.sinkErr = err
		}
	}
	res.Ended = now()
	if sampler != nil {
		res.Series = sampler.Stop()
		res.Resources = resources(res.Series, windows)
	}
	res.Summary = st.agg.Summary(stats.Options{SLO: r.Config.SLO})
	res.Engine.ConnectionReuse = connectionReuse(r.Client)
	res.Warnings = append(runWarnings(res), crossCheck(res)...)
	if saveErr != nil {
		res.Warnings = append([]string{fmt.Sprintf("results could no longer be saved (%v): the run stopped there; the database holds only what was saved before.", saveErr)}, res.Warnings...)
	}
	return res, st.sinkErr
}

// runnable counts the scenarios of model that the context check left to run.
func (r *Runner) runnable(model string) int {
	n := 0
	for i := range r.Scenarios {
		if skipped(r.ContextFit, model, r.Scenarios[i].Name) == nil {
			n++
		}
	}
	return n
}

func (r *Runner) log(level, msg string) {
	if r.Log != nil {
		r.Log(level, msg)
	}
}

// coldStart is one model's cold start while the run goes.
type coldStart struct {
	load      time.Duration
	Seq       int64
	TTFT, E2E time.Duration
	Outcome   record.Outcome
}

// record writes the cold start into the engine info's description of model.
func (c *coldStart) record(info *engine.Info, model string) {
	if c == nil {
		return
	}
	i := slices.IndexFunc(info.Models, func(m engine.Model) bool { return m.ID == model })
	if i < 0 {
		info.Models = append(info.Models, engine.Model{ID: model})
		i = len(info.Models) - 1
	}
	m := &info.Models[i]
	m.Cold = &engine.ColdStart{LoadMS: ms(c.load), Seq: c.Seq, Outcome: string(c.Outcome)}
	if c.TTFT > 0 {
		v := ms(c.TTFT)
		m.Cold.TTFTMS = &v
	}
	if c.E2E > 0 {
		v := ms(c.E2E)
		m.Cold.E2EMS = &v
	}
}

// ms is a duration in float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func progress(model, scenario string, done, total, errs int, elapsed time.Duration, plan load.Plan, stages int) Progress {
	p := Progress{Model: model, Scenario: scenario, Done: done, Total: total, Errors: errs, Elapsed: elapsed}
	switch {
	case total > 0 && done > 0 && done < total:
		p.ETA = time.Duration(float64(elapsed) / float64(done) * float64(total-done))
	case total == 0 && plan.Duration > 0:
		if left := time.Duration(stages)*plan.Duration - elapsed; left > 0 {
			p.ETA = left
		}
	}
	return p
}

// doFunc builds and sends the request for one job of one model × scenario.
func (r *Runner) doFunc(model string, sc *suite.Scenario) load.DoFunc {
	cfg := &r.Config
	maxTok := sc.MaxTokensOr(DefaultMaxTokens)
	if cfg.MaxTokens > 0 {
		maxTok = cfg.MaxTokens
	}
	temp := sc.Temperature
	if cfg.Temperature != nil {
		temp = cfg.Temperature
	}
	return func(ctx context.Context, job load.Job) record.Record {
		nonce := ""
		if cfg.CacheBust {
			key := sc.Name
			if job.Warmup {
				key = "warmup/" + key
			}
			nonce = suite.Nonce(cfg.Seed, model, key, job.Index)
		}
		msgs := sc.BuildMessages(nonce)
		req := backend.Request{
			Model:       model,
			Messages:    make([]backend.Message, len(msgs)),
			MaxTokens:   maxTok,
			Temperature: temp,
			Stop:        sc.Stop,
			Stream:      cfg.Stream,
			IgnoreEOS:   sc.IgnoreEOS,
			MinTokens:   sc.MinTokens,
		}
		for i, m := range msgs {
			req.Messages[i] = backend.Message{Role: m.Role, Content: m.Content}
		}
		rec := record.Record{
			Seq:       job.Seq,
			Model:     model,
			Scenario:  sc.Name,
			Worker:    job.Worker,
			Warmup:    job.Warmup,
			Scheduled: job.Scheduled,
		}
		if r.Prepare != nil {
			if err := r.Prepare(ctx, model); err != nil {
				r.log("warn", fmt.Sprintf("before request %d of model %s: %v", job.Seq, model, err))
			}
		}
		r.Client.Do(ctx, req, &rec)
		return rec
	}
}

// DefaultMaxTokens is the original's default when a scenario has no max_tokens.
const DefaultMaxTokens = 100
