package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/selfmetrics/selfmetricstest"
	"flperf/internal/sim"
)

// TestRunMetricsFlags checks --metrics-listen's validation: a bad address,
// a port out of range, beyond loopback without a token and a short token
// are usage errors (exit 2) named by their flag, before anything is sent.
func TestRunMetricsFlags(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-listen", "nonsense"}, "--metrics-listen"},
		{[]string{"--metrics-listen", "127.0.0.1:99999"}, "--metrics-listen"},
		{[]string{"--metrics-listen", "127.0.0.1:http"}, "--metrics-listen"},
		{[]string{"--metrics-listen", "0.0.0.0:9464"}, "--metrics-token"},
		{[]string{"--metrics-listen", ":9464"}, "--metrics-token"},
		{[]string{"--metrics-listen", "127.0.0.1:0", "--metrics-token", "short"}, "--metrics-token"},
		{[]string{"--metrics-token", "0123456789abcdef"}, "--metrics-listen"},
	} {
		o := run(t, append([]string{"run", "--endpoint", s.base, "--no-save", "--requests", "1"}, c.args...)...)
		wantCode(t, o, ExitUsage)
		if !strings.Contains(o.stderr, c.want) {
			t.Errorf("%v: stderr %q does not name %s", c.args, o.stderr, c.want)
		}
	}
	if n := len(s.chats()); n != 0 {
		t.Errorf("%d requests sent by refused commands", n)
	}
}

// metricsURL finds the address `flperf run --metrics-listen` printed.
var metricsURL = regexp.MustCompile(`metrics on (http://\S+/metrics)`)

// TestRunMetricsListen runs a benchmark with --metrics-listen on a
// simulated engine that fails some requests (503s, cut streams), holds the
// last request at the engine, scrapes /metrics meanwhile and checks every
// counter and histogram against the records completed before it (the
// JSON Lines output) and that one request is in flight; once the run
// ends, the listener is closed.
func TestRunMetricsListen(t *testing.T) {
	const requests = 16
	srv, err := sim.New(sim.Profile{Name: "flaky", TTFT: time.Millisecond, DecodeTPS: 20000, Usage: true, Seed: 9,
		Faults: sim.Faults{Status503: 0.2, Cut: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		chats   int
		held    = make(chan struct{})
		release = make(chan struct{})
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" {
			mu.Lock()
			chats++
			last := chats == 1+requests
			mu.Unlock()
			if last {
				close(held)
				<-release
			}
		}
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()

	var stdout, stderr syncBuffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	suitePath := writeFile(t, "one.json", oneSuite)
	code := make(chan int, 1)
	go func() {
		code <- dispatch(context.Background(), env, []string{"run", "--endpoint", hs.URL + "/v1", "--model", "flaky",
			"--suite", suitePath, "--requests", "16", "--warmup", "1", "--concurrency", "1", "--seed", "4",
			"--format", "jsonl", "--no-save", "--metrics-listen", "127.0.0.1:0"})
	}()
	select {
	case <-held:
	case c := <-code:
		t.Fatalf("the run ended (%d) before its last request\n%s", c, stderr.String())
	}
	m := metricsURL.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics address printed:\n%s", stderr.String())
	}
	url := m[1]
	// The records before the held one reach the sinks on their own
	// goroutine: wait until all 16 (1 warm-up + 15) are counted.
	var body []byte
	for deadline := time.Now().Add(time.Minute); ; {
		body = get(t, url)
		fams := selfmetricstest.Parse(t, body)
		n := 0.0
		for _, f := range []string{"flperf_requests_total", "flperf_warmup_requests_total"} {
			for _, s := range fams[f].GetMetric() {
				n += s.GetCounter().GetValue()
			}
		}
		if n == requests {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v records counted while the last request is held, want %d:\n%s", n, requests, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	free()
	if c := <-code; c != ExitOK {
		t.Fatalf("exit %d\n%s", c, stderr.String())
	}

	var recs []record.Record
	for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		var r record.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		recs = append(recs, r)
	}
	if len(recs) != 1+requests {
		t.Fatalf("%d records, want %d", len(recs), 1+requests)
	}
	e := selfmetricstest.Expect(recs[:requests]) // all but the held one, the last to complete
	failed := 0.0
	for k, v := range e.Requests {
		if !strings.HasSuffix(k, "|ok") {
			failed += v
		}
	}
	if failed == 0 || e.Requests["flaky|only|ok"] == 0 {
		t.Fatalf("the faults gave no failure or no success: %v", e.Requests)
	}
	fams := selfmetricstest.Parse(t, body)
	selfmetricstest.Check(t, fams, e)
	if v := selfmetricstest.Series(fams["flperf_requests_in_flight"], "model", "scenario")["flaky|only"].GetGauge().GetValue(); v != 1 {
		t.Errorf("in flight %v while the last request is held, want 1", v)
	}
	if v := fams["flperf_runs_running"].GetMetric()[0].GetGauge().GetValue(); v != 1 {
		t.Errorf("runs running %v, want 1", v)
	}
	// The listener lives as long as the run.
	host := strings.TrimPrefix(strings.TrimSuffix(url, "/metrics"), "http://")
	if c, err := net.DialTimeout("tcp", host, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the run", host)
	}
}

// get fetches url and fails the test unless it answers 200.
func get(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, res.StatusCode, err, b)
	}
	return b
}
