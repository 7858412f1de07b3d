package runner

import (
	"context"
	"fmt"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/stats"
	"flperf/internal/suite"
)

// runState is what the stages of one run share: the aggregator, the next
// sequence number, the progress counts and the first sink error.
type runState struct {
	res     *Result
	agg     stats.Aggregator
	plan    load.Plan // the run's plan (each stage's may drop the warm-up)
	total   int       // requests planned in the whole run (0: duration-bound, unknown)
	stages  int       // model × scenario stages planned
	start   time.Time // when the first stage began, for progress
	seq     int64     // the next record's sequence number
	done    int       // records finished, warm-ups included
	errs    int       // failed measured requests
	sinkErr error     // the first error a sink returned
	save    *saveGuard
}

// stageWindow is one model × scenario stage as it ran: its span on this
// process's monotonic clock, the tokens produced in it (warm-ups and partial
// responses included), its records, and the difference of the engine's own
// metrics over it.
type stageWindow struct {
	model, scenario string
	stage           string // the load level's label in a sweep
	start, end      time.Time
	tokens          int
	records         int                 // records of the stage, warm-ups included
	warmups         int                 // of which warm-ups
	server          *engine.ServerStats // nil: the engine's metrics were not read
}

// runStage runs one model × scenario stage with plan p: it reads the
// engine's metrics, drives the load generator, hands every record to the
// aggregator, the sinks and the progress callback in completion order,
// notes the cold TTFT on the first warm-up after a fresh load (cold may be
// nil), reads the metrics again, and returns the stage's window. Its
// records carry the label stage; each is also added to also (nil: none).
func (r *Runner) runStage(ctx context.Context, st *runState, model string, sc *suite.Scenario, p load.Plan, stage string, cold *coldStart, also *stats.Aggregator) stageWindow {
	base := st.seq
	r.log("info", fmt.Sprintf("model %s, scenario %q: %s", model, sc.Name, p.String()))
	before, scraped := r.scrape(ctx)
	win := stageWindow{model: model, scenario: sc.Name, stage: stage, start: time.Now()}
	// A refusal for the context window stops scheduling the stage as the
	// refused request returns, before its worker can pick the next job:
	// every further request would be refused the same way. The requests
	// in flight finish and are recorded as they ended.
	sctx, stop := load.WithStop(ctx)
	defer stop()
	// Attempts that a retry follows come on retried, unbuffered: a worker
	// hands one on before it sends the retry, so that every record of a
	// request reaches the sinks in attempt order.
	retried := make(chan record.Record)
	do := r.doFunc(model, sc, stage, func(rec record.Record) { retried <- rec })
	var refused *ContextFit
	recs, loaded := load.RunStage(sctx, p, func(ctx context.Context, job load.Job) record.Record {
		rec := do(ctx, job)
		if _, _, _, ok := ContextRefusal(&rec); ok {
			stop()
		}
		return rec
	})
	for {
		var rec record.Record
		final := true
		select {
		case x, ok := <-recs:
			if !ok {
				recs = nil
			}
			rec = x
		case rec = <-retried:
			final = false
		}
		if recs == nil {
			break // every DoFunc has returned: nothing more comes on retried
		}
		r.addRecord(st, &win, &rec, base, stage, final, cold, also, &refused, model, sc.Name)
	}
	win.end = time.Now()
	if refused != nil {
		refused.Requests = win.records
		st.res.Suite.ContextFit = append(st.res.Suite.ContextFit, *refused)
		r.log("warn", refused.String())
	}
	r.openLoopStage(st, &win, p, loaded)
	if scraped {
		if s, ok := r.stageServer(ctx, before, win.records); ok {
			win.server = &s
		}
	}
	return win
}

// addRecord places one record of a stage: its seq (and that of the attempt
// it retries) made run-wide from the stage's base, its stage label, and it
// goes to the aggregators, the sinks and the progress. final is false for
// an attempt that a retry follows: it is a record, but the request it
// belongs to has not finished.
func (r *Runner) addRecord(st *runState, win *stageWindow, rec *record.Record, base int64, stage string, final bool,
	cold *coldStart, also *stats.Aggregator, refused **ContextFit, model, scenario string) {
	out, _, _ := rec.Output() // a count the text cannot hold is not used (docs/metrics.md §2)
	win.tokens += out
	rec.Seq = base + rec.Seq
	if rec.Attempt > 0 {
		rec.RetryOf += base
	}
	rec.Stage = stage
	if cold != nil && rec.Warmup && cold.Seq < 0 { // the first request after the fresh load
		cold.Seq, cold.TTFT, cold.E2E, cold.Outcome = rec.Seq, rec.FirstToken, rec.End, rec.Outcome
	}
	if rec.Seq >= st.seq {
		st.seq = rec.Seq + 1
	}
	win.records++
	if rec.Warmup {
		win.warmups++
	}
	if prompt, window, msg, ok := ContextRefusal(rec); ok && *refused == nil {
		*refused = &ContextFit{Model: model, Scenario: scenario, Action: FitStopped, PromptTokens: prompt,
			MaxTokens: rec.MaxTok, ContextLength: window, Method: FitEngine, Message: msg}
	}
	st.agg.Add(rec)
	if also != nil {
		also.Add(rec)
	}
	for _, s := range r.Sinks {
		if err := s.Add(rec); err != nil && st.sinkErr == nil {
			st.sinkErr = err
			st.save.failed(err)
		}
	}
	st.res.Records++
	if !final {
		return
	}
	st.done++
	if !rec.Warmup && rec.Outcome.Failed() {
		st.errs++
	}
	if r.Progress != nil {
		pr := progress(model, scenario, st.done, st.total, st.errs, time.Since(st.start), st.plan, st.stages)
		pr.Stage = stage
		r.Progress(pr)
	}
}

// coldStart unloads and reloads model when the run measures cold starts
// (Runner.Cold), and returns what the first warm-up will complete; nil when
// cold starts are not measured or the reload failed (logged).
func (r *Runner) coldStart(ctx context.Context, model string) *coldStart {
	if r.Cold == nil {
		return nil
	}
	took, err := r.Cold(ctx, model)
	if err != nil {
		r.log("warn", fmt.Sprintf("cold start of %s: %v", model, err))
		return nil
	}
	r.log("info", fmt.Sprintf("cold start of %s: loaded in %s", model, took.Round(time.Millisecond)))
	return &coldStart{load: took, Seq: -1}
}

// scrape reads the engine's metrics, if the run has a scraper; a failure is
// logged once per stage and costs only the server-side figures.
func (r *Runner) scrape(ctx context.Context) (engine.MetricsSnapshot, bool) {
	if r.Scrape == nil {
		return engine.MetricsSnapshot{}, false
	}
	snap, err := r.Scrape(context.WithoutCancel(ctx))
	if err != nil {
		r.log("warn", fmt.Sprintf("reading the engine's metrics: %v", err))
		return snap, false
	}
	return snap, true
}

// stageServer scrapes after a stage and diffs with before. An engine
// counts a request when its handler returns, a moment after the client read
// the last byte: while it has counted fewer requests than were sent, the
// scrape is retried a few times before the figures are taken as they are.
func (r *Runner) stageServer(ctx context.Context, before engine.MetricsSnapshot, sent int) (engine.ServerStats, bool) {
	var st engine.ServerStats
	for try := 0; try < 10; try++ {
		if try > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		after, ok := r.scrape(ctx)
		if !ok {
			return st, false
		}
		st = engine.DiffMetrics(before, after)
		if st.RequestsFinished == nil || *st.RequestsFinished >= float64(sent) {
			break
		}
	}
	return st, true
}
