package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"flperf/internal/sim"
)

// ollamaNativeRequest is the part of an /api/chat or /api/generate body the fake reads.
type ollamaNativeRequest struct {
	Model     string          `json:"model"`
	Messages  []ollamaMessage `json:"messages"` // chat
	Prompt    string          `json:"prompt"`   // generate
	System    string          `json:"system"`   // generate
	Stream    *bool           `json:"stream"`   // absent: true
	KeepAlive json.RawMessage `json:"keep_alive"`
	Options   struct {
		NumPredict *int `json:"num_predict"` // max output tokens; ≤ 0: no limit
		NumCtx     int  `json:"num_ctx"`     // the context to load the model with; ≤ 0: the loaded one, else the model's NumCtx
	} `json:"options"`
}

type ollamaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// native serves POST /api/chat (generate false) and POST /api/generate.
func (o *Ollama) native(w http.ResponseWriter, r *http.Request, generate bool) {
	arrived := time.Now()
	var req ollamaNativeRequest
	if !ollamaDecode(w, r, &req) {
		return
	}
	if req.Model == "" {
		ollamaErr(w, http.StatusBadRequest, "model is required")
		return
	}
	m := o.pulledModel(req.Model)
	if m == nil {
		ollamaNotPulled(w, req.Model)
		return
	}
	ka, err := parseOllamaKeepAlive(req.KeepAlive)
	if err != nil {
		ollamaErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if generate && req.Prompt == "" || !generate && len(req.Messages) == 0 {
		o.loadOnly(w, r, m, req.Model, ka, generate, req.Options.NumCtx)
		return
	}
	body, err := ollamaSimBody(m.name, &req, generate)
	if err != nil {
		ollamaErr(w, http.StatusBadRequest, err.Error())
		return
	}
	loadDur, numCtx, err := o.acquire(r.Context(), m, req.Options.NumCtx)
	if err != nil {
		if r.Context().Err() == nil {
			ollamaErr(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	defer o.release(m, ka)
	body = ollamaTruncate(body, numCtx, m.profile.TemplateTokens)

	tr := &ollamaTranslator{
		w: w, rc: http.NewResponseController(w), hdr: make(http.Header),
		stream: req.Stream == nil || *req.Stream, generate: generate, model: req.Model,
		gap: time.Duration(float64(time.Second) / m.profile.DecodeTPS), arrived: arrived, loadDur: loadDur,
	}
	ireq, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		ollamaErr(w, http.StatusInternalServerError, err.Error())
		return
	}
	ireq.Header.Set("Content-Type", "application/json")
	o.sim.ServeHTTP(tr, ireq) // an injected cut panics with http.ErrAbortHandler, as it should
	tr.close()
}

// ollamaSimBody is the OpenAI streaming request the embedded simulator serves
// for a native request.
func ollamaSimBody(model string, req *ollamaNativeRequest, generate bool) ([]byte, error) {
	msgs := req.Messages
	if generate {
		msgs = nil
		if req.System != "" {
			msgs = append(msgs, ollamaMessage{Role: "system", Content: req.System})
		}
		msgs = append(msgs, ollamaMessage{Role: "user", Content: req.Prompt})
	}
	body := map[string]any{
		"model":          model,
		"messages":       msgs,
		"stream":         true,
		"stream_options": map[string]bool{"include_usage": true},
	}
	if n := req.Options.NumPredict; n != nil && *n > 0 {
		body["max_tokens"] = min(*n, sim.MaxOutputTokens)
	}
	return json.Marshal(body)
}

// ollamaTranslator is the http.ResponseWriter the embedded simulator answers a
// native request into. It rewrites each OpenAI stream event as Ollama's
// NDJSON the moment the simulator flushes it, so the simulator's schedule
// reaches the client unchanged. Response headers go out with the first
// line, as Ollama's do (its handler writes nothing before the first token).
type ollamaTranslator struct {
	w        http.ResponseWriter // the client's
	rc       *http.ResponseController
	hdr      http.Header // the simulator's headers, not sent
	stream   bool        // answer NDJSON (else one object at the end)
	generate bool        // /api/generate shape ("response") instead of /api/chat ("message")
	model    string      // as the request named it
	gap      time.Duration
	arrived  time.Time
	loadDur  time.Duration

	status          int       // the simulator's status (0: none yet)
	slotAt          time.Time // the simulator's headers: it got a generation slot
	firstAt, lastAt time.Time // first and last text event
	pending         []byte    // simulator output not yet translated
	errBody         []byte    // the simulator's error answer
	started         bool      // the client's headers were written
	err             error     // writing to the client failed
	done            bool      // the final object was written
	broken          bool      // the simulator sent a malformed frame

	content, thinking  bytes.Buffer // whole text, when not streaming
	promptTokens, eval int          // from the simulator's usage
	words              int          // tokens counted in the text, in case usage is missing
	finish             string
}

// Header implements http.ResponseWriter.
func (t *ollamaTranslator) Header() http.Header { return t.hdr }

// WriteHeader implements http.ResponseWriter.
func (t *ollamaTranslator) WriteHeader(code int) {
	if t.status != 0 {
		return
	}
	t.status = code
	if code == http.StatusOK {
		t.slotAt = time.Now()
	}
}

// Write implements http.ResponseWriter; the data is translated at the
// next flush.
func (t *ollamaTranslator) Write(p []byte) (int, error) {
	if t.status == 0 {
		t.WriteHeader(http.StatusOK)
	}
	if t.status != http.StatusOK {
		if len(t.errBody) < 64<<10 {
			t.errBody = append(t.errBody, p...)
		}
		return len(p), nil
	}
	if t.err != nil {
		return 0, t.err
	}
	t.pending = append(t.pending, p...)
	return len(p), nil
}

// FlushError translates and sends what the simulator wrote; it is what
// http.ResponseController.Flush calls.
func (t *ollamaTranslator) FlushError() error {
	if t.status == http.StatusOK {
		t.translate()
	}
	return t.err
}

// translate handles every complete SSE event in pending.
func (t *ollamaTranslator) translate() {
	for t.err == nil {
		i := bytes.Index(t.pending, []byte("\n\n"))
		if i < 0 {
			return
		}
		for line := range bytes.Lines(t.pending[:i+1]) {
			if data, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data: ")); ok {
				t.event(data)
			}
		}
		t.pending = append(t.pending[:0], t.pending[i+2:]...)
	}
}

// ollamaSimChunk is the part of a simulator chunk the translation needs.
type ollamaSimChunk struct {
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// event translates one simulator event.
func (t *ollamaTranslator) event(data []byte) {
	if string(data) == "[DONE]" {
		t.finishLine()
		return
	}
	var c ollamaSimChunk
	if err := json.Unmarshal(data, &c); err != nil {
		// An injected malformed frame: pass on a broken line.
		t.broken = true
		if t.stream {
			head, _ := json.Marshal(t.model)
			t.send(fmt.Appendf(nil, `{"model":%s,"created_at":%q,"message":{"role":"assistant","content":`+"\n",
				head, time.Now().UTC().Format(time.RFC3339Nano)))
		}
		return
	}
	if c.Usage != nil {
		// With a prefix-cache hit this counts only the tokens evaluated
		// (the profile's CacheAsEvaluated), as Ollama's does.
		t.promptTokens, t.eval = c.Usage.PromptTokens, c.Usage.CompletionTokens
	}
	if len(c.Choices) == 0 {
		return
	}
	ch := c.Choices[0]
	if ch.FinishReason != nil {
		t.finish = *ch.FinishReason
	}
	content, thinking := ch.Delta.Content, ch.Delta.ReasoningContent
	if content == "" && thinking == "" {
		return
	}
	now := time.Now()
	if t.firstAt.IsZero() {
		t.firstAt = now
	}
	t.lastAt = now
	t.words += len(bytes.Fields([]byte(content + thinking)))
	if !t.stream {
		t.content.WriteString(content)
		t.thinking.WriteString(thinking)
		return
	}
	t.send(t.line(content, thinking))
}

// ollamaLine is one object of a native answer.
type ollamaLine struct {
	Model              string            `json:"model"`
	CreatedAt          time.Time         `json:"created_at"`
	Response           *string           `json:"response,omitempty"` // generate
	Thinking           string            `json:"thinking,omitempty"` // generate
	Message            *ollamaOutMessage `json:"message,omitempty"`  // chat
	Done               bool              `json:"done"`
	DoneReason         string            `json:"done_reason,omitempty"`
	TotalDuration      time.Duration     `json:"total_duration,omitempty"`
	LoadDuration       time.Duration     `json:"load_duration,omitempty"`
	PromptEvalCount    int               `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration time.Duration     `json:"prompt_eval_duration,omitempty"`
	EvalCount          int               `json:"eval_count,omitempty"`
	EvalDuration       time.Duration     `json:"eval_duration,omitempty"`
}

type ollamaOutMessage struct {
	Role     string `json:"role"`
	Content  string `json:"content"`
	Thinking string `json:"thinking,omitempty"`
}

// line encodes one text object.
func (t *ollamaTranslator) line(content, thinking string) []byte {
	l := ollamaLine{Model: t.model, CreatedAt: time.Now().UTC()}
	if t.generate {
		l.Response, l.Thinking = &content, thinking
	} else {
		l.Message = &ollamaOutMessage{Role: "assistant", Content: content, Thinking: thinking}
	}
	b, _ := json.Marshal(l)
	return append(b, '\n')
}

// finishLine writes the final object with Ollama's statistics. The
// durations are measured: prompt_eval_duration runs from the slot to the
// first token less one token time, eval_duration from the first token to
// the last, and total_duration from the request's arrival to now. As in
// Ollama 0.6.5's runner, which starts eval_duration when it samples the
// first token, eval_duration spans N−1 token times for eval_count N, so
// eval_count / eval_duration reads N/(N−1) times the rate between tokens
// (3.2 % above it at 32 tokens).
func (t *ollamaTranslator) finishLine() {
	if t.done {
		return
	}
	t.done = true
	now := time.Now()
	first, last := t.firstAt, t.lastAt
	if first.IsZero() {
		first, last = now, now
	}
	toFirst := max(first.Sub(t.slotAt), 0)
	gap := min(t.gap, toFirst)
	eval := t.eval
	if eval == 0 {
		eval = t.words
	}
	l := ollamaLine{
		Model: t.model, CreatedAt: now.UTC(), Done: true, DoneReason: t.finish,
		TotalDuration:      max(now.Sub(t.arrived), 1),
		LoadDuration:       t.loadDur,
		PromptEvalCount:    t.promptTokens,
		PromptEvalDuration: max(toFirst-gap, 1),
		EvalCount:          eval,
	}
	if eval > 0 {
		l.EvalDuration = max(last.Sub(first), 1)
	}
	content, thinking := "", ""
	if !t.stream {
		content, thinking = t.content.String(), t.thinking.String()
	}
	if t.generate {
		l.Response, l.Thinking = &content, thinking
	} else {
		l.Message = &ollamaOutMessage{Role: "assistant", Content: content, Thinking: thinking}
	}
	b, _ := json.Marshal(l)
	if !t.stream && t.broken {
		b = b[:len(b)/2] // the malformed frame spoils the whole answer
	}
	t.send(append(b, '\n'))
}

// send writes b to the client (headers first, the first time) and flushes.
func (t *ollamaTranslator) send(b []byte) {
	if t.err != nil {
		return
	}
	if !t.started {
		t.started = true
		ct := "application/x-ndjson"
		if !t.stream {
			ct = "application/json; charset=utf-8"
		}
		t.w.Header().Set("Content-Type", ct)
		t.w.WriteHeader(http.StatusOK)
	}
	if _, err := t.w.Write(b); err != nil {
		t.err = err
		return
	}
	if err := t.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		t.err = err
	}
}

// close ends the answer once the simulator returned: what is left is
// translated, and an error answer of the simulator becomes Ollama's
// {"error": …} with the same status.
func (t *ollamaTranslator) close() {
	switch {
	case t.status == http.StatusOK:
		t.translate()
	case t.status != 0:
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		msg := http.StatusText(t.status)
		if json.Unmarshal(t.errBody, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		if ra := t.hdr.Get("Retry-After"); ra != "" {
			t.w.Header().Set("Retry-After", ra)
		}
		ollamaErr(t.w, t.status, msg)
	}
}

// openAIChat serves POST /v1/chat/completions with the embedded simulator,
// once the model is pulled and loaded. Ollama's /v1 has no keep_alive: the
// model gets the server default.
func (o *Ollama) openAIChat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sim.MaxBodyBytes))
	if err != nil {
		ollamaOpenAIError(w, http.StatusBadRequest, err.Error())
		return
	}
	var req struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(body, &req) == nil && req.Model != "" {
		m := o.pulledModel(req.Model)
		if m == nil {
			ollamaOpenAIError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
			return
		}
		body = ollamaOpenAIBody(body, m.name, req.Model)
		_, numCtx, err := o.acquire(r.Context(), m, 0) // /v1 has no options: the loaded context, else the default
		if err != nil {
			if r.Context().Err() == nil {
				ollamaOpenAIError(w, http.StatusInternalServerError, err.Error())
			}
			return
		}
		defer o.release(m, ollamaKeepAlive{})
		body = ollamaTruncate(body, numCtx, m.profile.TemplateTokens)
	}
	r2 := r.Clone(r.Context())
	r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	o.sim.ServeHTTP(w, r2) // malformed bodies get the simulator's own 400
}

// withModel sets the model field of a JSON object body (a dialect whose
// server answers for its one model whatever the request names).
func withModel(body []byte, name string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	m["model"], _ = json.Marshal(name)
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

// ollamaIgnoredFields are request fields that Ollama's /v1 does not know
// (its OpenAI middleware decodes a fixed request type and drops the rest):
// vLLM's and llama.cpp's ignore_eos and min_tokens change nothing there, so
// an answer still ends at the model's end-of-sequence. The simulator under
// it would honour them; they are taken out first.
var ollamaIgnoredFields = []string{"ignore_eos", "min_tokens"}

// ollamaOpenAIBody is a /v1 chat body as Ollama acts on it: the model field
// set to the pulled model's full name (asked as name), and the fields Ollama
// ignores taken out.
func ollamaOpenAIBody(body []byte, full, name string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	changed := full != name
	for _, k := range ollamaIgnoredFields {
		if _, ok := m[k]; ok {
			delete(m, k)
			changed = true
		}
	}
	if !changed {
		return body
	}
	m["model"], _ = json.Marshal(full)
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

// ollamaOpenAIError answers an OpenAI-style error as Ollama's /v1 middleware does.
func ollamaOpenAIError(w http.ResponseWriter, status int, msg string) {
	typ := "api_error"
	switch status {
	case http.StatusBadRequest:
		typ = "invalid_request_error"
	case http.StatusNotFound:
		typ = "not_found_error"
	}
	ollamaJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}
