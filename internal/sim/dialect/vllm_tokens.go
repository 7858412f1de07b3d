package dialect

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"

	"flperf/internal/sim"
	"flperf/internal/tokens"
)

// tooLong refuses a vLLM chat request that does not fit max_model_len, in
// vLLM 0.11's words, and reports true; false when it fits. The prompt is
// the simulator's own count (sim.PromptTokens), and a request without
// max_tokens (or max_completion_tokens) asks for what the window leaves.
func (v *VLLM) tooLong(w http.ResponseWriter, body []byte) bool {
	n, ok := sim.PromptTokens(body)
	if !ok || v.sglang {
		return false
	}
	var req struct {
		Model               string `json:"model"`
		MaxTokens           *int   `json:"max_tokens"`
		MaxCompletionTokens *int   `json:"max_completion_tokens"`
	}
	_ = json.Unmarshal(body, &req) // PromptTokens read it already
	n += v.meter.profiles[req.Model].TemplateTokens
	limit := v.maxModelLen()
	maxTok := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		maxTok = req.MaxCompletionTokens
	}
	var msg string
	switch {
	case n >= limit:
		msg = fmt.Sprintf("This model's maximum context length is %d tokens. However, your request has %d input tokens. Please reduce the length of the input messages.", limit, n)
	case maxTok != nil && n+*maxTok > limit:
		msg = fmt.Sprintf("'max_tokens' or 'max_completion_tokens' is too large: %d. This model's maximum context length is %d tokens and your request has %d input tokens (%d > %d - %d).",
			*maxTok, limit, n, *maxTok, limit, n)
	default:
		return false
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
		"message": msg, "type": "BadRequestError", "param": nil, "code": 400,
	}})
	return true
}

// tokenize serves vLLM's POST /tokenize: {"model", "messages"} (the chat
// template applied) or {"model", "prompt"} → {"count", "max_model_len",
// "tokens", "token_strs"}, counted as the simulator counts a chat's prompt
// (tokens.Pieces of each message's text, and with messages the chat
// template's sim.Profile.TemplateTokens).
func (v *VLLM) tokenize(w http.ResponseWriter, r *http.Request) {
	body, ok := readChatBody(w, r)
	if !ok {
		return
	}
	var req struct {
		Model    string  `json:"model"`
		Prompt   *string `json:"prompt"`
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		ReturnTokenStrs bool `json:"return_token_strs"`
	}
	if err := json.Unmarshal(body, &req); err != nil || (req.Prompt == nil && req.Messages == nil) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"message": "either 'prompt' or 'messages' is required", "type": "BadRequestError", "param": nil, "code": 400,
		}})
		return
	}
	var texts []string
	if req.Prompt != nil {
		texts = append(texts, *req.Prompt)
	}
	for _, m := range req.Messages {
		text, ok := messageText(m.Content)
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"message": "invalid message content", "type": "BadRequestError", "param": nil, "code": 400,
			}})
			return
		}
		texts = append(texts, text)
	}
	ids, strs := []int{}, []string{}
	for _, t := range texts {
		for _, p := range tokens.Pieces(t) {
			h := fnv.New32a()
			h.Write([]byte(p))
			ids = append(ids, int(h.Sum32()%llamaCppVocab))
			strs = append(strs, p)
		}
	}
	if req.Messages != nil { // the chat template's own tokens
		for range v.meter.profiles[req.Model].TemplateTokens {
			ids = append(ids, 1)
			strs = append(strs, "<|t|>")
		}
	}
	out := map[string]any{"count": len(ids), "max_model_len": v.maxModelLen(), "tokens": ids, "token_strs": nil}
	if req.ReturnTokenStrs {
		out["token_strs"] = strs
	}
	writeJSON(w, http.StatusOK, out)
}
