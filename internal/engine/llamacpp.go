package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// ErrModelLoading means the engine is up but still loading its model
// (llama.cpp's /health answers 503 "Loading model" meanwhile): wait and ask
// again.
var ErrModelLoading = errors.New("model still loading")

// LlamaCppManager manages a llama.cpp llama-server (docs/engines.md §3). The
// server runs the one model it was started with (-m), so the loaded set is
// that model, described by /v1/models and /props; it cannot download, load
// or unload (restart it instead; router mode is not handled). Every response
// carries llama.cpp's own `timings`, and /metrics answers when the server
// was started with --metrics (501 otherwise). Fixed-length output is the
// request's ignore_eos with max_tokens, which the backend sends when a
// scenario asks for it. It is safe for concurrent use.
type LlamaCppManager struct {
	info Info
	root string // scheme://host:port
	hc   *http.Client
}

var (
	_ Manager        = (*LlamaCppManager)(nil)
	_ MetricsScraper = (*LlamaCppManager)(nil)
)

// engineCallTimeout bounds the short management calls of the llama.cpp,
// vLLM, SGLang and LM Studio managers when the caller's context has none.
const engineCallTimeout = 30 * time.Second

// engineMaxJSON bounds a management answer.
const engineMaxJSON = 16 << 20

// NewLlamaCpp returns a manager for the llama-server whose OpenAI base URL
// is info.Endpoint (…/v1). hc sends the requests (nil: a client without
// proxy; each call has a 30 s deadline unless its context has one).
func NewLlamaCpp(info Info, hc *http.Client) *LlamaCppManager {
	return &LlamaCppManager{info: info, root: root(info.Endpoint), hc: engineClient(hc)}
}

// engineClient is hc, or a client that does not follow redirects and uses
// no proxy.
func engineClient(hc *http.Client) *http.Client {
	if hc != nil {
		return hc
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Info describes the engine.
func (l *LlamaCppManager) Info() Info { return l.info }

// Capabilities: the loaded model, server timings in every response, and
// /metrics (which answers only with --metrics: Metrics says so).
func (l *LlamaCppManager) Capabilities() Capabilities {
	return Capabilities{Loaded: true, ServerTimings: true, Metrics: true}
}

// LlamaCppProps is what GET /props says about the server.
type LlamaCppProps struct {
	ModelPath  string `json:"model_path"`  // the -m file
	BuildInfo  string `json:"build_info"`  // e.g. "b6500-1a2b3c4d"
	TotalSlots int    `json:"total_slots"` // --parallel
	ContextLen int    `json:"n_ctx"`       // context length of a slot (default_generation_settings.n_ctx)
	IsSleeping bool   `json:"is_sleeping"` // unloaded by --sleep-idle-seconds
}

// Props reads GET /props.
func (l *LlamaCppManager) Props(ctx context.Context) (LlamaCppProps, error) {
	var raw struct {
		ModelPath  string `json:"model_path"`
		BuildInfo  string `json:"build_info"`
		TotalSlots int    `json:"total_slots"`
		IsSleeping bool   `json:"is_sleeping"`
		Defaults   struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
	}
	if err := getEngineJSON(ctx, l.hc, "llama.cpp", l.root, "/props", &raw); err != nil {
		return LlamaCppProps{}, err
	}
	return LlamaCppProps{
		ModelPath: raw.ModelPath, BuildInfo: raw.BuildInfo, TotalSlots: max(raw.TotalSlots, 0),
		ContextLen: max(raw.Defaults.NCtx, 0), IsSleeping: raw.IsSleeping,
	}, nil
}

// Models lists the loaded model (GET /v1/models), with its size, parameter
// count and trained context from the entry's meta, and the slot context,
// quantization (read from the file name) from /props when it answers.
// Only LoadedSet is supported.
func (l *LlamaCppManager) Models(ctx context.Context, set ModelSet) ([]Model, error) {
	if set != LoadedSet {
		return nil, fmt.Errorf("llama.cpp %s models: llama-server serves only the model it was started with: %w", set, ErrUnsupported)
	}
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Meta *struct {
				NCtxTrain int     `json:"n_ctx_train"`
				NParams   float64 `json:"n_params"`
				Size      float64 `json:"size"`
			} `json:"meta"`
		} `json:"data"`
	}
	if err := getEngineJSON(ctx, l.hc, "llama.cpp", l.root, "/v1/models", &list); err != nil {
		return nil, err
	}
	props, perr := l.Props(ctx)
	out := make([]Model, 0, len(list.Data))
	for _, e := range list.Data {
		if e.ID == "" {
			continue
		}
		m := Model{ID: e.ID, Downloaded: engineBool(true), Loaded: engineBool(true)}
		if e.Meta != nil {
			m.ContextLength = max(e.Meta.NCtxTrain, 0)
			if e.Meta.Size > 0 && e.Meta.Size < 1<<60 {
				m.SizeBytes = int64(e.Meta.Size)
			}
			m.Parameters = paramCount(e.Meta.NParams)
		}
		m.Quantization = ggufQuantization(e.ID)
		if perr == nil {
			if props.ContextLen > 0 {
				m.ContextLength = props.ContextLen
			}
			if m.Quantization == "" {
				m.Quantization = ggufQuantization(props.ModelPath)
			}
			if props.ModelPath != "" && props.ModelPath != e.ID {
				m.Alias = strings.TrimSuffix(path.Base(strings.ReplaceAll(props.ModelPath, `\`, "/")), ".gguf")
			}
			if props.IsSleeping {
				m.Loaded = engineBool(false)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// ggufQuantRE finds a GGUF quantization name in a file name.
var ggufQuantRE = regexp.MustCompile(`(?i)(?:^|[-_.])((?:I?Q[1-8](?:_[0-9A-Z]+)*)|BF16|F16|F32|FP16)(?:[-_.]|$)`)

// ggufQuantization reads the quantization from a GGUF file name
// ("Llama-3.2-3B-Instruct-Q4_K_M.gguf" → "Q4_K_M"); "" when there is none.
func ggufQuantization(name string) string {
	name = strings.TrimSuffix(path.Base(strings.ReplaceAll(name, `\`, "/")), ".gguf")
	if m := ggufQuantRE.FindStringSubmatch(name); m != nil {
		return strings.ToUpper(m[1])
	}
	return ""
}

// paramCount writes a parameter count as "3.2B" or "350M" ("" for none).
func paramCount(n float64) string {
	switch {
	case !(n > 0) || n > 1e15:
		return ""
	case n >= 1e9:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", n/1e9), ".0") + "B"
	case n >= 1e6:
		return fmt.Sprintf("%.0fM", n/1e6)
	}
	return fmt.Sprintf("%.0fK", n/1e3)
}

// Health asks GET /health: nil when the model is loaded and the server is
// ready; an error wrapping ErrModelLoading while it is still loading (503).
func (l *LlamaCppManager) Health(ctx context.Context) error {
	status, body, err := engineGet(ctx, l.hc, l.root+"/health")
	if err != nil {
		return fmt.Errorf("llama.cpp: GET /health: %w", err)
	}
	switch status {
	case http.StatusOK:
		return nil
	case http.StatusServiceUnavailable:
		return fmt.Errorf("llama.cpp: %w (GET /health answered 503: %s); wait and try again", ErrModelLoading, engineMessage(body))
	}
	return fmt.Errorf("llama.cpp: GET /health: HTTP %d: %s", status, engineMessage(body))
}

// LlamaCppSlot is one generation slot of GET /slots.
type LlamaCppSlot struct {
	ID         int  `json:"id"`
	TaskID     int  `json:"id_task"`       // the task it serves, -1 when idle
	ContextLen int  `json:"n_ctx"`         // its context length
	Processing bool `json:"is_processing"` // generating now
	Decoded    int  `json:"n_decoded"`     // tokens decoded for its current or last task
}

// Slots reads GET /slots: one entry per --parallel slot. A server started
// with --no-slots answers 501, returned as ErrUnsupported.
func (l *LlamaCppManager) Slots(ctx context.Context) ([]LlamaCppSlot, error) {
	status, body, err := engineGet(ctx, l.hc, l.root+"/slots")
	if err != nil {
		return nil, fmt.Errorf("llama.cpp: GET /slots: %w", err)
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotImplemented:
		return nil, fmt.Errorf("llama.cpp: GET /slots answered 501 (%s): the slots endpoint is disabled; start llama-server with --slots: %w", engineMessage(body), ErrUnsupported)
	default:
		return nil, fmt.Errorf("llama.cpp: GET /slots: HTTP %d: %s", status, engineMessage(body))
	}
	var raw []struct {
		ID           int             `json:"id"`
		TaskID       *int            `json:"id_task"`
		NCtx         int             `json:"n_ctx"`
		IsProcessing bool            `json:"is_processing"`
		NextToken    json.RawMessage `json:"next_token"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("llama.cpp: GET /slots: not a list of slots: %v", err)
	}
	out := make([]LlamaCppSlot, 0, len(raw))
	for _, s := range raw {
		slot := LlamaCppSlot{ID: s.ID, TaskID: -1, ContextLen: max(s.NCtx, 0), Processing: s.IsProcessing}
		if s.TaskID != nil {
			slot.TaskID = *s.TaskID
		}
		slot.Decoded = slotDecoded(s.NextToken)
		out = append(out, slot)
	}
	return out, nil
}

// slotDecoded reads n_decoded from a slot's next_token, an object in some
// builds and a one-element array in others.
func slotDecoded(raw json.RawMessage) int {
	type next struct {
		NDecoded int `json:"n_decoded"`
	}
	var one next
	if json.Unmarshal(raw, &one) == nil {
		return max(one.NDecoded, 0)
	}
	var many []next
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return max(many[0].NDecoded, 0)
	}
	return 0
}

// Metrics scrapes GET /metrics. A server started without --metrics answers
// 501: the error wraps ErrMetricsDisabled and says so.
func (l *LlamaCppManager) Metrics(ctx context.Context) (MetricsSnapshot, error) {
	ctx, cancel := engineCallContext(ctx)
	defer cancel()
	snap, err := scrapeMetrics(ctx, l.hc, LlamaCpp, l.root)
	if err != nil {
		return snap, fmt.Errorf("llama.cpp: %w", err)
	}
	return snap, nil
}

// Download is not supported: llama-server loads its model from a file.
func (l *LlamaCppManager) Download(context.Context, string, func(Progress)) error {
	return fmt.Errorf("llama.cpp download: fetch the GGUF file yourself (or start llama-server with -hf): %w", ErrUnsupported)
}

// Load is not supported: restart llama-server with -m to change its model.
func (l *LlamaCppManager) Load(context.Context, string, LoadOptions) (time.Duration, error) {
	return 0, fmt.Errorf("llama.cpp load: restart llama-server with -m <model> and poll Health until the model has loaded: %w", ErrUnsupported)
}

// Unload is not supported: stop llama-server instead.
func (l *LlamaCppManager) Unload(context.Context, string) error {
	return fmt.Errorf("llama.cpp unload: stop llama-server instead: %w", ErrUnsupported)
}

// engineCallContext gives ctx the default call deadline when it has none.
func engineCallContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, engineCallTimeout)
}

// engineGet sends GET u and returns the status and body (at most
// engineMaxJSON bytes); no answer at all wraps ErrUnreachable.
func engineGet(ctx context.Context, hc *http.Client, u string) (int, []byte, error) {
	ctx, cancel := engineCallContext(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, context.Cause(ctx)
		}
		return 0, nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, engineMaxJSON+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading the answer: %v", err)
	}
	if len(body) > engineMaxJSON {
		return resp.StatusCode, nil, fmt.Errorf("answer larger than %d MiB", engineMaxJSON>>20)
	}
	return resp.StatusCode, body, nil
}

// getEngineJSON GETs root+p and decodes a 200 JSON answer into v.
func getEngineJSON(ctx context.Context, hc *http.Client, engine, rootURL, p string, v any) error {
	status, body, err := engineGet(ctx, hc, rootURL+p)
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w", engine, p, err)
	}
	if status == http.StatusServiceUnavailable && engine == "llama.cpp" {
		return fmt.Errorf("%s: GET %s: %w (HTTP 503: %s)", engine, p, ErrModelLoading, engineMessage(body))
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: GET %s: HTTP %d: %s", engine, p, status, engineMessage(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: GET %s: not the expected JSON: %v", engine, p, err)
	}
	return nil
}

// engineMessage is the message of an error body: {"error":{"message"}},
// {"error":"…"}, {"message"} (SGLang's flat errors), else the body itself;
// at most 1 KiB.
func engineMessage(body []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		if len(e.Error) > 0 && string(e.Error) != "null" {
			if s := ollamaErrValue(e.Error); s != "" {
				return s
			}
		}
		if e.Message != "" {
			return ollamaClip(e.Message)
		}
	}
	if s := strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD")); s != "" {
		return ollamaClip(s)
	}
	return "empty answer"
}

func engineBool(b bool) *bool { return &b }
