package backend

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// TestLlamaCppClosesAfterStream is the regression test of a real
// llama-server's habit (docs/engines.md §3): it answers a streamed request with
// "Keep-Alive: timeout=5, max=100", then closes the connection once the
// stream has ended. A client that reuses the connection gets EOF before any
// response byte; before connection retries, such requests were recorded as
// failures (stream_error, "no response: … EOF"; 20 to 50 of 200 here). Over
// 200 streamed requests at concurrency 1 and 8 against the simulated
// llama.cpp, none may fail, and after the first closed connection met the
// client opens a new one per request.
func TestLlamaCppClosesAfterStream(t *testing.T) {
	for _, conc := range []int{1, 8} {
		l, err := dialect.NewLlamaCpp(sim.Profile{Name: "m.gguf", TTFT: time.Millisecond, DecodeTPS: 20000, OutputTokens: 4, Slots: 8, Seed: 5}, dialect.LlamaCppOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := httptest.NewServer(l)
		c := New(s.URL+"/v1", Options{})
		const n = 200
		recs := make([]record.Record, n)
		next := make(chan int, n)
		for i := range n {
			next <- i
		}
		close(next)
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				for i := range next {
					c.Do(context.Background(), Request{Model: "m.gguf", Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 8, Stream: true}, &recs[i])
				}
			})
		}
		wg.Wait()
		s.Close()
		failed, retries := 0, 0
		for i := range recs {
			retries += recs[i].ConnRetries
			if recs[i].Outcome != record.OK {
				if failed < 3 {
					t.Errorf("c=%d: request %d: %s (phase %s): %s", conc, i, recs[i].Outcome, recs[i].Phase, recs[i].Error)
				}
				failed++
			}
		}
		if failed > 0 {
			t.Errorf("c=%d: %d of %d requests failed against a server that closes after each stream; want 0", conc, failed, n)
		}
		// Once the first closed connection is met, every request opens its
		// own: only those already sent on an old one can meet another.
		if retries > conc || (retries > 0) != (c.ConnectionReuse() != "") {
			t.Errorf("c=%d: %d connection retries (at most %d), connection note %q", conc, retries, conc, c.ConnectionReuse())
		}
		t.Logf("c=%d: %d connection retries; %s", conc, retries, c.ConnectionReuse())
	}
}

// verdict is what a closer does with one request.
type verdict int

const (
	answer       verdict = iota // answer it (the simulator)
	closeNow                    // close the connection without a response byte
	closePartial                // close it after part of the status line
)

// closer is a server on 127.0.0.1 serving an engine (the simulator), whose script
// decides for each request, by its arrival number (from 1) and the number
// of requests its connection carried before, whether to answer it or close
// the connection. Every request is read whole first, as a handler would.
type closer struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals int
	conns    int
	closedAt []time.Time   // when each closeNow/closePartial closed its connection
	headers  []http.Header // request headers, in arrival order
}

type connCount struct{}

func startCloser(t *testing.T, p sim.Profile, pause time.Duration, decide func(n, before int) verdict) *closer {
	t.Helper()
	srv, err := sim.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return startCloserOf(t, srv, pause, decide)
}

// startCloserOf is startCloser serving engine.
func startCloserOf(t *testing.T, engine http.Handler, pause time.Duration, decide func(n, before int) verdict) *closer {
	t.Helper()
	c := &closer{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		before := int(r.Context().Value(connCount{}).(*atomic.Int32).Add(1)) - 1
		c.mu.Lock()
		c.arrivals++
		n := c.arrivals
		c.headers = append(c.headers, r.Header.Clone())
		c.mu.Unlock()
		v := decide(n, before)
		if v == answer {
			r.Body = io.NopCloser(bytes.NewReader(body))
			engine.ServeHTTP(w, r)
			return
		}
		time.Sleep(pause)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if v == closePartial {
			buf.WriteString("HTTP/1.1 20")
			buf.Flush()
		}
		c.mu.Lock()
		c.closedAt = append(c.closedAt, time.Now())
		c.mu.Unlock()
		conn.Close()
	}))
	c.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connCount{}, new(atomic.Int32))
	}
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.mu.Lock()
			c.conns++
			c.mu.Unlock()
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// counts returns the requests and connections the server saw.
func (c *closer) counts() (requests, conns int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arrivals, c.conns
}

// simReq is a streamed request the simulator answers with its schedule.
func simReq() Request {
	return Request{Model: "m", Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 3, Stream: true}
}

// TestConnRetryTTFT checks the retry of a request whose reused connection
// the server closed before any response byte: sent once more on a new
// connection, counted, with t_send stamped when that sending began, so that
// TTFT excludes the failed one (the server held it 200 ms before closing),
// and it still meets the simulator's schedule (TTFT ≥ the profile's 30 ms).
// The client then opens a new connection per request, and says so.
func TestConnRetryTTFT(t *testing.T) {
	p := sim.Profile{Name: "m", TTFT: 30 * time.Millisecond, DecodeTPS: 1000, OutputTokens: 3, Seed: 1}
	srv := startCloser(t, p, 200*time.Millisecond, func(n, before int) verdict {
		if n == 2 && before > 0 {
			return closeNow
		}
		return answer
	})
	c := New(srv.URL+"/v1", Options{})
	first := run(t, c, simReq())
	expect(t, first, record.OK, "")
	if first.ConnRetries != 0 || c.ConnectionReuse() != "" {
		t.Fatalf("first request: %d retries, connection note %q", first.ConnRetries, c.ConnectionReuse())
	}

	rec := run(t, c, simReq())
	expect(t, rec, record.OK, "")
	requests, conns := srv.counts()
	if rec.ConnRetries != 1 || requests != 3 || conns != 2 {
		t.Fatalf("retries %d; server saw %d requests on %d connections, want 1; 3 on 2", rec.ConnRetries, requests, conns)
	}
	closedAt := srv.closedAt[0]
	if !rec.Sent.After(closedAt) || !rec.Scheduled.Equal(rec.Sent) {
		t.Errorf("t_send %v is not after the failed sending's end %v (scheduled %v): TTFT would include it",
			rec.Sent, closedAt, rec.Scheduled)
	}
	if rec.FirstToken < p.TTFT || rec.FirstByte <= 0 || rec.FirstByte > rec.FirstToken {
		t.Errorf("TTFT %v (first byte %v), the schedule says at least %v", rec.FirstToken, rec.FirstByte, p.TTFT)
	}
	if c.ConnectionReuse() == "" {
		t.Errorf("no connection note after the server closed a connection right after an answer")
	}

	third := run(t, c, simReq())
	expect(t, third, record.OK, "")
	requests, conns = srv.counts()
	if third.ConnRetries != 0 || requests != 4 || conns != 3 || srv.headers[3].Get("Connection") != "close" {
		t.Errorf("after learning: %d retries, %d requests on %d connections (want 4 on 3), Connection %q",
			third.ConnRetries, requests, conns, srv.headers[3].Get("Connection"))
	}
}

// TestConnFailuresStayFailures checks that only a closed reused connection
// is retried, once: a retry closed too is a connect_error counting its
// retry, a reused connection closed after part of the status line a
// stream_error, the first request's new connection closed before any
// response byte a connect_error; none is sent more times than that.
func TestConnFailuresStayFailures(t *testing.T) {
	p := sim.Profile{Name: "m", TTFT: time.Millisecond, DecodeTPS: 1000, OutputTokens: 3, Seed: 1}
	cases := []struct {
		name     string
		decide   func(n, before int) verdict
		outcome  record.Outcome
		phase    record.Phase
		retries  int
		requests int // arrivals at the server, the first (answered) request included
		text     string
	}{
		{"retry closed too", func(n, _ int) verdict {
			if n == 1 {
				return answer
			}
			return closeNow
		}, record.ConnectError, record.PhaseConnect, 1, 3, "connection closed before any response"},
		{"reused connection, partial status line", func(n, _ int) verdict {
			if n == 1 {
				return answer
			}
			return closePartial
		}, record.StreamError, record.PhaseHeaders, 0, 2, "no response"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startCloser(t, p, 0, tc.decide)
			c := New(srv.URL+"/v1", Options{})
			expect(t, run(t, c, simReq()), record.OK, "")
			rec := run(t, c, simReq())
			expect(t, rec, tc.outcome, tc.phase)
			requests, _ := srv.counts()
			if rec.ConnRetries != tc.retries || requests != tc.requests || !strings.Contains(rec.Error, tc.text) || rec.Status != 0 {
				t.Errorf("retries %d (want %d), server saw %d requests (want %d), status %d, error %q (want %q)",
					rec.ConnRetries, tc.retries, requests, tc.requests, rec.Status, rec.Error, tc.text)
			}
		})
	}

	t.Run("first request, new connection", func(t *testing.T) {
		srv := startCloser(t, p, 0, func(int, int) verdict { return closeNow })
		c := New(srv.URL+"/v1", Options{})
		rec := run(t, c, simReq())
		expect(t, rec, record.ConnectError, record.PhaseConnect)
		if requests, _ := srv.counts(); rec.ConnRetries != 0 || requests != 1 || c.ConnectionReuse() != "" {
			t.Errorf("retries %d, server saw %d requests, note %q: want 0, 1 and none", rec.ConnRetries, requests, c.ConnectionReuse())
		}
	})
}

// TestConnRetryIdleTimeout checks that a reused connection closed after a
// long idle time (a keep-alive timeout, not a close after each answer) is
// retried and counted but does not turn connection reuse off.
func TestConnRetryIdleTimeout(t *testing.T) {
	p := sim.Profile{Name: "m", TTFT: time.Millisecond, DecodeTPS: 1000, OutputTokens: 3, Seed: 1}
	srv := startCloser(t, p, 0, func(n, before int) verdict {
		if n == 2 {
			return closeNow
		}
		return answer
	})
	c := New(srv.URL+"/v1", Options{})
	c.conns.window = 0 // every idle time counts as long
	expect(t, run(t, c, simReq()), record.OK, "")
	rec := run(t, c, simReq())
	expect(t, rec, record.OK, "")
	// The retry's own connection closes after it; the third request opens
	// one, which the fourth reuses.
	for range 2 {
		expect(t, run(t, c, simReq()), record.OK, "")
	}
	requests, conns := srv.counts()
	if rec.ConnRetries != 1 || c.ConnectionReuse() != "" || requests != 5 || conns != 3 {
		t.Errorf("retries %d, note %q, server saw %d requests on %d connections: want 1, none, 5 on 3 (reuse kept)",
			rec.ConnRetries, c.ConnectionReuse(), requests, conns)
	}
}

// TestNoHiddenRetry checks that net/http's transport cannot send a request
// again by itself (it does so for a request with GetBody on a reused
// connection that failed before anything was written), and that a
// RoundTripper which does (GetConn twice) has it counted, with t_send moved
// to the sending that got through.
func TestNoHiddenRetry(t *testing.T) {
	ts := streamServer(t, roleFrame, contentFrame("x"), finishFrame("stop"), doneFrame)
	var seen *http.Request
	var second time.Time
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r
		tr := httptrace.ContextClientTrace(r.Context())
		tr.GetConn(r.URL.Host) // a first sending, given up
		time.Sleep(20 * time.Millisecond)
		second = time.Now()
		return http.DefaultTransport.RoundTrip(r) // GetConn again
	})
	c := New(ts.base(), Options{HTTPClient: &http.Client{Transport: rt}})
	rec := run(t, c, chatReq())
	expect(t, rec, record.OK, "")
	if seen.GetBody != nil || seen.ContentLength <= 0 {
		t.Errorf("request GetBody set %v, ContentLength %d: net/http would resend it by itself", seen.GetBody != nil, seen.ContentLength)
	}
	if rec.ConnRetries != 1 || rec.Sent.Before(second) || !rec.Scheduled.Equal(rec.Sent) {
		t.Errorf("retries %d, t_send %v, scheduled %v: want 1 and both at or after the second sending (%v)", rec.ConnRetries, rec.Sent, rec.Scheduled, second)
	}
}

// TestConnRetryOllamaNative checks that the native Ollama client, which
// shares the sending code, retries a closed reused connection the same way.
func TestConnRetryOllamaNative(t *testing.T) {
	o, err := dialect.NewOllama(sim.Profile{Name: "m:1b", TTFT: 20 * time.Millisecond, DecodeTPS: 1000, OutputTokens: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := startCloserOf(t, o, 50*time.Millisecond, func(n, before int) verdict {
		if n == 2 && before > 0 {
			return closeNow
		}
		return answer
	})
	c := NewOllamaNative(srv.URL, Options{})
	for i := range 2 {
		rec, _ := ollamaRun(t, t.Context(), c, ollamaReq("m:1b", 3))
		expect(t, rec, record.OK, "")
		if rec.ConnRetries != i || (i == 1 && !rec.Sent.After(srv.closedAt[0])) || rec.FirstToken < 20*time.Millisecond {
			t.Errorf("request %d: %d retries, t_send %v (closed at %v), TTFT %v", i, rec.ConnRetries, rec.Sent, srv.closedAt, rec.FirstToken)
		}
	}
	if requests, conns := srv.counts(); requests != 3 || conns != 2 || c.ConnectionReuse() == "" {
		t.Errorf("server saw %d requests on %d connections (want 3 on 2), note %q", requests, conns, c.ConnectionReuse())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
