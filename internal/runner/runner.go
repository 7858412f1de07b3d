// Package runner executes one benchmark run: for every model, one after
// another, and every selected scenario, it drives the load generator against
// the backend client, fans each record out in one place (the statistics
// aggregator, then every Sink: JSONL files, and later the store and the live
// web feed), and returns the run's Result. It is used by `flperf run` and,
// later, by the web app's POST /api/v1/runs.
package runner

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/engineseries"
	"flperf/internal/load"
	"flperf/internal/record"
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
	Stage           string        // the load level's label in a sweep ("" otherwise)
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

// Inputs gives the prompt of request index (0-based, warm-ups counted
// apart) of a model × scenario that asks for an input length: its messages
// (the nonce not yet prepended), the length requested and how it was made
// exact (record.InputLengthMethod); ok is false when it has none.
type Inputs interface {
	Input(model, scenario string, index int) (msgs []suite.Message, requested int, method string, ok bool)
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
	// EngineSeries, when set, samples the engine's own queue and cache in
	// the background for the whole run, never between requests
	// (Result.EngineSeries, its stages placed on its time axis).
	EngineSeries *engineseries.Options
	// ContextFit is what was found before the run about the prompts and
	// the models' context windows (bench.Prepare): stages marked FitSkipped
	// are not run, and every entry is kept in the result.
	ContextFit []ContextFit
	// ContextWindows is each model's context window as the engine told it
	// before the run (model → tokens; bench.Prepare); kept in the result,
	// and what the truncation check holds the engine's input counts
	// against.
	ContextWindows map[string]int
	// Inputs gives the prompts of the scenarios that ask for an input
	// length (suite.Scenario.InputTokens), resolved per model before the
	// run (inputlen.Set); a run with such scenarios needs it.
	Inputs Inputs
	// InputLengths is what resolving them found and cost; kept in the
	// result (SuiteInfo.InputLengths).
	InputLengths *InputLengths
	// Backoff, when set, replaces DefaultBackoff for the retries of
	// Config.Retries (tests shorten it).
	Backoff *Backoff
	Now     func() time.Time
}

// Run executes the run: for each model, each scenario, each load level
// ascending (docs/metrics.md §7). It returns an error only for set-up
// problems; every request's failure is data in the records and the summary.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	s, err := r.Begin(ctx)
	if err != nil {
		return nil, err
	}
	plans := stagePlans(&r.Config)
models:
	for _, model := range r.Config.Models {
		if r.runnable(model) == 0 {
			r.log("info", fmt.Sprintf("model %s: every scenario skipped (context window)", model))
			continue
		}
		for i := range r.Scenarios {
			for _, sp := range plans {
				res := s.RunStage(StageSpec{Model: model, Scenario: &r.Scenarios[i], Plan: sp.Plan, Stage: sp.Stage})
				if res.Skipped != nil {
					break // every level of a skipped scenario is skipped
				}
				if res.Stopped {
					break models
				}
			}
		}
	}
	return s.End()
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

// doFunc builds and sends the request for one job of one model × scenario
// (× stage), retrying its transient failures when Config.Retries is set:
// each attempt a retry follows goes to emit, the last is returned.
func (r *Runner) doFunc(model string, sc *suite.Scenario, stage string, emit func(record.Record)) load.DoFunc {
	cfg := &r.Config
	temp := sc.Temperature
	if cfg.Temperature != nil {
		temp = cfg.Temperature
	}
	scenario := sc
	var convs conversations
	return func(ctx context.Context, job load.Job) record.Record {
		sc := scenario.At(job.Index) // a dataset's entry, else the scenario
		maxTok := sc.MaxTokensOr(DefaultMaxTokens)
		if cfg.MaxTokens > 0 {
			maxTok = cfg.MaxTokens
		}
		// A conversation's turn: its nonce is the conversation's, so
		// that its turns share their prefix and no other does.
		var conv *conversation
		turn, index := 0, job.Index
		if sc.IsConversation() {
			conv = convs.take(convKey{job.Warmup, job.Worker}, sc.TurnCount())
			turn, index = conv.sent+1, conv.id
		}
		nonce := ""
		if cfg.CacheBust {
			key := sc.Name
			if conv != nil {
				key = "conversation/" + key
			}
			if job.Warmup {
				key = "warmup/" + key
			}
			nonce = suite.Nonce(cfg.Seed, model, key, index)
			if scenario.InputTokens != nil {
				nonce = suite.DigitNonce(cfg.Seed, model, key, index) // costs the same tokens every request
			}
		}
		var msgs []suite.Message
		requested, method := 0, ""
		switch {
		case conv != nil:
			msgs = sc.BuildTurn("", conv.history, turn)
		case scenario.InputTokens != nil && r.Inputs != nil:
			if m, n, how, ok := r.Inputs.Input(model, scenario.Name, job.Index); ok {
				msgs = (&suite.Scenario{Messages: m}).BuildMessages("")
				requested, method = n, how
			} else {
				msgs = sc.BuildMessages("")
			}
		default:
			msgs = sc.BuildMessages("")
		}
		msgs = prefixed(cfg, msgs, nonce, stage)
		promptChars := 0
		for _, m := range msgs {
			promptChars += utf8.RuneCountInString(m.Content)
		}
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
		if conv != nil {
			req.KeepAnswer = MaxAnswerKeep
		}
		if cfg.FixedOutput || sc.FixedOutput {
			forceOutput(&req, cfg.OutputForcedBy)
		}
		for i, m := range msgs {
			req.Messages[i] = backend.Message{Role: m.Role, Content: m.Content}
		}
		send := func(rec *record.Record) {
			rec.Model, rec.Scenario, rec.PromptChars = model, sc.Name, promptChars
			rec.RequestedInputTokens, rec.InputLengthMethod = requested, method
			if r.Prepare != nil {
				if err := r.Prepare(ctx, model); err != nil {
					r.log("warn", fmt.Sprintf("before request %d of model %s: %v", job.Seq, model, err))
				}
			}
			r.Client.Do(ctx, req, rec)
			rec.Turn = turn
		}
		var rec record.Record
		if cfg.Retries > 0 {
			t := retrier{retries: cfg.Retries, backoff: r.backoff(), seed: cfg.Seed, model: model, scenario: sc.Name, stage: stage, emit: emit}
			rec = t.run(ctx, job, send)
		} else {
			rec = record.Record{
				Seq:       job.Seq,
				Worker:    job.Worker,
				Warmup:    job.Warmup,
				Scheduled: job.Scheduled,
			}
			send(&rec)
		}
		if conv != nil {
			conv.answered(&rec, sc.UserTurn(turn), r.Engine.Kind == engine.Ollama)
			rec.Answer = ""
		}
		return rec
	}
}

// forceOutput asks for exactly req.MaxTokens output tokens the way how
// says (Config.OutputForcedBy); an engine that cannot be asked gets the
// request unchanged.
func forceOutput(req *backend.Request, how string) {
	switch how {
	case engine.ForceIgnoreEOS:
		req.IgnoreEOS, req.MinTokens = true, 0
	case engine.ForceIgnoreEOSMinTokens:
		req.IgnoreEOS, req.MinTokens = true, req.MaxTokens
	}
}

// backoff is the run's Backoff: Runner.Backoff, else DefaultBackoff.
func (r *Runner) backoff() Backoff {
	if r.Backoff != nil {
		return *r.Backoff
	}
	return DefaultBackoff
}

// DefaultMaxTokens is the original's default when a scenario has no max_tokens.
const DefaultMaxTokens = 100
