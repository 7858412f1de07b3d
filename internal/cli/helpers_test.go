package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/sim"
)

// TestMain doubles as the flperf binary for the signal tests: with
// FLPERF_TEST_MAIN=1 the test binary runs Main with the arguments after
// "--", wired to real SIGINT/SIGTERM through SignalContext, and exits.
func TestMain(m *testing.M) {
	if os.Getenv("FLPERF_TEST_MAIN") == "1" {
		args := os.Args[1:]
		if i := slices.Index(args, "--"); i >= 0 {
			args = args[i+1:]
		}
		ctx, stop := SignalContext(context.Background())
		code := Main(ctx, args, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	// Runs are saved by default: keep every test's database out of the
	// user's data directory (children inherit the variable).
	dir, err := os.MkdirTemp("", "flperf-cli-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// outcome is what one flperf command did.
type outcome struct {
	code           int
	stdout, stderr string
}

// cli runs flperf with args and the FLPERF_* variables in vars (nothing
// else of the process environment), and checks that nothing written is
// terminal-only: stdout is not a terminal in tests, so there must be no
// progress line.
func cli(t *testing.T, ctx context.Context, vars map[string]string, args ...string) outcome {
	t.Helper()
	var out, errb syncBuffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return vars[k] }}
	code := dispatch(ctx, env, args)
	o := outcome{code: code, stdout: out.String(), stderr: errb.String()}
	noTerminalCodes(t, o.stdout, "stdout")
	noTerminalCodes(t, o.stderr, "stderr")
	return o
}

// run is cli with a background context and no environment variables.
func run(t *testing.T, args ...string) outcome {
	t.Helper()
	return cli(t, context.Background(), nil, args...)
}

func noTerminalCodes(t *testing.T, s, where string) {
	t.Helper()
	if strings.ContainsAny(s, "\r\x1b") {
		t.Errorf("%s has a carriage return or an ANSI escape although it is not a terminal: %q", where, s)
	}
}

// wantCode fails the test unless o exited with code.
func wantCode(t *testing.T, o outcome, code int) {
	t.Helper()
	if o.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", o.code, code, o.stdout, o.stderr)
	}
}

// seen is one HTTP request the test engine received.
type seen struct {
	method, path, auth string
	body               []byte
}

// testSim is a simulated engine on a loopback port that records every
// request it receives (headers and body) before serving it.
type testSim struct {
	*sim.Server
	base string // OpenAI base URL, ending in /v1
	mu   sync.Mutex
	reqs []seen
	auth string // when set, every route answers 401 unless Authorization is this
}

// startTestSim serves profiles until the test ends.
func startTestSim(t *testing.T, profiles ...sim.Profile) *testSim {
	t.Helper()
	srv, err := sim.New(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := sim.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	s := &testSim{Server: srv, base: "http://" + ln.Addr().String() + "/v1"}
	base, cancel := context.WithCancel(context.Background())
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("test engine: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel() // handlers watch their request context: slow streams end now
		ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
		<-done
	})
	return s
}

// ServeHTTP records the request, then lets the simulator answer it.
func (s *testSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.reqs = append(s.reqs, seen{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body})
	auth := s.auth
	s.mu.Unlock()
	if auth != "" && r.Header.Get("Authorization") != auth {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"invalid API key","type":"invalid_request_error"}}`)
		return
	}
	s.Server.ServeHTTP(w, r)
}

// requireAuth makes every route answer 401 unless the request carries
// Authorization: auth.
func (s *testSim) requireAuth(auth string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = auth
}

// all returns every request received so far.
func (s *testSim) all() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// chats returns the chat completion requests received so far, in order.
func (s *testSim) chats() []seen {
	var out []seen
	for _, r := range s.all() {
		if r.path == "/v1/chat/completions" {
			out = append(out, r)
		}
	}
	return out
}

// chatBody is the part of a chat completion request the tests inspect.
type chatBody struct {
	Model       string   `json:"model"`
	Temperature *float64 `json:"temperature"`
	MaxTokens   int      `json:"max_tokens"`
	Messages    []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

func (r seen) chat(t *testing.T) chatBody {
	t.Helper()
	var b chatBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("chat request body %q: %v", r.body, err)
	}
	return b
}

// fastProfile is a simulated model that answers a short scenario in a few
// milliseconds.
func fastProfile(name string) sim.Profile {
	return sim.Profile{Name: name, TTFT: time.Millisecond, DecodeTPS: 20000, TokensPerChunk: 1, Usage: true, Seed: 3}
}

// tinySuite has two short scenarios; names are chosen to need no quoting.
const tinySuite = `{"name":"tiny","version":"1","scenarios":[
 {"name":"alpha","prompt":"Say something short about the sea.","max_tokens":8},
 {"name":"beta","prompt":"Name two colours.","max_tokens":6}]}`

// oneSuite has a single scenario.
const oneSuite = `{"name":"one","scenarios":[{"name":"only","prompt":"Count to ten.","max_tokens":10}]}`

// writeFile writes content to name in a fresh temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// decodeJSON decodes stdout as exactly one JSON document.
func decodeJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	if !strings.HasPrefix(stdout, "{") {
		t.Fatalf("stdout does not start with a JSON object: %.200q", stdout)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout has more than one JSON document (next: %v, %v)", extra, err)
	}
	return doc
}

// jsonlRecords decodes stdout as JSON Lines, one object per line.
func jsonlRecords(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	if stdout == "" {
		t.Fatal("no JSON Lines on stdout")
	}
	if !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("JSON Lines output does not end with a newline: %.200q", stdout)
	}
	var recs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, line)
		}
		recs = append(recs, m)
	}
	return recs
}

// obj returns v[key] as an object, failing the test otherwise.
func obj(t *testing.T, v map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := v[key].(map[string]any)
	if !ok {
		t.Fatalf("%q is %T (%v), want an object", key, v[key], v[key])
	}
	return o
}

// list returns v[key] as an array, failing the test otherwise.
func list(t *testing.T, v map[string]any, key string) []any {
	t.Helper()
	a, ok := v[key].([]any)
	if !ok {
		t.Fatalf("%q is %T (%v), want an array", key, v[key], v[key])
	}
	return a
}

// num returns v[key] as a number, failing the test otherwise.
func num(t *testing.T, v map[string]any, key string) float64 {
	t.Helper()
	n, ok := v[key].(float64)
	if !ok {
		t.Fatalf("%q is %T (%v), want a number", key, v[key], v[key])
	}
	return n
}

// str returns v[key] as a string, failing the test otherwise.
func str(t *testing.T, v map[string]any, key string) string {
	t.Helper()
	s, ok := v[key].(string)
	if !ok {
		t.Fatalf("%q is %T (%v), want a string", key, v[key], v[key])
	}
	return s
}

// objects converts a JSON array of objects.
func objects(t *testing.T, a []any) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(a))
	for i, v := range a {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("element %d is %T, want an object", i, v)
		}
		out[i] = o
	}
	return out
}

// waitFor polls cond every few milliseconds until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
