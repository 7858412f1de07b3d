package runner

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"flperf/internal/record"
)

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

// skipped reports whether fits skip the stage of model × scenario.
func skipped(fits []ContextFit, model, scenario string) *ContextFit {
	for i := range fits {
		if f := &fits[i]; f.Action == FitSkipped && f.Model == model && f.Scenario == scenario {
			return f
		}
	}
	return nil
}

// Context-window refusals in the words of the engines.
var (
	// vLLM and OpenAI: "This model's maximum context length is 4096
	// tokens. However, you requested 5000 tokens (…)", "… and your request
	// has 4500 input tokens …", "… your messages resulted in 9850 tokens".
	// "You requested" counts the completion too: the prompt is the part
	// "in the messages".
	maxContextRE = regexp.MustCompile(`maximum context length is (\d+) tokens`)
	promptRE     = regexp.MustCompile(`\((\d+) in the messages|your request has (\d+) input tokens|resulted in (\d+) tokens`)
	// SGLang: "The input (5000 tokens) is longer than the model's context
	// length (4096 tokens)."
	sglangRE = regexp.MustCompile(`input \((\d+) tokens\) is longer than the model's context length \((\d+) tokens\)`)
	// llama.cpp's message, when its body was cut: "request (4476 tokens)
	// exceeds the available context size (4096 tokens)".
	llamaRE = regexp.MustCompile(`request \((\d+) tokens\) exceeds the available context size \((\d+) tokens\)`)
)

// ContextRefusal reports whether a failed request was refused because its
// prompt does not fit the model's context window: llama.cpp's 400
// exceed_context_size_error (with n_prompt_tokens and n_ctx), vLLM's and
// OpenAI's "maximum context length" 400 (OpenAI's code
// context_length_exceeded) and SGLang's "longer than the model's context
// length". prompt and window are 0 when the answer does not give them; msg
// is the engine's message (its whole answer when it has none).
func ContextRefusal(rec *record.Record) (prompt, window int, msg string, ok bool) {
	if rec.Outcome != record.HTTPError || rec.Status < 400 || rec.Status > 499 {
		return 0, 0, "", false
	}
	body := rec.Error
	var doc struct {
		Error json.RawMessage `json:"error"`
	}
	var e struct {
		Type    string `json:"type"`
		Code    any    `json:"code"`
		Message string `json:"message"`
		Prompt  int    `json:"n_prompt_tokens"`
		Window  int    `json:"n_ctx"`
	}
	if json.Unmarshal([]byte(body), &doc) == nil && len(doc.Error) > 0 {
		_ = json.Unmarshal(doc.Error, &e) // {"error": "text"} leaves e empty
	} else {
		_ = json.Unmarshal([]byte(body), &e) // vLLM: the error object at the top
	}
	msg = strings.TrimSpace(body)
	if e.Message != "" {
		msg = e.Message
	}
	if e.Type == "exceed_context_size_error" && e.Window > 0 {
		return max(e.Prompt, 0), e.Window, msg, true
	}
	if m := llamaRE.FindStringSubmatch(msg); m != nil {
		return atoi(m[1]), atoi(m[2]), msg, true
	}
	if m := sglangRE.FindStringSubmatch(msg); m != nil {
		return atoi(m[1]), atoi(m[2]), msg, true
	}
	if m := maxContextRE.FindStringSubmatch(msg); m != nil {
		if r := promptRE.FindStringSubmatch(msg); r != nil {
			prompt = atoi(r[1] + r[2] + r[3]) // one group matched
		}
		return prompt, atoi(m[1]), msg, true
	}
	if code, _ := e.Code.(string); code == "context_length_exceeded" || e.Type == "exceed_context_size_error" ||
		strings.Contains(body, `"context_length_exceeded"`) {
		return 0, 0, msg, true
	}
	return 0, 0, "", false
}

// atoi reads a count matched by a pattern of digits (0 beyond int).
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
