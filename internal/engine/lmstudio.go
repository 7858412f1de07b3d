package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// LMStudioManager manages LM Studio's models through its native REST API
// v0 (docs/engines.md §5): GET /api/v0/models lists every downloaded model with
// its state (loaded or not-loaded), quantization, architecture and context
// length. Only language models (type llm and vlm) are listed: embedding
// models cannot be benchmarked. Its non-streaming /api/v0 chat answers carry
// `stats` (see ParseLMStudioStats); it serves no /metrics. It is safe for
// concurrent use.
type LMStudioManager struct {
	info Info
	root string // scheme://host:port
	hc   *http.Client
}

var _ Manager = (*LMStudioManager)(nil)

// NewLMStudio returns a manager for the LM Studio server whose OpenAI base
// URL is info.Endpoint (…/v1). hc sends the requests (nil: a client without
// proxy; each call has a 30 s deadline unless its context has one).
func NewLMStudio(info Info, hc *http.Client) *LMStudioManager {
	return &LMStudioManager{info: info, root: root(info.Endpoint), hc: engineClient(hc)}
}

// Info describes the engine.
func (l *LMStudioManager) Info() Info { return l.info }

// Capabilities: downloaded and loaded models, and server timings (`stats`
// in non-streaming /api/v0 answers).
func (l *LMStudioManager) Capabilities() Capabilities {
	return Capabilities{Downloaded: true, Loaded: true, ServerTimings: true}
}

// lmstudioModel is one entry of GET /api/v0/models.
type lmstudioModel struct {
	ID                string `json:"id"`
	Type              string `json:"type"` // llm, vlm, embeddings
	Publisher         string `json:"publisher"`
	Arch              string `json:"arch"`
	CompatibilityType string `json:"compatibility_type"` // gguf, mlx
	Quantization      string `json:"quantization"`
	State             string `json:"state"` // loaded, not-loaded
	MaxContextLength  int    `json:"max_context_length"`
}

// Models lists the downloaded language models (DownloadedSet, each with its
// load state) or the loaded ones (LoadedSet), from GET /api/v0/models.
// LM Studio has no catalog API: CatalogSet gives ErrUnsupported.
func (l *LMStudioManager) Models(ctx context.Context, set ModelSet) ([]Model, error) {
	switch set {
	case DownloadedSet, LoadedSet:
	case CatalogSet:
		return nil, fmt.Errorf("lmstudio: no catalog API (search models in the app or with `lms get`): %w", ErrUnsupported)
	default:
		return nil, fmt.Errorf("lmstudio: unknown model set %q", set)
	}
	var list struct {
		Data []lmstudioModel `json:"data"`
	}
	if err := getEngineJSON(ctx, l.hc, "lmstudio", l.root, "/api/v0/models", &list); err != nil {
		return nil, err
	}
	out := make([]Model, 0, len(list.Data))
	for _, e := range list.Data {
		if e.ID == "" || (e.Type != "llm" && e.Type != "vlm") {
			continue
		}
		loaded := e.State == "loaded"
		if set == LoadedSet && !loaded {
			continue
		}
		out = append(out, Model{
			ID: e.ID, Quantization: e.Quantization, Family: e.Arch, ContextLength: max(e.MaxContextLength, 0),
			Downloaded: engineBool(true), Loaded: engineBool(loaded),
		})
	}
	return out, nil
}

// Download is not supported through the v0 API.
func (l *LMStudioManager) Download(context.Context, string, func(Progress)) error {
	return fmt.Errorf("lmstudio download: use the app or `lms get <model>`: %w", ErrUnsupported)
}

// Load is not supported through the v0 API (LM Studio loads a model on its
// first request, just in time).
func (l *LMStudioManager) Load(context.Context, string, LoadOptions) (time.Duration, error) {
	return 0, fmt.Errorf("lmstudio load: use `lms load <model>` (or let the first request load it just in time): %w", ErrUnsupported)
}

// Unload is not supported through the v0 API.
func (l *LMStudioManager) Unload(context.Context, string) error {
	return fmt.Errorf("lmstudio unload: use `lms unload <model>`: %w", ErrUnsupported)
}

// LMStudioStats is LM Studio's own account of one non-streaming answer: the
// `stats` object of /api/v0 chat completions (tokens_per_second,
// time_to_first_token, generation_time, stop_reason) and of the v1 native
// chat (input_tokens, total_output_tokens, time_to_first_token_seconds,
// model_load_time_seconds). Zero fields were not reported.
type LMStudioStats struct {
	TokensPerSecond  float64       `json:"tokens_per_second"`
	TimeToFirstToken time.Duration `json:"time_to_first_token_ns"`
	GenerationTime   time.Duration `json:"generation_time_ns"`
	StopReason       string        `json:"stop_reason,omitempty"` // eosFound, maxPredictedTokensReached, …
	InputTokens      int           `json:"input_tokens,omitempty"`
	OutputTokens     int           `json:"output_tokens,omitempty"`
	ModelLoadTime    time.Duration `json:"model_load_time_ns,omitempty"` // v1: only when this request loaded the model
}

// ParseLMStudioStats reads the `stats` of a non-streaming LM Studio answer
// (the whole response body); ok is false when there is none (streams carry
// none, nor do the OpenAI-compatible /v1 routes). Negative, NaN or absurd
// values are dropped.
func ParseLMStudioStats(body []byte) (LMStudioStats, bool) {
	var resp struct {
		Stats *struct {
			TokensPerSecond   *float64 `json:"tokens_per_second"`
			TimeToFirstToken  *float64 `json:"time_to_first_token"`
			TimeToFirstTokenS *float64 `json:"time_to_first_token_seconds"`
			GenerationTime    *float64 `json:"generation_time"`
			StopReason        string   `json:"stop_reason"`
			InputTokens       *float64 `json:"input_tokens"`
			TotalOutputTokens *float64 `json:"total_output_tokens"`
			ModelLoadTimeS    *float64 `json:"model_load_time_seconds"`
		} `json:"stats"`
	}
	if json.Unmarshal(body, &resp) != nil || resp.Stats == nil {
		return LMStudioStats{}, false
	}
	s := resp.Stats
	var out LMStudioStats
	found := s.StopReason != ""
	if v, ok := finite(s.TokensPerSecond, 1e9); ok {
		out.TokensPerSecond, found = v, true
	}
	if d, ok := seconds(s.TimeToFirstToken); ok {
		out.TimeToFirstToken, found = d, true
	} else if d, ok := seconds(s.TimeToFirstTokenS); ok {
		out.TimeToFirstToken, found = d, true
	}
	if d, ok := seconds(s.GenerationTime); ok {
		out.GenerationTime, found = d, true
	}
	if d, ok := seconds(s.ModelLoadTimeS); ok {
		out.ModelLoadTime, found = d, true
	}
	if v, ok := finite(s.InputTokens, 1<<40); ok {
		out.InputTokens, found = int(v), true
	}
	if v, ok := finite(s.TotalOutputTokens, 1<<40); ok {
		out.OutputTokens, found = int(v), true
	}
	out.StopReason = ollamaClip(s.StopReason)
	return out, found
}

// finite is *p when it is a number in [0, limit].
func finite(p *float64, limit float64) (float64, bool) {
	if p == nil || math.IsNaN(*p) || *p < 0 || *p > limit {
		return 0, false
	}
	return *p, true
}

// seconds turns a count of seconds into a Duration (at most a day).
func seconds(p *float64) (time.Duration, bool) {
	v, ok := finite(p, 86400)
	if !ok {
		return 0, false
	}
	return time.Duration(math.Round(v * 1e9)), true
}
