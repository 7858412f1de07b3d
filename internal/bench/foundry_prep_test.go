package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

const phiCPU = "Phi-4-mini-instruct-generic-cpu:1"

// recordSink keeps every record of a run.
type recordSink struct {
	mu   sync.Mutex
	recs []record.Record
}

func (s *recordSink) Add(r *record.Record) error {
	s.mu.Lock()
	s.recs = append(s.recs, *r)
	s.mu.Unlock()
	return nil
}
func (s *recordSink) Close() error { return nil }

// foundry1xRun serves a simulated Foundry Local 1.x with phi-4-mini's CPU
// variant downloaded, behind handler wrap (nil: none), with its fake CLI on
// PATH, and prepares a run of 200 requests at concurrency 8 on it.
func foundry1xRun(t *testing.T, wrap func(d *dialect.Foundry, next http.Handler) http.Handler, logf Logf) (*dialect.Foundry, *runner.Runner, *recordSink) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the simulated foundry CLI is a shell script")
	}
	d, err := dialect.NewFoundry(dialect.FoundryOptions{Generation: dialect.Foundry1x, Downloaded: []string{phiCPU},
		Profile: sim.Profile{TTFT: 2 * time.Millisecond, DecodeTPS: 4000, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = d
	if wrap != nil {
		h = wrap(d, d)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	if _, err := d.WriteCLI(dir, ts.URL, dialect.FoundryCLIOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	conc, reqs, warm := 8, 200, 0
	rs, err := (&Spec{Models: []string{"phi-4-mini"}, Scenarios: []string{"Simple Q&A - Short"}, Concurrency: &conc,
		Requests: &reqs, Warmup: &warm, MaxTokens: 4, SampleInterval: "off"}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, &Engine{Info: engine.Info{Kind: engine.Foundry, Endpoint: ts.URL + "/v1"}}, logf)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Config.Models) != 1 || r.Config.Models[0] != phiCPU {
		t.Fatalf("models %q", r.Config.Models)
	}
	sink := &recordSink{}
	r.Sinks = append(r.Sinks, sink)
	return d, r, sink
}

// TestFoundryLoadedChecksStayOffTheRequestPath runs 200 requests at
// concurrency 8 on a simulated Foundry Local 1.x and checks that the "still
// loaded?" checks never hold a request back: with checks due before every
// request and the first one blocked in the engine until the run is over,
// the run still completes, with one check in flight; at the default
// interval a short run makes no check at all.
func TestFoundryLoadedChecksStayOffTheRequestPath(t *testing.T) {
	defer func(d time.Duration) { foundryCheckEvery = d }(foundryCheckEvery)
	t.Run("a blocked check", func(t *testing.T) {
		foundryCheckEvery = time.Nanosecond // a check is due before every request
		var armed atomic.Bool
		var probes atomic.Int64
		release := make(chan struct{})
		var timedOut atomic.Bool
		_, r, sink := foundry1xRun(t, func(d *dialect.Foundry, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path == "/models/loaded" && armed.Load() {
					probes.Add(1)
					select { // hold the check until the run is over
					case <-release:
					case <-time.After(30 * time.Second):
						timedOut.Store(true)
					}
				}
				next.ServeHTTP(w, req)
			})
		}, nil)
		armed.Store(true)
		res, err := r.Run(context.Background())
		close(release)
		if err != nil || res.Status != runner.Completed {
			t.Fatalf("run: %v %+v", err, res)
		}
		if timedOut.Load() {
			t.Fatal("the run ended only after the blocked check was let go: requests waited for it")
		}
		ok := 0
		for _, rec := range sink.recs {
			if rec.Outcome == record.OK {
				ok++
			}
		}
		if ok != 200 || len(sink.recs) != 200 {
			t.Errorf("%d of %d records OK, want 200 of 200", ok, len(sink.recs))
		}
		if n := probes.Load(); n != 1 {
			t.Errorf("%d checks reached the engine during the run; want 1 (the blocked one, and never a second one beside it)", n)
		}
	})
	t.Run("default interval", func(t *testing.T) {
		foundryCheckEvery = 5 * time.Second
		var armed atomic.Bool
		var probes atomic.Int64
		_, r, _ := foundry1xRun(t, func(d *dialect.Foundry, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path == "/models/loaded" && armed.Load() {
					probes.Add(1)
				}
				next.ServeHTTP(w, req)
			})
		}, nil)
		armed.Store(true)
		start := time.Now()
		res, err := r.Run(context.Background())
		elapsed := time.Since(start)
		if err != nil || res.Status != runner.Completed {
			t.Fatalf("run: %v %+v", err, res)
		}
		// At most one check per model per interval (the old hook checked
		// before each of the 200 requests).
		if n, most := probes.Load(), int64(elapsed/foundryCheckEvery)+1; n > most {
			t.Errorf("%d checks in a %v run; want at most %d", n, elapsed, most)
		}
	})
}

// TestFoundryReloadAfterNotLoaded unloads the model behind a run's back at
// concurrency 8: the requests the engine refuses with 400 "Model not
// loaded" (at most one per worker) make the check run at once, the next
// requests wait for the reload instead of failing, and the log says so.
func TestFoundryReloadAfterNotLoaded(t *testing.T) {
	var chats atomic.Int64
	var mu sync.Mutex
	var logged []string
	logf := func(level, msg string) { mu.Lock(); logged = append(logged, level+" "+msg); mu.Unlock() }
	d, r, sink := foundry1xRun(t, func(d *dialect.Foundry, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/v1/chat/completions" && chats.Add(1) == 50 {
				d.Expire(phiCPU)
			}
			next.ServeHTTP(w, req)
		})
	}, logf)
	r.Log = logf
	res, err := r.Run(context.Background())
	if err != nil || res.Status != runner.Completed {
		t.Fatalf("run: %v %+v", err, res)
	}
	refused := 0
	for _, rec := range sink.recs {
		if rec.Outcome != record.OK {
			if rec.Status != 400 || !strings.Contains(rec.Error, "Model not loaded") {
				t.Errorf("record %d: %s %d %s", rec.Seq, rec.Outcome, rec.Status, rec.Error)
			}
			refused++
		}
	}
	if len(sink.recs) != 200 || refused < 1 || refused > 8 {
		t.Errorf("%d records, %d refused; want 200, 1 to 8 refused (at most one per worker)", len(sink.recs), refused)
	}
	if st := d.Stats(); st.Loads != 2 || st.Expired != 1 {
		t.Errorf("engine %+v; want the load before the run and one reload", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(logged, "\n"), "reloaded it in") {
		t.Errorf("the reload is not in the log:\n%s", strings.Join(logged, "\n"))
	}
}
