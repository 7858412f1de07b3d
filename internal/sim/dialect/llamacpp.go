package dialect

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"flperf/internal/sim"
)

// LlamaCppBuildInfo is the fake llama.cpp's default build_info (GET /props).
const LlamaCppBuildInfo = "b6500-flperfsim"

// LlamaCppOptions configure the llama.cpp dialect. The zero value is a
// loaded server with /slots and /metrics on.
type LlamaCppOptions struct {
	// LoadingHealthCalls makes the server "load its model" until that many
	// GET /health have been answered 503 {"error":{"code":503,"message":
	// "Loading model",…}}; every other route answers the same meanwhile.
	LoadingHealthCalls int
	// NoSlots makes GET /slots answer 501, as --no-slots does.
	NoSlots bool
	// NoMetrics makes GET /metrics answer 501, as a server started without
	// --metrics does.
	NoMetrics bool
	// ModelPath is /props model_path (empty: "/models/<name>.gguf").
	ModelPath string
	// BuildInfo is /props build_info (empty: LlamaCppBuildInfo).
	BuildInfo string
	// ContextLength is each slot's n_ctx in /props and /slots (0: 4096),
	// as --ctx-size divided by --parallel on the real server: a chat
	// request whose prompt reaches it is refused (400).
	ContextLength int
	// TrainContextLength is meta.n_ctx_train in /v1/models (0: 131072).
	TrainContextLength int
}

// LlamaCpp is a fake llama.cpp llama-server (docs/engines.md §3), an
// http.Handler serving one model:
//
//	GET  /health                 200 {"status":"ok"}; 503 while loading
//	GET  /props                  default_generation_settings.n_ctx, total_slots, model_path, build_info
//	GET  /v1/models, /models     one entry, owned_by "llamacpp", with meta (n_ctx_train, n_params, size)
//	GET  /slots                  one entry per slot (501 with NoSlots)
//	GET  /metrics                Prometheus text, llamacpp:* (501 with NoMetrics)
//	POST /v1/chat/completions    (and /chat/completions) served by an embedded sim.Server
//	POST /apply-template         {"messages"} → {"prompt"}: the chat template applied
//	POST /tokenize               {"content", "add_special", "with_pieces"} → {"tokens"}
//
// A chat request whose prompt does not fit a slot's context (the
// simulator's prompt tokens ≥ ContextLength, the slot n_ctx that /props
// reports) is refused as llama-server refuses it: 400 with type
// exceed_context_size_error, n_prompt_tokens and n_ctx. /tokenize of
// /apply-template's prompt counts exactly what the refusal and usage count.
//
// As llama-server, it answers whatever model a request names with its one
// model, reports usage (streams: with include_usage) and llama.cpp's
// `timings` on the last chunk and on every non-streaming answer, and runs
// the profile's Slots requests at once (0 means 1: --parallel), deferring
// the rest. The /metrics counters really count what the simulator served:
// prompt tokens and seconds and predicted tokens and seconds (from each
// answer's timings), one decode per generated token, and the requests
// processing and deferred now. Like the real server it has no counter of
// finished requests. Every answer carries the header X-FLPerf-Engine:
// simulated. It is safe for concurrent use.
//
// Connections are handled as llama-server (cpp-httplib) handles them
// (docs/engines.md §3): every answer carries "Keep-Alive: timeout=5, max=100"
// and no "Connection: close", yet after a streamed answer, once the
// terminating chunk is written, the server closes the connection. A client
// that sends its next request on that connection gets EOF (or a reset)
// before any response byte.
type LlamaCpp struct {
	opts    LlamaCppOptions
	profile sim.Profile
	sim     *sim.Server
	meter   *chatMeter
	created int64

	mu          sync.Mutex
	healthCalls int
	counts      llamaCppCounts
}

// llamaCppCounts are the fake's /metrics counters.
type llamaCppCounts struct {
	promptTokens, promptSeconds       float64
	predicted, predictedSeconds       float64
	decodes, busySlotDecodes, maxSeen float64
}

// NewLlamaCpp returns a fake llama-server serving profile. The embedded
// simulator always reports usage and timings, sends a role chunk first and
// ends streams with [DONE]; the profile's other wire settings (NoDone,
// RejectStreamOptions, ContinuousUsage) are cleared, and Slots 0 becomes 1.
func NewLlamaCpp(profile sim.Profile, opts LlamaCppOptions) (*LlamaCpp, error) {
	p := profile
	p.Usage, p.Timings, p.RoleChunk, p.NoDone, p.RejectStreamOptions, p.ContinuousUsage = true, true, true, false, false, false
	p.Slots = max(p.Slots, 1)
	srv, err := sim.New(p)
	if err != nil {
		return nil, err
	}
	if opts.ModelPath == "" {
		opts.ModelPath = "/models/" + p.Name + ".gguf"
	}
	if opts.BuildInfo == "" {
		opts.BuildInfo = LlamaCppBuildInfo
	}
	if opts.ContextLength <= 0 {
		opts.ContextLength = 4096
	}
	if opts.TrainContextLength <= 0 {
		opts.TrainContextLength = 131072
	}
	return &LlamaCpp{opts: opts, profile: p, sim: srv, meter: newChatMeter(srv, []sim.Profile{p}), created: time.Now().Unix()}, nil
}

// llamaCppError answers llama.cpp's error object.
func llamaCppError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "type": typ}})
}

// loading reports whether the model is still loading; a health check
// counts as one of the LoadingHealthCalls.
func (l *LlamaCpp) loading(health bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.healthCalls >= l.opts.LoadingHealthCalls {
		return false
	}
	if health {
		l.healthCalls++
	}
	return true
}

// RecordQueue makes the server keep every change of its queue (requests
// deferred and processing, the busy slots) from now on, for QueueLog.
func (l *LlamaCpp) RecordQueue() { l.meter.recordQueue() }

// QueueLog returns the changes kept since RecordQueue, in order.
func (l *LlamaCpp) QueueLog() []QueueChange { return l.meter.queueLog() }

// ServeHTTP routes a request (see LlamaCpp).
func (l *LlamaCpp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(sim.EngineHeader, "simulated")
	w.Header().Set("Keep-Alive", "timeout=5, max=100")
	path := r.URL.Path
	if l.loading(path == "/health") {
		llamaCppError(w, http.StatusServiceUnavailable, "unavailable_error", "Loading model")
		return
	}
	isGet := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case path == "/health" && isGet:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case path == "/props" && isGet:
		l.props(w)
	case (path == "/v1/models" || path == "/models") && isGet:
		l.models(w)
	case path == "/slots" && isGet:
		if l.opts.NoSlots {
			llamaCppError(w, http.StatusNotImplemented, "not_supported_error", "This server does not support slots endpoint. Start it with `--slots`")
			return
		}
		l.slots(w)
	case path == "/metrics" && isGet:
		if l.opts.NoMetrics {
			llamaCppError(w, http.StatusNotImplemented, "not_supported_error", "This server does not support metrics endpoint. Start it with `--metrics`")
			return
		}
		l.metrics(w)
	case (path == "/v1/chat/completions" || path == "/chat/completions") && r.Method == http.MethodPost:
		body, ok := readChatBody(w, r)
		if !ok {
			return
		}
		body = withModel(body, l.profile.Name)
		if l.tooLong(w, body) {
			return
		}
		l.meter.serve(w, r, body, "/v1/chat/completions", nil, l.record)
		if strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
			closeAfterStream(w)
		}
	case path == "/apply-template" && r.Method == http.MethodPost:
		l.applyTemplate(w, r)
	case path == "/tokenize" && r.Method == http.MethodPost:
		l.tokenize(w, r)
	default:
		llamaCppError(w, http.StatusNotFound, "not_found_error", "File Not Found")
	}
}

// closeAfterStream ends a streamed (chunked) answer as cpp-httplib does:
// the terminating chunk, then the socket closed, with no "Connection:
// close" sent before. Where the writer cannot be taken over (a recorder in
// a test) the answer ends as usual.
func closeAfterStream(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	conn, buf, err := rc.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := buf.WriteString("0\r\n\r\n"); err == nil {
		buf.Flush()
	}
}

// props serves GET /props.
func (l *LlamaCpp) props(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"default_generation_settings": map[string]any{
			"id": 0, "id_task": -1, "n_ctx": l.opts.ContextLength, "speculative": false, "is_processing": false,
			"params": map[string]any{"n_predict": -1, "temperature": 0.8, "top_k": 40, "top_p": 0.95, "ignore_eos": false},
		},
		"total_slots":   l.profile.Slots,
		"model_path":    l.opts.ModelPath,
		"chat_template": "{% for message in messages %}{{ message['content'] }}\n{% endfor %}",
		"modalities":    map[string]bool{"vision": false, "audio": false},
		"build_info":    l.opts.BuildInfo,
		"is_sleeping":   false,
	})
}

// models serves GET /v1/models.
func (l *LlamaCpp) models(w http.ResponseWriter) {
	name := l.profile.Name
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"models": []map[string]any{{"name": name, "model": name, "type": "model", "capabilities": []string{"completion"}}},
		"data": []map[string]any{{
			"id": name, "object": "model", "created": l.created, "owned_by": "llamacpp",
			"meta": map[string]any{
				"vocab_type": 2, "n_vocab": 128256, "n_ctx_train": l.opts.TrainContextLength, "n_embd": 2048,
				"n_params": 1235814432, "size": 807694464,
			},
		}},
	})
}

// slots serves GET /slots: the first slots are busy with the requests
// running now.
func (l *LlamaCpp) slots(w http.ResponseWriter) {
	running, _ := l.meter.queue(l.profile.Name)
	out := make([]map[string]any, 0, l.profile.Slots)
	for i := range l.profile.Slots {
		task := -1
		if i < running {
			task = i + 1
		}
		out = append(out, map[string]any{
			"id": i, "id_task": task, "n_ctx": l.opts.ContextLength, "speculative": false, "is_processing": i < running,
			"params":     map[string]any{"n_predict": -1},
			"next_token": map[string]any{"has_next_token": i < running, "has_new_line": false, "n_remain": -1, "n_decoded": 0},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// record folds one served request into the counters, as llama.cpp does
// when a slot is released.
func (l *LlamaCpp) record(c servedChat) {
	var t struct {
		PromptN     *int     `json:"prompt_n"`
		PromptMS    *float64 `json:"prompt_ms"`
		PredictedMS *float64 `json:"predicted_ms"`
	}
	others, _ := l.meter.queue(c.model)
	busy := float64(others + 1) // the others still running, and this one
	l.mu.Lock()
	defer l.mu.Unlock()
	k := &l.counts
	if json.Unmarshal(c.timings, &t) == nil && t.PromptN != nil && t.PromptMS != nil && t.PredictedMS != nil {
		k.promptTokens += float64(*t.PromptN)
		k.promptSeconds += *t.PromptMS / 1e3
		k.predictedSeconds += *t.PredictedMS / 1e3
	} else { // cut before the last chunk: what was seen
		k.promptTokens += float64(c.promptTokens)
		if !c.first.IsZero() {
			k.promptSeconds += c.first.Sub(c.slot).Seconds()
			k.predictedSeconds += c.last.Sub(c.first).Seconds()
		}
	}
	k.predicted += float64(c.tokens)
	k.decodes += float64(c.tokens)
	k.busySlotDecodes += float64(c.tokens) * busy
	k.maxSeen = max(k.maxSeen, float64(c.promptTokens+c.tokens))
}

// metrics serves GET /metrics in llama.cpp's words.
func (l *LlamaCpp) metrics(w http.ResponseWriter) {
	l.mu.Lock()
	k := l.counts
	l.mu.Unlock()
	running, waiting := l.meter.queue(l.profile.Name) // one state for both gauges
	rate := func(n, s float64) float64 {
		if s <= 0 {
			return 0
		}
		return n / s
	}
	var p promText
	for _, m := range []struct {
		name, typ, help string
		v               float64
	}{
		{"prompt_tokens_total", "counter", "Number of prompt tokens processed.", k.promptTokens},
		{"prompt_seconds_total", "counter", "Prompt process time", k.promptSeconds},
		{"tokens_predicted_total", "counter", "Number of generation tokens processed.", k.predicted},
		{"tokens_predicted_seconds_total", "counter", "Predict process time", k.predictedSeconds},
		{"n_decode_total", "counter", "Total number of llama_decode() calls", k.decodes},
		{"n_tokens_max", "counter", "Largest observed n_tokens.", k.maxSeen},
		{"n_busy_slots_per_decode", "gauge", "Average number of busy slots per llama_decode() call", rate(k.busySlotDecodes, k.decodes)},
		{"prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.", rate(k.promptTokens, k.promptSeconds)},
		{"predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.", rate(k.predicted, k.predictedSeconds)},
		{"requests_processing", "gauge", "Number of requests processing.", float64(running)},
		{"requests_deferred", "gauge", "Number of requests deferred.", float64(waiting)},
	} {
		p.family("llamacpp:"+m.name, m.help, m.typ)
		p.sample("llamacpp:"+m.name, "", m.v)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	w.WriteHeader(http.StatusOK)
	w.Write(p.b.Bytes())
}
