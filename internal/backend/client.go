package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"flperf/internal/record"
)

// Options configure a Client.
type Options struct {
	// APIKey is sent as "Authorization: Bearer <key>" when set. It is never
	// logged or stored in records.
	APIKey string
	// Authorization, when set, is sent as the Authorization header as it
	// is (e.g. "Basic …" for an endpoint's user:password) instead of the
	// APIKey's. Never logged or stored either.
	Authorization string
	// Timeout is the deadline of each request as a whole, from send to the
	// end of the body (0: none; a request sent again without stream_options
	// gets a fresh one). Expiry is recorded as a timeout with the phase the
	// request was in, keeping whatever arrived before it.
	Timeout time.Duration
	// IdleTimeout is the longest wait for more of the body once response
	// headers arrived (0: none). Any bytes, keep-alive comments included,
	// restart it. Expiry is recorded as a timeout with its phase.
	IdleTimeout time.Duration
	// MaxConns sizes the default transport's connection pool (0:
	// DefaultMaxConns). Set it to at least the load's concurrency, or
	// requests wait for a connection inside the transport after their send
	// time. Ignored when HTTPClient is set.
	MaxConns int
	// HTTPClient sends the requests; nil means a client over
	// NewTransport(DefaultMaxConns) that does not follow redirects. Its
	// Timeout should be 0: it would cap reading the stream.
	HTTPClient *http.Client
}

// Client sends chat completions to one OpenAI-compatible endpoint and
// measures each one into a record.Record. It is safe for concurrent use.
type Client struct {
	chatURL   string
	modelsURL string
	endpoint  string // base URL as recorded (password redacted)
	auth      string // Authorization header value, or ""
	timeout   time.Duration
	idle      time.Duration
	hc        *http.Client
	maxLine   int           // longest stream line accepted
	drainWait time.Duration // how long to wait for the end of the body after [DONE]

	noStreamOptions atomic.Bool // the endpoint rejected stream_options

	conns connPolicy // how connections are used: reused, or one per request once the server was seen closing them
}

// Body limits: a complete response, and the part of an error body read
// (of which ErrorBodyLimit bytes are kept).
const (
	maxBody      = 64 << 20
	maxErrorRead = 64 << 10
	maxDrain     = 1 << 20
)

// New returns a client for the OpenAI-style base URL baseURL, which ends in
// /v1 (a trailing slash is accepted): requests go to baseURL+"/chat/completions".
func New(baseURL string, opts Options) *Client {
	base := strings.TrimRight(baseURL, "/")
	endpoint := base
	if u, err := url.Parse(base); err == nil {
		endpoint = u.Redacted()
	}
	c := &Client{
		chatURL:   base + "/chat/completions",
		modelsURL: base + "/models",
		endpoint:  endpoint,
		timeout:   max(opts.Timeout, 0),
		idle:      max(opts.IdleTimeout, 0),
		hc:        opts.HTTPClient,
		maxLine:   DefaultMaxLine,
		drainWait: 100 * time.Millisecond,
	}
	if opts.APIKey != "" {
		c.auth = "Bearer " + opts.APIKey
	}
	if opts.Authorization != "" {
		c.auth = opts.Authorization
	}
	if c.hc == nil {
		c.hc = &http.Client{
			Transport: NewTransport(opts.MaxConns),
			// A redirect would be a hidden second request.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	c.conns.fresh, c.conns.window = freshClient(c.hc), closeAfterAnswer
	return c
}

// UsageOptionRejected reports whether the endpoint rejected
// stream_options, so that streaming requests are now sent without it (and
// carry no usage unless the server sends it anyway).
func (c *Client) UsageOptionRejected() bool { return c.noStreamOptions.Load() }

// Do sends req and fills rec with everything measured about it. The caller
// sets the identity fields of rec (and Scheduled in open-loop modes); Do
// sets all the others. It never returns an error: failures are recorded in
// rec (Outcome, Phase, Error, Status), with whatever arrived before them.
// End is when the response ended: [DONE] or the end of the body, or when a
// failure was seen; it stays 0 for timeouts and cancellations.
//
// Do never retries, with two exceptions made before anything is generated:
// when a streaming request is refused with HTTP 400 because of
// stream_options, it is sent once more without it, rec describes that second
// attempt, and the Client remembers not to send stream_options again; and a
// request whose reused connection the server had closed (no response byte
// arrived) is sent once more on a new connection, counted in
// rec.ConnRetries (see connPolicy), rec.Sent being when that one was sent.
func (c *Client) Do(ctx context.Context, req Request, rec *record.Record) {
	if rec == nil {
		return
	}
	scheduled := rec.Scheduled
	if c.attempt(ctx, &req, rec, scheduled, req.Stream && !c.noStreamOptions.Load()) {
		c.noStreamOptions.Store(true)
		retries := rec.ConnRetries
		c.attempt(ctx, &req, rec, scheduled, false)
		rec.ConnRetries += retries
	}
}

// attempt is the state of one HTTP exchange.
type attempt struct {
	c         *Client
	rec       *record.Record
	st        *streamState
	caller    context.Context // the context Do was given
	ctx       context.Context // caller + Timeout + idle watchdog
	sent      time.Time       // t_send
	scheduled time.Time       // t_sched as Do was given it (zero: none)
	connected atomic.Bool     // httptrace GotConn fired
	firstByte atomic.Int64    // httptrace GotFirstResponseByte, offset from Sent (0: not yet)
	headers   bool            // response headers received
	conn      connTrace       // the connection the request went out on
	retried   bool            // sent once more on a new connection (connPolicy)
	keep      int             // Request.KeepAnswer

	// What post built the request from, to build it again for a retry.
	url, accept, auth string
	body              []byte
}

// attempt performs one exchange into rec; it reports whether the request
// must be sent again without stream_options.
func (c *Client) attempt(ctx context.Context, req *Request, rec *record.Record, scheduled time.Time, streamOptions bool) (retry bool) {
	resetMeasured(rec)
	rec.Stream, rec.MaxTok, rec.Endpoint = req.Stream, req.MaxTokens, c.endpoint
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a := &attempt{c: c, rec: rec, caller: ctx, ctx: actx, keep: req.KeepAnswer}
	if c.timeout > 0 {
		var stop context.CancelFunc
		a.ctx, stop = context.WithTimeoutCause(actx, c.timeout, errRequestTimeout)
		defer stop()
	}

	hreq, err := c.newRequest(a, req, streamOptions)
	a.begin(scheduled)
	if err != nil {
		rec.Outcome, rec.Phase = record.ConnectError, record.PhaseConnect
		rec.Error = limitText("invalid request: " + err.Error())
		a.st.finish(req)
		return false
	}
	resp, err := a.send(hreq)
	hdrAt := time.Now()
	st := a.st
	defer st.finish(req)
	if err != nil {
		a.transportFailure(err, hdrAt)
		return false
	}
	defer resp.Body.Close()
	a.headers = true
	rec.Status = resp.StatusCode
	rec.FirstByte = time.Duration(a.firstByte.Load())
	if rec.FirstByte == 0 {
		rec.FirstByte = st.offset(hdrAt) // a transport without httptrace support
	}

	var onRead func()
	if c.idle > 0 {
		timer := time.AfterFunc(c.idle, func() { cancel(errIdleTimeout) })
		defer timer.Stop()
		onRead = func() { timer.Reset(c.idle) }
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(notifyReader{resp.Body, onRead}, maxErrorRead))
		if streamOptions && resp.StatusCode == http.StatusBadRequest && mentionsStreamOptions(data) {
			return true
		}
		rec.End = st.offset(time.Now())
		rec.Outcome, rec.Phase = record.HTTPError, record.PhaseHeaders
		rec.RetryAfter = limitText(resp.Header.Get("Retry-After"))
		rec.Error = limitText(string(data))
		if strings.TrimSpace(rec.Error) == "" {
			rec.Error = resp.Status
		}
		return false
	}

	if !req.Stream || isJSON(resp.Header.Get("Content-Type")) {
		a.wholeBody(resp.Body, onRead)
		return false
	}
	sr := newSSEReader(resp.Body, c.maxLine)
	sr.onRead = onRead
	end := st.consume(sr)
	switch end.kind {
	case endDone:
		rec.Outcome, rec.End = record.OK, st.offset(end.at)
		c.drain(resp.Body, cancel)
	case endEOF:
		rec.End = st.offset(end.at)
		if st.complete() {
			rec.Outcome = record.OK
		} else {
			a.streamError("stream ended before completion", end.at)
		}
	case endError:
		a.streamError(end.msg, end.at)
	case endRead:
		if !a.interrupted() {
			a.streamError("connection lost: "+end.err.Error(), end.at)
		}
	}
	return false
}

// newRequest builds the HTTP request, traced into a.
func (c *Client) newRequest(a *attempt, req *Request, streamOptions bool) (*http.Request, error) {
	body, err := buildBody(req, streamOptions)
	if err != nil {
		return nil, err
	}
	accept := "application/json"
	if req.Stream {
		accept = "text/event-stream"
	}
	return a.post(c.chatURL, body, accept, c.auth)
}

// post builds a POST of a JSON body whose first response byte and
// connection are traced into a (the one place both clients build requests).
// The request has no GetBody, so that net/http's transport never sends it
// again by itself (it would, on a reused connection that failed before
// anything was written): a retry is always send's, counted.
func (a *attempt) post(url string, body []byte, accept, auth string) (*http.Request, error) {
	a.url, a.body, a.accept, a.auth = url, body, accept, auth
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { a.conn.getConn(a.sent) },
		GotConn: func(info httptrace.GotConnInfo) {
			a.conn.gotConn(info)
			a.connected.Store(true)
		},
		GotFirstResponseByte: func() {
			a.firstByte.CompareAndSwap(0, int64(max(time.Since(a.sent), 1)))
		},
	}
	hreq, err := http.NewRequestWithContext(httptrace.WithClientTrace(a.ctx, trace),
		http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.GetBody = nil
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", accept)
	if auth != "" {
		hreq.Header.Set("Authorization", auth)
	}
	return hreq, nil
}

// begin stamps t_send, the last thing before the request is issued.
func (a *attempt) begin(scheduled time.Time) {
	rec := a.rec
	a.scheduled = scheduled
	a.sent = time.Now()
	rec.Sent, rec.Scheduled = a.sent, scheduled
	if scheduled.IsZero() {
		rec.Scheduled = rec.Sent
	}
	a.st = newStreamState(rec, a.sent)
	a.st.keep = a.keep
}

// wholeBody reads and applies a complete JSON response.
func (a *attempt) wholeBody(body io.Reader, onRead func()) {
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
		if msg, bad := st.whole(data); bad {
			a.streamError(msg, at)
			return
		}
		rec.Outcome, rec.End = record.OK, st.offset(at)
	}
}

// transportFailure records a request that got no response.
func (a *attempt) transportFailure(err error, at time.Time) {
	if a.interrupted() {
		return
	}
	rec := a.rec
	rec.End = a.st.offset(at)
	switch {
	case !a.connected.Load():
		rec.Outcome, rec.Phase = record.ConnectError, record.PhaseConnect
		rec.Error = limitText("connect: " + err.Error())
	case a.firstByte.Load() == 0:
		// Nothing came back on the connection: the request cannot have
		// been answered, only refused by a closing connection.
		rec.Outcome, rec.Phase = record.ConnectError, record.PhaseConnect
		rec.Error = limitText("connection closed before any response: " + err.Error())
	default:
		rec.Outcome, rec.Phase = record.StreamError, record.PhaseHeaders
		rec.Error = limitText("no response: " + err.Error())
	}
}

// streamError records a failure of the response body observed at t.
func (a *attempt) streamError(msg string, t time.Time) {
	rec := a.rec
	rec.Outcome, rec.Phase, rec.Error = record.StreamError, a.phase(), limitText(msg)
	rec.End = a.st.offset(t)
}

// interrupted records a timeout or cancellation when the attempt's context
// is done, and reports whether it was. Partial data stays in the record;
// End stays 0 (the response never ended).
func (a *attempt) interrupted() bool {
	if a.ctx.Err() == nil {
		return false
	}
	rec := a.rec
	rec.Phase, rec.End = a.phase(), 0
	rec.Outcome = record.Timeout
	switch cause := context.Cause(a.ctx); {
	case errors.Is(cause, errRequestTimeout):
		rec.Error = fmt.Sprintf("timeout: no complete response within %v (phase %s)", a.c.timeout, rec.Phase)
	case errors.Is(cause, errIdleTimeout):
		rec.Error = fmt.Sprintf("idle timeout: nothing received for %v (phase %s)", a.c.idle, rec.Phase)
	case errors.Is(a.caller.Err(), context.Canceled):
		rec.Outcome, rec.Error = record.Canceled, "canceled"
		if cause != nil && cause != context.Canceled {
			rec.Error = limitText("canceled: " + cause.Error())
		}
	default: // the caller's own deadline
		rec.Error = limitText(fmt.Sprintf("timeout: %v (phase %s)", cause, rec.Phase))
	}
	return true
}

// phase says how far the request got.
func (a *attempt) phase() record.Phase {
	switch {
	case a.rec.ChunkCount > 0:
		return record.PhaseStream
	case a.headers:
		return record.PhaseFirstToken
	case a.connected.Load():
		return record.PhaseHeaders
	}
	return record.PhaseConnect
}

// drain reads what follows [DONE] (normally just the end of the body) so the
// connection can be reused, waiting at most drainWait.
func (c *Client) drain(body io.Reader, cancel context.CancelCauseFunc) {
	t := time.AfterFunc(c.drainWait, func() { cancel(errDrained) })
	_, _ = io.CopyN(io.Discard, body, maxDrain)
	t.Stop()
}

// resetMeasured clears every field Do sets, so rec describes one attempt.
func resetMeasured(rec *record.Record) {
	rec.Sent, rec.Scheduled = time.Time{}, time.Time{}
	rec.FirstByte, rec.FirstToken, rec.FirstAnswer, rec.LastToken, rec.End = 0, 0, 0, 0, 0
	rec.Chunks, rec.ChunkCount, rec.ReasonChunk = nil, 0, 0
	rec.InputTokens, rec.InputSource = 0, record.SourceNone
	rec.OutputTokens, rec.OutputSource = 0, record.SourceNone
	rec.EngineOutTokens, rec.EstOutTokens, rec.CachedTokens = 0, 0, 0
	rec.Status, rec.FinishReason, rec.Outcome, rec.Phase, rec.Error = 0, "", "", "", ""
	rec.Text, rec.TextBytes, rec.TextChars = "", 0, 0
	rec.Answer, rec.AnswerCut = "", false
	rec.ConnRetries, rec.RetryAfter = 0, ""
}

// mentionsStreamOptions reports whether an HTTP 400 body blames stream_options.
func mentionsStreamOptions(body []byte) bool {
	b := bytes.ToLower(body)
	return bytes.Contains(b, []byte("stream_options")) || bytes.Contains(b, []byte("include_usage"))
}

// isJSON reports whether a Content-Type is JSON (a server that answered a
// streaming request with one complete response).
func isJSON(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	return strings.HasPrefix(ct, "application/json")
}

// notifyReader calls fn after every read that returned data.
type notifyReader struct {
	r  io.Reader
	fn func()
}

func (n notifyReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if k > 0 && n.fn != nil {
		n.fn()
	}
	return k, err
}

// Models lists the model ids the endpoint serves (GET baseURL+"/models"), in
// the server's order. HTTP >= 400 gives a *StatusError.
func (c *Client) Models(ctx context.Context) ([]string, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, c.modelsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("backend: list models: %w", err)
	}
	hreq.Header.Set("Accept", "application/json")
	if c.auth != "" {
		hreq.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("backend: list models: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorRead))
		return nil, &StatusError{StatusCode: resp.StatusCode, Body: limitText(string(data))}
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&list); err != nil {
		return nil, fmt.Errorf("backend: list models: decoding response: %w", err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}
