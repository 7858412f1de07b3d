package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"flperf/internal/bench"
	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/store"
)

// resolveRun turns a run id or unique prefix into the run's id.
func (s *Server) resolveRun(ctx context.Context, prefix string) (string, error) {
	if !store.ValidID(prefix) {
		return "", badRequest("id", "%s is not a run id: ids are letters, digits and '-'", quote(prefix))
	}
	return s.db.Resolve(ctx, prefix)
}

// reap marks the runs whose writer died elsewhere (a `flperf run` on this
// database killed with kill -9, say) as interrupted before runs are listed,
// shown or deleted, so that the app never shows a dead run as running nor
// refuses to delete it until a restart. A failure costs only that: the run
// is shown as stored.
func (s *Server) reap(ctx context.Context) {
	if err := s.db.MarkStale(ctx); err != nil {
		s.logf("warn", "looking for runs whose flperf process died: %v", err)
	}
}

// result returns stored run id with its summaries (store.Run: those
// stored when it finished, or recomputed from its records), kept once the
// run is over. Concurrent requests for one run share one read. When the
// summary of a run that is not running here is recomputed, the
// distributions' samples are collected in the same pass and kept too.
func (s *Server) result(ctx context.Context, id string) (*runner.Result, error) {
	v, err := s.cache.do(ctx, "run\x00"+id, id, func() (any, bool, error) {
		var c *sampleCollector
		var fn func(*record.Record)
		since := s.samples.sets.removals()
		if s.jobs.get(id) == nil {
			c = newSampleCollector(false)
			fn = c.add
			s.reap(ctx)
		}
		res, recomputed, err := s.db.RunWithRecords(ctx, id, fn)
		if err != nil {
			return nil, false, err
		}
		if c != nil && recomputed {
			c.set.finished = finished(res) // read in the same snapshot as the records
			s.samples.keep(id, c.set, since)
		}
		return res, finished(res), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*runner.Result), nil
}

// finished reports whether a run's stored figures can no longer change.
func finished(res *runner.Result) bool { return res.Status != store.Running }

// handleRuns answers GET /runs.
func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryInt(q, "limit", 100, 0, 100000, "from 0 (all) to 100000")
	if err != nil {
		return err
	}
	f := store.Filter{Limit: limit, Model: q.Get("model"), Engine: q.Get("engine"), Suite: q.Get("suite"), Status: q.Get("status")}
	for name, v := range map[string]string{"model": f.Model, "engine": f.Engine, "suite": f.Suite, "status": f.Status} {
		if len(v) > 512 {
			return badRequest(name, "%s is too long", name)
		}
	}
	s.reap(r.Context())
	runs, err := s.db.Runs(r.Context(), f)
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, runs)
}

// logLine is one line of a run's log in GET /runs/{id}.
type logLine struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

// maxLogLines is how many of a run's latest log lines GET /runs/{id} shows.
const maxLogLines = 2000

// handleRun answers GET /runs/{id}.
func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) error {
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := s.result(r.Context(), id)
	if err != nil {
		return err
	}
	if s.jobs.get(id) == nil {
		s.prefetchSamples(id) // unless result kept them
	}
	evs, err := s.db.Events(r.Context(), id)
	if err != nil {
		return err
	}
	evs = evs[max(0, len(evs)-maxLogLines):]
	log := make([]logLine, len(evs))
	for i, e := range evs {
		log[i] = logLine{Time: e.At, Level: e.Level, Message: e.Message}
	}
	origin, err := s.db.RunOrigin(r.Context(), id) // a pushed or pulled run's: null for one made here
	if err != nil {
		return err
	}
	var live *liveProgress
	if j := s.jobs.get(id); j != nil {
		live = j.feed.live()
		if live == nil {
			live = &liveProgress{}
		}
	}
	// best: the "best model for…" cards, ranked here by the same rule as
	// the terminal report, so the page only draws them; curve: a sweep's
	// throughput–latency curve with its knee (null for one level), alike.
	return writeData(w, http.StatusOK, map[string]any{"run": res, "best": report.Best(res), "curve": report.RunCurve(res), "context_sweep": report.RunContextSweep(res), "live": live, "log": log, "origin": origin})
}

// handleStartRun answers POST /runs.
func (s *Server) handleStartRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var spec bench.Spec
	if err := decodeBody(w, r, &spec, maxBody); err != nil {
		return err
	}
	d, err := s.defaults(ctx)
	if err != nil {
		return err
	}
	d.apply(&spec)
	rs, err := spec.Validate(bench.Check{Suite: s.suites.resolve, ModelsRequired: true})
	if err != nil {
		return err
	}
	return s.startRun(w, r, rs, runKind{})
}

// runKind is what a started run is beyond its request: a capacity search,
// a profiled run, or neither (a plain run).
type runKind struct {
	capacity *bench.CapacityRun
	profile  *bench.ProfileRun
}

// startRun starts the validated run rs in the background (a capacity
// search or a profiled run as kind says) and answers 201 with its id.
func (s *Server) startRun(w http.ResponseWriter, r *http.Request, rs *bench.Resolved, kind runKind) error {
	ctx := r.Context()
	spec := rs.Spec
	var err error
	if !strings.HasPrefix(rs.Suite.Source, "builtin:") {
		rs.Config.Suite = rs.Suite.Source // the file, as `flperf run --suite FILE` records it
	}
	engID := spec.Engine
	if engID == "" {
		if engID, err = s.engines.defaultID(ctx); err != nil {
			return err
		}
	}
	v, err := s.engines.usable(ctx, engID)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Kind == kindNotFound {
			return badRequest("engine", "%s", ae.Message)
		}
		return err
	}
	if err := rs.CheckEngine(v.info); err != nil {
		return err
	}
	select {
	case <-s.closing:
		return unavailable("the app is shutting down")
	default:
	}
	key := v.ID
	if v.ID != SimID {
		key = strings.ToLower(v.info.Endpoint)
	}
	id := runner.NewID(time.Now())
	j, err := s.jobs.reserve(s.base, key, id, rs.Config.Models, rs.Config.Scenarios)
	if err != nil {
		return err
	}
	cfg := rs.Config
	cfg.Endpoint = v.info.Endpoint
	if kind.profile != nil {
		// Known now: a profiled run stopped while its long prompts are
		// resolved (before any stage) still says how to repeat it.
		cfg.Command = bench.ProfileCommand(v.benchEngine(), kind.profile.Def.ID(), &cfg)
	}
	begin := &runner.Result{ID: id, Tool: runner.CurrentTool(), Status: store.Running, Started: time.Now(),
		Engine: v.info, Config: cfg, Suite: runner.NewSuiteInfo(rs.Suite, rs.Scenarios)}
	if err := s.db.BeginRun(context.WithoutCancel(ctx), begin); err != nil {
		j.feed.finish()
		s.jobs.end(j)
		s.jobs.forget(id)
		return err
	}
	j.hub.publish("status", statusEvent{State: string(store.Running), Message: "started on " + v.Name}, false)
	go s.runJob(j, rs, kind, v.benchEngine(), begin)
	noteTarget(r, id)
	info := store.RunInfo{ID: id, Started: begin.Started.UTC(), Status: store.Running, Engine: v.info,
		Models: cfg.Models, Suite: begin.Suite.Name}
	return writeData(w, http.StatusCreated, map[string]any{"id": id, "run": info})
}

// handleCancelRun answers POST /runs/{id}/cancel.
func (s *Server) handleCancelRun(w http.ResponseWriter, r *http.Request) error {
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	j := s.jobs.get(id)
	if j == nil {
		return conflict("run %s is not running in this app", id)
	}
	state, msg := "stopping", "stop asked in the app: no new requests; requests in flight finish"
	switch r.URL.Query().Get("now") {
	case "1", "true":
		state, msg = "canceling", "cancel asked in the app: requests in flight are cancelled"
		j.stop()
		j.cancel()
	case "", "0", "false":
		j.stop()
	default:
		return badRequest("now", "now must be 1 or 0, got %s", quote(r.URL.Query().Get("now")))
	}
	_ = s.db.Event(context.WithoutCancel(r.Context()), id, store.LevelWarn, msg)
	j.feed.log(store.LevelWarn, msg)
	return writeData(w, http.StatusAccepted, map[string]string{"id": id, "state": state})
}

// handleDeleteRun answers DELETE /runs/{id}.
func (s *Server) handleDeleteRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := s.resolveRun(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.jobs.get(id) != nil {
		return conflict("run %s is running: cancel it first", id)
	}
	s.reap(ctx)
	running, err := s.db.Runs(ctx, store.Filter{Status: string(store.Running)})
	if err != nil {
		return err
	}
	for _, ri := range running {
		if ri.ID == id {
			return conflict("run %s is still being written by another flperf: stop that run first", id)
		}
	}
	if err := s.db.Delete(ctx, id); err != nil {
		return err
	}
	s.cache.removeTag(id)
	s.samples.forget(id)
	s.jobs.forget(id)
	return writeData(w, http.StatusOK, map[string]string{"deleted": id})
}

// exportTypes are the content types of the export formats.
var exportTypes = map[string]string{
	"json":  "application/json; charset=utf-8",
	"csv":   "text/csv; charset=utf-8",
	"jsonl": "application/x-ndjson; charset=utf-8",
}

// countingWriter counts what was written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// handleExport answers GET /runs/{id}/export: the bytes `flperf export`
// writes, as a download. A failure after the first byte aborts the
// connection, so that a cut file is never taken for a whole one.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	ct, ok := exportTypes[format]
	if !ok {
		return badRequest("format", "format must be json, csv or jsonl, got %s", quote(format))
	}
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.jobs.get(id) == nil {
		s.reap(r.Context())
	}
	deadline(w, 30*time.Minute)
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="flperf-%s.%s"`, id, format))
	cw := &countingWriter{w: w}
	if err := bench.Export(r.Context(), s.db, id, format, cw); err != nil {
		if cw.n > 0 {
			s.logf("error", "exporting run %s: %v", id, err)
			panic(http.ErrAbortHandler)
		}
		h.Del("Content-Disposition")
		return err
	}
	return nil
}
