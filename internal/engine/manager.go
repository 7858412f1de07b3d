package engine

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrUnsupported is returned by a Manager method whose capability the
// engine does not have (see Capabilities): capabilities are declared, never
// faked.
var ErrUnsupported = errors.New("not supported by this engine")

// Capabilities says which management operations an engine supports.
type Capabilities struct {
	Catalog       bool `json:"catalog"`        // lists models it can download
	Downloaded    bool `json:"downloaded"`     // lists models on disk
	Loaded        bool `json:"loaded"`         // lists models in memory
	Download      bool `json:"download"`       // downloads with progress
	Load          bool `json:"load"`           // loads a model (with a TTL / keep-alive)
	Unload        bool `json:"unload"`         // unloads a model
	ServerTimings bool `json:"server_timings"` // reports its own timings per response
	Metrics       bool `json:"metrics"`        // serves Prometheus /metrics
}

// ModelSet selects which models Models lists.
type ModelSet string

// Model sets.
const (
	CatalogSet    ModelSet = "catalog"
	DownloadedSet ModelSet = "downloaded"
	LoadedSet     ModelSet = "loaded"
)

// Model is one model an engine knows. Variants of one alias (CPU, GPU, NPU
// builds) are separate Models with separate IDs, never merged.
type Model struct {
	ID                string     `json:"id"`                           // the id to send in requests (a resolved variant id)
	Alias             string     `json:"alias,omitempty"`              // the family name users type (Foundry alias, Ollama name without tag)
	Device            string     `json:"device,omitempty"`             // CPU, GPU, NPU
	ExecutionProvider string     `json:"execution_provider,omitempty"` // e.g. CUDAExecutionProvider
	Quantization      string     `json:"quantization,omitempty"`
	Family            string     `json:"family,omitempty"`
	Parameters        string     `json:"parameters,omitempty"` // e.g. "7.6B"
	SizeBytes         int64      `json:"size_bytes,omitempty"` // on disk
	VRAMBytes         int64      `json:"vram_bytes,omitempty"` // in accelerator memory, when loaded
	ContextLength     int        `json:"context_length,omitempty"`
	Downloaded        *bool      `json:"downloaded"`           // null: unknown
	Loaded            *bool      `json:"loaded"`               // null: unknown
	ExpiresAt         *time.Time `json:"expires_at,omitempty"` // when a loaded model will be unloaded (TTL / keep-alive)
	Cold              *ColdStart `json:"cold,omitempty"`       // flperf run --cold: this model's cold start
	// Requested is the name the user gave when it is not ID (a Foundry
	// alias, a versionless id, or a variant the engine would not load).
	Requested string `json:"requested,omitempty"`
	// Choice says why this variant runs (Foundry Local: how the alias was
	// resolved, or which variant the service actually loaded).
	Choice string `json:"choice,omitempty"`
	// LoadEP is the execution provider a load asks for (legacy Foundry
	// Local's ep parameter: "cuda" for generic-GPU variants when the catalog
	// has CUDA variants, as the SDKs send); empty: none.
	LoadEP string `json:"load_ep,omitempty"`
}

// ColdStart is a model's cold start (docs/metrics.md §8): the engine's load time
// after a fresh load, and the first request after it. Neither is ever part
// of the warm figures.
type ColdStart struct {
	LoadMS  float64  `json:"load_ms"`
	Seq     int64    `json:"seq"`     // the record of the first request after the load (-1: none)
	TTFTMS  *float64 `json:"ttft_ms"` // null: no token arrived
	E2EMS   *float64 `json:"e2e_ms"`
	Outcome string   `json:"outcome,omitempty"`
}

// Progress reports a download's progress.
type Progress struct {
	Percent float64 `json:"percent"` // 0–100; negative: unknown
	Status  string  `json:"status"`  // the engine's own words
	Done    bool    `json:"done"`    // the last report: success, or Err set
	Err     string  `json:"error,omitempty"`
}

// LoadOptions tune Load.
type LoadOptions struct {
	TTL               time.Duration // how long the engine keeps the model loaded when idle (0: the engine's default; negative: forever where supported)
	ExecutionProvider string        // Foundry Local: the execution provider to load with (empty: the engine's choice)
}

// Manager manages an engine's models. Operations the engine does not
// support return ErrUnsupported and are false in Capabilities.
type Manager interface {
	Info() Info
	Capabilities() Capabilities
	// Models lists one set of models.
	Models(ctx context.Context, set ModelSet) ([]Model, error)
	// Download fetches a model, reporting progress (possibly for minutes or
	// hours); it returns when the download succeeded or failed.
	Download(ctx context.Context, id string, progress func(Progress)) error
	// Load loads a model and returns how long the engine took.
	Load(ctx context.Context, id string, opts LoadOptions) (time.Duration, error)
	// Unload unloads a model.
	Unload(ctx context.Context, id string) error
}

// NewManager returns the Manager for info's engine kind: Foundry Local's
// management API, Ollama's native API, llama.cpp's server (/props, /health,
// /slots, /metrics), vLLM and SGLang (/v1/models, /health, /metrics), LM
// Studio's /api/v0, or the OpenAI routes for any other server and the
// built-in simulator.
func NewManager(info Info, hc *http.Client) Manager {
	switch info.Kind {
	case Foundry:
		return NewFoundry(info, hc)
	case Ollama:
		return NewOllama(info, hc)
	case LlamaCpp:
		return NewLlamaCpp(info, hc)
	case VLLM, SGLang:
		return NewVLLM(info, hc)
	case LMStudio:
		return NewLMStudio(info, hc)
	}
	return NewGeneric(info, hc)
}
