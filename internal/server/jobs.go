package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"flperf/internal/bench"
	"flperf/internal/load"
	"flperf/internal/runner"
	"flperf/internal/store"
)

// keepFinishedHubs is how many finished runs keep their live event
// buffer, for clients that reconnect after the end.
const keepFinishedHubs = 32

// job is a run started in the app.
type job struct {
	id        string
	engineKey string
	ctx       context.Context
	stop      context.CancelFunc // first stage: no new requests
	cancel    context.CancelFunc // second stage: cancel requests in flight
	hub       *hub
	feed      *feed
}

// jobs are the runs going on, one per engine at a time.
type jobs struct {
	mu       sync.Mutex
	running  map[string]*job   // by run id
	byEngine map[string]string // engine key → run id
	finished map[string]*hub
	order    []string // finished run ids, oldest first
	wg       sync.WaitGroup
}

func newJobs() *jobs {
	return &jobs{running: map[string]*job{}, byEngine: map[string]string{}, finished: map[string]*hub{}}
}

// reserve registers run id on engine key, or fails with a conflict when
// the engine is busy: two runs on one engine would measure each other.
func (js *jobs) reserve(parent context.Context, key, id string, models, scenarios []string) (*job, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if other, busy := js.byEngine[key]; busy {
		return nil, conflict("run %s is going on this engine: two runs at once would measure each other; wait for it or cancel it", other)
	}
	ctx, cancel := context.WithCancel(parent)
	ctx, stop := load.WithStop(ctx)
	h := newHub(keepProgress, 1)
	j := &job{id: id, engineKey: key, ctx: ctx, stop: stop, cancel: cancel, hub: h, feed: newFeed(h, models, scenarios)}
	js.running[id], js.byEngine[key] = j, id
	js.wg.Add(1)
	return j, nil
}

// end unregisters j, keeping its event buffer for a while.
func (js *jobs) end(j *job) {
	js.mu.Lock()
	defer js.mu.Unlock()
	delete(js.running, j.id)
	if js.byEngine[j.engineKey] == j.id {
		delete(js.byEngine, j.engineKey)
	}
	js.finished[j.id] = j.hub
	js.order = append(js.order, j.id)
	for len(js.order) > keepFinishedHubs {
		delete(js.finished, js.order[0])
		js.order = js.order[1:]
	}
	j.stop()
	j.cancel()
	js.wg.Done()
}

// get returns the running job of run id, or nil.
func (js *jobs) get(id string) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.running[id]
}

// hub returns the live event buffer of run id, running or recently
// finished, or nil.
func (js *jobs) hub(id string) *hub {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.running[id]; j != nil {
		return j.hub
	}
	return js.finished[id]
}

// forget drops a finished run's buffer (the run was deleted).
func (js *jobs) forget(id string) {
	js.mu.Lock()
	defer js.mu.Unlock()
	delete(js.finished, id)
}

// wait returns when every job has ended.
func (js *jobs) wait() { js.wg.Wait() }

// statusEvent is the data of a status event.
type statusEvent struct {
	State   string `json:"state"`
	Message string `json:"message"`
}

// statusMessage describes how a run ended.
func statusMessage(st runner.Status) string {
	switch st {
	case runner.Completed:
		return "completed: every planned request was sent"
	case runner.Interrupted:
		return "interrupted: scheduling stopped early; requests in flight finished and were saved"
	case runner.Canceled:
		return "canceled: requests in flight were cancelled; what finished was saved"
	}
	return string(st)
}

// runJob prepares and runs a run started in the app, writing it to the
// store exactly as `flperf run` does (records as they complete, the event
// log, the final status and summaries), and feeds its live stream.
func (s *Server) runJob(j *job, rs *bench.Resolved, kind runKind, eng *bench.Engine, begin *runner.Result) {
	ctx := j.ctx
	sctx := context.WithoutCancel(ctx) // what ran is saved, even after a cancel
	// Counted in the metrics until endJob.
	s.metrics.RunStarted()
	logf := func(level, msg string) {
		_ = s.db.Event(sctx, j.id, level, msg)
		j.feed.log(level, msg)
	}
	r, err := bench.Prepare(ctx, rs, eng, logf)
	if err != nil {
		s.failRun(j, begin, err)
		return
	}
	j.feed.setStages(r.Config.Models, r.Config.Scenarios)
	r.ID = j.id
	w := s.db.NewRecordWriter(j.id, store.WriterOptions{})
	r.Sinks = []runner.Sink{w, j.feed, s.metrics}
	r.Client = s.metrics.Doer(r.Client)
	r.Log, r.Progress = logf, j.feed.progress
	if kind.profile != nil {
		logf("info", fmt.Sprintf("running profile %s on %s for %s (%d stages per model, seed %d)",
			kind.profile.Def.ID(), r.Engine.Label(), strings.Join(r.Config.Models, ", "), len(kind.profile.Def.Stages), r.Config.Seed))
	} else {
		logf("info", fmt.Sprintf("benchmarking %s on %s (%d scenarios, %s, seed %d)",
			strings.Join(r.Config.Models, ", "), r.Engine.Label(), len(r.Scenarios), r.Config.Plan().String(), r.Config.Seed))
	}
	var res *runner.Result
	var runErr error
	switch {
	case kind.capacity != nil:
		res, runErr = bench.RunCapacity(ctx, kind.capacity, r)
	case kind.profile != nil:
		res, runErr = bench.RunProfile(ctx, kind.profile, r)
	default:
		res, runErr = r.Run(ctx)
	}
	if res == nil {
		w.Close()
		s.failRun(j, begin, runErr)
		return
	}
	msg := statusMessage(res.Status)
	if runErr != nil {
		logf("error", fmt.Sprintf("saving the run's records: %v", runErr))
		msg = fmt.Sprintf("%s: results could no longer be saved, so the run stopped; the database holds what was saved before (%v)", res.Status, runErr)
	}
	if err := s.db.FinishRun(sctx, res); err != nil {
		s.logf("error", "saving run %s: %v", j.id, err)
		logf("error", fmt.Sprintf("saving the run: %v", err))
		// This process writes it no more: the store holds it as
		// interrupted from now on, and so does every answer.
		res.Status = runner.Interrupted
		msg = fmt.Sprintf("interrupted: the run could not be saved as it ended (%v); the database holds what was saved before", err)
		s.reap(sctx)
	}
	s.endJob(j, res.Status, msg)
}

// failRun stores a run that could not start (no model could be prepared,
// the engine went away) with its reason, as canceled or interrupted when
// the user stopped it meanwhile.
func (s *Server) failRun(j *job, begin *runner.Result, cause error) {
	st := store.Failed
	select {
	case <-load.Stopped(j.ctx):
		st = runner.Interrupted
	default:
	}
	if j.ctx.Err() != nil {
		st = runner.Canceled
	}
	msg := "the run could not start: " + cause.Error()
	sctx := context.WithoutCancel(j.ctx)
	_ = s.db.Event(sctx, j.id, store.LevelError, msg)
	j.feed.log(store.LevelError, msg)
	res := *begin
	res.Status, res.Ended, res.Warnings = st, time.Now(), []string{msg}
	if err := s.db.FinishRun(sctx, &res); err != nil {
		s.logf("error", "saving run %s: %v", j.id, err)
	}
	s.endJob(j, st, msg)
}

// endJob publishes the end of a run: a last progress event, the final
// status, the summary as stored, and "end"; the engine is free again
// before "end" goes out.
func (s *Server) endJob(j *job, st runner.Status, msg string) {
	j.feed.finish()
	s.metrics.RunEnded(string(st))
	final, err := s.result(context.WithoutCancel(j.ctx), j.id)
	// The Results page comes next: its samples are read in the background,
	// started before the job ends, so that Close's wait for the jobs comes
	// after it and its wait for the background work sees it.
	s.prefetchSamples(j.id)
	s.jobs.end(j)
	j.hub.publish("status", statusEvent{State: string(st), Message: msg}, false)
	if err != nil {
		s.logf("error", "reading run %s back: %v", j.id, err)
	} else {
		j.hub.publish("summary", map[string]any{"run": final}, false)
	}
	j.hub.publish("end", struct{}{}, false)
}
