package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"flperf/internal/tokens"
)

// chatRequest is the part of an OpenAI chat completion request the
// simulator reads; unknown fields are ignored, as vLLM and Ollama do.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       json.RawMessage `json:"stream_options"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	MinTokens           *int            `json:"min_tokens"`
	IgnoreEOS           bool            `json:"ignore_eos"`
	N                   *int            `json:"n"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"` // a string, an array of parts, or null
}

type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// params is a validated request.
type params struct {
	model         string
	stream        bool
	streamOptions bool // stream_options present and not null
	includeUsage  bool // stream_options.include_usage
	continuous    bool // stream_options.continuous_usage_stats
	maxTokens     int  // 0: not set
	minTokens     int
	ignoreEOS     bool
	promptTokens  int // N_in: tokens.Estimate summed over message contents
	// keys[i] is the prefix-cache key of messages 0..i (chainKey) and
	// cum[i] their tokens; cachedTokens is the part of the prompt the
	// model's prefix cache served (set when the slot is taken).
	keys         []uint64
	cum          []int
	cachedTokens int
}

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: param,
		msg: fmt.Sprintf(format, args...)}
}

// parseChat decodes and checks a chat completion body.
func parseChat(body []byte) (params, *apiError) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return params{}, badRequest(te.Field, "invalid request body: field %q must be %s, not a JSON %s", te.Field, te.Type, te.Value)
		}
		return params{}, badRequest("", "invalid JSON body: %v", err)
	}
	p := params{model: req.Model, stream: req.Stream, ignoreEOS: req.IgnoreEOS}
	if req.Model == "" {
		return p, badRequest("model", "missing required field \"model\"")
	}
	if req.Messages == nil {
		return p, badRequest("messages", "missing required field \"messages\"")
	}
	if len(req.Messages) == 0 {
		return p, badRequest("messages", "\"messages\" must not be empty")
	}
	for i, m := range req.Messages {
		if m.Role == "" {
			return p, badRequest(fmt.Sprintf("messages[%d].role", i), "missing required field \"messages[%d].role\"", i)
		}
		n, text, ok := contentTokens(m.Content)
		if !ok {
			return p, badRequest(fmt.Sprintf("messages[%d].content", i),
				"\"messages[%d].content\" must be a string, an array of content parts or null", i)
		}
		p.promptTokens += n
		prev := uint64(0)
		if i > 0 {
			prev = p.keys[i-1]
		}
		p.keys = append(p.keys, chainKey(prev, m.Role, text))
		p.cum = append(p.cum, p.promptTokens)
	}
	if so := bytes.TrimSpace(req.StreamOptions); len(so) > 0 && !bytes.Equal(so, []byte("null")) {
		var opts struct {
			IncludeUsage         bool `json:"include_usage"`
			ContinuousUsageStats bool `json:"continuous_usage_stats"`
		}
		if err := json.Unmarshal(so, &opts); err != nil {
			return p, badRequest("stream_options", "invalid \"stream_options\": %v", err)
		}
		p.streamOptions, p.includeUsage, p.continuous = true, opts.IncludeUsage, opts.ContinuousUsageStats
	}
	// max_completion_tokens wins over the deprecated max_tokens, as in vLLM and SGLang.
	for _, f := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if f.v == nil {
			continue
		}
		if *f.v < 1 || *f.v > MaxOutputTokens {
			return p, badRequest(f.name, "%q must be between 1 and %d (got %d)", f.name, MaxOutputTokens, *f.v)
		}
		p.maxTokens = *f.v
	}
	if req.MinTokens != nil {
		if *req.MinTokens < 0 || *req.MinTokens > MaxOutputTokens {
			return p, badRequest("min_tokens", "\"min_tokens\" must be between 0 and %d (got %d)", MaxOutputTokens, *req.MinTokens)
		}
		p.minTokens = *req.MinTokens
	}
	if req.N != nil && *req.N != 1 {
		return p, badRequest("n", "\"n\" must be 1 on the flperf simulated engine (got %d)", *req.N)
	}
	return p, nil
}

// contentTokens estimates the tokens of one message content and returns
// its text (text parts joined); ok is false when the content has an
// unsupported shape.
func contentTokens(raw json.RawMessage) (n int, text string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return 0, "", true
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, "", false
		}
		return tokens.Estimate(s), s, true
	case '[':
		var parts []contentPart
		if json.Unmarshal(raw, &parts) != nil {
			return 0, "", false
		}
		var b strings.Builder
		for _, part := range parts {
			if part.Type == "text" || part.Type == "" {
				n += tokens.Estimate(part.Text)
				b.WriteString(part.Text)
			}
		}
		return n, b.String(), true
	}
	return 0, "", false
}

// PromptTokens is the simulator's count of a chat request's prompt tokens,
// the N_in it prefills and reports in usage (tokens.Estimate summed over
// the messages' text); ok is false when the body is not a valid request.
func PromptTokens(body []byte) (n int, ok bool) {
	p, err := parseChat(body)
	return p.promptTokens, err == nil
}
