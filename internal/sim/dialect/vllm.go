package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"flperf/internal/sim"
	"flperf/internal/tokens"
)

// VLLMVersion is what the fake vLLM reports on GET /version, and the fake
// SGLang on GET /get_server_info, unless VLLM.Version is set.
const VLLMVersion = "0.11.0"

// SGLangVersion is the fake SGLang's default version.
const SGLangVersion = "0.5.4"

// VLLM is a fake vLLM server (docs/engines.md §4), an http.Handler, or a fake
// SGLang server when made by NewSGLang:
//
//	GET  /health                200, empty body
//	GET  /version               {"version"} (vLLM only)
//	GET  /get_model_info        {"model_path", …} (SGLang only)
//	GET  /get_server_info       {"version", …} (SGLang only)
//	GET  /v1/models             owned_by "vllm" / "sglang", with max_model_len and root
//	GET  /metrics               Prometheus text: vllm:* or sglang:* (404 with NoMetrics)
//	POST /v1/chat/completions   served by an embedded sim.Server
//	POST /tokenize              {"model", "messages" or "prompt"} → {"count", "max_model_len", "tokens"} (vLLM only)
//
// A vLLM chat request whose prompt (the simulator's count) reaches
// max_model_len, or whose prompt plus max_tokens goes beyond it, is refused
// with 400 in vLLM 0.11's words; /tokenize counts what the chat counts.
//
// The /metrics counters and histograms really count what the embedded
// simulator served, from its trace: requests finished (by finish reason),
// prompt tokens (the simulator's own estimate), generated tokens, and the
// sum and count of every request's time to first token, time per output
// token, end-to-end latency, queue time, prefill and decode time, as the
// server saw them (arrival → first chunk flushed, and so on). For a
// non-streaming answer, which flushes no chunks, the first token is the
// schedule's nominal time (slot + TTFT + prompt/PrefillTPS: exact when the
// profile has no jitter). The gauges are the requests running and waiting
// now; the KV cache usage is a stand-in, the share of the profile's slots
// in use (0 with unlimited slots). vLLM's series exist from the start, with
// zeros; SGLang's appear with the first request that feeds them, as the
// real servers do.
//
// Streaming requests get vLLM's continuous usage stats when they ask for
// them; a vLLM request with stream_options but not stream is refused with
// 400, as vLLM does. Every answer carries the header X-FLPerf-Engine:
// simulated. The exported fields configure the fake; set them before it
// serves its first request. It is safe for concurrent use.
type VLLM struct {
	Version     string // GET /version or /get_server_info (empty: VLLMVersion or SGLangVersion)
	MaxModelLen int    // max_model_len in /v1/models (0: 8192)
	Root        string // root in /v1/models and model_path of SGLang (empty: the model name)
	NoMetrics   bool   // /metrics answers 404 (SGLang without --enable-metrics)

	sglang  bool
	sim     *sim.Server
	meter   *chatMeter
	names   []string
	created int64

	mu     sync.Mutex
	models map[string]*batchMetrics
}

// batchMetrics are the Prometheus figures of one model of the fake vLLM or
// SGLang.
type batchMetrics struct {
	finished                    map[string]float64 // by finish reason
	aborted                     float64            // requests that ended without a finish reason
	prompt, generation          float64
	cacheQueries, cacheHits     float64 // prompt tokens looked up in the prefix cache, and found
	ttft, itl, tpot, e2e, queue histogram
	prefill, decode, inference  histogram
	promptHist, genHist         histogram
	used                        bool // fed by at least one request (SGLang creates its series then)
	slots                       int
}

// NewVLLM returns a fake vLLM serving the given profiles (a real vLLM
// serves one model; several are allowed here). The embedded simulator
// reports usage (streams: with include_usage, every chunk with
// continuous_usage_stats) and ends streams with [DONE]; the profiles' other
// wire settings (Timings, NoDone, RejectStreamOptions) are cleared; a
// profile without a TemplateTokens gets VLLMTemplateTokens.
func NewVLLM(profiles ...sim.Profile) (*VLLM, error) {
	return newBatchServer(false, profiles)
}

// NewSGLang returns a fake SGLang server serving the given profiles, set
// up as NewVLLM's, with SGLang's routes and sglang:* metrics.
func NewSGLang(profiles ...sim.Profile) (*VLLM, error) {
	return newBatchServer(true, profiles)
}

// VLLMTemplateTokens is the simulated vLLM's and SGLang's chat-template
// overhead when a profile sets none (sim.Profile.TemplateTokens): their
// usage, prefill and /tokenize of messages count it.
const VLLMTemplateTokens = 5

func newBatchServer(sglang bool, profiles []sim.Profile) (*VLLM, error) {
	ps := make([]sim.Profile, len(profiles))
	for i, p := range profiles {
		p.Usage, p.ContinuousUsage, p.Timings, p.NoDone, p.RejectStreamOptions = true, true, false, false, false
		if p.TemplateTokens == 0 {
			p.TemplateTokens = VLLMTemplateTokens
		}
		ps[i] = p
	}
	srv, err := sim.New(ps...)
	if err != nil {
		return nil, err
	}
	v := &VLLM{sglang: sglang, sim: srv, created: time.Now().Unix(), models: make(map[string]*batchMetrics, len(ps))}
	for _, p := range ps {
		v.names = append(v.names, p.Name)
		v.models[p.Name] = &batchMetrics{
			finished: map[string]float64{"stop": 0, "length": 0, "abort": 0}, slots: p.Slots,
			ttft: newHistogram(vllmTTFTBuckets), itl: newHistogram(vllmITLBuckets), tpot: newHistogram(vllmITLBuckets),
			e2e: newHistogram(vllmLatencyBuckets), queue: newHistogram(vllmLatencyBuckets), prefill: newHistogram(vllmLatencyBuckets),
			decode: newHistogram(vllmLatencyBuckets), inference: newHistogram(vllmLatencyBuckets),
			promptHist: newHistogram(tokenBuckets), genHist: newHistogram(tokenBuckets),
		}
	}
	v.meter = newChatMeter(srv, ps)
	return v, nil
}

// RecordQueue makes the server keep every change of its models' queues
// (requests waiting and running) from now on, for QueueLog: a test compares
// what a client saw on /metrics with what the simulator had.
func (v *VLLM) RecordQueue() { v.meter.recordQueue() }

// QueueLog returns the changes kept since RecordQueue, in order.
func (v *VLLM) QueueLog() []QueueChange { return v.meter.queueLog() }

// ServeHTTP routes a request (see VLLM).
func (v *VLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(sim.EngineHeader, "simulated")
	get := func(h func(http.ResponseWriter)) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			v.notAllowed(w)
			return
		}
		h(w)
	}
	switch r.URL.Path {
	case "/health", "/health_generate":
		get(func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	case "/version":
		if v.sglang {
			v.notFound(w)
			return
		}
		get(func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, map[string]string{"version": v.version()}) })
	case "/get_model_info", "/get_server_info":
		if !v.sglang {
			v.notFound(w)
			return
		}
		get(func(w http.ResponseWriter) { v.sglangInfo(w, r.URL.Path) })
	case "/v1/models":
		get(v.openAIModels)
	case "/metrics":
		if v.NoMetrics {
			v.notFound(w)
			return
		}
		get(v.metrics)
	case "/v1/chat/completions":
		if r.Method != http.MethodPost {
			v.notAllowed(w)
			return
		}
		v.chat(w, r)
	case "/tokenize":
		if v.sglang || r.Method != http.MethodPost {
			v.notFound(w)
			return
		}
		v.tokenize(w, r)
	default:
		v.notFound(w)
	}
}

func (v *VLLM) version() string {
	switch {
	case v.Version != "":
		return v.Version
	case v.sglang:
		return SGLangVersion
	}
	return VLLMVersion
}

func (v *VLLM) root(name string) string {
	if v.Root != "" {
		return v.Root
	}
	return name
}

// notFound is FastAPI's answer to an unknown route.
func (v *VLLM) notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
}

func (v *VLLM) notAllowed(w http.ResponseWriter) {
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
}

// sglangInfo serves SGLang's /get_model_info and /get_server_info.
func (v *VLLM) sglangInfo(w http.ResponseWriter, path string) {
	name := v.names[0]
	if path == "/get_model_info" {
		writeJSON(w, http.StatusOK, map[string]any{
			"model_path": v.root(name), "tokenizer_path": v.root(name), "is_generation": true,
			"preferred_sampling_params": nil, "weight_version": "default",
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": v.version(), "model_path": v.root(name), "served_model_name": name, "tp_size": 1, "dp_size": 1,
		"context_length": v.maxModelLen(), "enable_metrics": !v.NoMetrics, "port": 30000,
	})
}

func (v *VLLM) maxModelLen() int {
	if v.MaxModelLen > 0 {
		return v.MaxModelLen
	}
	return 8192
}

// openAIModels serves GET /v1/models.
func (v *VLLM) openAIModels(w http.ResponseWriter) {
	type entry struct {
		ID          string  `json:"id"`
		Object      string  `json:"object"`
		Created     int64   `json:"created"`
		OwnedBy     string  `json:"owned_by"`
		Root        string  `json:"root"`
		Parent      *string `json:"parent"`
		MaxModelLen int     `json:"max_model_len"`
	}
	owner := "vllm"
	if v.sglang {
		owner = "sglang"
	}
	list := struct {
		Object string  `json:"object"`
		Data   []entry `json:"data"`
	}{Object: "list"}
	for _, n := range v.names {
		list.Data = append(list.Data, entry{ID: n, Object: "model", Created: v.created, OwnedBy: owner, Root: v.root(n), MaxModelLen: v.maxModelLen()})
	}
	writeJSON(w, http.StatusOK, list)
}

// chat serves POST /v1/chat/completions through the simulator and counts
// what it served.
func (v *VLLM) chat(w http.ResponseWriter, r *http.Request) {
	body, ok := readChatBody(w, r)
	if !ok {
		return
	}
	if !v.sglang {
		var req struct {
			Stream        bool            `json:"stream"`
			StreamOptions json.RawMessage `json:"stream_options"`
		}
		if json.Unmarshal(body, &req) == nil && !req.Stream && len(req.StreamOptions) > 0 && string(req.StreamOptions) != "null" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"message": "Stream options can only be defined when `stream=True`.", "type": "BadRequestError", "param": nil, "code": 400,
			}})
			return
		}
	}
	if v.tooLong(w, body) { // after the request's own checks, as vLLM tokenizes it
		return
	}
	v.meter.serve(w, r, body, "/v1/chat/completions", nil, v.record)
}

// record folds one served request into its model's metrics.
func (v *VLLM) record(c servedChat) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := v.models[c.model]
	if m == nil {
		return
	}
	m.used = true
	m.prompt += float64(c.promptTokens)
	m.cacheQueries += float64(c.promptTokens)
	m.cacheHits += float64(c.cachedTokens)
	m.generation += float64(c.tokens)
	m.promptHist.observe(float64(c.promptTokens))
	if c.finish != "" {
		m.finished[c.finish]++
		m.genHist.observe(float64(c.tokens))
		m.e2e.observe(c.end.Sub(c.arrived).Seconds())
	} else {
		m.aborted++
		m.finished["abort"]++
	}
	m.queue.observe(c.slot.Sub(c.arrived).Seconds())
	if c.first.IsZero() {
		return
	}
	m.ttft.observe(c.first.Sub(c.arrived).Seconds())
	m.prefill.observe(c.first.Sub(c.slot).Seconds())
	if c.finish != "" {
		m.decode.observe(c.last.Sub(c.first).Seconds())
		m.inference.observe(c.last.Sub(c.slot).Seconds())
	}
	if gaps := c.tokens - c.firstTokens; gaps > 0 {
		m.itl.observeMany(c.last.Sub(c.first).Seconds(), gaps)
	}
	if c.tokens >= 2 && c.finish != "" {
		m.tpot.observe(c.last.Sub(c.first).Seconds() / float64(c.tokens-1))
	}
}

// metrics serves GET /metrics.
func (v *VLLM) metrics(w http.ResponseWriter) {
	var p promText
	v.mu.Lock()
	if v.sglang {
		v.sglangMetrics(&p)
	} else {
		v.vllmMetrics(&p)
	}
	v.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(p.b.Bytes())
}

// vllmMetrics writes vLLM's families, every series from the start.
func (v *VLLM) vllmMetrics(p *promText) {
	label := func(n string) string { return `{engine="0",model_name=` + promQuote(n) + `}` }
	gauge := func(name, help string, val func(n string, m *batchMetrics) float64) {
		p.family(name, help, "gauge")
		for _, n := range v.names {
			p.sample(name, label(n), val(n, v.models[n]))
		}
	}
	q := v.meter.queues(v.names)
	gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
		func(n string, _ *batchMetrics) float64 { return float64(q[n][0]) })
	gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
		func(n string, _ *batchMetrics) float64 { return float64(q[n][1]) })
	gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.",
		func(n string, m *batchMetrics) float64 { return slotShare(q[n][0], m.slots) })
	created := func(base, help string) { // prometheus_client's creation time of each series
		p.family(base+"_created", help, "gauge")
		for _, n := range v.names {
			p.sample(base+"_created", label(n), float64(v.created))
		}
	}
	counter := func(name, help string, val func(m *batchMetrics) float64) {
		p.family(name, help, "counter")
		for _, n := range v.names {
			p.sample(name, label(n), val(v.models[n]))
		}
		created(strings.TrimSuffix(name, "_total"), help)
	}
	counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", func(m *batchMetrics) float64 { return m.prompt })
	counter("vllm:generation_tokens_total", "Number of generation tokens processed.", func(m *batchMetrics) float64 { return m.generation })
	counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", func(m *batchMetrics) float64 { return m.cacheQueries })
	counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", func(m *batchMetrics) float64 { return m.cacheHits })
	p.family("vllm:request_success_total", "Count of successfully processed requests.", "counter")
	for _, n := range v.names {
		for _, reason := range []string{"abort", "length", "stop"} {
			p.sample("vllm:request_success_total", `{engine="0",finished_reason="`+reason+`",model_name=`+promQuote(n)+`}`, v.models[n].finished[reason])
		}
	}
	hist := func(name, help string, h func(m *batchMetrics) *histogram) {
		p.family(name, help, "histogram")
		for _, n := range v.names {
			h(v.models[n]).write(p, name, `engine="0",model_name=`+promQuote(n))
		}
		created(name, help)
	}
	hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", func(m *batchMetrics) *histogram { return &m.ttft })
	hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", func(m *batchMetrics) *histogram { return &m.itl })
	hist("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.", func(m *batchMetrics) *histogram { return &m.tpot })
	hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", func(m *batchMetrics) *histogram { return &m.e2e })
	hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", func(m *batchMetrics) *histogram { return &m.queue })
	hist("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", func(m *batchMetrics) *histogram { return &m.inference })
	hist("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", func(m *batchMetrics) *histogram { return &m.prefill })
	hist("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", func(m *batchMetrics) *histogram { return &m.decode })
	hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", func(m *batchMetrics) *histogram { return &m.promptHist })
	hist("vllm:request_generation_tokens", "Number of generation tokens processed.", func(m *batchMetrics) *histogram { return &m.genHist })
}

// sglangMetrics writes SGLang's families; a model's request series appear
// once a request fed them.
func (v *VLLM) sglangMetrics(p *promText) {
	label := func(n string) string { return `{model_name=` + promQuote(n) + `}` }
	counter := func(name, help string, val func(m *batchMetrics) float64) {
		p.family(name, help, "counter")
		for _, n := range v.names {
			if m := v.models[n]; m.used {
				p.sample(name, label(n), val(m))
			}
		}
	}
	counter("sglang:prompt_tokens_total", "Number of prefill tokens processed.", func(m *batchMetrics) float64 { return m.prompt })
	counter("sglang:generation_tokens_total", "Number of generation tokens processed.", func(m *batchMetrics) float64 { return m.generation })
	counter("sglang:cached_tokens_total", "Number of cached prompt tokens.", func(m *batchMetrics) float64 { return m.cacheHits })
	counter("sglang:num_requests_total", "Number of requests processed.", func(m *batchMetrics) float64 {
		return m.finished["stop"] + m.finished["length"]
	})
	counter("sglang:num_aborted_requests_total", "Number of requests aborted.", func(m *batchMetrics) float64 { return m.aborted })
	hist := func(name, help string, h func(m *batchMetrics) *histogram) {
		p.family(name, help, "histogram")
		for _, n := range v.names {
			if m := v.models[n]; m.used {
				h(m).write(p, name, `model_name=`+promQuote(n))
			}
		}
	}
	hist("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", func(m *batchMetrics) *histogram { return &m.ttft })
	hist("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", func(m *batchMetrics) *histogram { return &m.itl })
	hist("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", func(m *batchMetrics) *histogram { return &m.e2e })
	hist("sglang:queue_time_seconds", "Histogram of queueing time in seconds.", func(m *batchMetrics) *histogram { return &m.queue })
	gauge := func(name, help string, val func(n string, m *batchMetrics) float64) {
		p.family(name, help, "gauge")
		for _, n := range v.names {
			p.sample(name, label(n), val(n, v.models[n]))
		}
	}
	q := v.meter.queues(v.names)
	gauge("sglang:num_running_reqs", "The number of running requests.", func(n string, _ *batchMetrics) float64 { return float64(q[n][0]) })
	gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.", func(n string, _ *batchMetrics) float64 { return float64(q[n][1]) })
	gauge("sglang:token_usage", "The token usage.", func(n string, m *batchMetrics) float64 { return slotShare(q[n][0], m.slots) })
	gauge("sglang:cache_hit_rate", "The prefix cache hit rate.", func(_ string, m *batchMetrics) float64 {
		if m.cacheQueries == 0 {
			return 0
		}
		return m.cacheHits / m.cacheQueries
	})
}

// slotShare is running/slots, capped at 1; 0 with unlimited slots.
func slotShare(running, slots int) float64 {
	if slots <= 0 {
		return 0
	}
	return min(float64(running)/float64(slots), 1)
}

// Histogram buckets: vLLM's own (vllm/v1/metrics/loggers.py).
var (
	vllmTTFTBuckets    = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}
	vllmITLBuckets     = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}
	vllmLatencyBuckets = []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680}
	tokenBuckets       = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}
)

// histogram is a Prometheus histogram: per-bucket counts (the last one is
// +Inf), sum and count.
type histogram struct {
	bounds []float64
	counts []float64
	sum    float64
	count  float64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]float64, len(bounds)+1)}
}

// observe adds one observation.
func (h *histogram) observe(v float64) { h.observeMany(v, 1) }

// observeMany adds n observations whose values sum to total (each counted
// in the bucket of their mean), as SGLang does for a chunk of several
// tokens.
func (h *histogram) observeMany(total float64, n int) {
	if n <= 0 {
		return
	}
	mean := total / float64(n)
	i := 0
	for i < len(h.bounds) && mean > h.bounds[i] {
		i++
	}
	h.counts[i] += float64(n)
	h.sum += total
	h.count += float64(n)
}

// write appends the histogram's _bucket, _sum and _count samples, labelled
// with labels (`k="v",…`, without braces).
func (h *histogram) write(p *promText, name, labels string) {
	cum := 0.0
	for i, c := range h.counts {
		cum += c
		le := "+Inf"
		if i < len(h.bounds) {
			le = strconv.FormatFloat(h.bounds[i], 'g', -1, 64)
		}
		p.sample(name+"_bucket", "{"+labels+`,le="`+le+`"}`, cum)
	}
	p.sample(name+"_sum", "{"+labels+"}", h.sum)
	p.sample(name+"_count", "{"+labels+"}", h.count)
}

// promText builds a page of the Prometheus text format.
type promText struct{ b bytes.Buffer }

// family writes a family's HELP and TYPE lines.
func (p *promText) family(name, help, typ string) {
	fmt.Fprintf(&p.b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// sample writes one sample line; labels is "" or `{k="v",…}`.
func (p *promText) sample(name, labels string, v float64) {
	p.b.WriteString(name)
	p.b.WriteString(labels)
	p.b.WriteByte(' ')
	p.b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	p.b.WriteByte('\n')
}

// promQuote quotes a label value.
func promQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// writeJSON answers v as JSON with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// readChatBody reads a chat request body (at most sim.MaxBodyBytes); on
// failure it answers with an OpenAI-style error and returns false.
func readChatBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sim.MaxBodyBytes))
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, map[string]any{"error": map[string]any{"message": err.Error(), "type": "invalid_request_error", "code": status}})
		return nil, false
	}
	return body, true
}

// servedChat is one chat completion an embedded simulator answered, as the
// fakes' metrics and stats see it.
type servedChat struct {
	model        string
	stream       bool
	promptTokens int       // the simulator's estimate of the prompt, as it reports in usage
	cachedTokens int       // of which its prefix cache served
	tokens       int       // completion tokens delivered
	firstTokens  int       // tokens in the first chunk
	finish       string    // finish_reason sent; "" when the answer never finished (cut, cancelled)
	arrived      time.Time // request accepted
	slot         time.Time // generation slot acquired
	headers      time.Time // stream: headers flushed; non-stream: the whole body written
	first, last  time.Time // first and last token flushed (non-stream: see chatMeter.serve)
	end          time.Time // handler done
	timings      []byte    // the llama.cpp-style "timings" object of the answer, if any
}

// chatMeter forwards chat completions to an embedded sim.Server and reports
// each one it served, from the simulator's trace: it is shared by the fake
// llama.cpp, vLLM, SGLang and LM Studio. It owns the simulator's trace.
type chatMeter struct {
	srv      *sim.Server
	profiles map[string]sim.Profile

	mu    sync.Mutex
	open  map[int64]*servedChat // by simulator request id, from arrival until claimed
	state map[string]*queueState
	log   []QueueChange // every change of state since RecordQueue; nil: not recording
}

// QueueChange is one model's queue after a change in the embedded
// simulator. At is stamped under the lock that /metrics and /slots read the
// queue under: a scrape sent at t0 and answered at t1 reported a state that
// held at some instant of [t0, t1].
type QueueChange struct {
	At               time.Time
	Model            string
	Waiting, Running int
}

// recordQueue starts keeping every change of the queue, beginning with
// each model's state now.
func (m *chatMeter) recordQueue() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = []QueueChange{}
	for name, q := range m.state {
		m.log = append(m.log, QueueChange{At: time.Now(), Model: name, Waiting: q.waiting, Running: q.running})
	}
}

// queueLog returns the changes kept since recordQueue.
func (m *chatMeter) queueLog() []QueueChange {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.log)
}

// logged notes model's state after a change, when recording.
func (m *chatMeter) logged(model string, q *queueState) {
	if m.log != nil && q != nil {
		m.log = append(m.log, QueueChange{At: time.Now(), Model: model, Waiting: q.waiting, Running: q.running})
	}
}

// queueState counts one model's requests waiting and running now.
type queueState struct{ waiting, running int }

// chatMeterSweep is how many traced requests may wait to be claimed before
// the ones that ended long ago (never claimed: nothing was written) go.
const chatMeterSweep = 1024

func newChatMeter(srv *sim.Server, profiles []sim.Profile) *chatMeter {
	m := &chatMeter{srv: srv, profiles: map[string]sim.Profile{}, open: map[int64]*servedChat{}, state: map[string]*queueState{}}
	for _, p := range profiles {
		m.profiles[p.Name] = p
		m.state[p.Name] = &queueState{}
	}
	srv.SetTrace(m.trace)
	return m
}

// trace follows every request through the simulator.
func (m *chatMeter) trace(e sim.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.state[e.Model]
	c := m.open[e.Req]
	if e.Kind == sim.Arrived || e.Kind == sim.Slot || e.Kind == sim.End {
		defer m.logged(e.Model, q) // under the lock, after the change
	}
	switch e.Kind {
	case sim.Arrived:
		m.open[e.Req] = &servedChat{model: e.Model, arrived: e.At}
		if q != nil {
			q.waiting++
		}
	case sim.Slot:
		if c != nil {
			c.slot, c.cachedTokens = e.At, e.Cached
			if q != nil {
				q.waiting--
				q.running++
			}
		}
	case sim.Headers:
		if c != nil {
			c.headers = e.At
		}
	case sim.Chunk:
		if c != nil {
			if c.first.IsZero() {
				c.first, c.firstTokens = e.At, e.Tokens
			}
			c.last = e.At
		}
	case sim.End:
		if c == nil {
			return
		}
		if q != nil {
			if c.slot.IsZero() {
				q.waiting--
			} else {
				q.running--
			}
		}
		if c.slot.IsZero() {
			delete(m.open, e.Req) // refused or cancelled in the queue: nothing served
			return
		}
		c.end, c.tokens = e.At, e.Tokens
		if len(m.open) > chatMeterSweep {
			for id, o := range m.open {
				if !o.end.IsZero() && e.At.Sub(o.end) > time.Minute {
					delete(m.open, id)
				}
			}
		}
	}
}

// queue counts a model's requests running and waiting now, read together
// (one state, as an engine exports its gauges from one scheduler snapshot).
func (m *chatMeter) queue(model string) (running, waiting int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q := m.state[model]; q != nil {
		return q.running, q.waiting
	}
	return 0, 0
}

// queues is queue of every model in names, taken at one instant, so that
// the running, waiting and cache gauges of one scrape agree.
func (m *chatMeter) queues(names []string) map[string][2]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][2]int, len(names))
	for _, n := range names {
		if q := m.state[n]; q != nil {
			out[n] = [2]int{q.running, q.waiting}
		}
	}
	return out
}

// claim takes the traced request id out of the open set.
func (m *chatMeter) claim(id int64) (servedChat, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.open[id]
	if c == nil || c.end.IsZero() {
		return servedChat{}, false
	}
	delete(m.open, id)
	return *c, true
}

// serve forwards a chat completion body to the simulator as a request to
// simPath, answering through w (or through buf, when not nil: the caller
// then writes the answer itself), and calls done with what was served once
// the simulator is done with it, before the handler returns, even when the
// connection is cut. done is called only for a request that got a slot and
// whose answer started. A non-streaming answer flushes no chunks: its first
// token is taken at the schedule's nominal time (slot + TTFT +
// prompt/PrefillTPS, capped at the last), its last when the body went out.
func (m *chatMeter) serve(w http.ResponseWriter, r *http.Request, body []byte, simPath string, buf *bufferedAnswer, done func(servedChat)) {
	mw := &meterWriter{ResponseWriter: w, buf: buf}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = simPath, ""
	r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	stream, prompt := chatShape(body)
	defer func() {
		c, ok := m.claim(mw.id)
		if !ok || mw.status != http.StatusOK {
			return
		}
		prompt += m.profiles[c.model].TemplateTokens // the simulator's chat template
		c.stream, c.promptTokens, c.finish = stream, prompt, mw.finish
		c.timings = mw.timings
		if c.first.IsZero() && !stream && c.tokens > 0 && !c.headers.IsZero() {
			c.last = c.headers
			p := m.profiles[c.model]
			nominal := p.TTFT
			if p.PrefillTPS > 0 {
				nominal += time.Duration(float64(prompt-c.cachedTokens) / p.PrefillTPS * 1e9)
			}
			c.first, c.firstTokens = c.slot.Add(nominal), 1
			if c.last.Before(c.first) {
				c.first = c.last
			}
		}
		if done != nil {
			done(c)
		}
	}()
	m.srv.ServeHTTP(mw, r2)
}

// chatShape reads whether a chat body streams and estimates its prompt
// tokens as the simulator does (tokens.Estimate of every message content:
// a string, or the text parts of an array).
func chatShape(body []byte) (stream bool, prompt int) {
	var req struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return false, 0
	}
	for _, msg := range req.Messages {
		raw := bytes.TrimSpace(msg.Content)
		if len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case '"':
			var s string
			if json.Unmarshal(raw, &s) == nil {
				prompt += tokens.Estimate(s)
			}
		case '[':
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			if json.Unmarshal(raw, &parts) == nil {
				for _, part := range parts {
					if part.Type == "text" || part.Type == "" {
						prompt += tokens.Estimate(part.Text)
					}
				}
			}
		}
	}
	return req.Stream, prompt
}

// bufferedAnswer holds a whole answer instead of sending it, so that a fake
// can rewrite it (LM Studio's stats).
type bufferedAnswer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

// meterWriter passes the simulator's answer on, noting its status, the
// simulator's request id (from the first frame's "chatcmpl-sim-N" id), the
// finish reason and any timings object.
type meterWriter struct {
	http.ResponseWriter
	buf     *bufferedAnswer
	status  int
	id      int64
	finish  string
	timings []byte
}

var (
	idMarker      = []byte(`"id":"chatcmpl-sim-`)
	finishMarker  = []byte(`"finish_reason":"`)
	timingsMarker = []byte(`"timings":{`)
)

// WriteHeader notes the status.
func (w *meterWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	if w.buf != nil {
		w.buf.status = code
		w.buf.header = w.ResponseWriter.Header().Clone()
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write notes what the frame says, then passes it on.
func (w *meterWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.id == 0 {
		if i := bytes.Index(p, idMarker); i >= 0 {
			rest := p[i+len(idMarker):]
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			w.id, _ = strconv.ParseInt(string(rest[:j]), 10, 64)
		}
	}
	if i := bytes.LastIndex(p, finishMarker); i >= 0 {
		rest := p[i+len(finishMarker):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 && j <= 32 {
			w.finish = string(rest[:j])
		}
	}
	if i := bytes.LastIndex(p, timingsMarker); i >= 0 {
		rest := p[i+len(timingsMarker)-1:]
		if j := bytes.IndexByte(rest, '}'); j >= 0 {
			w.timings = bytes.Clone(rest[:j+1])
		}
	}
	if w.buf != nil {
		return w.buf.body.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer's Flush.
func (w *meterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
