package dialect

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"

	"flperf/internal/sim"
	"flperf/internal/tokens"
)

// llamaCppVocab is n_vocab in /v1/models: token ids are below it.
const llamaCppVocab = 128256

// llamaCppMaxBody bounds a /tokenize or /apply-template body.
const llamaCppMaxBody = sim.MaxBodyBytes

// tooLong answers llama-server's refusal of a prompt that does not fit a
// slot's context (it needs n ≥ n_ctx) and reports true; false when the
// prompt of the chat request body fits. The body is byte for byte the
// real server's (its JSON keeps insertion order), with the simulator's own
// prompt count (sim.PromptTokens).
func (l *LlamaCpp) tooLong(w http.ResponseWriter, body []byte) bool {
	n, ok := sim.PromptTokens(body)
	n += l.profile.TemplateTokens // the chat template's own tokens
	nctx := l.opts.ContextLength
	if !ok || n < nctx {
		return false
	}
	msg, _ := json.Marshal("request (" + strconv.Itoa(n) + " tokens) exceeds the available context size (" + strconv.Itoa(nctx) + " tokens)")
	b := `{"error":{"code":400,"message":` + string(msg) + `,"type":"exceed_context_size_error","n_prompt_tokens":` +
		strconv.Itoa(n) + `,"n_ctx":` + strconv.Itoa(nctx) + `}}`
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, b)
	return true
}

// templateMarker stands for one token of the chat template's own in
// /apply-template's text: a non-ASCII rune, one token for the simulator.
const templateMarker = "\u25c1"

// applyTemplate serves POST /apply-template: the messages rendered with
// the fake's chat template (/props chat_template: each message's text and
// a newline, after the profile's TemplateTokens markers), so that /tokenize of the result counts exactly what a chat
// request with these messages costs (whitespace is free in the
// simulator's count).
func (l *LlamaCpp) applyTemplate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if !l.readJSON(w, r, &req) {
		return
	}
	if req.Messages == nil {
		llamaCppError(w, http.StatusBadRequest, "invalid_request_error", "'messages' is required")
		return
	}
	var b strings.Builder
	// The template's own tokens (sim.Profile.TemplateTokens; none by
	// default): one marker rune each, one token each for the simulator.
	b.WriteString(strings.Repeat(templateMarker, l.profile.TemplateTokens))
	for _, m := range req.Messages {
		text, ok := messageText(m.Content)
		if !ok {
			llamaCppError(w, http.StatusBadRequest, "invalid_request_error", "Invalid 'content' type")
			return
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": b.String()})
}

// messageText is a message content's text: a string, or the text parts of
// an array, each followed by a newline but the last; ok is false for
// another shape.
func messageText(raw json.RawMessage) (string, bool) {
	var s *string
	if json.Unmarshal(raw, &s) == nil {
		if s == nil {
			return "", true
		}
		return *s, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var texts []string
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n"), true
}

// tokenize serves POST /tokenize: the content's tokens as the simulator
// counts them (tokens.Pieces), each id a hash of its piece, or {id, piece}
// objects with with_pieces. The simulated models add no BOS token, so
// add_special changes nothing (the chat count has none either).
func (l *LlamaCpp) tokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Content    *string `json:"content"`
		AddSpecial bool    `json:"add_special"`
		WithPieces bool    `json:"with_pieces"`
	}
	if !l.readJSON(w, r, &req) {
		return
	}
	if req.Content == nil {
		llamaCppError(w, http.StatusBadRequest, "invalid_request_error", "'content' is required")
		return
	}
	pieces := tokens.Pieces(*req.Content)
	out := make([]any, len(pieces))
	for i, p := range pieces {
		h := fnv.New32a()
		h.Write([]byte(p))
		id := int(h.Sum32() % llamaCppVocab)
		if req.WithPieces {
			out[i] = map[string]any{"id": id, "piece": p}
		} else {
			out[i] = id
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// readJSON decodes a POST body into v; on failure it answers 400 as
// llama-server does and returns false.
func (l *LlamaCpp) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, llamaCppMaxBody))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		llamaCppError(w, http.StatusBadRequest, "invalid_request_error", "Invalid request body: "+err.Error())
		return false
	}
	return true
}
