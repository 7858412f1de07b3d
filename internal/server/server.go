// Package server is the FLPerformance app's back end: the REST API of
// /api/v1 (engines, models, suites, runs, comparisons, settings, system),
// live progress over Server-Sent Events, and the web UI handler behind the
// security checks (Host allow-list against DNS rebinding, an access token
// beyond loopback, same-origin state changes, no CORS, strict headers).
//
// Runs started over the API are assembled by package bench exactly as
// `flperf run` does, written to the store as they go, and stopped in two
// stages (no new requests, then cancel in-flight ones) by the cancel route
// or by shutdown, which waits until every run is saved.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"flperf/internal/doctor"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/runner"
	"flperf/internal/selfmetrics"
	"flperf/internal/store"
)

// Options configure a Server.
type Options struct {
	// DB is the history database (required). The caller closes it after
	// Serve or Close returned.
	DB *store.DB
	// Listen is the address served, e.g. "127.0.0.1:8765": its host joins
	// the Host allow-list, and a host beyond loopback requires Token.
	Listen string
	// Token is the access token required on every /api/ call: when set
	// (MinTokenLen characters or more), and always when Listen is beyond
	// loopback (see NewToken).
	Token string
	// UI serves every path outside /api/ (nil: a short page saying the UI
	// is not built in).
	UI http.Handler
	// Hardware describes this machine for GET /system (nil: null).
	Hardware func() any
	// Detect finds the engines running on this machine (nil: the usual
	// ports and the Foundry Local CLI, engine.Prober.DetectAll).
	Detect func(ctx context.Context) []engine.Found
	// Doctor configures GET /doctor's report (the zero value looks at
	// this machine; DBPath "" is DB's file).
	Doctor doctor.Options
	// Log receives the server's own messages (nil: discarded).
	Log func(level, msg string)
}

// Server is the app. Create it with New, serve it with Serve (or mount
// Handler and call Close).
type Server struct {
	opts    Options
	db      *store.DB
	guard   *guard
	handler http.Handler
	started time.Time

	engines *engines
	suites  *suites
	jobs    *jobs
	tasks   *tasks
	cache   *lru
	samples *sampleSets
	metrics *selfmetrics.Metrics // GET /metrics: the runs' live figures

	base       context.Context    // parent of every run and task
	stopAll    context.CancelFunc // first stage: no new requests
	cancelAll  context.CancelFunc // second stage: cancel in-flight ones
	closing    chan struct{}      // closed at shutdown: streams end
	closeOnce  sync.Once
	background sync.WaitGroup // computations started ahead of a request
}

// New builds the app over o.DB. It refuses a Listen beyond loopback
// without a Token, and a Token shorter than MinTokenLen.
func New(o Options) (*Server, error) {
	if o.DB == nil {
		return nil, errors.New("server: no database")
	}
	g, err := newGuard(o.Listen, o.Token)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, db: o.DB, guard: g, started: time.Now().UTC(), closing: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	s.base, s.stopAll = load.WithStop(ctx)
	s.cancelAll = cancel
	detect := o.Detect
	if detect == nil {
		detect = func(ctx context.Context) []engine.Found {
			var p engine.Prober
			return p.DetectAll(ctx)
		}
	}
	s.engines = &engines{db: o.DB, detect: detect, logf: s.logf}
	s.suites = &suites{dir: filepath.Join(o.DB.DataDir(), "suites")}
	s.jobs = newJobs()
	s.tasks = newTasks()
	s.cache = newLRU(64)
	s.samples = newSampleSets()
	s.metrics = selfmetrics.New()
	s.handler = s.secure(s.routes())
	return s, nil
}

// routes is the route table.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	a := func(pattern string, h handler) { m.HandleFunc(pattern, s.api(h)) }
	// System.
	a("GET /api/v1/health", s.handleHealth)
	a("GET /api/v1/system", s.handleSystem)
	a("GET /api/v1/doctor", s.handleDoctor)
	// Engines and their models; downloads are tasks.
	a("GET /api/v1/engines", s.handleEngines)
	a("POST /api/v1/engines", s.handleAddEngine)
	a("DELETE /api/v1/engines/{id}", s.handleDeleteEngine)
	a("GET /api/v1/engines/{id}/models", s.handleModels)
	a("POST /api/v1/engines/{id}/pull", s.handlePull)
	a("POST /api/v1/engines/{id}/load", s.handleLoad)
	a("POST /api/v1/engines/{id}/unload", s.handleUnload)
	a("POST /api/v1/engines/{id}/test", s.handleTest)
	a("GET /api/v1/tasks/{id}", s.handleTask)
	a("GET /api/v1/tasks/{id}/events", s.handleTaskEvents)
	// Suites.
	a("GET /api/v1/suites", s.handleSuites)
	a("POST /api/v1/suites", s.handleUploadSuite)
	a("GET /api/v1/suites/{name}", s.handleSuite)
	a("DELETE /api/v1/suites/{name}", s.handleDeleteSuite)
	// Runs.
	a("GET /api/v1/runs", s.handleRuns)
	a("POST /api/v1/runs", s.handleStartRun)
	a("POST /api/v1/capacity", s.handleStartCapacity)
	a("GET /api/v1/runs/{id}", s.handleRun)
	a("DELETE /api/v1/runs/{id}", s.handleDeleteRun)
	a("POST /api/v1/runs/{id}/cancel", s.handleCancelRun)
	a("GET /api/v1/runs/{id}/export", s.handleExport)
	a("GET /api/v1/runs/{id}/report.html", s.handleRunReport)
	a("GET /api/v1/runs/{id}/distribution", s.handleDistribution)
	a("GET /api/v1/runs/{id}/samples", s.handleSamples)
	a("GET /api/v1/runs/{id}/resources", s.handleResources)
	a("GET /api/v1/runs/{id}/engine-series", s.handleEngineSeries)
	a("GET /api/v1/runs/{id}/events", s.handleRunEvents)
	a("GET /api/v1/compare", s.handleCompare)
	a("GET /api/v1/compare/report.html", s.handleCompareReport)
	// Settings.
	a("GET /api/v1/settings", s.handleSettings)
	a("PUT /api/v1/settings", s.handlePutSettings)
	// Anything else under /api/ is not found, in the envelope.
	a("/api/", func(w http.ResponseWriter, r *http.Request) error {
		return notFound("no API route %s %s (see /api/v1/…)", r.Method, r.URL.Path)
	})
	// flperf's own Prometheus metrics (GET only; the token as for /api/).
	m.Handle(MetricsPath, metricsEndpoint(s.metrics))
	ui := s.opts.UI
	if ui == nil {
		ui = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "flperf: this build has no web UI; the API is at /api/v1/", http.StatusNotFound)
		})
	}
	m.Handle("/", ui)
	return m
}

// Handler returns the app's HTTP handler, security checks included.
func (s *Server) Handler() http.Handler { return s.handler }

// Server timeouts. There is no write timeout: streams set a deadline per
// write, other handlers a deadline of their own (see deadline).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownGrace     = 5 * time.Second
)

// Limits on reading a request (body included) and on writing an answer
// that sets no deadline of its own; variables for the test that checks
// that streams outlive them.
var (
	readTimeout = time.Minute
	writeLimit  = 2 * time.Minute
)

// Serve serves the app on ln until ctx says stop: load.Stopped(ctx) (the
// first Ctrl-C of cli.SignalContext, or ctx's cancellation) shuts the app
// down: no new connections, live streams end, every run stops scheduling
// requests and downloads are cancelled; when ctx itself is cancelled (the
// second Ctrl-C) the runs' requests in flight are cancelled too. Serve
// returns once every run is saved and the simulated engine is stopped.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-load.Stopped(ctx):
	case serveErr = <-errc:
	}
	cancelWatch := context.AfterFunc(ctx, s.cancelAll)
	defer cancelWatch()
	s.beginShutdown()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	s.finishShutdown()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// Close shuts the app down at once: runs stop and their requests in
// flight are cancelled; it returns once every run is saved. For a Server
// mounted with Handler; Serve does the same when its context ends.
func (s *Server) Close() {
	s.beginShutdown()
	s.cancelAll()
	s.finishShutdown()
}

// beginShutdown ends the live streams, stops every run's scheduling and
// cancels the downloads.
func (s *Server) beginShutdown() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.stopAll()
		s.tasks.cancelAll()
	})
}

// finishShutdown waits for the runs to be saved and the downloads and
// background computations to end, then stops the simulated engine.
func (s *Server) finishShutdown() {
	s.jobs.wait()
	s.tasks.wait()
	s.background.Wait()
	s.engines.close()
}

// logf sends a message to the server's log.
func (s *Server) logf(level, format string, a ...any) {
	if s.opts.Log != nil {
		s.opts.Log(level, fmt.Sprintf(format, a...))
	}
}

// deadline lets a handler write for up to d, beyond the server default.
func deadline(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// handleHealth answers GET /health.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	return writeData(w, http.StatusOK, map[string]bool{"ok": true})
}

// systemView is GET /system.
type systemView struct {
	Version         runner.Tool  `json:"version"`
	DataPath        string       `json:"data_path"`
	DBPath          string       `json:"db_path"`
	Listen          string       `json:"listen"`
	Started         time.Time    `json:"started"`
	Hardware        any          `json:"hardware"`
	SimulatedEngine *engine.Info `json:"simulated_engine"`
}

// handleSystem answers GET /system.
func (s *Server) handleSystem(w http.ResponseWriter, r *http.Request) error {
	v := systemView{Version: runner.CurrentTool(), DataPath: s.db.DataDir(), DBPath: s.db.Path(), Listen: s.opts.Listen,
		Started: s.started, SimulatedEngine: s.engines.simInfo()}
	if s.opts.Hardware != nil {
		v.Hardware = s.opts.Hardware()
	}
	return writeData(w, http.StatusOK, v)
}
