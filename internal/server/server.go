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
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"flperf/internal/doctor"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/runner"
	"flperf/internal/selfmetrics"
	"flperf/internal/store"
	"flperf/internal/suite"
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
	// RateLimit is the API's per-token rate limit in requests per second
	// (0: DefaultRateLimit; negative: none), for named users and the
	// single access token; loopback without a token is never limited.
	RateLimit float64
	// RateBurst is the most requests a token may send at once (0:
	// DefaultRateBurst).
	RateBurst int
	// TLS, when set, makes Serve answer HTTPS only (see TLSConfig).
	TLS *tls.Config
}

// Server is the app. Create it with New, serve it with Serve (or mount
// Handler and call Close).
type Server struct {
	opts    Options
	db      *store.DB
	guard   *guard
	limiter *limiter // per-token rate limit; nil: none
	// usersSeen is set once the store has users (see hasUsers).
	usersSeen atomic.Bool
	handler   http.Handler
	started   time.Time

	engines *engines
	suites  *suites
	jobs    *jobs
	tasks   *tasks
	cache   *lru
	samples *sampleSets
	metrics *selfmetrics.Metrics // GET /metrics: the runs' live figures
	pushing chan struct{}        // a slot per push chunk or commit being handled (push.go)

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
	s.suites = &suites{lib: &suite.Library{Dir: filepath.Join(o.DB.DataDir(), "suites")}}
	s.jobs = newJobs()
	s.tasks = newTasks()
	s.cache = newLRU(64)
	s.samples = newSampleSets()
	s.metrics = selfmetrics.New()
	rate, burst := o.RateLimit, o.RateBurst
	if rate == 0 {
		rate = DefaultRateLimit
	}
	if burst == 0 {
		burst = DefaultRateBurst
	}
	s.limiter = newLimiter(rate, burst, nil)
	s.pushing = make(chan struct{}, pushSlots)
	s.handler = s.secure(s.routes())
	return s, nil
}

// route is one API route: its pattern, the least role that may call it
// (docs/api.md "Users, roles and the audit log") and its handler.
type route struct {
	pattern string
	role    store.Role
	h       http.Handler
}

// routeTable is every route of the API and the role each needs, in one
// place: GET reads are for viewers, runs and the changes a run needs for
// runners, deletes, server-wide configuration and users for admins.
func (s *Server) routeTable() []route {
	const v, rn, ad = store.RoleViewer, store.RoleRunner, store.RoleAdmin
	a := func(pattern string, role store.Role, h handler) route { return route{pattern, role, s.api(h)} }
	return []route{
		// System.
		a("GET /api/v1/health", v, s.handleHealth),
		a("GET /api/v1/system", v, s.handleSystem),
		a("GET /api/v1/doctor", v, s.handleDoctor),
		a("GET /api/v1/whoami", v, s.handleWhoami),
		// Engines and their models; downloads are tasks.
		a("GET /api/v1/engines", v, s.handleEngines),
		a("POST /api/v1/engines", ad, s.handleAddEngine),
		a("DELETE /api/v1/engines/{id}", ad, s.handleDeleteEngine),
		a("GET /api/v1/engines/{id}/models", v, s.handleModels),
		a("POST /api/v1/engines/{id}/pull", rn, s.handlePull),
		a("POST /api/v1/engines/{id}/load", rn, s.handleLoad),
		a("POST /api/v1/engines/{id}/unload", rn, s.handleUnload),
		a("POST /api/v1/engines/{id}/test", rn, s.handleTest),
		a("GET /api/v1/tasks/{id}", v, s.handleTask),
		a("GET /api/v1/tasks/{id}/events", v, s.handleTaskEvents),
		// Suites.
		a("GET /api/v1/suites", v, s.handleSuites),
		a("POST /api/v1/suites", rn, s.handleUploadSuite),
		a("POST /api/v1/suites/validate", v, s.handleValidateSuite),
		a("GET /api/v1/suites/{name}", v, s.handleSuite),
		a("GET /api/v1/suites/{name}/document", v, s.handleSuiteDocument),
		a("PUT /api/v1/suites/{name}", rn, s.handlePutSuite),
		a("POST /api/v1/suites/{name}/duplicate", rn, s.handleDuplicateSuite),
		a("DELETE /api/v1/suites/{name}", ad, s.handleDeleteSuite),
		// Runs.
		a("GET /api/v1/runs", v, s.handleRuns),
		a("POST /api/v1/runs", rn, s.handleStartRun),
		a("POST /api/v1/capacity", rn, s.handleStartCapacity),
		a("POST /api/v1/profile", rn, s.handleStartProfile),
		a("GET /api/v1/runs/{id}", v, s.handleRun),
		a("DELETE /api/v1/runs/{id}", ad, s.handleDeleteRun),
		a("POST /api/v1/runs/{id}/cancel", rn, s.handleCancelRun),
		a("GET /api/v1/runs/{id}/export", v, s.handleExport),
		a("GET /api/v1/runs/{id}/report.html", v, s.handleRunReport),
		a("GET /api/v1/runs/{id}/distribution", v, s.handleDistribution),
		a("GET /api/v1/runs/{id}/samples", v, s.handleSamples),
		a("GET /api/v1/runs/{id}/resources", v, s.handleResources),
		a("GET /api/v1/runs/{id}/engine-series", v, s.handleEngineSeries),
		a("GET /api/v1/runs/{id}/events", v, s.handleRunEvents),
		a("GET /api/v1/runs/{id}/pull", v, s.handlePullRun),
		a("GET /api/v1/runs/{id}/origin", v, s.handleRunOrigin),
		// Runs pushed from other machines (push.go): pushing is for runners.
		a("POST /api/v1/pushes", rn, s.handleBeginPush),
		a("GET /api/v1/pushes/{id}", rn, s.handlePushStatus),
		a("PUT /api/v1/pushes/{id}/records", rn, s.handlePushRecords),
		a("POST /api/v1/pushes/{id}/commit", rn, s.handleCommitPush),
		a("DELETE /api/v1/pushes/{id}", rn, s.handleDropPush),
		a("GET /api/v1/compare", v, s.handleCompare),
		a("GET /api/v1/compare/report.html", v, s.handleCompareReport),
		// The cross-hardware leaderboard and the trend view (stored summaries).
		a("GET /api/v1/board", v, s.handleBoard),
		a("GET /api/v1/board/trend", v, s.handleTrend),
		// Settings: the defaults of everyone's new runs.
		a("GET /api/v1/settings", v, s.handleSettings),
		a("PUT /api/v1/settings", ad, s.handlePutSettings),
		// Users and the audit log.
		a("GET /api/v1/users", ad, s.handleUsers),
		a("POST /api/v1/users", ad, s.handleAddUser),
		a("DELETE /api/v1/users/{name}", ad, s.handleRevokeUser),
		a("GET /api/v1/audit", ad, s.handleAudit),
		// Anything else under /api/ is not found, in the envelope.
		a("/api/", v, func(w http.ResponseWriter, r *http.Request) error {
			return notFound("no API route %s %s (see /api/v1/…)", r.Method, r.URL.Path)
		}),
		// flperf's own Prometheus metrics (GET only; the token as for /api/).
		{MetricsPath, v, metricsEndpoint(s.metrics)},
	}
}

// routes is the mux: every route of routeTable behind its role check,
// and the UI for every other path.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	for _, rt := range s.routeTable() {
		m.Handle(rt.pattern, s.guarded(rt, rt.h))
	}
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
	if s.opts.TLS != nil {
		hs.TLSConfig = s.opts.TLS.Clone()
		go func() { errc <- hs.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- hs.Serve(ln) }()
	}
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
