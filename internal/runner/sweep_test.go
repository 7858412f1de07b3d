package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/suite"
)

const sweepSuite = `{"name":"sweep","scenarios":[
 {"name":"short","prompt":"Say something short.","max_tokens":30},
 {"name":"long","prompt":"Say something a little longer, please.","max_tokens":40}]}`

// stageWatch attributes every request the simulated engine receives to the
// stage the runner had begun when it arrived (the runner logs each stage
// before its first request) and keeps each stage's peak of requests in
// flight at the engine, and its arrivals.
type stageWatch struct {
	mu       sync.Mutex
	current  string
	of       map[int64]string // request id → stage key
	inFlight map[string]int
	peak     map[string]int
	arrived  map[string]int
}

func newStageWatch(srv *sim.Server) *stageWatch {
	w := &stageWatch{of: map[int64]string{}, inFlight: map[string]int{}, peak: map[string]int{}, arrived: map[string]int{}}
	srv.SetTrace(func(e sim.Event) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch e.Kind {
		case sim.Arrived:
			k := w.current
			w.of[e.Req] = k
			w.arrived[k]++
			w.inFlight[k]++
			w.peak[k] = max(w.peak[k], w.inFlight[k])
		case sim.End:
			if k, ok := w.of[e.Req]; ok {
				w.inFlight[k]--
			}
		}
	})
	return w
}

// log is the runner's Log: a stage's first line names the model, the
// scenario and the plan ("model m, scenario "s": concurrency=4").
func (w *stageWatch) log(_, msg string) {
	if strings.HasPrefix(msg, "model ") && strings.Contains(msg, ", scenario ") {
		w.mu.Lock()
		w.current = msg
		w.mu.Unlock()
	}
}

func runSweep(t *testing.T, cfg Config, profiles ...sim.Profile) (*Result, []record.Record, *stageWatch, []string) {
	t.Helper()
	srv, err := sim.Start("", profiles...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	w := newStageWatch(srv.Server)
	st, err := suite.Parse("sweep.json", []byte(sweepSuite))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range profiles {
		cfg.Models = append(cfg.Models, p.Name)
	}
	cfg.Stream, cfg.Endpoint, cfg.Timeout = true, srv.URL, Duration(30*time.Second)
	sink := &collect{}
	var logs []string
	r := &Runner{
		Client: backend.New(srv.URL, backend.Options{Timeout: 30 * time.Second, MaxConns: cfg.Connections()}),
		Engine: engine.Info{Kind: engine.Sim, Endpoint: srv.URL, Simulated: true}, Suite: st, Scenarios: st.Scenarios,
		Config: cfg, Sinks: []Sink{sink},
		Log: func(level, msg string) { logs = append(logs, msg); w.log(level, msg) },
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, sink.recs, w, logs
}

// A concurrency sweep runs each level as a stage of every model ×
// scenario, in order (model, scenario, level ascending), with exactly the
// level's requests in flight at the engine, and a summary row per stage.
func TestConcurrencySweepStages(t *testing.T) {
	fast := sim.Profile{Name: "sw-a", TTFT: 20 * time.Millisecond, DecodeTPS: 800, TokensPerChunk: 4, Usage: true, Seed: 1}
	slow := sim.Profile{Name: "sw-b", TTFT: 25 * time.Millisecond, DecodeTPS: 600, TokensPerChunk: 4, Usage: true, Seed: 2}
	cfg := Config{Mode: load.Concurrency, Concurrency: 4, Levels: []float64{4, 1, 2}, Requests: 8, Warmup: 1, Seed: 3}
	res, recs, w, _ := runSweep(t, cfg, fast, slow)

	wantStages := []string{"c=1", "c=2", "c=4"}
	// Order: model, scenario, level ascending; warm-up once per model.
	var order []string
	for _, g := range res.Groups {
		order = append(order, g.Model+"/"+g.Scenario+"/"+g.Stage)
	}
	var want []string
	for _, m := range []string{"sw-a", "sw-b"} {
		for _, sc := range []string{"short", "long"} {
			for _, s := range wantStages {
				want = append(want, m+"/"+sc+"/"+s)
			}
		}
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("summary rows:\n got %v\nwant %v", order, want)
	}
	for _, g := range res.Groups {
		wantWarm := 0
		if g.Scenario == "short" && g.Stage == "c=1" {
			wantWarm = 1
		}
		if g.Requests != 8 || g.OK != 8 || g.Warmup != wantWarm {
			t.Errorf("%s/%s/%s: requests %d ok %d warm-up %d, want 8, 8, %d", g.Model, g.Scenario, g.Stage, g.Requests, g.OK, g.Warmup, wantWarm)
		}
	}
	// The pooled rows are per model × level.
	if len(res.Models) != 2*3 {
		t.Fatalf("%d pooled rows, want one per model × level (6)", len(res.Models))
	}
	for _, g := range res.Models {
		if g.Requests != 16 {
			t.Errorf("pooled %s/%s: %d requests, want 16 (2 scenarios × 8)", g.Model, g.Stage, g.Requests)
		}
	}
	if len(recs) != 2*2*3*8+2 || res.Records != len(recs) {
		t.Fatalf("%d records (result says %d), want %d", len(recs), res.Records, 2*2*3*8+2)
	}
	counts := map[string]int{}
	for _, r := range recs {
		if r.Warmup {
			continue
		}
		counts[r.Model+"/"+r.Scenario+"/"+r.Stage]++
	}
	for _, k := range want {
		if counts[k] != 8 {
			t.Errorf("%s: %d measured records, want 8", k, counts[k])
		}
	}
	// What the engine saw: each stage's peak of requests in flight is
	// exactly its level, and it received exactly the stage's requests.
	if len(w.peak) != len(want) {
		t.Fatalf("the engine saw requests in %d stages, want %d: %v", len(w.peak), len(want), w.peak)
	}
	for key, peak := range w.peak {
		var level int
		if _, err := fmt.Sscanf(key[strings.LastIndex(key, "concurrency=")+len("concurrency="):], "%d", &level); err != nil {
			t.Fatalf("stage line %q names no concurrency", key)
		}
		if peak != level {
			t.Errorf("%s: the engine saw at most %d requests in flight, want exactly %d", key, peak, level)
		}
		wantArrived := 8
		if strings.Contains(key, `scenario "short"`) && level == 1 {
			wantArrived = 9 // the model's warm-up
		}
		if w.arrived[key] != wantArrived {
			t.Errorf("%s: the engine received %d requests, want %d", key, w.arrived[key], wantArrived)
		}
	}
	if got := res.Config.Sweep(); len(got) != 3 || got[0].Label() != "c=1" || got[2].Label() != "c=4" {
		t.Fatalf("config's sweep: %v", got)
	}
}

// A rate sweep runs each arrival rate as a stage: every stage's requests
// are scheduled exactly 1/rate apart, and the engine receives them all.
func TestRateSweepStages(t *testing.T) {
	p := sim.Profile{Name: "sw-r", TTFT: 5 * time.Millisecond, DecodeTPS: 4000, TokensPerChunk: 8, Usage: true, Seed: 4}
	cfg := Config{Mode: load.Rate, Rate: 20, Arrival: load.Constant, Levels: []float64{40, 20}, Requests: 6, Warmup: 0, Seed: 5}
	res, recs, w, _ := runSweep(t, cfg, p)
	want := []string{"short/rate=20/s", "short/rate=40/s", "long/rate=20/s", "long/rate=40/s"}
	if len(res.Groups) != len(want) {
		t.Fatalf("%d summary rows, want %d", len(res.Groups), len(want))
	}
	for i, g := range res.Groups {
		if got := g.Scenario + "/" + g.Stage; got != want[i] || g.Requests != 6 || g.OK != 6 {
			t.Errorf("row %d: %s with %d requests (%d ok), want %s with 6", i, got, g.Requests, g.OK, want[i])
		}
	}
	byStage := map[string][]record.Record{}
	for _, r := range recs {
		k := r.Scenario + "/" + r.Stage
		byStage[k] = append(byStage[k], r)
	}
	for _, k := range want {
		rs := byStage[k]
		if len(rs) != 6 {
			t.Fatalf("%s: %d records, want 6", k, len(rs))
		}
		gap := time.Second / 20
		if strings.HasSuffix(k, "40/s") {
			gap = time.Second / 40
		}
		first := rs[0].Scheduled
		for _, r := range rs {
			if r.Scheduled.Before(first) {
				first = r.Scheduled
			}
		}
		seen := map[time.Duration]bool{}
		for _, r := range rs {
			off := r.Scheduled.Sub(first)
			if off%gap != 0 || off/gap >= 6 || seen[off] {
				t.Fatalf("%s: a request scheduled %v after the stage's first, want distinct multiples of %v below %v", k, off, gap, 6*gap)
			}
			seen[off] = true
		}
	}
	total := 0
	for key, n := range w.arrived {
		if !strings.Contains(key, "rate=") {
			t.Errorf("requests arrived during a stage not at a rate level: %q", key)
		}
		total += n
	}
	if total != 4*6 {
		t.Fatalf("the engine received %d requests, want 24", total)
	}
}

// A run of one level keeps its stages unlabelled, exactly as before sweeps.
func TestSingleLevelHasNoStageLabel(t *testing.T) {
	p := sim.Profile{Name: "one", TTFT: 2 * time.Millisecond, DecodeTPS: 5000, Usage: true}
	for _, cfg := range []Config{
		{Mode: load.Concurrency, Concurrency: 2, Requests: 3, Seed: 1},
		{Mode: load.Concurrency, Concurrency: 2, Levels: []float64{2}, Requests: 3, Seed: 1},
	} {
		res, recs, _, _ := runSweep(t, cfg, p)
		if len(res.Groups) != 2 || len(res.Models) != 1 {
			t.Fatalf("levels %v: %d rows, %d pooled, want 2 and 1", cfg.Levels, len(res.Groups), len(res.Models))
		}
		for _, r := range recs {
			if r.Stage != "" {
				t.Fatalf("levels %v: a record of stage %q, want none", cfg.Levels, r.Stage)
			}
		}
	}
}

func TestLevelLabels(t *testing.T) {
	for _, c := range []struct {
		l    Level
		want string
	}{{ConcurrencyLevel(4), "c=4"}, {RateLevel(2), "rate=2/s"}, {RateLevel(0.5), "rate=0.5/s"}, {ConcurrencyLevel(64), "c=64"}} {
		if got := c.l.Label(); got != c.want {
			t.Errorf("%+v: label %q, want %q", c.l, got, c.want)
		}
		if back, ok := ParseLevel(c.want); !ok || back != c.l {
			t.Errorf("ParseLevel(%q) = %+v, %v", c.want, back, ok)
		}
	}
	for _, bad := range []string{"", "c=0", "c=4x", "rate=/s", "rate=-1/s", "concurrency=4", "c=04"} {
		if l, ok := ParseLevel(bad); ok {
			t.Errorf("ParseLevel(%q) = %+v, want not a level", bad, l)
		}
	}
}
