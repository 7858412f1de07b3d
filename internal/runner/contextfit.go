package runner

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"flperf/internal/record"
)

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
