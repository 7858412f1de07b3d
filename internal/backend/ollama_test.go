package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/tokens"
)

// ollamaFake serves the fake Ollama of package dialect on 127.0.0.1 and
// records the bodies of its /api/chat requests.
type ollamaFake struct {
	*dialect.Ollama
	URL string

	mu     sync.Mutex
	bodies []map[string]any
	events []sim.Event
}

func newOllamaFake(t *testing.T, profiles ...sim.Profile) *ollamaFake {
	t.Helper()
	return newOllamaFakeWith(t, nil, profiles...)
}

// newOllamaFakeWith is newOllamaFake whose every flush, when ls is not
// nil, waits for ls's client to have read all the server wrote.
func newOllamaFakeWith(t *testing.T, ls *lockstep, profiles ...sim.Profile) *ollamaFake {
	t.Helper()
	o, err := dialect.NewOllama(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	f := &ollamaFake{Ollama: o}
	o.Sim().SetTrace(func(e sim.Event) {
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
	})
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(data, &body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(data))
		if ls != nil {
			w = &lockstepWriter{ResponseWriter: w, rc: http.NewResponseController(w), ls: ls, ctx: r.Context()}
		}
		o.ServeHTTP(w, r)
	}))
	if ls != nil {
		s.Listener = lockstepListener{s.Listener, ls}
	}
	s.Start()
	t.Cleanup(s.Close)
	f.URL = s.URL
	return f
}

// lockstep keeps a fake server one flush ahead of its client at most: after
// each flush the server waits until the client has read from its
// connection every byte the server wrote. Lines flushed separately then
// reach the client in separate reads, whatever the machine's load, so each
// gets its own stamp (docs/metrics.md §1: lines that arrive in one read
// share its time). A handshake, not a sleep: it waits exactly as long as
// the client takes.
type lockstep struct {
	mu      sync.Mutex
	written int64         // bytes the server wrote to its connections
	read    int64         // bytes the client read from its connections
	more    chan struct{} // closed, and replaced, at each client read
}

func newLockstep() *lockstep { return &lockstep{more: make(chan struct{})} }

func (ls *lockstep) wrote(n int) {
	ls.mu.Lock()
	ls.written += int64(n)
	ls.mu.Unlock()
}

func (ls *lockstep) gotRead(n int) {
	ls.mu.Lock()
	ls.read += int64(n)
	close(ls.more)
	ls.more = make(chan struct{})
	ls.mu.Unlock()
}

// waitRead returns once the client has read all the server wrote, or ctx
// (the request's: the client went away) is done.
func (ls *lockstep) waitRead(ctx context.Context) {
	for {
		ls.mu.Lock()
		caughtUp, more := ls.read >= ls.written, ls.more
		ls.mu.Unlock()
		if caughtUp {
			return
		}
		select {
		case <-more:
		case <-ctx.Done():
			return
		}
	}
}

// client is an HTTP client as flperf's own (NewTransport, no redirects)
// whose connections count what they read for ls.
func (ls *lockstep) client() *http.Client {
	tr := NewTransport(0)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return clientConn{c, ls}, nil
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// clientConn counts the bytes the client reads.
type clientConn struct {
	net.Conn
	ls *lockstep
}

func (c clientConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.ls.gotRead(n)
	}
	return n, err
}

// serverConn counts the bytes the server writes.
type serverConn struct {
	net.Conn
	ls *lockstep
}

func (c serverConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.ls.wrote(n)
	return n, err
}

// lockstepListener hands the server connections that count their writes.
type lockstepListener struct {
	net.Listener
	ls *lockstep
}

func (l lockstepListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return serverConn{c, l.ls}, nil
}

// lockstepWriter is the response writer whose flushes wait for the client.
type lockstepWriter struct {
	http.ResponseWriter
	rc  *http.ResponseController
	ls  *lockstep
	ctx context.Context
}

func (w *lockstepWriter) FlushError() error {
	if err := w.rc.Flush(); err != nil {
		return err
	}
	w.ls.waitRead(w.ctx)
	return nil
}

// chunks returns the traced chunk events.
func (f *ollamaFake) chunks() []sim.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sim.Event
	for _, e := range f.events {
		if e.Kind == sim.Chunk {
			out = append(out, e)
		}
	}
	return out
}

// ollamaRun sends req natively and checks what holds for every record.
func ollamaRun(t *testing.T, ctx context.Context, c *OllamaNative, req Request) (*record.Record, OllamaTimings) {
	t.Helper()
	rec := &record.Record{Seq: 4, Model: req.Model, Scenario: "s", Worker: 1}
	tm := c.DoTimings(ctx, req, rec)
	if rec.Seq != 4 || rec.Scenario != "s" || rec.Worker != 1 {
		t.Errorf("identity fields changed: %+v", rec)
	}
	checkRecordInvariants(t, rec)
	if rec.Sent.IsZero() || rec.Scheduled.IsZero() || !rec.Stream == req.Stream {
		t.Errorf("Sent %v Scheduled %v Stream %v", rec.Sent, rec.Scheduled, rec.Stream)
	}
	return rec, tm
}

func ollamaReq(model string, maxTokens int) Request {
	return Request{Model: model, Messages: []Message{{Role: "user", Content: "Why is the sky blue"}}, MaxTokens: maxTokens, Stream: true}
}

func TestOllamaNativeAgainstFake(t *testing.T) {
	const ttft = 40 * time.Millisecond
	f := newOllamaFake(t, sim.Profile{Name: "m:1b", TTFT: ttft, DecodeTPS: 500, TokensPerChunk: 1, Seed: 1})
	f.LoadTime = 100 * time.Millisecond
	c := NewOllamaNative(f.URL, Options{})
	req := ollamaReq("m:1b", 20)
	zero := 0.0
	req.Temperature, req.Stop = &zero, []string{"\n\n"}
	rec, tm := ollamaRun(t, t.Context(), c, req)
	expect(t, rec, record.OK, "")

	body := f.bodies[0]
	opts, _ := body["options"].(map[string]any)
	if body["model"] != "m:1b" || body["stream"] != true || opts["num_predict"] != 20.0 || opts["temperature"] != 0.0 ||
		len(opts["stop"].([]any)) != 1 || len(body["messages"].([]any)) != 1 {
		t.Errorf("request body %v", body)
	}

	if rec.Status != 200 || rec.Endpoint != f.URL || rec.FinishReason != "length" {
		t.Errorf("status %d endpoint %q finish %q", rec.Status, rec.Endpoint, rec.FinishReason)
	}
	if !tm.Reported || tm.EvalCount != 20 || rec.OutputTokens != tm.EvalCount || rec.OutputSource != record.SourceEngine || rec.EngineOutTokens != 20 {
		t.Errorf("output tokens %d (%s), engine %d, eval_count %d", rec.OutputTokens, rec.OutputSource, rec.EngineOutTokens, tm.EvalCount)
	}
	if rec.InputTokens != tokens.Estimate(req.Messages[0].Content)+dialect.OllamaTemplateTokens || rec.InputTokens != tm.PromptEvalCount || rec.InputSource != record.SourceEngine {
		t.Errorf("input tokens %d (%s), prompt_eval_count %d", rec.InputTokens, rec.InputSource, tm.PromptEvalCount)
	}
	if rec.ChunkCount != 20 || rec.ReasonChunk != 0 || rec.EstOutTokens != 20 || len(strings.Fields(rec.Text)) != 20 || rec.TextBytes != len(rec.Text) {
		t.Errorf("%d chunks, est %d, text %q", rec.ChunkCount, rec.EstOutTokens, rec.Text)
	}
	if rec.FirstAnswer != rec.FirstToken || rec.FirstByte <= 0 || rec.FirstByte > rec.FirstToken || rec.End < rec.LastToken {
		t.Errorf("first byte %v first token %v first answer %v last %v end %v",
			rec.FirstByte, rec.FirstToken, rec.FirstAnswer, rec.LastToken, rec.End)
	}

	// Every line was read after the fake's schedule made it due, and the
	// first one not long after (a loose bound for a loaded machine).
	events := f.chunks()
	if len(events) != 20 {
		t.Fatalf("%d chunk events", len(events))
	}
	for i, e := range events {
		if at := rec.Sent.Add(rec.Chunks[i].At); at.Before(e.Due) {
			t.Errorf("chunk %d read %v before it was due", i, e.Due.Sub(at))
		}
	}
	if rec.FirstToken < f.LoadTime+ttft || rec.FirstToken > f.LoadTime+ttft+500*time.Millisecond {
		t.Errorf("TTFT %v, the fake's schedule says %v", rec.FirstToken, f.LoadTime+ttft)
	}
	if late := rec.Sent.Add(rec.FirstToken).Sub(events[0].Due); late > 200*time.Millisecond {
		t.Errorf("first token read %v after it was due", late)
	}

	// The server's own timings sit inside the client's view of the request.
	if tm.TotalDuration <= 0 || tm.TotalDuration > rec.End || tm.LoadDuration < f.LoadTime || tm.PromptEvalDuration <= 0 ||
		tm.EvalDuration <= 0 || tm.LoadDuration+tm.PromptEvalDuration+tm.EvalDuration > tm.TotalDuration || tm.DoneReason != "length" {
		t.Errorf("server timings %+v, client end %v", tm, rec.End)
	}
	if tm.DecodeRate() <= 0 {
		t.Errorf("decode rate %v", tm.DecodeRate())
	}

	// A second request finds the model loaded.
	_, tm2 := ollamaRun(t, t.Context(), c, ollamaReq("m:1b", 2))
	if tm2.LoadDuration >= f.LoadTime {
		t.Errorf("warm request: load_duration %v", tm2.LoadDuration)
	}
}

func TestOllamaNativeThinkingAndWhole(t *testing.T) {
	// In lockstep every line reaches the client in a read of its own, so
	// the first answer line's stamp is later than the reasoning lines'.
	ls := newLockstep()
	f := newOllamaFakeWith(t, ls, sim.Profile{Name: "think:1b", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Reasoning: 3, OutputTokens: 8, Seed: 2})
	c := NewOllamaNative(f.URL+"/v1/", Options{HTTPClient: ls.client()}) // an OpenAI base URL works too
	rec, _ := ollamaRun(t, t.Context(), c, ollamaReq("think:1b", 0))
	expect(t, rec, record.OK, "")
	if rec.ChunkCount != 8 || rec.ReasonChunk != 3 || rec.FirstAnswer <= rec.FirstToken || rec.FirstAnswer != rec.Chunks[3].At ||
		rec.OutputTokens != 8 || rec.FinishReason != "stop" {
		t.Errorf("thinking: %+v", rec)
	}
	if _, ok := f.bodies[0]["options"]; ok {
		t.Errorf("options sent without any option set: %v", f.bodies[0])
	}

	req := ollamaReq("think:1b", 0)
	req.Stream = false
	rec, tm := ollamaRun(t, t.Context(), c, req)
	expect(t, rec, record.OK, "")
	if rec.ChunkCount != 0 || len(strings.Fields(rec.Text)) != 8 || rec.OutputTokens != 8 || rec.OutputSource != record.SourceEngine ||
		!tm.Reported || rec.End <= 0 || f.bodies[1]["stream"] != false {
		t.Errorf("non-streaming: %+v %+v", rec, tm)
	}
}

func TestOllamaNativeNotPulled(t *testing.T) {
	f := newOllamaFake(t, sim.Profile{Name: "m:1b", DecodeTPS: 1000})
	f.SetPulled("m:1b", false)
	rec, tm := ollamaRun(t, t.Context(), NewOllamaNative(f.URL, Options{}), ollamaReq("m:1b", 4))
	expect(t, rec, record.HTTPError, record.PhaseHeaders)
	if rec.Status != 404 || !strings.Contains(rec.Error, `model \"m:1b\" not found, try pulling it first`) || tm.Reported || rec.End <= 0 {
		t.Errorf("status %d error %q", rec.Status, rec.Error)
	}
}

func TestOllamaNativeCut(t *testing.T) {
	p := sim.Profile{Name: "m:1b", DecodeTPS: 2000, Seed: 1}
	p.Faults.Cut = 1
	f := newOllamaFake(t, p)
	rec, _ := ollamaRun(t, t.Context(), NewOllamaNative(f.URL, Options{}), ollamaReq("m:1b", 10))
	expect(t, rec, record.StreamError, record.PhaseStream)
	if rec.ChunkCount != 5 || rec.OutputSource != record.SourceEstimate || rec.OutputTokens != 5 {
		t.Errorf("cut after 5 tokens: %d chunks, %d tokens (%s), error %q", rec.ChunkCount, rec.OutputTokens, rec.OutputSource, rec.Error)
	}
}

// ollamaChunk is one native content line.
func ollamaChunk(s string) string {
	return `{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":` + jsonString(s) + `},"done":false}` + "\n"
}

const ollamaDone = `{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",` +
	`"total_duration":2401877000,"load_duration":1350220000,"prompt_eval_count":24,"prompt_eval_duration":61000000,"eval_count":57,"eval_duration":905000000}` + "\n"

func TestOllamaNativeStreams(t *testing.T) {
	cases := []struct {
		name    string
		steps   []any
		outcome record.Outcome
		phase   record.Phase
		errPart string
		chunks  int
		out     int
		src     record.TokenSource
	}{
		{"two text lines then done", []any{ollamaChunk("Rain"), ollamaChunk(" falls"), ollamaDone}, record.OK, "", "", 2, 57, record.SourceEngine},
		{"CRLF, blank lines, lines split across writes", []any{"\r\n", ollamaChunk("a")[:20], ollamaChunk("a")[20:], "\n", strings.ReplaceAll(ollamaDone, "\n", "\r\n")},
			record.OK, "", "", 1, 57, record.SourceEngine},
		{"no final newline", []any{ollamaChunk("a"), strings.TrimSuffix(ollamaDone, "\n")}, record.OK, "", "", 1, 57, record.SourceEngine},
		{"generate shape", []any{`{"response":"a b","done":false}` + "\n", `{"response":"","done":true,"eval_count":2}` + "\n"}, record.OK, "", "", 1, 2, record.SourceEngine},
		{"no counts", []any{ollamaChunk("one two three"), `{"done":true}` + "\n"}, record.OK, "", "", 1, 3, record.SourceEstimate},
		{"error line mid-stream", []any{ollamaChunk("a"), ollamaChunk(" b"), `{"error":"an error was encountered while running the model: unexpected EOF"}` + "\n"},
			record.StreamError, record.PhaseStream, "unexpected EOF", 2, 2, record.SourceEstimate},
		{"error line first", []any{`{"error":"model requires more system memory (9.1 GiB) than is available (4.0 GiB)"}` + "\n"},
			record.StreamError, record.PhaseFirstToken, "more system memory", 0, 0, record.SourceNone},
		{"ends without done", []any{ollamaChunk("a"), ollamaChunk(" b")}, record.StreamError, record.PhaseStream, "ended before the done line", 2, 2, record.SourceEstimate},
		{"empty body", nil, record.StreamError, record.PhaseFirstToken, "ended before the done line", 0, 0, record.SourceNone},
		{"malformed line", []any{ollamaChunk("a"), `{"message":{"content":` + "\n", ollamaDone}, record.StreamError, record.PhaseStream, "malformed line", 1, 1, record.SourceEstimate},
		{"not an object", []any{"null\n"}, record.StreamError, record.PhaseFirstToken, "malformed line", 0, 0, record.SourceNone},
		{"cut", []any{ollamaChunk("a"), func() { panic(http.ErrAbortHandler) }}, record.StreamError, record.PhaseStream, "connection lost", 1, 1, record.SourceEstimate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := streamServer(t, c.steps...)
			rec, tm := ollamaRun(t, t.Context(), NewOllamaNative(ts.URL, Options{}), ollamaReq("m", 64))
			expect(t, rec, c.outcome, c.phase)
			if !strings.Contains(rec.Error, c.errPart) || rec.ChunkCount != c.chunks || rec.OutputTokens != c.out || rec.OutputSource != c.src {
				t.Errorf("error %q (want %q), %d chunks (want %d), %d tokens from %q (want %d from %q)",
					rec.Error, c.errPart, rec.ChunkCount, c.chunks, rec.OutputTokens, rec.OutputSource, c.out, c.src)
			}
			if rec.End <= 0 || rec.Status != 200 {
				t.Errorf("End %v status %d", rec.End, rec.Status)
			}
			if c.outcome == record.OK != tm.Reported {
				t.Errorf("timings reported %v for outcome %s", tm.Reported, rec.Outcome)
			}
		})
	}
	ts := streamServer(t, ollamaChunk("Rain"), ollamaDone)
	_, tm := ollamaRun(t, t.Context(), NewOllamaNative(ts.URL, Options{}), ollamaReq("m", 64))
	want := OllamaTimings{Reported: true, TotalDuration: 2401877000, LoadDuration: 1350220000, PromptEvalDuration: 61000000,
		EvalDuration: 905000000, PromptEvalCount: 24, EvalCount: 57, DoneReason: "stop"}
	if tm != want {
		t.Errorf("timings %+v, want %+v", tm, want)
	}
}

func TestOllamaNativeHTTPError(t *testing.T) {
	ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`)
	})
	rec, _ := ollamaRun(t, t.Context(), NewOllamaNative(ts.URL, Options{}), ollamaReq("m", 8))
	expect(t, rec, record.HTTPError, record.PhaseHeaders)
	if rec.Status != 503 || !strings.Contains(rec.Error, "maximum pending requests") || rec.FirstToken != 0 {
		t.Errorf("status %d error %q", rec.Status, rec.Error)
	}
	if r := ts.header(0).Get("Accept"); r != "application/x-ndjson" {
		t.Errorf("Accept %q", r)
	}
}

func TestOllamaNativeConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec, tm := ollamaRun(t, t.Context(), NewOllamaNative("http://"+addr, Options{Timeout: 5 * time.Second}), ollamaReq("m", 8))
	expect(t, rec, record.ConnectError, record.PhaseConnect)
	if rec.Status != 0 || rec.FirstByte != 0 || !strings.Contains(rec.Error, "connect") || tm.Reported {
		t.Errorf("status %d first byte %v error %q", rec.Status, rec.FirstByte, rec.Error)
	}
}

func TestOllamaNativeTimeouts(t *testing.T) {
	const timeout = 300 * time.Millisecond
	cases := []struct {
		name    string
		opts    Options
		steps   []any
		noHdr   bool
		phase   record.Phase
		errPart string
		chunks  int
	}{
		{"before headers", Options{Timeout: timeout}, nil, true, record.PhaseHeaders, "no complete response", 0},
		{"before first token", Options{Timeout: timeout}, []any{hold{}}, false, record.PhaseFirstToken, "phase first_token", 0},
		{"mid-stream", Options{Timeout: timeout}, []any{ollamaChunk("a"), ollamaChunk(" b"), hold{}}, false, record.PhaseStream, "phase stream", 2},
		{"idle mid-stream", Options{IdleTimeout: timeout}, []any{ollamaChunk("a"), hold{}}, false, record.PhaseStream, "idle timeout", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
				if c.noHdr {
					select {
					case <-r.Context().Done():
					case <-ts.release:
					}
					return
				}
				ts.play(w, r, c.steps...)
			})
			rec, _ := ollamaRun(t, t.Context(), NewOllamaNative(ts.URL, c.opts), ollamaReq("m", 8))
			expect(t, rec, record.Timeout, c.phase)
			if !strings.Contains(rec.Error, c.errPart) || rec.ChunkCount != c.chunks || rec.End != 0 {
				t.Errorf("error %q (want %q), %d chunks (want %d), End %v", rec.Error, c.errPart, rec.ChunkCount, c.chunks, rec.End)
			}
			if c.chunks > 0 && (rec.OutputTokens != c.chunks || rec.LastToken <= 0) {
				t.Errorf("partial response lost: %+v", rec)
			}
		})
	}
}

func TestOllamaNativeCancel(t *testing.T) {
	sent := make(chan struct{})
	ts := streamServer(t, ollamaChunk("a"), func() { close(sent) }, hold{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-sent
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	rec, _ := ollamaRun(t, ctx, NewOllamaNative(ts.URL, Options{Timeout: time.Minute}), ollamaReq("m", 8))
	if rec.Outcome != record.Canceled || rec.Error != "canceled" || rec.End != 0 || rec.ChunkCount != 1 {
		t.Errorf("outcome %q error %q end %v chunks %d", rec.Outcome, rec.Error, rec.End, rec.ChunkCount)
	}
}

func TestOllamaBody(t *testing.T) {
	req := ollamaReq("m", 16)
	req.IgnoreEOS, req.MinTokens = true, 4
	req.Extra = map[string]any{"keep_alive": -1, "think": false, "options": map[string]any{"num_ctx": 8192}}
	b, err := ollamaBody(&req)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(b, &got)
	opts := got["options"].(map[string]any)
	if got["keep_alive"] != -1.0 || got["think"] != false || opts["num_ctx"] != 8192.0 || opts["num_predict"] != 16.0 ||
		got["ignore_eos"] != nil || got["min_tokens"] != nil || got["max_tokens"] != nil {
		t.Errorf("body %s", b)
	}
}

// FuzzOllamaStream feeds arbitrary bodies to the native client: it never
// panics, every record keeps its invariants, and what it records does not
// depend on how the body is split into reads.
func FuzzOllamaStream(f *testing.F) {
	for _, s := range []string{
		ollamaChunk("Rain") + ollamaChunk(" falls") + ollamaDone,
		`{"error":"boom"}` + "\n",
		ollamaChunk("a") + `{"message":{"content":`,
		"null\n\n[1,2]\n",
		`{"message":{"thinking":"hmm","content":null},"done":false}` + "\n" + `{"done":true,"eval_count":-5,"prompt_eval_count":1e99,"total_duration":"x"}`,
		`{"response":"x","done":"yes"}` + "\r\n" + `{"done":true,"error":null,"eval_count":3}`,
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, piece uint8) {
		run := func(segs [][]byte) (*record.Record, OllamaTimings) {
			c := NewOllamaNative("http://127.0.0.1:1", Options{HTTPClient: &http.Client{Transport: cannedTransport{segs}}})
			rec := &record.Record{}
			tm := c.DoTimings(context.Background(), ollamaReq("m", 8), rec)
			checkRecordInvariants(t, rec)
			if rec.Outcome == "" || rec.Outcome == record.OK != tm.Reported {
				t.Fatalf("outcome %q, timings reported %v", rec.Outcome, tm.Reported)
			}
			return rec, tm
		}
		whole, wt := run([][]byte{data})
		var segs [][]byte
		for d, n := data, 1+int(piece)%16; len(d) > 0; d = d[min(n, len(d)):] {
			segs = append(segs, d[:min(n, len(d))])
		}
		split, st := run(segs)
		key := func(r *record.Record) string {
			return fmt.Sprint(r.Outcome, r.Phase, r.Error, r.Text, r.ChunkCount, r.ReasonChunk, r.OutputTokens, r.OutputSource, r.InputTokens, r.InputSource, r.FinishReason)
		}
		if key(whole) != key(split) || wt != st {
			t.Fatalf("split reads: %s %+v\nwhole read: %s %+v", key(split), st, key(whole), wt)
		}
	})
}
