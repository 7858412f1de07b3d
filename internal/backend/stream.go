package backend

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"flperf/internal/record"
	"flperf/internal/tokens"
)

// streamState accumulates what the frames of one response say into its
// record. Timestamps arrive with the frames; nothing here reads the clock.
type streamState struct {
	rec    *record.Record
	sent   time.Time
	parser chunkParser
	f      frame

	// The generated text (reasoning and content, in arrival order) is not
	// kept: only what the record stores of it.
	head   []byte         // its first textKeep bytes
	nbytes int            // its length
	runes  runeCounter    // its length in characters
	est    tokens.Counter // its token estimate
	// The answer (content only) is kept when the request asks for it
	// (Request.KeepAnswer), up to keep bytes: a conversation sends it back.
	keep    int
	answer  []byte
	answerN int // the answer's whole length in bytes

	// Latest values reported by the server (-1: never).
	prompt, completion, cached  int64
	promptN, predictedN, cacheN int64
	promptMS, predictedMS       float64 // llama.cpp timings (-1: never)
	statsTPS, statsTTFT         float64 // LM Studio stats (-1: never)
	statsGen                    float64
	server                      *record.ServerTimings // set by a native protocol (Ollama); else built from the above

	prevCompletion int64 // usage.completion_tokens at the previous text event
	contUsage      bool  // every text event so far carried usage.completion_tokens
}

func newStreamState(rec *record.Record, sent time.Time) *streamState {
	return &streamState{
		rec: rec, sent: sent,
		prompt: -1, completion: -1, cached: -1,
		promptN: -1, predictedN: -1, cacheN: -1,
		promptMS: -1, predictedMS: -1, statsTPS: -1, statsTTFT: -1, statsGen: -1,
		contUsage: true,
	}
}

// offset is t − t_send, clamped so that a real event is never 0 ("did not happen").
func (st *streamState) offset(t time.Time) time.Duration {
	return max(t.Sub(st.sent), 1)
}

// endKind says how a stream stopped.
type endKind int

const (
	endDone  endKind = iota // data: [DONE]
	endEOF                  // the body ended cleanly without [DONE]
	endError                // an error frame, a malformed frame or an overlong line
	endRead                 // a read failed (connection cut, timeout, cancel)
)

// streamEnd is how and when a stream stopped.
type streamEnd struct {
	kind endKind
	at   time.Time
	msg  string // endError: the error text
	err  error  // endRead: the read error
}

var doneMarker = []byte("[DONE]")

// consume reads events until the stream stops, then releases sr.
func (st *streamState) consume(sr *sseReader) streamEnd {
	defer sr.release()
	for {
		ev, err := sr.next()
		switch {
		case err == io.EOF:
			return streamEnd{kind: endEOF, at: sr.readAt}
		case sr.limitErr(err) != nil:
			return streamEnd{kind: endError, at: sr.readAt, msg: sr.limitErr(err).msg}
		case err != nil:
			return streamEnd{kind: endRead, at: sr.readAt, err: err}
		case ev.errorField:
			return streamEnd{kind: endError, at: ev.at, msg: "error field: " + errorText(ev.data)}
		case ev.errorType:
			return streamEnd{kind: endError, at: ev.at, msg: "error event: " + errorText(ev.data)}
		case bytes.Equal(bytes.TrimSpace(ev.data), doneMarker):
			return streamEnd{kind: endDone, at: ev.at}
		}
		if msg, bad := st.chunk(ev.data, ev.at); bad {
			return streamEnd{kind: endError, at: ev.at, msg: msg}
		}
	}
}

// chunk applies one stream chunk that arrived at t; bad reports an error or
// malformed frame, described by msg.
func (st *streamState) chunk(data []byte, t time.Time) (msg string, bad bool) {
	f := &st.f
	if err := st.parser.parse(data, f); err != nil {
		return limitText("malformed frame: " + err.Error()), true
	}
	if f.errVal != nil {
		return errorText(f.errVal), true
	}
	st.counts(f)
	reasoning := f.reasoningContent
	if len(reasoning) == 0 {
		reasoning = f.reasoning // Ollama, LM Studio; vLLM may send both, identical
	}
	if len(reasoning) == 0 && len(f.content) == 0 {
		return "", false // role-only, empty delta, usage-only or finish chunk
	}
	rec := st.rec
	if rec.ChunkCount >= maxEvents {
		return tooManyEvents, true
	}
	off := st.offset(t)
	rec.ChunkCount++
	if rec.FirstToken == 0 {
		rec.FirstToken = off
	}
	if len(f.content) == 0 {
		rec.ReasonChunk++
	} else if rec.FirstAnswer == 0 {
		rec.FirstAnswer = off
	}
	rec.LastToken = off

	est := max(1, st.addText(reasoning, f.content))
	n := 0
	if f.completionTokens >= 0 && st.contUsage {
		// Cumulative usage in every chunk (vLLM continuous_usage_stats).
		if d := f.completionTokens - st.prevCompletion; d > 0 {
			n = int(d)
		}
		st.prevCompletion = f.completionTokens
	} else {
		st.contUsage = false
	}
	rec.Chunks = append(rec.Chunks, record.Chunk{At: off, Tokens: n, Est: est})
	return "", false
}

// What a response may cost however long it runs (README "Memory bounds"):
// textKeep bytes of its text (enough for truncUTF8 to cut at record.TextLimit
// exactly as on the whole text) and maxEvents text events in its record (24
// bytes each).
const (
	textKeep  = record.TextLimit + 1
	maxEvents = 1 << 18
)

// tooManyEvents is the error of a response with more than maxEvents text events.
var tooManyEvents = "more than " + strconv.Itoa(maxEvents) + " text events in one response"

// addText takes one event's text, reasoning then content, and returns its
// token estimate.
func (st *streamState) addText(reasoning, content []byte) int {
	var c tokens.Counter
	for _, p := range [2][]byte{reasoning, content} {
		if room := textKeep - len(st.head); room > 0 {
			st.head = append(st.head, p[:min(len(p), room)]...)
		}
		st.nbytes += len(p)
		st.runes.Write(p)
		st.est.Write(p)
		c.Write(p)
	}
	if st.keep > 0 {
		// A few bytes beyond keep, so that truncUTF8 cuts at keep as it
		// would the whole answer.
		if room := st.keep + utf8.UTFMax - len(st.answer); room > 0 {
			st.answer = append(st.answer, content[:min(len(content), room)]...)
		}
		st.answerN += len(content)
	}
	return c.Count()
}

// counts keeps the latest usage, timings and finish reason of a frame.
func (st *streamState) counts(f *frame) {
	keep := func(dst *int64, v int64) {
		if v >= 0 {
			*dst = v
		}
	}
	keep(&st.prompt, f.promptTokens)
	keep(&st.completion, f.completionTokens)
	keep(&st.cached, f.cachedTokens)
	keep(&st.promptN, f.promptN)
	keep(&st.predictedN, f.predictedN)
	keep(&st.cacheN, f.cacheN)
	keepF := func(dst *float64, v float64) {
		if v >= 0 {
			*dst = v
		}
	}
	keepF(&st.promptMS, f.promptMS)
	keepF(&st.predictedMS, f.predictedMS)
	keepF(&st.statsTPS, f.statsTPS)
	keepF(&st.statsTTFT, f.statsTTFT)
	keepF(&st.statsGen, f.statsGen)
	if len(f.finish) > 0 && string(f.finish) != st.rec.FinishReason {
		st.rec.FinishReason = string(f.finish)
	}
}

// complete reports whether the stream said it was complete: a finish reason
// or a usage report was seen (a stream may end at EOF without [DONE]).
func (st *streamState) complete() bool {
	return st.rec.FinishReason != "" || st.completion >= 0 || st.prompt >= 0
}

// whole applies a complete (non-streaming) response body.
func (st *streamState) whole(body []byte) (msg string, bad bool) {
	f := &st.f
	if err := refParse(body, "message", f); err != nil {
		return limitText("malformed response: " + err.Error()), true
	}
	if f.errVal != nil {
		return errorText(f.errVal), true
	}
	st.counts(f)
	reasoning := f.reasoningContent
	if len(reasoning) == 0 {
		reasoning = f.reasoning
	}
	st.addText(reasoning, f.content)
	return "", false
}

// finish fills the text and token counts of the record (docs/metrics.md §2),
// whatever the outcome: partial responses keep what arrived.
func (st *streamState) finish(req *Request) {
	rec := st.rec
	rec.TextBytes, rec.TextChars = st.nbytes, st.runes.Count()
	rec.Text = truncUTF8(string(st.head), record.TextLimit)
	if st.keep > 0 {
		rec.Answer = truncUTF8(string(st.answer), st.keep)
		rec.AnswerCut = st.answerN > st.keep
	}
	est := st.est.Count()
	rec.EstOutTokens = est

	if st.predictedN >= 0 {
		rec.EngineOutTokens = int(st.predictedN)
	}
	// A zero count beside generated text is a placeholder, not a count.
	switch {
	case st.completion > 0 || st.completion == 0 && est == 0:
		rec.OutputTokens, rec.OutputSource = int(st.completion), record.SourceUsage
	case st.predictedN > 0 || st.predictedN == 0 && est == 0:
		rec.OutputTokens, rec.OutputSource = int(st.predictedN), record.SourceEngine
	case est > 0:
		rec.OutputTokens, rec.OutputSource = est, record.SourceEstimate
	case rec.ChunkCount > 0:
		rec.OutputTokens, rec.OutputSource = rec.ChunkCount, record.SourceChunks
	default:
		rec.OutputTokens, rec.OutputSource = 0, record.SourceNone
	}

	inEst := -1 // computed only when needed
	estimateInput := func() int {
		if inEst < 0 {
			inEst = 0
			for _, m := range req.Messages {
				inEst += tokens.Estimate(m.Content)
			}
		}
		return inEst
	}
	engineIn := int64(-1)
	if st.promptN >= 0 || st.cacheN >= 0 {
		engineIn = max(st.promptN, 0) + max(st.cacheN, 0)
	}
	switch {
	case st.prompt > 0 || st.prompt == 0 && estimateInput() == 0:
		rec.InputTokens, rec.InputSource = int(st.prompt), record.SourceUsage
	case engineIn > 0 || engineIn == 0 && estimateInput() == 0:
		rec.InputTokens, rec.InputSource = int(engineIn), record.SourceEngine
	default:
		rec.InputTokens, rec.InputSource = estimateInput(), record.SourceEstimate
	}

	switch {
	case st.cached >= 0:
		rec.CachedTokens = int(st.cached)
	case st.cacheN >= 0:
		rec.CachedTokens = int(st.cacheN)
	}
	rec.Server = st.server
	if rec.Server == nil {
		rec.Server = st.serverTimings()
	}
}

// serverTimings is what the engine reported of itself: llama.cpp's timings
// (ms) or LM Studio's stats (seconds); nil when it reported neither.
func (st *streamState) serverTimings() *record.ServerTimings {
	var s record.ServerTimings
	var b optionals
	s.PromptMS, s.DecodeMS = b.float(st.promptMS, 1), b.float(st.predictedMS, 1)
	if st.promptMS >= 0 || st.predictedMS >= 0 {
		s.PromptTokens, s.DecodeTokens = b.count(st.promptN), b.count(st.predictedN)
	}
	if s.DecodeMS == nil {
		s.DecodeMS = b.float(st.statsGen, 1000)
	}
	s.TTFTMS, s.DecodeTPS = b.float(st.statsTTFT, 1000), b.float(st.statsTPS, 1)
	if !b.any {
		return nil
	}
	return &s
}

// optionals turns reported figures (negative: not reported) into optional
// fields, noting whether any was reported.
type optionals struct{ any bool }

// float returns v × scale, or nil when v < 0.
func (o *optionals) float(v, scale float64) *float64 {
	if v < 0 {
		return nil
	}
	o.any = true
	x := v * scale
	return &x
}

// count returns v, or nil when v < 0.
func (o *optionals) count(v int64) *int {
	if v < 0 {
		return nil
	}
	o.any = true
	x := int(v)
	return &x
}

// errorText turns an error value (a JSON object with a message, a JSON
// string, or anything else) into at most 1 KiB of text.
func errorText(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	var obj struct {
		Error   json.RawMessage `json:"error"`
		Message *string         `json:"message"`
		Type    *string         `json:"type"`
	}
	var s string
	switch {
	case len(raw) == 0:
		return "(no details)"
	case json.Unmarshal(raw, &s) == nil:
		return limitText(s)
	case json.Unmarshal(raw, &obj) == nil:
		if obj.Message == nil && len(obj.Error) > 0 && string(obj.Error) != "null" {
			return errorText(obj.Error) // an event whose data is {"error": …}
		}
		if obj.Message != nil {
			msg := *obj.Message
			if obj.Type != nil && *obj.Type != "" {
				msg += " (" + *obj.Type + ")"
			}
			return limitText(msg)
		}
	}
	return limitText(string(raw))
}
