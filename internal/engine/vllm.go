package engine

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// VLLMManager manages a vLLM or an SGLang server (docs/engines.md §4; Info().Kind
// says which). Both serve one model per process, loaded for as long as the
// server runs: the loaded set is GET /v1/models (vLLM adds max_model_len
// and root, the model's path or Hugging Face id; SGLang's path comes from
// /get_model_info), and changing models means restarting the server. Both
// serve Prometheus /metrics (vLLM by default, SGLang with --enable-metrics).
//
// Fixed-length output needs nothing here: it is the request's ignore_eos
// (with max_tokens) or min_tokens, which the backend sends when a scenario
// sets them, and both engines honour.
//
// It is safe for concurrent use.
type VLLMManager struct {
	info Info
	root string // scheme://host:port
	hc   *http.Client
}

var (
	_ Manager        = (*VLLMManager)(nil)
	_ MetricsScraper = (*VLLMManager)(nil)
)

// NewVLLM returns a manager for the vLLM or SGLang server (info.Kind VLLM
// or SGLang) whose OpenAI base URL is info.Endpoint (…/v1). hc sends the
// requests (nil: a client without proxy; each call has a 30 s deadline
// unless its context has one).
func NewVLLM(info Info, hc *http.Client) *VLLMManager {
	return &VLLMManager{info: info, root: root(info.Endpoint), hc: engineClient(hc)}
}

// name is the engine's name in messages.
func (v *VLLMManager) name() string {
	if v.info.Kind == SGLang {
		return "sglang"
	}
	return "vllm"
}

// Info describes the engine.
func (v *VLLMManager) Info() Info { return v.info }

// Capabilities: the loaded model and /metrics.
func (v *VLLMManager) Capabilities() Capabilities {
	return Capabilities{Loaded: true, Metrics: true}
}

// Models lists the served model (GET /v1/models) with its context length
// (max_model_len). Alias is where the weights came from when it differs
// from the served id (--served-model-name): vLLM's root, SGLang's
// /get_model_info model_path. Only LoadedSet is supported.
func (v *VLLMManager) Models(ctx context.Context, set ModelSet) ([]Model, error) {
	if set != LoadedSet {
		return nil, fmt.Errorf("%s %s models: the server serves only the model it was started with: %w", v.name(), set, ErrUnsupported)
	}
	var list struct {
		Data []struct {
			ID          string `json:"id"`
			Root        string `json:"root"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	if err := getEngineJSON(ctx, v.hc, v.name(), v.root, "/v1/models", &list); err != nil {
		return nil, err
	}
	modelPath := ""
	if v.info.Kind == SGLang {
		var info struct {
			ModelPath string `json:"model_path"`
		}
		if getEngineJSON(ctx, v.hc, v.name(), v.root, "/get_model_info", &info) == nil {
			modelPath = info.ModelPath
		}
	}
	out := make([]Model, 0, len(list.Data))
	for _, e := range list.Data {
		if e.ID == "" {
			continue
		}
		m := Model{ID: e.ID, ContextLength: max(e.MaxModelLen, 0), Downloaded: engineBool(true), Loaded: engineBool(true)}
		src := e.Root
		if modelPath != "" {
			src = modelPath
		}
		if src != e.ID {
			m.Alias = src
		}
		out = append(out, m)
	}
	return out, nil
}

// Health asks GET /health: nil when the server answers 200.
func (v *VLLMManager) Health(ctx context.Context) error {
	status, body, err := engineGet(ctx, v.hc, v.root+"/health")
	if err != nil {
		return fmt.Errorf("%s: GET /health: %w", v.name(), err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: unhealthy: GET /health: HTTP %d: %s", v.name(), status, engineMessage(body))
	}
	return nil
}

// Metrics scrapes GET /metrics. SGLang without --enable-metrics answers
// 404: the error wraps ErrMetricsDisabled and says so.
func (v *VLLMManager) Metrics(ctx context.Context) (MetricsSnapshot, error) {
	ctx, cancel := engineCallContext(ctx)
	defer cancel()
	snap, err := scrapeMetrics(ctx, v.hc, v.info.Kind, v.root)
	if err != nil {
		return snap, fmt.Errorf("%s: %w", v.name(), err)
	}
	return snap, nil
}

// Download is not supported: the server fetches its model at start.
func (v *VLLMManager) Download(context.Context, string, func(Progress)) error {
	return fmt.Errorf("%s download: the server downloads its model when started with it: %w", v.name(), ErrUnsupported)
}

// Load is not supported: restart the server with the model.
func (v *VLLMManager) Load(context.Context, string, LoadOptions) (time.Duration, error) {
	return 0, fmt.Errorf("%s load: restart the server with the model (it takes minutes) and wait for /health: %w", v.name(), ErrUnsupported)
}

// Unload is not supported: stop the server instead.
func (v *VLLMManager) Unload(context.Context, string) error {
	return fmt.Errorf("%s unload: stop the server instead: %w", v.name(), ErrUnsupported)
}
