package dialect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"flperf/internal/sim"
)

// LMStudioEmbeddingModel is the embedding model the fake LM Studio always
// lists (not loaded, type "embeddings"): it cannot be chatted with.
const LMStudioEmbeddingModel = "text-embedding-nomic-embed-text-v1.5"

// LMStudioModel is what the fake LM Studio says about one model in
// /api/v0/models beside its timing profile.
type LMStudioModel struct {
	Type              string // "llm" (default) or "vlm"
	Publisher         string // default "flperf-sim"
	Arch              string // default "llama"
	CompatibilityType string // "gguf" (default) or "mlx"
	Quantization      string // default "Q4_K_M"
	MaxContextLength  int    // default 4096
}

func (m LMStudioModel) withDefaults() LMStudioModel {
	if m.Type == "" {
		m.Type = "llm"
	}
	if m.Publisher == "" {
		m.Publisher = "flperf-sim"
	}
	if m.Arch == "" {
		m.Arch = "llama"
	}
	if m.CompatibilityType == "" {
		m.CompatibilityType = "gguf"
	}
	if m.Quantization == "" {
		m.Quantization = "Q4_K_M"
	}
	if m.MaxContextLength <= 0 {
		m.MaxContextLength = 4096
	}
	return m
}

// LMStudio is a fake LM Studio server (docs/engines.md §5), an http.Handler:
//
//	GET  /api/v0/models            every downloaded model, with state loaded / not-loaded (and an embedding model)
//	GET  /api/v0/models/{id}       one of them
//	POST /api/v0/chat/completions  OpenAI-style; non-streaming answers add stats, model_info and runtime
//	GET  /v1/models                every downloaded model (just-in-time loading is on)
//	POST /v1/chat/completions      served by an embedded sim.Server
//
// Every profile is a downloaded model, loaded at start (see SetLoaded); a
// chat naming a model that is not loaded loads it first, taking LoadTime.
// The stats of a non-streaming /api/v0 answer are what the simulator did:
// time_to_first_token from arrival, generation_time from the first token
// to the last, tokens_per_second their ratio (the first token of a
// non-streaming answer is the schedule's nominal time; see VLLM). Streams
// carry no stats, as in LM Studio (#676). Every answer carries the header
// X-FLPerf-Engine: simulated. The exported fields configure the fake; set
// them before it serves its first request. It is safe for concurrent use.
type LMStudio struct {
	LoadTime time.Duration // how long loading a model just in time takes

	sim     *sim.Server
	meter   *chatMeter
	names   []string
	created int64

	mu     sync.Mutex
	models map[string]*lmstudioState
}

// lmstudioState is one model and its state.
type lmstudioState struct {
	info   LMStudioModel
	loaded bool
}

// NewLMStudio returns a fake LM Studio serving the given profiles, every
// one downloaded and loaded, with default LMStudioModel details. The
// embedded simulator always reports usage (streams: with include_usage, as
// LM Studio ≥ 0.3.19) and ends streams with [DONE]; the profiles' other
// wire settings (Timings, NoDone, RejectStreamOptions, ContinuousUsage)
// are cleared. A profile may not be named LMStudioEmbeddingModel.
func NewLMStudio(profiles ...sim.Profile) (*LMStudio, error) {
	ps := make([]sim.Profile, len(profiles))
	for i, p := range profiles {
		if p.Name == LMStudioEmbeddingModel {
			return nil, fmt.Errorf("dialect: profile name %q is the fake LM Studio's embedding model", p.Name)
		}
		p.Usage, p.Timings, p.NoDone, p.RejectStreamOptions, p.ContinuousUsage = true, false, false, false, false
		ps[i] = p
	}
	srv, err := sim.New(ps...)
	if err != nil {
		return nil, err
	}
	l := &LMStudio{sim: srv, meter: newChatMeter(srv, ps), created: time.Now().Unix(), models: make(map[string]*lmstudioState, len(ps))}
	for _, p := range ps {
		l.names = append(l.names, p.Name)
		l.models[p.Name] = &lmstudioState{info: LMStudioModel{}.withDefaults(), loaded: true}
	}
	return l, nil
}

// SetModel replaces what the fake says about a model (zero fields get
// their defaults).
func (l *LMStudio) SetModel(name string, info LMStudioModel) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.models[name]
	if m == nil {
		return fmt.Errorf("dialect: no profile named %q", name)
	}
	m.info = info.withDefaults()
	return nil
}

// SetLoaded marks a model loaded or not.
func (l *LMStudio) SetLoaded(name string, loaded bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.models[name]
	if m == nil {
		return fmt.Errorf("dialect: no profile named %q", name)
	}
	m.loaded = loaded
	return nil
}

// lmstudioNotFound is LM Studio's answer to an unknown route.
func lmstudioNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("Unexpected endpoint or method. (%s %s)", r.Method, r.URL.Path)})
}

// ServeHTTP routes a request (see LMStudio).
func (l *LMStudio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(sim.EngineHeader, "simulated")
	path := r.URL.Path
	isGet := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case path == "/api/v0/models" && isGet:
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": l.v0Models()})
	case strings.HasPrefix(path, "/api/v0/models/") && isGet:
		id := strings.TrimPrefix(path, "/api/v0/models/")
		for _, m := range l.v0Models() {
			if m.ID == id {
				writeJSON(w, http.StatusOK, m)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("Model %q not found", id)})
	case path == "/v1/models" && isGet:
		l.openAIModels(w)
	case (path == "/v1/chat/completions" || path == "/api/v0/chat/completions") && r.Method == http.MethodPost:
		l.chat(w, r, path == "/api/v0/chat/completions")
	default:
		lmstudioNotFound(w, r)
	}
}

// lmstudioV0Model is one entry of /api/v0/models.
type lmstudioV0Model struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Type              string `json:"type"`
	Publisher         string `json:"publisher"`
	Arch              string `json:"arch"`
	CompatibilityType string `json:"compatibility_type"`
	Quantization      string `json:"quantization"`
	State             string `json:"state"`
	MaxContextLength  int    `json:"max_context_length"`
}

func (l *LMStudio) v0Models() []lmstudioV0Model {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]lmstudioV0Model, 0, len(l.names)+1)
	for _, n := range l.names {
		m := l.models[n]
		state := "not-loaded"
		if m.loaded {
			state = "loaded"
		}
		out = append(out, lmstudioV0Model{ID: n, Object: "model", Type: m.info.Type, Publisher: m.info.Publisher, Arch: m.info.Arch,
			CompatibilityType: m.info.CompatibilityType, Quantization: m.info.Quantization, State: state, MaxContextLength: m.info.MaxContextLength})
	}
	return append(out, lmstudioV0Model{ID: LMStudioEmbeddingModel, Object: "model", Type: "embeddings", Publisher: "nomic-ai",
		Arch: "nomic-bert", CompatibilityType: "gguf", Quantization: "Q4_K_M", State: "not-loaded", MaxContextLength: 2048})
}

// openAIModels serves GET /v1/models: with just-in-time loading on, every
// downloaded model.
func (l *LMStudio) openAIModels(w http.ResponseWriter) {
	type entry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []entry `json:"data"`
	}{Object: "list"}
	for _, m := range l.v0Models() {
		list.Data = append(list.Data, entry{ID: m.ID, Object: "model", OwnedBy: "organization_owner"})
	}
	writeJSON(w, http.StatusOK, list)
}

// chat serves a chat completion, loading its model first when needed; v0
// non-streaming answers get LM Studio's stats.
func (l *LMStudio) chat(w http.ResponseWriter, r *http.Request, v0 bool) {
	body, ok := readChatBody(w, r)
	if !ok {
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	_ = json.Unmarshal(body, &req)
	if req.Model == LMStudioEmbeddingModel {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"message": fmt.Sprintf("Model %q is an embedding model and cannot be used for chat completions", req.Model),
			"type":    "invalid_request_error", "param": "model", "code": "model_not_found"}})
		return
	}
	if !l.jitLoad(r, req.Model) {
		return
	}
	if !v0 || req.Stream {
		l.meter.serve(w, r, body, "/v1/chat/completions", nil, nil)
		return
	}
	var buf bufferedAnswer
	var served *servedChat
	l.meter.serve(w, r, body, "/v1/chat/completions", &buf, func(c servedChat) { served = &c })
	out := buf.body.Bytes()
	if buf.status == http.StatusOK && served != nil {
		out = l.withStats(out, *served)
	}
	h := w.Header()
	for k, v := range buf.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(max(buf.status, http.StatusOK))
	w.Write(out)
}

// jitLoad loads a model that is not loaded, taking LoadTime; false when
// the client went away meanwhile.
func (l *LMStudio) jitLoad(r *http.Request, name string) bool {
	l.mu.Lock()
	m := l.models[name]
	need := m != nil && !m.loaded
	l.mu.Unlock()
	if !need {
		return true
	}
	if l.LoadTime > 0 {
		t := time.NewTimer(l.LoadTime)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		}
	}
	l.mu.Lock()
	m.loaded = true
	l.mu.Unlock()
	return true
}

// withStats adds stats, model_info and runtime to a non-streaming answer.
func (l *LMStudio) withStats(body []byte, c servedChat) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return body
	}
	gen := c.last.Sub(c.first).Seconds()
	tps := 0.0
	if gen > 0 {
		tps = float64(c.tokens) / gen
	}
	stop := "eosFound"
	if c.finish == "length" {
		stop = "maxPredictedTokensReached"
	}
	l.mu.Lock()
	info := l.models[c.model].info
	l.mu.Unlock()
	obj["stats"], _ = json.Marshal(map[string]any{
		"tokens_per_second": tps, "time_to_first_token": c.first.Sub(c.arrived).Seconds(),
		"generation_time": gen, "stop_reason": stop,
	})
	obj["model_info"], _ = json.Marshal(map[string]any{
		"arch": info.Arch, "quant": info.Quantization, "format": info.CompatibilityType, "context_length": info.MaxContextLength,
	})
	obj["runtime"], _ = json.Marshal(map[string]any{
		"name": "flperf-sim", "version": sim.Version, "supported_formats": []string{"gguf"},
	})
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return append(out, '\n')
}
