package backend

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
)

func TestStreamFailures(t *testing.T) {
	cases := []struct {
		name    string
		steps   []any
		outcome record.Outcome
		phase   record.Phase
		errPart string
		chunks  int
	}{
		{"error object mid-stream", []any{roleFrame, contentFrame("partial"),
			`data: {"error":{"message":"CUDA out of memory","type":"server_error","code":500}}` + "\n\n"},
			record.StreamError, record.PhaseStream, "CUDA out of memory", 1},
		{"error object then [DONE] (vLLM)", []any{contentFrame("a"), `data: {"error":{"message":"aborted"}}` + "\n\n", doneFrame},
			record.StreamError, record.PhaseStream, "aborted", 1},
		{"error string", []any{roleFrame, `data: {"error":"boom"}` + "\n\n"},
			record.StreamError, record.PhaseFirstToken, "boom", 0},
		{"event: error", []any{contentFrame("a"), "event: error\ndata: {\"message\":\"overloaded\"}\n\n"},
			record.StreamError, record.PhaseStream, "overloaded", 1},
		{"error: field (old llama.cpp)", []any{contentFrame("a"), `error: {"code":500,"message":"slot unavailable","type":"server_error"}` + "\n\n"},
			record.StreamError, record.PhaseStream, "slot unavailable", 1},
		{`"error": null is not an error`, []any{
			`data: {"choices":[{"delta":{"content":"a"}}],"error":null}` + "\n\n",
			`data: {"choices":[{"delta":{},"finish_reason":"stop"}],"error":null}` + "\n\n", doneFrame},
			record.OK, "", "", 1},
		{"malformed frame", []any{contentFrame("a"), contentFrame("b"), `data: {"choices":[{"delta":{"content":"c"}` + "\n\n", contentFrame("d")},
			record.StreamError, record.PhaseStream, "malformed frame", 2},
		{"no [DONE], finish reason", []any{contentFrame("a"), finishFrame("stop")}, record.OK, "", "", 1},
		{"no [DONE], usage only", []any{contentFrame("a"), usageFrame(3, 1)}, record.OK, "", "", 1},
		{"no [DONE], nothing final", []any{roleFrame, contentFrame("a"), contentFrame("b")},
			record.StreamError, record.PhaseStream, "stream ended before completion", 2},
		{"empty stream", nil, record.StreamError, record.PhaseFirstToken, "stream ended before completion", 0},
		{"cut mid-stream", []any{contentFrame("a"), contentFrame("b"), func() { panic(http.ErrAbortHandler) }},
			record.StreamError, record.PhaseStream, "connection lost", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := streamServer(t, c.steps...)
			rec := run(t, New(ts.base(), Options{}), chatReq())
			expect(t, rec, c.outcome, c.phase)
			if !strings.Contains(rec.Error, c.errPart) || rec.ChunkCount != c.chunks {
				t.Errorf("error %q (want %q), %d chunks (want %d)", rec.Error, c.errPart, rec.ChunkCount, c.chunks)
			}
			if rec.End <= 0 || rec.Status != 200 {
				t.Errorf("End %v status %d: a stream that ended has an end time", rec.End, rec.Status)
			}
			if c.chunks > 0 && (rec.TextBytes == 0 || rec.FirstToken <= 0 || rec.OutputTokens == 0) {
				t.Errorf("partial data lost: %+v", rec)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	html := "<html><head><title>502 Bad Gateway</title></head><body>" + strings.Repeat("<p>nginx</p>", 300) + "</body></html>"
	cases := []struct {
		status      int
		contentType string
		body        string
	}{
		{429, "application/json", `{"error":{"message":"Rate limit reached","type":"requests"}}`},
		{500, "text/html", html},
		{503, "application/json", `{"error":"server busy, please try again. maximum pending requests exceeded"}`},
		{404, "text/plain", "model \"x\" not found, try pulling it first"},
		{503, "", ""},
	}
	for _, c := range cases {
		for _, stream := range []bool{true, false} {
			ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
				if c.contentType != "" {
					w.Header().Set("Content-Type", c.contentType)
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			})
			req := chatReq()
			req.Stream = stream
			rec := run(t, New(ts.base(), Options{}), req)
			expect(t, rec, record.HTTPError, record.PhaseHeaders)
			want := c.body
			if len(want) > ErrorBodyLimit {
				want = want[:ErrorBodyLimit]
			}
			if want == "" {
				want = http.StatusText(c.status)
			}
			if rec.Status != c.status || !strings.Contains(rec.Error, want) || len(rec.Error) > ErrorBodyLimit {
				t.Errorf("status %d (want %d), error %q (want %q)", rec.Status, c.status, rec.Error, want)
			}
			if rec.FirstByte <= 0 || rec.End < rec.FirstByte || rec.FirstToken != 0 || ts.requests() != 1 {
				t.Errorf("first byte %v end %v first token %v requests %d", rec.FirstByte, rec.End, rec.FirstToken, ts.requests())
			}
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := run(t, New("http://"+addr+"/v1", Options{Timeout: 5 * time.Second}), chatReq())
	expect(t, rec, record.ConnectError, record.PhaseConnect)
	if rec.Status != 0 || rec.FirstByte != 0 || !strings.Contains(rec.Error, "connect") {
		t.Errorf("status %d first byte %v error %q", rec.Status, rec.FirstByte, rec.Error)
	}
}

func TestTimeouts(t *testing.T) {
	const timeout = 400 * time.Millisecond
	blockingDial := &http.Client{Transport: func() http.RoundTripper {
		tr := NewTransport(4)
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return tr
	}()}
	cases := []struct {
		name    string
		opts    Options
		steps   []any // nil with hold first: no headers at all
		noHdr   bool
		phase   record.Phase
		errPart string
		chunks  int
	}{
		{"before connecting", Options{Timeout: timeout, HTTPClient: blockingDial}, nil, false, record.PhaseConnect, "no complete response", 0},
		{"before headers", Options{Timeout: timeout}, nil, true, record.PhaseHeaders, "no complete response", 0},
		{"before first token", Options{Timeout: timeout}, []any{roleFrame, hold{}}, false, record.PhaseFirstToken, "phase first_token", 0},
		{"mid-stream", Options{Timeout: timeout}, []any{roleFrame, contentFrame("part"), contentFrame("ial"), hold{}}, false, record.PhaseStream, "phase stream", 2},
		{"idle before first token", Options{IdleTimeout: timeout}, []any{roleFrame, hold{}}, false, record.PhaseFirstToken, "idle timeout", 0},
		{"idle mid-stream, keep-alives count", Options{IdleTimeout: timeout}, []any{contentFrame("a"),
			50 * time.Millisecond, ": ping\n\n", 50 * time.Millisecond, ": ping\n\n", 50 * time.Millisecond, ": ping\n\n",
			50 * time.Millisecond, ": ping\n\n", 50 * time.Millisecond, ": ping\n\n", 50 * time.Millisecond, ": ping\n\n",
			50 * time.Millisecond, ": ping\n\n", 50 * time.Millisecond, ": ping\n\n", 50 * time.Millisecond, ": ping\n\n",
			50 * time.Millisecond, ": ping\n\n", contentFrame("b"), hold{}}, false, record.PhaseStream, "idle timeout", 2},
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
			rec := run(t, New(ts.base(), c.opts), chatReq())
			expect(t, rec, record.Timeout, c.phase)
			if !strings.Contains(rec.Error, c.errPart) || rec.ChunkCount != c.chunks || rec.End != 0 {
				t.Errorf("error %q (want %q), %d chunks (want %d), End %v (want 0)", rec.Error, c.errPart, rec.ChunkCount, c.chunks, rec.End)
			}
			if c.chunks > 0 && (rec.Text != textOf(c.steps) || rec.OutputTokens == 0 || rec.LastToken <= 0) {
				t.Errorf("partial response of a timed-out request lost: text %q tokens %d", rec.Text, rec.OutputTokens)
			}
		})
	}
}

// textOf is the text the data frames among steps carry.
func textOf(steps []any) string {
	var b strings.Builder
	for _, s := range steps {
		if s, ok := s.(string); ok && strings.HasPrefix(s, "data: {") {
			var p chunkParser
			var f frame
			if p.parse([]byte(strings.TrimSpace(s[len("data:"):])), &f) == nil {
				b.Write(f.content)
			}
		}
	}
	return b.String()
}

func TestCallerDeadline(t *testing.T) {
	ts := streamServer(t, roleFrame, hold{})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	rec := runCtx(t, ctx, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.Timeout, record.PhaseFirstToken)
}

func TestCallerCancel(t *testing.T) {
	sent := make(chan struct{})
	ts := streamServer(t, roleFrame, contentFrame("a"), func() { close(sent) }, hold{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-sent
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	rec := runCtx(t, ctx, New(ts.base(), Options{Timeout: time.Minute}), chatReq())
	if rec.Outcome != record.Canceled || rec.Error != "canceled" || rec.End != 0 {
		t.Errorf("outcome %q error %q end %v, want canceled", rec.Outcome, rec.Error, rec.End)
	}
	if rec.Outcome.Failed() {
		t.Errorf("a canceled request counts as failed")
	}

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	rec = runCtx(t, ctx, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.Canceled, record.PhaseConnect)
}

func TestAPIKeyNotInErrors(t *testing.T) {
	ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"invalid api key"}}`, http.StatusUnauthorized)
	})
	rec := run(t, New(ts.base(), Options{APIKey: "sk-secret-456"}), chatReq())
	expect(t, rec, record.HTTPError, record.PhaseHeaders)
	if strings.Contains(rec.Error, "sk-secret") || ts.header(0).Get("Authorization") != "Bearer sk-secret-456" {
		t.Errorf("error %q, header %q", rec.Error, ts.header(0).Get("Authorization"))
	}
}
