package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"flperf/internal/record"
)

// testServer is an httptest server on 127.0.0.1 that records every request
// and lets handlers hold a response open until the test ends.
type testServer struct {
	*httptest.Server
	release chan struct{} // closed when the test ends

	mu       sync.Mutex
	bodies   []map[string]any
	headers  []http.Header
	arrivals []time.Time
	conns    int // connections opened
}

// hold is a script step that keeps the response open until the client goes
// away or the test ends.
type hold struct{}

func startServer(t *testing.T, handler func(ts *testServer, w http.ResponseWriter, r *http.Request)) *testServer {
	t.Helper()
	ts := &testServer{release: make(chan struct{})}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &body)
		ts.mu.Lock()
		ts.bodies = append(ts.bodies, body)
		ts.headers = append(ts.headers, r.Header.Clone())
		ts.arrivals = append(ts.arrivals, time.Now())
		ts.mu.Unlock()
		handler(ts, w, r)
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ts.mu.Lock()
			ts.conns++
			ts.mu.Unlock()
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)                     // runs second
	t.Cleanup(func() { close(ts.release) }) // runs first: unblock held handlers
	return ts
}

func (ts *testServer) requests() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.bodies)
}

func (ts *testServer) body(i int) map[string]any {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.bodies[i]
}

func (ts *testServer) header(i int) http.Header {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.headers[i]
}

// base is the OpenAI base URL of the server.
func (ts *testServer) base() string { return ts.URL + "/v1" }

// play writes an SSE response step by step: a string is written and
// flushed, a duration is slept, hold keeps the response open.
func (ts *testServer) play(w http.ResponseWriter, r *http.Request, steps ...any) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			if _, err := io.WriteString(w, s); err != nil {
				return
			}
			fl.Flush()
		case time.Duration:
			select {
			case <-time.After(s):
			case <-r.Context().Done():
				return
			case <-ts.release:
				return
			}
		case hold:
			select {
			case <-r.Context().Done():
			case <-ts.release:
			}
			return
		case func():
			s()
		default:
			panic(fmt.Sprintf("bad step %T", s))
		}
	}
}

// streamServer plays the same steps for every request.
func streamServer(t *testing.T, steps ...any) *testServer {
	return startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		ts.play(w, r, steps...)
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// SSE frames shaped like vLLM's and like OpenAI-style streams (docs/engines.md §6).
const (
	roleFrame = `data: {"id":"c-9","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n"
	doneFrame = "data: [DONE]\n\n"
)

func contentFrame(s string) string {
	return `data: {"id":"c-9","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":` +
		jsonString(s) + `},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n"
}

func reasoningFrame(key, s string) string {
	return `data: {"id":"c-9","choices":[{"index":0,"delta":{"` + key + `":` + jsonString(s) + `}}]}` + "\n\n"
}

func finishFrame(reason string) string {
	return `data: {"id":"c-9","choices":[{"index":0,"delta":{},"finish_reason":"` + reason + `"}],"usage":null}` + "\n\n"
}

func usageFrame(prompt, completion int) string {
	return fmt.Sprintf(`data: {"id":"c-9","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
		prompt, completion, prompt+completion)
}

// chatReq is a small streaming request.
func chatReq() Request {
	return Request{Model: "m", Messages: []Message{{Role: "user", Content: "Say hello"}}, MaxTokens: 64, Stream: true}
}

// run sends req with a fresh record whose identity fields are set.
func run(t *testing.T, c *Client, req Request) *record.Record {
	t.Helper()
	return runCtx(t, context.Background(), c, req)
}

func runCtx(t *testing.T, ctx context.Context, c *Client, req Request) *record.Record {
	t.Helper()
	rec := &record.Record{Seq: 7, Model: req.Model, Scenario: "s", Worker: 3}
	c.Do(ctx, req, rec)
	if rec.Seq != 7 || rec.Scenario != "s" || rec.Worker != 3 || rec.Model != req.Model {
		t.Errorf("identity fields changed: %+v", rec)
	}
	checkRecordInvariants(t, rec)
	if rec.Sent.IsZero() || rec.Scheduled.IsZero() {
		t.Errorf("Sent %v, Scheduled %v: want both set", rec.Sent, rec.Scheduled)
	}
	return rec
}

// expect checks the outcome of a record and prints it whole when wrong.
func expect(t *testing.T, rec *record.Record, outcome record.Outcome, phase record.Phase) {
	t.Helper()
	if rec.Outcome != outcome || rec.Phase != phase {
		t.Fatalf("outcome %q phase %q, want %q %q; error %q\nrecord %+v", rec.Outcome, rec.Phase, outcome, phase, rec.Error, rec)
	}
}
