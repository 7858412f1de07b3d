package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ErrMetricsDisabled means the engine could serve /metrics but does not:
// llama.cpp without --metrics (HTTP 501), SGLang without --enable-metrics
// (HTTP 404). It wraps ErrUnsupported.
var ErrMetricsDisabled = fmt.Errorf("metrics disabled (%w)", ErrUnsupported)

// metricsMaxBody bounds a /metrics page: vLLM's, with every histogram's
// buckets per model, is a few hundred KiB.
const metricsMaxBody = 32 << 20

// MetricsSnapshot is one scrape of an engine's Prometheus /metrics page,
// reduced to what a benchmark diffs: every sample summed over its label sets
// (model_name, finished_reason, engine, …).
//
// Counters, gauges and untyped samples are keyed by their sample name
// ("vllm:prompt_tokens_total"); a counter family named without _total (the
// OpenMetrics spelling) is also keyed with it. Histograms and summaries are
// keyed name_sum and name_count ("vllm:time_to_first_token_seconds_sum").
// NaN samples are left out.
type MetricsSnapshot struct {
	At     time.Time          `json:"at"`            // when the page was read
	Values map[string]float64 `json:"values"`        // sample name → sum over label sets
	Max    map[string]float64 `json:"max,omitempty"` // gauges and untyped samples: the largest value over label sets
	// Created is, per counter or histogram (named without _total), the
	// earliest creation time of its series in Unix seconds, from
	// prometheus_client's _created samples (vLLM, SGLang): when it moves
	// forward between two scrapes, the engine restarted in between.
	Created map[string]float64 `json:"created,omitempty"`
}

// Value returns the named sample summed over its label sets.
func (s MetricsSnapshot) Value(name string) (float64, bool) {
	v, ok := s.Values[name]
	return v, ok
}

// MetricsScraper is implemented by the managers of engines that serve a
// Prometheus /metrics page (llama.cpp with --metrics, vLLM, SGLang with
// --enable-metrics). Scrape before and after a benchmark stage and pass both
// to DiffMetrics.
type MetricsScraper interface {
	Metrics(ctx context.Context) (MetricsSnapshot, error)
}

// ParseMetrics parses a /metrics page in the Prometheus text format. A
// page in OpenMetrics (as contentType may say) is read the same way: its
// "# EOF" and "# UNIT" lines are comments to the text parser, and its
// exemplars are dropped first. (expfmt's own OpenMetrics decoder takes
// about a millisecond per line, too slow to scrape during a benchmark.)
func ParseMetrics(r io.Reader, contentType string) (MetricsSnapshot, error) {
	body, err := io.ReadAll(io.LimitReader(r, metricsMaxBody+1))
	if err != nil {
		return MetricsSnapshot{}, fmt.Errorf("reading /metrics: %v", err)
	}
	if len(body) > metricsMaxBody {
		return MetricsSnapshot{}, fmt.Errorf("/metrics page larger than %d MiB", metricsMaxBody>>20)
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == expfmt.OpenMetricsType {
		body = dropExemplars(body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return MetricsSnapshot{}, fmt.Errorf("/metrics is not the Prometheus text format: %v", err)
	}
	snap := MetricsSnapshot{At: time.Now(), Values: map[string]float64{}, Max: map[string]float64{}, Created: map[string]float64{}}
	for _, f := range fams {
		snap.add(f)
	}
	return snap, nil
}

// dropExemplars removes OpenMetrics exemplars (` # {labels} value [ts]`
// after a sample's value) from every sample line.
func dropExemplars(body []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(body))
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i+1], body[i+1:]
		} else {
			body = nil
		}
		if line[0] != '#' {
			if cut := exemplarAt(line); cut >= 0 {
				out.Write(bytes.TrimRight(line[:cut], " \t"))
				out.WriteByte('\n')
				continue
			}
		}
		out.Write(line)
	}
	return out.Bytes()
}

// exemplarAt is the index of the "#" that starts a sample line's exemplar,
// outside quoted label values; -1 when there is none.
func exemplarAt(line []byte) int {
	quoted, escaped := false, false
	for i, c := range line {
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t'):
			return i
		}
	}
	return -1
}

// add folds one metric family into the snapshot.
func (s *MetricsSnapshot) add(f *dto.MetricFamily) {
	name := f.GetName()
	put := func(key string, v float64, gauge bool) {
		if math.IsNaN(v) {
			return
		}
		s.Values[key] += v
		if gauge {
			if m, ok := s.Max[key]; !ok || v > m {
				s.Max[key] = v
			}
		}
	}
	created := func(base string, v float64) {
		if c, seen := s.Created[base]; v > 0 && (!seen || v < c) {
			s.Created[base] = v
		}
	}
	for _, m := range f.GetMetric() {
		if base, ok := strings.CutSuffix(name, "_created"); ok && f.GetType() != dto.MetricType_COUNTER {
			created(base, m.GetGauge().GetValue()+m.GetUntyped().GetValue())
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			v := m.GetCounter().GetValue()
			put(name, v, false)
			if !strings.HasSuffix(name, "_total") {
				put(name+"_total", v, false)
			}
			if ts := m.GetCounter().GetCreatedTimestamp(); ts != nil {
				created(strings.TrimSuffix(name, "_total"), float64(ts.GetSeconds())+float64(ts.GetNanos())/1e9)
			}
		case dto.MetricType_GAUGE:
			put(name, m.GetGauge().GetValue(), true)
		case dto.MetricType_UNTYPED:
			put(name, m.GetUntyped().GetValue(), true)
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			put(name+"_sum", h.GetSampleSum(), false)
			put(name+"_count", float64(h.GetSampleCount()), false)
			if ts := h.GetCreatedTimestamp(); ts != nil {
				created(name, float64(ts.GetSeconds())+float64(ts.GetNanos())/1e9)
			}
		case dto.MetricType_SUMMARY:
			sm := m.GetSummary()
			put(name+"_sum", sm.GetSampleSum(), false)
			put(name+"_count", float64(sm.GetSampleCount()), false)
			if ts := sm.GetCreatedTimestamp(); ts != nil {
				created(name, float64(ts.GetSeconds())+float64(ts.GetNanos())/1e9)
			}
		}
	}
}

// Metrics scrapes GET <root>/metrics, where root is the engine's
// scheme://host:port (an OpenAI base URL ending in /v1 is accepted too).
// An engine whose metrics are off answers ErrMetricsDisabled.
func (p *Prober) Metrics(ctx context.Context, rootURL string) (MetricsSnapshot, error) {
	return scrapeMetrics(ctx, p.client(), "", root(rootURL))
}

// scrapeMetrics reads and parses rootURL/metrics; kind only picks the hint
// given when metrics are off.
func scrapeMetrics(ctx context.Context, hc *http.Client, kind Kind, rootURL string) (MetricsSnapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rootURL+"/metrics", nil)
	if err != nil {
		return MetricsSnapshot{}, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return MetricsSnapshot{}, fmt.Errorf("GET %s/metrics: %w", rootURL, context.Cause(ctx))
		}
		return MetricsSnapshot{}, fmt.Errorf("GET %s/metrics: %w: %v", rootURL, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotImplemented, http.StatusNotFound:
		return MetricsSnapshot{}, fmt.Errorf("GET %s/metrics: HTTP %d: %s: %w", rootURL, resp.StatusCode, metricsHint(kind, resp.StatusCode), ErrMetricsDisabled)
	default:
		return MetricsSnapshot{}, fmt.Errorf("GET %s/metrics: %w", rootURL, engineStatusError(resp))
	}
	snap, err := ParseMetrics(resp.Body, resp.Header.Get("Content-Type"))
	if err != nil {
		return MetricsSnapshot{}, fmt.Errorf("GET %s/metrics: %w", rootURL, err)
	}
	return snap, nil
}

// metricsHint says how to turn an engine's metrics on.
func metricsHint(kind Kind, status int) string {
	switch kind {
	case LlamaCpp:
		return "llama.cpp serves /metrics only when llama-server is started with --metrics"
	case SGLang:
		return "SGLang serves /metrics only when started with --enable-metrics"
	case VLLM:
		return "vLLM serves /metrics by default: check that this is vLLM's own port, not a proxy"
	}
	if status == http.StatusNotImplemented {
		return "the server has /metrics but it is disabled (llama.cpp: start llama-server with --metrics)"
	}
	return "the server has no /metrics (SGLang: start it with --enable-metrics; Ollama, LM Studio and Foundry Local have none)"
}

// engineStatusError describes a non-2xx answer with the start of its body.
func engineStatusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	msg := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if msg == "" {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
}

// ServerStats is what an engine's own /metrics say about one benchmark
// stage: the difference between a scrape before it and one after it (see
// DiffMetrics). Every figure is null when the engine does not report it, when
// a counter went down between the scrapes (the engine restarted: see Notes),
// or, for means, when nothing was observed. Sources names the metric each
// figure came from, since names differ per engine and version.
type ServerStats struct {
	IntervalSeconds float64 `json:"interval_s"` // time between the two scrapes

	RequestsFinished   *float64 `json:"requests_finished"`    // vllm:request_success_total, sglang:num_requests_total (llama.cpp has no such counter)
	PromptTokens       *float64 `json:"prompt_tokens"`        // prompt tokens processed (llama.cpp: evaluated, cached ones excluded)
	GenerationTokens   *float64 `json:"generation_tokens"`    // output tokens generated
	CachedPromptTokens *float64 `json:"cached_prompt_tokens"` // prompt tokens served from a prefix cache

	MeanTTFT  *float64 `json:"mean_ttft_s"`  // mean time to first token, seconds (server side: from arrival at the engine)
	MeanTPOT  *float64 `json:"mean_tpot_s"`  // mean time per output token, seconds (per request where the engine has it, else per token gap: see Sources)
	MeanE2E   *float64 `json:"mean_e2e_s"`   // mean request latency, seconds
	MeanQueue *float64 `json:"mean_queue_s"` // mean time waiting to be scheduled, seconds

	PrefillSeconds    *float64          `json:"prefill_seconds"`      // total prompt processing time, seconds
	DecodeSeconds     *float64          `json:"decode_seconds"`       // total generation time, seconds
	PrefillTokensPerS *float64          `json:"prefill_tokens_per_s"` // llama.cpp: prompt tokens / prompt seconds
	DecodeTokensPerS  *float64          `json:"decode_tokens_per_s"`  // llama.cpp: predicted tokens / predicted seconds (per busy slot)
	Running           Gauge             `json:"running"`              // requests being generated
	Waiting           Gauge             `json:"waiting"`              // requests queued (llama.cpp: deferred)
	KVCacheUsage      Gauge             `json:"kv_cache_usage"`       // KV cache in use, as a fraction 0–1
	Sources           map[string]string `json:"sources,omitempty"`    // JSON key of a figure → the metric it came from
	Notes             []string          `json:"notes,omitempty"`      // why a figure is null or how it was read
}

// Gauge is a gauge's value at the last scrape and the highest value seen
// over the scrapes given (before, after and any passed to Observe): a peak
// between scrapes is invisible to it.
type Gauge struct {
	Last *float64 `json:"last"`
	Peak *float64 `json:"peak"`
}

// The metric names each figure is read from, in order of preference: the
// first one present wins. Several versions of each engine are covered.
var (
	requestsNames   = []string{"vllm:request_success_total", "sglang:num_requests_total"}
	promptNames     = []string{"vllm:prompt_tokens_total", "sglang:prompt_tokens_total", "llamacpp:prompt_tokens_total"}
	generationNames = []string{"vllm:generation_tokens_total", "sglang:generation_tokens_total", "llamacpp:tokens_predicted_total"}
	cachedNames     = []string{"vllm:prefix_cache_hits_total", "sglang:cached_tokens_total"}
	ttftNames       = []string{"vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"}
	tpotNames       = []string{
		"vllm:request_time_per_output_token_seconds", // per request (vLLM ≥ 0.10)
		"vllm:time_per_output_token_seconds",         // older vLLM: per token gap
		"vllm:inter_token_latency_seconds",           // per token gap
		"sglang:time_per_output_token_seconds",
		"sglang:inter_token_latency_seconds",
	}
	e2eNames      = []string{"vllm:e2e_request_latency_seconds", "sglang:e2e_request_latency_seconds"}
	queueNames    = []string{"vllm:request_queue_time_seconds", "sglang:queue_time_seconds"}
	prefillSNames = []string{"vllm:request_prefill_time_seconds_sum", "llamacpp:prompt_seconds_total"}
	decodeSNames  = []string{"vllm:request_decode_time_seconds_sum", "llamacpp:tokens_predicted_seconds_total"}
	runningNames  = []string{"vllm:num_requests_running", "sglang:num_running_reqs", "llamacpp:requests_processing"}
	waitingNames  = []string{"vllm:num_requests_waiting", "sglang:num_queue_reqs", "llamacpp:requests_deferred"}
	kvNames       = []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage", "llamacpp:kv_cache_usage_ratio"}
)

// DiffMetrics turns two scrapes of one engine, before and after a stage,
// into the stage's ServerStats: counters as after − before, means as
// Δ_sum / Δ_count of a histogram, gauges as their last value and the peak
// of the two scrapes. A sample absent from before but present after counts
// from 0 (engines create labelled series on first use), provided before is
// a real scrape; one absent after leaves its figure null.
func DiffMetrics(before, after MetricsSnapshot) ServerStats {
	d := differ{before: before, after: after, st: ServerStats{Sources: map[string]string{}}}
	st := &d.st
	if !before.At.IsZero() && !after.At.IsZero() {
		st.IntervalSeconds = after.At.Sub(before.At).Seconds()
	}
	st.RequestsFinished = d.counter("requests_finished", requestsNames)
	if st.RequestsFinished == nil && d.has("llamacpp:") {
		d.note("requests_finished: llama.cpp has no finished-requests counter (requests_processing is a gauge of requests in progress)")
	}
	st.PromptTokens = d.counter("prompt_tokens", promptNames)
	st.GenerationTokens = d.counter("generation_tokens", generationNames)
	st.CachedPromptTokens = d.counter("cached_prompt_tokens", cachedNames)
	st.MeanTTFT = d.mean("mean_ttft_s", ttftNames)
	st.MeanTPOT = d.mean("mean_tpot_s", tpotNames)
	st.MeanE2E = d.mean("mean_e2e_s", e2eNames)
	st.MeanQueue = d.mean("mean_queue_s", queueNames)
	st.PrefillSeconds = d.counter("prefill_seconds", prefillSNames)
	st.DecodeSeconds = d.counter("decode_seconds", decodeSNames)
	if st.Sources["prompt_tokens"] == "llamacpp:prompt_tokens_total" && st.Sources["prefill_seconds"] == "llamacpp:prompt_seconds_total" {
		st.PrefillTokensPerS = ratio(st.PromptTokens, st.PrefillSeconds)
	}
	if st.Sources["generation_tokens"] == "llamacpp:tokens_predicted_total" && st.Sources["decode_seconds"] == "llamacpp:tokens_predicted_seconds_total" {
		st.DecodeTokensPerS = ratio(st.GenerationTokens, st.DecodeSeconds)
	}
	st.Running = d.gauge("running", runningNames)
	st.Waiting = d.gauge("waiting", waitingNames)
	st.KVCacheUsage = d.gauge("kv_cache_usage", kvNames)
	if len(st.Sources) == 0 {
		st.Sources = nil
		if len(after.Values) == 0 {
			d.note("the after scrape has no metrics")
		} else {
			d.note("no metric this version of flperf knows (vllm:*, sglang:*, llamacpp:*)")
		}
	}
	return d.st
}

// Observe folds a scrape taken during the stage into the gauges' peaks.
func (s *ServerStats) Observe(mid MetricsSnapshot) {
	for _, g := range []struct {
		key string
		g   *Gauge
	}{{"running", &s.Running}, {"waiting", &s.Waiting}, {"kv_cache_usage", &s.KVCacheUsage}} {
		name := s.Sources[g.key]
		if name == "" {
			continue
		}
		if v, ok := gaugeValue(mid, g.key, name); ok && (g.g.Peak == nil || v > *g.g.Peak) {
			g.g.Peak = &v
		}
	}
}

// QueueGauges reads the engine's queue from one scrape: the requests
// running and waiting and the KV cache in use (a fraction, 0–1), each from
// the first of the metric names DiffMetrics reads it from that the page
// has (nil when it has none: never 0 for a figure the engine does not give),
// and sources names the metric each came from.
func QueueGauges(s MetricsSnapshot) (running, waiting, kvCache *float64, sources map[string]string) {
	sources = map[string]string{}
	read := func(key string, names []string) *float64 {
		for _, n := range names {
			if v, ok := gaugeValue(s, key, n); ok {
				sources[key] = n
				return &v
			}
		}
		return nil
	}
	return read("running", runningNames), read("waiting", waitingNames), read("kv_cache_usage", kvNames), sources
}

// differ computes the figures of one DiffMetrics call.
type differ struct {
	before, after MetricsSnapshot
	st            ServerStats
}

func (d *differ) note(format string, args ...any) {
	d.st.Notes = append(d.st.Notes, fmt.Sprintf(format, args...))
}

// has reports whether after has a sample whose name starts with prefix.
func (d *differ) has(prefix string) bool {
	for k := range d.after.Values {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// delta is after − before of one sample; ok is false when it is absent
// after, or went down (noted).
func (d *differ) delta(key, name string) (float64, bool) {
	a, ok := d.after.Values[name]
	if !ok {
		return 0, false
	}
	b, ok := d.before.Values[name]
	if !ok {
		if len(d.before.Values) == 0 {
			d.note("%s: no scrape before the stage", key)
			return 0, false
		}
		b = 0 // created by the first request of the stage
	}
	if a < b {
		d.note("%s: %s went down from %g to %g: the engine restarted between the scrapes, figure unknown", key, name, b, a)
		return 0, false
	}
	base := name
	for _, suffix := range []string{"_total", "_sum", "_count"} {
		base = strings.TrimSuffix(base, suffix)
	}
	if cb, ok := d.before.Created[base]; ok {
		if ca, ok := d.after.Created[base]; ok && ca > cb {
			d.note("%s: %s was created anew between the scrapes (the engine restarted), figure unknown", key, base)
			return 0, false
		}
	}
	return a - b, true
}

// counter is the increase of the first of names present after.
func (d *differ) counter(key string, names []string) *float64 {
	for _, n := range names {
		if _, ok := d.after.Values[n]; !ok {
			continue
		}
		d.st.Sources[key] = n
		v, ok := d.delta(key, n)
		if !ok {
			return nil
		}
		return &v
	}
	return nil
}

// mean is Δsum/Δcount of the first histogram of names present after.
func (d *differ) mean(key string, names []string) *float64 {
	for _, n := range names {
		if _, ok := d.after.Values[n+"_count"]; !ok {
			continue
		}
		d.st.Sources[key] = n
		sum, ok1 := d.delta(key, n+"_sum")
		cnt, ok2 := d.delta(key, n+"_count")
		if !ok1 || !ok2 || cnt <= 0 {
			return nil
		}
		v := sum / cnt
		return &v
	}
	return nil
}

// gauge is the last value and the peak of the first of names present after.
func (d *differ) gauge(key string, names []string) Gauge {
	for _, n := range names {
		last, ok := gaugeValue(d.after, key, n)
		if !ok {
			continue
		}
		d.st.Sources[key] = n
		peak := last
		if b, ok := gaugeValue(d.before, key, n); ok && b > peak {
			peak = b
		}
		return Gauge{Last: &last, Peak: &peak}
	}
	return Gauge{}
}

// gaugeValue reads a gauge: the sum over label sets, except for the KV cache
// fraction, which is the largest (summing fractions of several engines would
// exceed 1).
func gaugeValue(s MetricsSnapshot, key, name string) (float64, bool) {
	if key == "kv_cache_usage" {
		if v, ok := s.Max[name]; ok {
			return v, true
		}
	}
	v, ok := s.Values[name]
	return v, ok
}

// ratio is a/b, nil unless both are known and b > 0.
func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b <= 0 {
		return nil
	}
	v := *a / *b
	return &v
}
