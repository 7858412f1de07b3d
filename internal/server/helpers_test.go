package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/store"
)

// testApp is the app served by an httptest server on 127.0.0.1, over a
// fresh SQLite file, with no engine detected unless the test says so.
type testApp struct {
	t   testing.TB
	s   *Server
	db  *store.DB
	url string
}

// newApp starts the app with o (DB, Detect and Listen defaulted).
func newApp(t testing.TB, o Options) *testApp {
	t.Helper()
	if o.DB == nil {
		o.DB = openDB(t, filepath.Join(t.TempDir(), "flperf.db"))
	}
	if o.Detect == nil {
		o.Detect = func(context.Context) []engine.Found { return nil }
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close) // runs second: the streams have ended
	t.Cleanup(s.Close)  // runs first: runs stop and are saved
	return &testApp{t: t, s: s, db: o.DB, url: hs.URL}
}

// openDB opens a database closed at cleanup.
func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dbLocation(t, path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// resp is one answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// envelope is the API's envelope.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Error *apiError       `json:"error"`
}

// do sends a request: body is sent as is when it is a string or []byte,
// else as JSON; headers are name, value pairs.
func (a *testApp) do(method, path string, body any, headers ...string) resp {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		a.t.Errorf("%s %s: Access-Control-Allow-Origin %q", method, path, res.Header.Get("Access-Control-Allow-Origin"))
	}
	return resp{res.StatusCode, res.Header, b}
}

// data sends a request, wants status and decodes the envelope's data
// into into (when not nil).
func (a *testApp) data(method, path string, body any, status int, into any) {
	a.t.Helper()
	r := a.do(method, path, body)
	if r.status != status {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	var env envelope
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error != nil {
		a.t.Fatalf("%s %s: envelope %s: %v", method, path, r.body, err)
	}
	if into != nil {
		if err := json.Unmarshal(env.Data, into); err != nil {
			a.t.Fatalf("%s %s: data %s: %v", method, path, env.Data, err)
		}
	}
}

// fail sends a request and returns its error object, wanting status.
func (a *testApp) fail(method, path string, body any, status int, headers ...string) *apiError {
	a.t.Helper()
	r := a.do(method, path, body, headers...)
	if r.status != status {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	var env envelope
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error == nil {
		a.t.Fatalf("%s %s: not an error envelope: %s (%v)", method, path, r.body, err)
	}
	if statusOf[env.Error.Kind] != status || env.Error.Message == "" {
		a.t.Fatalf("%s %s: error %+v does not match status %d", method, path, env.Error, status)
	}
	return env.Error
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	id   int64
	typ  string
	data string
}

// sseStream reads a text/event-stream.
type sseStream struct {
	res *http.Response
	sc  *bufio.Scanner
}

// events opens path's event stream with the given headers.
func (a *testApp) events(ctx context.Context, path string, headers ...string) *sseStream {
	a.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		a.t.Fatalf("GET %s: %d %s: %s", path, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	s := &sseStream{res: res, sc: sc}
	a.t.Cleanup(s.close)
	return s
}

// next returns the next event; ok is false at the end of the stream.
func (s *sseStream) next() (sseEvent, bool) {
	var e sseEvent
	seen := false
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if seen && e.typ != "" {
				return e, true
			}
			e, seen = sseEvent{}, false
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			n, _ := json.Number(strings.TrimPrefix(line, "id: ")).Int64()
			e.id, seen = n, true
		case strings.HasPrefix(line, "event: "):
			e.typ, seen = strings.TrimPrefix(line, "event: "), true
		case strings.HasPrefix(line, "data: "):
			e.data, seen = strings.TrimPrefix(line, "data: "), true
		}
	}
	return e, false
}

// close ends the stream.
func (s *sseStream) close() { s.res.Body.Close() }

// runBody is a small run on the built-in simulated engine: one scenario,
// short answers.
func runBody(requests int, extra map[string]any) map[string]any {
	b := map[string]any{"engine": "sim", "models": []string{"sim-fast"}, "scenarios": []string{"Simple Q&A - Short"},
		"requests": requests, "warmup": 1, "max_tokens": 8, "seed": 7}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// startRun starts a run and returns its id.
func (a *testApp) startRun(body any) string {
	a.t.Helper()
	var out struct {
		ID  string        `json:"id"`
		Run store.RunInfo `json:"run"`
	}
	a.data(http.MethodPost, "/api/v1/runs", body, http.StatusCreated, &out)
	if out.ID == "" || out.Run.ID != out.ID || out.Run.Status != store.Running {
		a.t.Fatalf("started run: %+v", out)
	}
	return out.ID
}

// waitRun waits until run id is no longer running and returns its status.
func (a *testApp) waitRun(id string) string {
	a.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if a.s.jobs.get(id) == nil {
			var out struct {
				Run struct {
					Status string `json:"status"`
				} `json:"run"`
			}
			a.data(http.MethodGet, "/api/v1/runs/"+id, nil, http.StatusOK, &out)
			return out.Run.Status
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.t.Fatalf("run %s did not end", id)
	return ""
}

// noEngines is a detection that finds nothing.
func noEngines(context.Context) []engine.Found { return nil }

// listen opens a listener on a free loopback port.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
