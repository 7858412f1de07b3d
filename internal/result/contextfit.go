package result

import "fmt"

// What the context window did to a model × scenario stage (ContextFit.Action).
const (
	// FitSkipped: the prompt cannot fit the model's context window; the
	// stage was not run and no request of it was sent.
	FitSkipped = "skipped"
	// FitStopped: the engine refused a request of the stage because its
	// prompt exceeded the context window; scheduling stopped there (the
	// requests already in flight finished and are recorded as they ended).
	FitStopped = "stopped"
	// FitWarned: the stage ran, but its prompt might not fit, or prompt
	// plus max_tokens is beyond the context window, or the engine cuts an
	// overlong prompt without saying so (Ollama).
	FitWarned = "warned"
)

// How a ContextFit's prompt tokens were counted (ContextFit.Method).
const (
	FitExact    = "exact"    // the engine's own chat template and tokenizer
	FitEstimate = "estimate" // tokens.Estimate over the messages' text (no chat template)
	FitEngine   = "engine"   // the engine's refusal said so
)

// ContextFit is what a model's context window did to one model × scenario
// stage: skipped before any request, stopped after the engine refused one,
// or run with a warning. It is stored with the run (in its suite block) and
// shown by every report.
type ContextFit struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Action   string `json:"action"` // FitSkipped, FitStopped or FitWarned
	// PromptTokens is the prompt's size in tokens as Method counted it (0:
	// unknown).
	PromptTokens int `json:"prompt_tokens"`
	// MaxTokens is the max_tokens the stage's requests asked for.
	MaxTokens int `json:"max_tokens,omitempty"`
	// ContextLength is the context window one request gets, as the engine
	// reports it (llama.cpp: a slot's n_ctx, that is --ctx-size divided by
	// --parallel; vLLM: max_model_len; Ollama: the loaded num_ctx).
	ContextLength int    `json:"context_length"`
	Method        string `json:"method"` // FitExact, FitEstimate or FitEngine
	// Requests is how many requests of the stage had finished when it
	// stopped (FitStopped; warm-ups included).
	Requests int    `json:"requests,omitempty"`
	Message  string `json:"message"` // what happened, for people (FitStopped: the engine's own words)
}

// String is the fit as one line: what happened to which stage, and why.
func (f *ContextFit) String() string {
	stage := fmt.Sprintf("model %s, scenario %q", f.Model, f.Scenario)
	switch f.Action {
	case FitSkipped:
		return fmt.Sprintf("context: %s skipped before any request: %s", stage, f.Message)
	case FitStopped:
		return fmt.Sprintf("context: %s stopped after %d requests: the engine refused one because its prompt exceeds the context window (%s); every further request would fail the same way", stage, f.Requests, f.Message)
	}
	return fmt.Sprintf("context: %s: %s", stage, f.Message)
}
