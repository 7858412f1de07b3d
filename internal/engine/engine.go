// Package engine finds and identifies the LLM engine a benchmark talks to:
// Microsoft Foundry Local (through its CLI), Ollama, llama.cpp's server,
// vLLM, SGLang, LM Studio, FLPerformance's own simulated engine, or any other
// OpenAI-compatible endpoint. An engine is identified from its own endpoints,
// never from its port alone. Model management (download, load, unload) is a
// separate concern built on top of Info.
package engine

import (
	"context"
	"net/http"
	"os/exec"
	"time"
)

// Kind names an engine family.
type Kind string

// The engine kinds FLPerformance knows.
const (
	Foundry  Kind = "foundry"
	Ollama   Kind = "ollama"
	LlamaCpp Kind = "llamacpp"
	VLLM     Kind = "vllm"
	SGLang   Kind = "sglang"
	LMStudio Kind = "lmstudio"
	OpenAI   Kind = "openai" // any other OpenAI-compatible server
	Sim      Kind = "sim"    // FLPerformance's built-in simulated engine
)

// Kinds lists every kind, for flag validation and help.
var Kinds = []Kind{Foundry, Ollama, LlamaCpp, VLLM, SGLang, LMStudio, OpenAI, Sim}

// Info describes the engine a run measured. It is stored with every run.
type Info struct {
	Kind       Kind   `json:"kind"`
	Endpoint   string `json:"endpoint"` // OpenAI base URL, ending in /v1
	Simulated  bool   `json:"simulated"`
	Version    string `json:"version,omitempty"`
	DetectedBy string `json:"detected_by"` // how it was found: "--endpoint", "port 11434", "foundry service status", "built-in"
	// API is the route measured: "openai" (/v1/chat/completions) or
	// "ollama-native" (Ollama's /api/chat). Empty means openai.
	API string `json:"api,omitempty"`
	// ConnectionReuse says how the run used connections to the engine when
	// it did not keep them alive and reuse them: e.g. "new connection per
	// request: …" once the server was seen closing its connection right
	// after an answer (llama.cpp's server does after each streamed one).
	// Empty: connections were reused.
	ConnectionReuse string `json:"connection_reuse,omitempty"`
	// Models describes each benchmarked model as the engine resolved it
	// (Foundry Local: the variant id, alias, device and execution provider).
	Models []Model `json:"models,omitempty"`
}

// Label is a short human description, e.g. "ollama 0.5.1 at http://127.0.0.1:11434/v1"
// or "SIMULATED engine (built-in) at …".
func (i Info) Label() string {
	s := string(i.Kind)
	if i.Version != "" {
		s += " " + i.Version
	}
	if i.Simulated {
		s = "SIMULATED engine (flperf built-in, not a real model)"
	}
	return s + " at " + i.Endpoint
}

// Prober finds engines. The zero value is usable: it uses a short-timeout
// HTTP client, runs the real `foundry` CLI when it is on PATH, and probes the
// usual local ports. Tests replace the fields.
type Prober struct {
	HTTP *http.Client
	// Command runs a program with an argument vector (never a shell string)
	// and returns its combined output. Nil uses os/exec.
	Command func(ctx context.Context, name string, args ...string) ([]byte, error)
	// Ports are the usual local ports tried, in order. Nil uses DefaultPorts.
	Ports []Port
	// NoFoundryCLI skips running the foundry CLI.
	NoFoundryCLI bool
}

// Port is a usual local port and the engine usually found there.
type Port struct {
	Port int
	Hint Kind
}

// DefaultPorts are the engines' usual local ports (docs/engines.md §0).
var DefaultPorts = []Port{
	{11434, Ollama}, {8080, LlamaCpp}, {1234, LMStudio}, {8000, VLLM}, {30000, SGLang},
}

func (p *Prober) client() *http.Client {
	if p.HTTP != nil {
		return p.HTTP
	}
	return &http.Client{Timeout: 1500 * time.Millisecond}
}

func (p *Prober) command(ctx context.Context, name string, args ...string) ([]byte, error) {
	if p.Command != nil {
		return p.Command(ctx, name, args...)
	}
	if _, err := exec.LookPath(name); err != nil {
		return nil, err
	}
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}
