package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"flperf/internal/record"
)

// OllamaNative sends chat requests to Ollama's native POST /api/chat and
// measures each one into a record.Record exactly as Client does for the
// OpenAI route (same clock, same fields, same outcome classes), reading
// Ollama's NDJSON stream (docs/engines.md §2, §7.1): every line is stamped when
// read, before it is decoded; the first line with message.content or
// message.thinking is the first token; the line with "done": true ends the
// response and carries the engine's own counts and timings. OutputTokens is
// eval_count and InputTokens prompt_eval_count, both with source "engine";
// a missing count falls back to the estimate, as in Client. It is safe for
// concurrent use.
//
// Request fields Ollama has no equivalent for (IgnoreEOS, MinTokens) are
// not sent.
type OllamaNative struct {
	c        *Client // transport, timeouts and the shared measurement code
	chatURL  string
	endpoint string // root URL as recorded (password redacted)
}

// OllamaTimings are the engine's own figures from the final ("done": true)
// line of a native response. A zero field was not reported; Reported is
// false when no final line arrived.
type OllamaTimings struct {
	Reported           bool          // the final line arrived
	TotalDuration      time.Duration // total_duration: the request inside the server, load included
	LoadDuration       time.Duration // load_duration: large when this request loaded the model
	PromptEvalDuration time.Duration // prompt_eval_duration: prefill
	EvalDuration       time.Duration // eval_duration: generating eval_count tokens
	PromptEvalCount    int           // prompt_eval_count (-1: not reported)
	EvalCount          int           // eval_count (-1: not reported)
	DoneReason         string        // done_reason: stop, length, load, unload
}

// DecodeRate is eval_count / eval_duration in tokens per second (0 when
// either is missing).
func (t OllamaTimings) DecodeRate() float64 {
	if t.EvalCount <= 0 || t.EvalDuration <= 0 {
		return 0
	}
	return float64(t.EvalCount) / t.EvalDuration.Seconds()
}

// NewOllamaNative returns a native client for the Ollama server at
// baseRoot, its root URL ("http://127.0.0.1:11434"; an OpenAI base URL
// ending in /v1 is accepted too). opts mean what they mean for New.
func NewOllamaNative(baseRoot string, opts Options) *OllamaNative {
	root := strings.TrimSuffix(strings.TrimRight(baseRoot, "/"), "/v1")
	endpoint := root
	if u, err := url.Parse(root); err == nil {
		endpoint = u.Redacted()
	}
	return &OllamaNative{c: New(root+"/v1", opts), chatURL: root + "/api/chat", endpoint: endpoint}
}

// Do sends req to /api/chat and fills rec, with the contract of Client.Do:
// the caller sets the identity fields (and Scheduled in open-loop modes),
// failures are recorded in rec, never returned, and nothing is retried but
// a request whose reused connection the server had closed (Client.Do). End
// is the arrival of the "done": true line (or of the failure); it stays 0
// for timeouts and cancellations.
func (o *OllamaNative) Do(ctx context.Context, req Request, rec *record.Record) {
	o.DoTimings(ctx, req, rec)
}

// ConnectionReuse says how connections to the server were used (see
// Client.ConnectionReuse).
func (o *OllamaNative) ConnectionReuse() string { return o.c.ConnectionReuse() }

// DoTimings is Do that also returns the engine's own timings (also kept in
// rec.Server) in Ollama's units.
func (o *OllamaNative) DoTimings(ctx context.Context, req Request, rec *record.Record) OllamaTimings {
	tm := OllamaTimings{PromptEvalCount: -1, EvalCount: -1}
	if rec == nil {
		return tm
	}
	c := o.c
	scheduled := rec.Scheduled
	resetMeasured(rec)
	rec.Stream, rec.MaxTok, rec.Endpoint = req.Stream, req.MaxTokens, o.endpoint
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a := &attempt{c: c, rec: rec, caller: ctx, ctx: actx, keep: req.KeepAnswer}
	if c.timeout > 0 {
		var stop context.CancelFunc
		a.ctx, stop = context.WithTimeoutCause(actx, c.timeout, errRequestTimeout)
		defer stop()
	}

	hreq, err := o.newRequest(a, &req)
	a.begin(scheduled)
	if err != nil {
		rec.Outcome, rec.Phase = record.ConnectError, record.PhaseConnect
		rec.Error = limitText("invalid request: " + err.Error())
		a.st.finish(&req)
		return tm
	}
	resp, err := a.send(hreq)
	hdrAt := time.Now()
	st := a.st
	defer st.finish(&req)
	if err != nil {
		a.transportFailure(err, hdrAt)
		return tm
	}
	defer resp.Body.Close()
	a.headers = true
	rec.Status = resp.StatusCode
	rec.FirstByte = time.Duration(a.firstByte.Load())
	if rec.FirstByte == 0 {
		rec.FirstByte = st.offset(hdrAt)
	}

	var onRead func()
	if c.idle > 0 {
		timer := time.AfterFunc(c.idle, func() { cancel(errIdleTimeout) })
		defer timer.Stop()
		onRead = func() { timer.Reset(c.idle) }
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(notifyReader{resp.Body, onRead}, maxErrorRead))
		rec.End = st.offset(time.Now())
		rec.Outcome, rec.Phase = record.HTTPError, record.PhaseHeaders
		rec.RetryAfter = limitText(resp.Header.Get("Retry-After"))
		rec.Error = limitText(string(data))
		if strings.TrimSpace(rec.Error) == "" {
			rec.Error = resp.Status
		}
		return tm
	}

	if !req.Stream {
		o.wholeBody(a, resp.Body, onRead, &tm)
		return tm
	}
	sr := newSSEReader(resp.Body, c.maxLine)
	defer sr.release()
	sr.onRead = onRead
	for {
		line, at, err := ollamaNextLine(sr)
		switch {
		case err == io.EOF:
			a.streamError("stream ended before the done line", at)
			return tm
		case sr.limitErr(err) != nil:
			a.streamError(sr.limitErr(err).msg, at)
			return tm
		case err != nil:
			if !a.interrupted() {
				a.streamError("connection lost: "+err.Error(), at)
			}
			return tm
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		done, msg, bad := st.ollamaLine(line, at, true, &tm)
		if bad {
			a.streamError(msg, at)
			return tm
		}
		if done {
			rec.Outcome, rec.End = record.OK, st.offset(at)
			c.drain(resp.Body, cancel)
			return tm
		}
	}
}

// newRequest builds the HTTP request, traced into a.
func (o *OllamaNative) newRequest(a *attempt, req *Request) (*http.Request, error) {
	body, err := ollamaBody(req)
	if err != nil {
		return nil, err
	}
	accept := "application/json"
	if req.Stream {
		accept = "application/x-ndjson"
	}
	return a.post(o.chatURL, body, accept, o.c.auth)
}

// ollamaBody encodes a native chat body: {"model", "messages", "stream",
// "options": {"num_predict", "temperature", "stop"}}; options not set are
// left out. Extra is merged last at the top level, except an "options"
// map, which is merged into options.
func ollamaBody(req *Request) ([]byte, error) {
	msgs := req.Messages
	if msgs == nil {
		msgs = []Message{}
	}
	m := map[string]any{"model": req.Model, "messages": msgs, "stream": req.Stream}
	opts := map[string]any{}
	if req.MaxTokens > 0 {
		opts["num_predict"] = req.MaxTokens
	}
	if req.Temperature != nil {
		opts["temperature"] = *req.Temperature
	}
	if len(req.Stop) > 0 {
		opts["stop"] = req.Stop
	}
	for k, v := range req.Extra {
		if extra, ok := v.(map[string]any); ok && k == "options" {
			for ek, ev := range extra {
				opts[ek] = ev
			}
			continue
		}
		m[k] = v
	}
	if len(opts) > 0 {
		m["options"] = opts
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// wholeBody reads and applies a non-streaming answer: one JSON object.
func (o *OllamaNative) wholeBody(a *attempt, body io.Reader, onRead func(), tm *OllamaTimings) {
	rec, st := a.rec, a.st
	data, release, err := readWhole(notifyReader{body, onRead}, maxBody)
	defer release()
	at := time.Now()
	var le *limitError
	switch {
	case errors.As(err, &le):
		a.streamError(le.msg, at)
	case err != nil:
		if !a.interrupted() {
			a.streamError("connection lost: "+err.Error(), at)
		}
	default:
		done, msg, bad := st.ollamaLine(bytes.TrimSpace(data), at, false, tm)
		switch {
		case bad:
			a.streamError(msg, at)
		case !done:
			a.streamError("response without \"done\": true", at)
		default:
			rec.Outcome, rec.End = record.OK, st.offset(at)
		}
	}
}

// ollamaNextLine returns the next NDJSON line of sr's body (without its
// line end) and the stamp of the read that completed it. At the end of the
// body it returns a last unterminated line first, then io.EOF.
func ollamaNextLine(sr *sseReader) ([]byte, time.Time, error) {
	for {
		if line, ok := sr.line(); ok {
			return line, sr.readAt, nil
		}
		if sr.err != nil {
			if sr.err != io.EOF {
				return nil, sr.readAt, sr.err
			}
			if sr.end-sr.start >= sr.maxLine {
				sr.err = errLineTooLong
				return nil, sr.readAt, sr.err
			}
			if sr.start < sr.end {
				line := bytes.TrimSuffix(sr.buf[sr.start:sr.end], []byte{'\r'})
				sr.start, sr.scanned = sr.end, 0
				return line, sr.readAt, nil
			}
			return nil, sr.readAt, io.EOF
		}
		sr.fill()
	}
}

// ollamaLine applies one native response object that arrived at t: its
// text (a chunk when streaming), and on the final line the engine's counts,
// done_reason and timings. done reports the final line; bad an {"error"}
// line or a malformed one, described by msg.
func (st *streamState) ollamaLine(line []byte, t time.Time, chunk bool, tm *OllamaTimings) (done bool, msg string, bad bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return false, limitText("malformed line: " + err.Error()), true
	}
	if top == nil {
		return false, "malformed line: " + errNotObject.Error(), true
	}
	if raw, ok := top["error"]; ok && isErrValue(raw) {
		return false, errorText(raw), true
	}
	var content, thinking []byte
	if m := refObject(top["message"]); m != nil {
		content, thinking = refString(m["content"]), refString(m["thinking"])
	} else {
		content, thinking = refString(top["response"]), refString(top["thinking"]) // /api/generate
	}
	if len(content) > 0 || len(thinking) > 0 {
		if !chunk {
			st.addText(thinking, content)
		} else if st.rec.ChunkCount >= maxEvents {
			return false, tooManyEvents, true
		} else {
			st.ollamaText(content, thinking, t)
		}
	}
	var isDone bool
	if json.Unmarshal(top["done"], &isDone) != nil || !isDone {
		return false, "", false
	}
	st.predictedN = max(refInt(top["eval_count"]), -1)
	st.promptN = max(refInt(top["prompt_eval_count"]), -1)
	if reason := refString(top["done_reason"]); len(reason) > 0 {
		st.rec.FinishReason = string(reason)
	}
	dur := func(key string) time.Duration { return time.Duration(max(refInt(top[key]), 0)) }
	*tm = OllamaTimings{
		Reported:           true,
		TotalDuration:      dur("total_duration"),
		LoadDuration:       dur("load_duration"),
		PromptEvalDuration: dur("prompt_eval_duration"),
		EvalDuration:       dur("eval_duration"),
		PromptEvalCount:    int(st.promptN),
		EvalCount:          int(st.predictedN),
		DoneReason:         st.rec.FinishReason,
	}
	st.server = ollamaServer(top, st.promptN, st.predictedN)
	return true, "", false
}

// ollamaText records one text-bearing line: reasoning (message.thinking)
// and answer (message.content) text, as Client records a chunk.
func (st *streamState) ollamaText(content, thinking []byte, t time.Time) {
	rec := st.rec
	off := st.offset(t)
	rec.ChunkCount++
	if rec.FirstToken == 0 {
		rec.FirstToken = off
	}
	if len(content) == 0 {
		rec.ReasonChunk++
	} else if rec.FirstAnswer == 0 {
		rec.FirstAnswer = off
	}
	rec.LastToken = off
	est := max(1, st.addText(thinking, content))
	rec.Chunks = append(rec.Chunks, record.Chunk{At: off, Est: est})
}

// ollamaServer is the engine's own account of an Ollama response from its
// final line: durations in ns become ms; a missing field stays nil (they are
// all omitempty in Ollama: a missing prompt_eval_count is unknown, not 0).
func ollamaServer(top map[string]json.RawMessage, promptN, evalN int64) *record.ServerTimings {
	var s record.ServerTimings
	var b optionals
	ms := func(key string) *float64 { return b.float(float64(refInt(top[key]))/1e6, 1) } // ns → ms; -1 stays negative
	s.TotalMS, s.LoadMS = ms("total_duration"), ms("load_duration")
	s.PromptMS, s.DecodeMS = ms("prompt_eval_duration"), ms("eval_duration")
	s.PromptTokens, s.DecodeTokens = b.count(promptN), b.count(evalN)
	if !b.any {
		return nil
	}
	return &s
}
