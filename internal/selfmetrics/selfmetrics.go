// Package selfmetrics keeps flperf's own live run figures in the
// Prometheus text format, so that a long run can be watched from Grafana:
// requests by model, scenario and outcome, TTFT/TPOT/E2E histograms,
// tokens, connection retries, requests in flight and runs by status.
//
// A Metrics is a runner.Sink: it takes the same records, in the same order,
// as the store, so every figure is the records' (docs/metrics.md §3 defines
// each). Warm-up requests are excluded from every request, latency and
// token figure, as they are from every summary, and counted apart in
// flperf_warmup_requests_total. Each Metrics has its own registry (never
// the process-wide default), served by Handler.
//
// Label values come from the engine (model ids) and from suites: they are
// made valid UTF-8 without control characters, cut to MaxLabelLen bytes,
// and at most MaxPairs model × scenario pairs get series of their own; the
// rest are counted under model and scenario "_other".
package selfmetrics

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"flperf/internal/backend"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Bounds on label values.
const (
	// MaxLabelLen is the longest model or scenario label value, in bytes;
	// a longer one is cut at a character boundary and ends in "…".
	MaxLabelLen = 128
	// MaxPairs is the number of model × scenario pairs with series of
	// their own in one Metrics (about 50 series each).
	MaxPairs = 100
	// Other is the model and scenario label of every pair beyond MaxPairs.
	Other = "_other"
)

// Histogram buckets, in seconds, chosen for LLM latencies on one machine.
var (
	// TTFTBuckets span 5 ms (a warm prefix cache, a tiny model) to 60 s
	// (a long prompt on a CPU, or a deep queue).
	TTFTBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// TPOTBuckets span 1 ms per token (1000 tok/s, batched on a GPU) to
	// 1 s per token (1 tok/s, a large model on a CPU), finest around
	// 10–100 ms where most local models decode.
	TPOTBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.2, 0.5, 1}
	// E2EBuckets span 50 ms to 10 minutes (the longest per-request
	// deadline worth setting).
	E2EBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}
)

// RunStatuses are the statuses flperf_runs_total starts at zero with.
var RunStatuses = []string{string(runner.Completed), string(runner.Interrupted), string(runner.Canceled), "failed"}

// The per-request figures, defined once in package stats.
var (
	ttftMetric, _ = stats.MetricByKey("ttft_ms")
	tpotMetric, _ = stats.MetricByKey("tpot_ms")
	e2eMetric, _  = stats.MetricByKey("e2e_ms")
)

// Metrics are one registry's figures. Its methods are safe for concurrent
// use.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	warmups     *prometheus.CounterVec
	ttft        *prometheus.HistogramVec
	tpot        *prometheus.HistogramVec
	e2e         *prometheus.HistogramVec
	inTokens    *prometheus.CounterVec
	outTokens   *prometheus.CounterVec
	connRetries *prometheus.CounterVec
	inFlight    *prometheus.GaugeVec
	runs        *prometheus.CounterVec
	running     prometheus.Gauge

	mu    sync.Mutex
	pairs map[[2]string][2]string // model, scenario → their label values
}

// New returns empty figures on a registry of their own.
func New() *Metrics {
	ms := []string{"model", "scenario"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flperf_requests_total",
			Help: "Measured requests (records, warm-ups excluded) by model, scenario and outcome."}, append(ms, "outcome")),
		warmups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flperf_warmup_requests_total",
			Help: "Warm-up requests (recorded, never summarised) by model, scenario and outcome."}, append(ms, "outcome")),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flperf_ttft_seconds",
			Help: "Time to first token of ok measured requests (t_first - t_send).", Buckets: TTFTBuckets}, ms),
		tpot: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flperf_tpot_seconds",
			Help: "Time per output token of ok measured requests ((t_last - t_first) / (N_out - 1)).", Buckets: TPOTBuckets}, ms),
		e2e: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flperf_e2e_seconds",
			Help: "End-to-end latency of ok measured requests (t_end - t_send).", Buckets: E2EBuckets}, ms),
		inTokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flperf_input_tokens_total",
			Help: "Input (prompt) tokens of ok measured requests."}, ms),
		outTokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flperf_output_tokens_total",
			Help: "Output tokens of ok measured requests (best source: usage, engine, estimate)."}, ms),
		connRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flperf_connection_retries_total",
			Help: "Measured requests sent again on a new connection because the reused one was closed before any response byte."}, ms),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flperf_requests_in_flight",
			Help: "Requests sent and not yet ended, warm-ups included."}, ms),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flperf_runs_total",
			Help: "Runs ended by this process, by status."}, []string{"status"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "flperf_runs_running",
			Help: "Runs going on in this process."}),
		pairs: map[[2]string][2]string{},
	}
	m.reg.MustRegister(m.requests, m.warmups, m.ttft, m.tpot, m.e2e, m.inTokens, m.outTokens,
		m.connRetries, m.inFlight, m.runs, m.running)
	for _, st := range RunStatuses {
		m.runs.WithLabelValues(st)
	}
	return m
}

// Registry returns the figures' own registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the figures in the Prometheus exposition formats (the
// text format unless the scraper asks for another), whatever the method:
// the caller applies the access rules.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError, MaxRequestsInFlight: 4})
}

// labels returns the label values of model × scenario: cleaned, and
// Other for both beyond MaxPairs pairs.
func (m *Metrics) labels(model, scenario string) (string, string) {
	k := [2]string{model, scenario}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.pairs[k]; ok {
		return v[0], v[1]
	}
	v := [2]string{Other, Other}
	if len(m.pairs) < MaxPairs {
		v = [2]string{CleanLabel(model), CleanLabel(scenario)}
	}
	m.pairs[k] = v
	// Every outcome starts at zero, so rates and ratios exist from the
	// pair's first record on.
	for _, o := range record.Outcomes {
		m.requests.WithLabelValues(v[0], v[1], string(o))
	}
	return v[0], v[1]
}

// CleanLabel makes s a bounded label value: invalid UTF-8 and control
// characters become U+FFFD, and a value longer than MaxLabelLen bytes is
// cut at a character boundary and ends in "…"; empty is "_none".
func CleanLabel(s string) string {
	if s == "" {
		return "_none"
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(s) <= MaxLabelLen {
		return s
	}
	const ellipsis = "…"
	cut := MaxLabelLen - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// Add counts one record (runner.Sink): a warm-up in
// flperf_warmup_requests_total only; a measured one in
// flperf_requests_total and flperf_connection_retries_total, and when ok
// in the latency histograms and the token counters, with the summaries'
// definitions (docs/metrics.md §2–§3).
func (m *Metrics) Add(r *record.Record) error {
	model, scenario := m.labels(r.Model, r.Scenario)
	outcome := CleanLabel(string(r.Outcome))
	if r.Warmup {
		m.warmups.WithLabelValues(model, scenario, outcome).Inc()
		return nil
	}
	m.requests.WithLabelValues(model, scenario, outcome).Inc()
	if r.ConnRetries > 0 {
		m.connRetries.WithLabelValues(model, scenario).Add(float64(r.ConnRetries))
	} else {
		m.connRetries.WithLabelValues(model, scenario)
	}
	if r.Outcome != record.OK {
		return nil
	}
	var buf [1]float64
	observe := func(h *prometheus.HistogramVec, mt stats.Metric) {
		if xs := mt.Samples(r, buf[:0]); len(xs) == 1 {
			h.WithLabelValues(model, scenario).Observe(xs[0] / 1000)
		}
	}
	observe(m.ttft, ttftMetric)
	observe(m.tpot, tpotMetric)
	observe(m.e2e, e2eMetric)
	out, _, _ := r.Output() // a count the text cannot hold is not used (docs/metrics.md §2)
	m.outTokens.WithLabelValues(model, scenario).Add(float64(out))
	m.inTokens.WithLabelValues(model, scenario).Add(float64(max(r.InputTokens, 0)))
	return nil
}

// Close ends one run's records (runner.Sink); the figures stay.
func (m *Metrics) Close() error { return nil }

// RunStarted counts a run going on.
func (m *Metrics) RunStarted() { m.running.Inc() }

// RunEnded counts a run that ended with status (completed, interrupted,
// canceled, failed).
func (m *Metrics) RunEnded(status string) {
	m.running.Dec()
	m.runs.WithLabelValues(CleanLabel(status)).Inc()
}

// Doer wraps d so that flperf_requests_in_flight counts its requests
// between send and end. It keeps d's connection-reuse report.
func (m *Metrics) Doer(d runner.Doer) runner.Doer { return &inFlightDoer{d: d, m: m} }

// inFlightDoer is the Doer of Metrics.Doer.
type inFlightDoer struct {
	d runner.Doer
	m *Metrics
}

// Do counts the request in flight while d sends it.
func (f *inFlightDoer) Do(ctx context.Context, req backend.Request, rec *record.Record) {
	g := f.m.inFlight.WithLabelValues(f.m.labels(req.Model, rec.Scenario))
	g.Inc()
	defer g.Dec()
	f.d.Do(ctx, req, rec)
}

// ConnectionReuse is the wrapped Doer's (runner.Result's connection reuse
// report), or "" when it has none.
func (f *inFlightDoer) ConnectionReuse() string {
	if c, ok := f.d.(interface{ ConnectionReuse() string }); ok {
		return c.ConnectionReuse()
	}
	return ""
}
