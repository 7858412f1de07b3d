package sim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// chat serves POST /v1/chat/completions.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error",
				msg: fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes)})
			return
		}
		writeError(w, *badRequest("", "reading request body: %v", err))
		return
	}
	par, apiErr := parseChat(body)
	if apiErr != nil {
		writeError(w, *apiErr)
		return
	}
	m := s.models[par.model]
	if m == nil {
		s.unknownModel(w, par.model)
		return
	}
	p := &m.p
	par.promptTokens += p.TemplateTokens
	if p.RejectStreamOptions && par.streamOptions {
		writeError(w, *badRequest("stream_options", "Unrecognized request argument supplied: stream_options"))
		return
	}

	k := m.count.Add(1) - 1
	g := &gen{
		s: s, m: m, p: p, w: w, par: par,
		id:      s.seq.Add(1),
		created: time.Now().Unix(),
	}
	s.emit(Event{Req: g.id, Model: p.Name, Kind: Arrived, At: time.Now()})
	g.plan(k)
	if g.status != 0 {
		writeError(w, statusFault(g.status))
		s.emit(Event{Req: g.id, Model: p.Name, Kind: End, At: time.Now()})
		return
	}

	ctx := r.Context()
	up(&s.inFlight, &s.maxInFlight)
	holding := false
	done := false
	finish := func() {
		if done {
			return
		}
		done = true
		if holding {
			// Leave Active before passing the slot on, so Active never
			// counts a slot twice.
			s.active.Add(-1)
			m.slots.release()
		}
		s.inFlight.Add(-1)
		s.emit(Event{Req: g.id, Model: p.Name, Kind: End, At: time.Now(), Tokens: g.sent})
	}
	defer finish()
	if m.slots.acquire(ctx) != nil {
		return
	}
	holding = true
	up(&s.active, &s.maxActive)
	g.origin = time.Now()
	g.par.cachedTokens = m.cache.lookup(g.par.keys, g.par.promptTokens)
	s.emit(Event{Req: g.id, Model: p.Name, Kind: Slot, At: g.origin, Cached: g.par.cachedTokens})

	g.sched = newSchedule(p, g.origin, g.par.promptTokens-g.par.cachedTokens, newRNG(p.Seed, k, streamJitter))
	g.sleep = newSleeper(ctx)
	defer g.sleep.stop()
	g.rc = http.NewResponseController(w)
	var cut bool
	if par.stream {
		cut = g.stream()
	} else {
		cut = g.complete()
	}
	if cut {
		finish()
		panic(http.ErrAbortHandler)
	}
	g.remember()
}

// statusFault is the answer of an injected status fault.
func statusFault(status int) apiError {
	switch status {
	case http.StatusTooManyRequests:
		return apiError{status: status, typ: "rate_limit_error", code: "rate_limit_exceeded",
			msg: "simulated rate limit (flperf simulated engine fault injection)"}
	case http.StatusServiceUnavailable:
		return apiError{status: status, typ: "server_error", code: "overloaded",
			msg: "simulated overload (flperf simulated engine fault injection)"}
	}
	return apiError{status: status, typ: "server_error",
		msg: "simulated internal error (flperf simulated engine fault injection)"}
}

// gen is one accepted chat completion request being generated.
type gen struct {
	s   *Server
	m   *model
	p   *Profile
	w   http.ResponseWriter
	rc  *http.ResponseController
	par params

	id      int64
	created int64

	// Plan.
	n         int    // completion tokens to generate, reasoning included
	reasoning int    // of which reasoning tokens (the first ones)
	finish    string // "stop" or "length"
	status    int    // injected status answer, 0 for none
	stall     bool
	cut       bool
	malformed bool
	usage     bool // send the final usage chunk (streaming)
	cumUsage  bool // every chunk carries cumulative usage (streaming)
	words     rng

	// Run.
	origin     time.Time
	sched      schedule
	sleep      sleeper
	firstDue   time.Time // due time of token 0
	lastDue    time.Time // due time of token n−1
	sent       int       // tokens delivered
	answer     []byte    // content text generated so far, for the prefix cache (see keepAnswer)
	answerLost bool      // the answer outgrew maxAnswerKeep or was not kept
	head       []byte    // frame start up to and including `"model":"…",`
	buf        []byte    // frame being built, reused
}

// plan fixes the output length, finish reason and faults of request k.
func (g *gen) plan(k uint64) {
	p, par := g.p, &g.par
	maxTok := par.maxTokens
	if maxTok == 0 {
		maxTok = p.maxTokens()
	}
	g.n = maxTok
	if !par.ignoreEOS && p.OutputTokens > 0 {
		g.n = min(maxTok, max(p.OutputTokens, par.minTokens))
	}
	g.finish = "length"
	if g.n < maxTok {
		g.finish = "stop"
	}
	g.reasoning = min(p.Reasoning, g.n)
	g.usage = p.Usage && par.includeUsage
	g.cumUsage = p.ContinuousUsage && par.continuous
	g.words = newRNG(p.Seed, k, streamWords)

	// Always draw all four numbers so that one fault's probability never
	// shifts another's sequence.
	f := &p.Faults
	r := newRNG(p.Seed, k, streamFaults)
	u, uStall, uCut, uMal := r.float(), r.float(), r.float(), r.float()
	switch {
	case u < f.Status429:
		g.status = http.StatusTooManyRequests
	case u < f.Status429+f.Status500:
		g.status = http.StatusInternalServerError
	case u < f.Status429+f.Status500+f.Status503:
		g.status = http.StatusServiceUnavailable
	}
	g.stall = uStall < f.Stall
	g.cut = uCut < f.Cut
	g.malformed = uMal < f.Malformed
}

// cutAt is how many tokens go out before a cut or a malformed frame.
func (g *gen) cutAt() int { return g.n / 2 }

// stallEnd reports whether an injected stall falls after the last token,
// that is before the finish chunk.
func (g *gen) stallEnd() bool { return g.stall && g.p.Faults.StallAt >= g.n }

// flush writes the frame in g.buf and flushes it; false once the client is gone.
func (g *gen) flush() bool {
	if _, err := g.w.Write(g.buf); err != nil {
		return false
	}
	if err := g.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	return true
}

// stream generates a streaming answer; cut reports an injected cut, after
// which the caller aborts the connection.
func (g *gen) stream() (cut bool) {
	p := g.p
	headersAt := g.origin
	if g.stall {
		if at := p.Faults.StallAt; at < 0 {
			headersAt = g.origin.Add(p.Faults.StallFor)
			g.sched.stall(0, p.Faults.StallFor)
		} else {
			g.sched.stall(at, p.Faults.StallFor)
		}
	}
	if g.sleep.until(headersAt) != nil {
		return false
	}
	h := g.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	g.w.WriteHeader(http.StatusOK)
	if err := g.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	g.s.emit(Event{Req: g.id, Model: p.Name, Kind: Headers, At: time.Now()})

	g.head = g.appendHead(make([]byte, 0, 160), "chat.completion.chunk")
	g.buf = make([]byte, 0, 256+8*p.chunkTokens())
	if p.RoleChunk {
		g.buf = append(g.buf[:0], g.head...)
		g.buf = append(g.buf, `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`...)
		g.buf = g.endFrame(g.buf, 0)
		if !g.flush() {
			return false
		}
	}

	per := p.chunkTokens()
	faulted := false
	for i := 0; i < g.n; {
		if !faulted && i >= g.cutAt() {
			faulted = true
			if g.malformed {
				g.buf = append(g.buf[:0], "data: {\"choices\":[{\"delta\":\n\n"...)
				if !g.flush() {
					return false
				}
			}
			if g.cut {
				return true
			}
		}
		end := g.n
		field := `"content":"`
		if i < g.reasoning {
			end, field = g.reasoning, `"reasoning_content":"`
		}
		end = min(end, i+per)
		var due time.Time
		for j := i; j < end; j++ {
			due = g.sched.next()
			if j == 0 {
				g.firstDue = due
			}
		}
		g.buf = append(g.buf[:0], g.head...)
		g.buf = append(g.buf, `"choices":[{"index":0,"delta":{`...)
		g.buf = append(g.buf, field...)
		at := len(g.buf)
		g.buf = appendWords(g.buf, &g.words, end-i)
		if i >= g.reasoning {
			g.keepAnswer(g.buf[at:])
		}
		g.buf = append(g.buf, `"},"finish_reason":null}]`...)
		g.buf = g.endFrame(g.buf, end)
		if g.sleep.until(due) != nil || !g.flush() {
			return false
		}
		g.s.emit(Event{Req: g.id, Model: p.Name, Kind: Chunk, At: time.Now(), Tokens: end - i, Due: due})
		g.sent, i = end, end
		g.lastDue = due
	}
	if g.stallEnd() && g.sleep.until(g.lastDue.Add(p.Faults.StallFor)) != nil {
		return false
	}

	g.buf = append(g.buf[:0], g.head...)
	g.buf = append(g.buf, `"choices":[{"index":0,"delta":{},"finish_reason":"`...)
	g.buf = append(g.buf, g.finish...)
	g.buf = append(g.buf, `"}]`...)
	if p.Timings && !g.usage {
		g.buf = g.appendTimings(g.buf)
	}
	g.buf = g.endFrame(g.buf, g.n)
	if !g.flush() {
		return false
	}
	if g.usage {
		g.buf = append(g.buf[:0], g.head...)
		g.buf = append(g.buf, `"choices":[],"usage":`...)
		g.buf = g.appendUsage(g.buf, g.n, true)
		if p.Timings {
			g.buf = g.appendTimings(g.buf)
		}
		g.buf = append(g.buf, "}\n\n"...)
		if !g.flush() {
			return false
		}
	}
	if !p.NoDone {
		g.buf = append(g.buf[:0], "data: [DONE]\n\n"...)
		g.flush()
	}
	return false
}

// complete generates a non-streaming answer, written whole when its last
// token is due; cut reports an injected cut (nothing has been written).
func (g *gen) complete() (cut bool) {
	p := g.p
	if g.stall {
		g.sched.stall(max(p.Faults.StallAt, 0), p.Faults.StallFor)
	}
	cutDue := g.origin
	for i := range g.n {
		due := g.sched.next()
		if i == 0 {
			g.firstDue = due
		}
		if i == g.cutAt()-1 {
			cutDue = due
		}
		g.lastDue = due
	}
	if g.cut {
		g.sleep.until(cutDue)
		return g.sleep.ctx.Err() == nil
	}
	end := g.lastDue
	if g.stallEnd() {
		end = end.Add(p.Faults.StallFor)
	}
	if g.sleep.until(end) != nil {
		return false
	}

	b := g.appendHead(make([]byte, 0, 512+7*g.n), "chat.completion")
	b = b[len("data: "):]
	if g.malformed {
		b = append(b, `"choices":[{"index":0,"message":`...)
	} else {
		// Words are drawn in generation order: reasoning first.
		var thought []byte
		if g.reasoning > 0 {
			thought = appendWords(make([]byte, 0, 7*g.reasoning), &g.words, g.reasoning)
		}
		b = append(b, `"choices":[{"index":0,"message":{"role":"assistant","content":"`...)
		at := len(b)
		b = appendWords(b, &g.words, g.n-g.reasoning)
		g.keepAnswer(b[at:])
		b = append(b, '"')
		if g.reasoning > 0 {
			b = append(b, `,"reasoning_content":"`...)
			b = append(b, thought...)
			b = append(b, '"')
		}
		b = append(b, `},"finish_reason":"`...)
		b = append(b, g.finish...)
		b = append(b, `"}]`...)
		if p.Usage {
			b = append(b, `,"usage":`...)
			b = g.appendUsage(b, g.n, true)
		}
		if p.Timings {
			b = g.appendTimings(b)
		}
		b = append(b, "}\n"...)
	}
	h := g.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(b)))
	g.w.WriteHeader(http.StatusOK)
	g.w.Write(b)
	g.sent = g.n
	g.s.emit(Event{Req: g.id, Model: p.Name, Kind: Headers, At: time.Now()})
	return false
}
