package server

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Live feed limits.
const (
	progressEvery  = 250 * time.Millisecond // at most 4 progress events a second
	maxRecent      = 200                    // records listed in one progress event
	keepProgress   = 1000                   // progress events kept for resuming clients (4 minutes at 4/s)
	maxLogMessages = 10000                  // log events per run in the feed (the store keeps them all)
)

// The per-request figures of the running statistics, defined once in
// package stats.
var (
	ttftMetric, _ = stats.MetricByKey("ttft_ms")
	tpotMetric, _ = stats.MetricByKey("tpot_ms")
	e2eMetric, _  = stats.MetricByKey("e2e_ms")
)

// liveProgress is the "live" member of GET /runs/{id} and the counters
// of a progress event.
type liveProgress struct {
	Done      int      `json:"done"`
	Total     int      `json:"total"`
	Errors    int      `json:"errors"`
	Model     string   `json:"model"`
	Scenario  string   `json:"scenario"`
	ElapsedMS float64  `json:"elapsed_ms"`
	ETAMS     *float64 `json:"eta_ms"`
}

// recentRecord is one record of a progress event.
type recentRecord struct {
	OK           bool     `json:"ok"`
	TTFTMS       *float64 `json:"ttft_ms"`
	E2EMS        *float64 `json:"e2e_ms"`
	TPOTMS       *float64 `json:"tpot_ms"`
	OutputTokens int      `json:"output_tokens"`
}

// runningStats are the current stage's figures so far.
type runningStats struct {
	TTFTP50   *float64 `json:"ttft_p50_ms"`
	TPOTP50   *float64 `json:"tpot_p50_ms"`
	DecodeTPS *float64 `json:"decode_tps_mean"`
	OutputTPS *float64 `json:"output_tps"`
}

// progressEvent is the data of a progress event.
type progressEvent struct {
	liveProgress
	Recent  []recentRecord `json:"recent"`
	Running runningStats   `json:"running"`
}

// stageKey names a model × scenario stage.
type stageKey struct{ model, scenario string }

// feed is a running run's live view: a runner.Sink that never blocks the
// runner (Add only appends under a mutex), the runner's Progress and Log
// callbacks, and a ticker that turns what changed into at most four
// progress events a second on the run's hub.
type feed struct {
	hub    *hub
	stages []stageKey // every stage, in run order

	mu        sync.Mutex
	prog      runner.Progress
	started   bool
	recent    []recentRecord
	dirty     bool
	announced int           // stages announced so far
	cur       stats.Running // the current stage's records (figures as its summary will have them)
	logs      int

	stop chan struct{}
	done chan struct{}
}

// newFeed starts the live feed of a run over models × scenarios.
func newFeed(h *hub, models, scenarios []string) *feed {
	f := &feed{hub: h, stop: make(chan struct{}), done: make(chan struct{})}
	for _, m := range models {
		for _, sc := range scenarios {
			f.stages = append(f.stages, stageKey{m, sc})
		}
	}
	go f.tick()
	return f
}

// setStages replaces the planned stages once the models are known.
func (f *feed) setStages(models, scenarios []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stages = f.stages[:0]
	for _, m := range models {
		for _, sc := range scenarios {
			f.stages = append(f.stages, stageKey{m, sc})
		}
	}
}

// Add takes one record (runner.Sink).
func (f *feed) Add(r *record.Record) error {
	out, _, _ := r.Output() // a count the text cannot hold is not used (docs/metrics.md §2)
	rr := recentRecord{OK: r.Outcome == record.OK, OutputTokens: out}
	one := func(m stats.Metric) *float64 {
		if !rr.OK {
			return nil
		}
		var buf [1]float64
		if xs := m.Samples(r, buf[:0]); len(xs) == 1 {
			return &xs[0]
		}
		return nil
	}
	rr.TTFTMS, rr.E2EMS, rr.TPOTMS = one(ttftMetric), one(e2eMetric), one(tpotMetric)
	if !rr.OK && r.End > 0 {
		v := float64(r.End) / float64(time.Millisecond)
		rr.E2EMS = &v
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.recent) == maxRecent {
		copy(f.recent, f.recent[1:])
		f.recent = f.recent[:maxRecent-1]
	}
	f.recent = append(f.recent, rr)
	f.dirty = true
	f.cur.Add(r)
	return nil
}

// Close ends the sink (the run's end is published by finish).
func (f *feed) Close() error { return nil }

// progress takes the runner's Progress.
func (f *feed) progress(p runner.Progress) {
	f.mu.Lock()
	f.prog, f.started, f.dirty = p, true, true
	f.mu.Unlock()
}

// live returns the latest counters, or nil before the first record.
func (f *feed) live() *liveProgress {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started {
		return nil
	}
	lp := liveOf(f.prog)
	return &lp
}

// liveOf converts the runner's Progress.
func liveOf(p runner.Progress) liveProgress {
	lp := liveProgress{Done: p.Done, Total: p.Total, Errors: p.Errors, Model: p.Model, Scenario: p.Scenario, ElapsedMS: ms(p.Elapsed)}
	if p.ETA > 0 {
		v := ms(p.ETA)
		lp.ETAMS = &v
	}
	return lp
}

// log publishes a log line, and a stage event when the runner says a
// stage starts ("model M, scenario "S": …").
func (f *feed) log(level, msg string) {
	f.mu.Lock()
	var stage *stageKey
	idx := 0
	for i := f.announced; i < len(f.stages); i++ {
		k := f.stages[i]
		if strings.HasPrefix(msg, fmt.Sprintf("model %s, scenario %q: ", k.model, k.scenario)) {
			stage, idx, f.announced = &k, i, i+1
			f.cur = stats.Running{}
			break
		}
	}
	count := len(f.stages)
	f.logs++
	logged := f.logs <= maxLogMessages
	f.mu.Unlock()
	if logged {
		f.hub.publish("log", map[string]any{"time": time.Now().UTC(), "level": level, "message": msg}, false)
	}
	if stage != nil {
		f.hub.publish("stage", map[string]any{"model": stage.model, "scenario": stage.scenario, "index": idx, "count": count}, false)
	}
}

// tick publishes a progress event every progressEvery while something
// changed, until stopped.
func (f *feed) tick() {
	defer close(f.done)
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.flush()
		case <-f.stop:
			f.flush()
			return
		}
	}
}

// flush publishes a progress event if anything changed since the last.
func (f *feed) flush() {
	f.mu.Lock()
	if !f.dirty {
		f.mu.Unlock()
		return
	}
	ev := progressEvent{liveProgress: liveOf(f.prog), Recent: f.recent}
	f.recent, f.dirty = make([]recentRecord, 0, 16), false
	snap := f.cur.Snapshot(f.prog.Model, f.prog.Scenario, f.prog.Stage) // frozen: sorted outside the lock
	f.mu.Unlock()
	if ev.Recent == nil {
		ev.Recent = []recentRecord{}
	}
	ev.Running = runningOf(snap.Figures())
	f.hub.publish("progress", ev, true)
}

// finish stops the ticker after a last progress event.
func (f *feed) finish() {
	close(f.stop)
	<-f.done
}

// runningOf converts a stage's figures so far (stats.Running, the same
// figures as the CLI's live display): nil where there is no sample yet.
func runningOf(f stats.RunningFigures) runningStats {
	dist := func(d stats.Dist, v float64) *float64 {
		if d.N == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	rs := runningStats{TTFTP50: dist(f.TTFT, f.TTFT.P50), TPOTP50: dist(f.TPOT, f.TPOT.P50), DecodeTPS: dist(f.DecodeTPS, f.DecodeTPS.Mean)}
	if f.Window > 0 {
		v := f.OutputTokensPerS
		rs.OutputTPS = &v
	}
	return rs
}

// ms is a duration in float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
