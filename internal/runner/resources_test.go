package runner

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/sim"
	"flperf/internal/suite"
	"flperf/internal/telemetry"
)

// TestResourcesSampledPerStage runs two models over the accuracy suite
// with the resource sampler on (the engine is this process: the simulated
// engine runs in it) and checks that the run's hardware is kept, that each
// stage and model has its own window in run order, that the samples cover
// the stages (the sampler ran while requests were in flight), and that
// without a power source energy per token is null, never 0.
func TestResourcesSampledPerStage(t *testing.T) {
	a := startSim(t, sim.Profile{Name: "a", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Usage: true}, sim.Profile{Name: "b", TTFT: 5 * time.Millisecond, DecodeTPS: 1500, Usage: true})
	st, _ := suite.Parse("accuracy.json", []byte(accuracySuite))
	cfg := Config{Mode: load.Sequential, Concurrency: 1, Requests: 6, Models: []string{"a", "b"}, Stream: true, Timeout: Duration(10 * time.Second), MaxTokens: 120}
	arch := "test-arch"
	r := &Runner{Client: backend.New(a.base, backend.Options{}), Engine: engine.Info{Kind: engine.Sim, Endpoint: a.base, Simulated: true},
		Suite: st, Scenarios: st.Scenarios, Config: cfg,
		Hardware:  &telemetry.Hardware{Arch: arch},
		Resources: &telemetry.Options{Interval: 20 * time.Millisecond, PID: int32(os.Getpid()), GPU: telemetry.GPUOff}}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Hardware == nil || res.Hardware.Arch != arch {
		t.Fatalf("hardware not kept: %+v", res.Hardware)
	}
	rs := res.Resources
	if rs == nil || res.Series == nil {
		t.Fatal("no resources")
	}
	if want := len(cfg.Models) * len(st.Scenarios); len(rs.Stages) != want || len(rs.Models) != 2 {
		t.Fatalf("%d stage windows (want %d), %d model windows", len(rs.Stages), want, len(rs.Models))
	}
	for i, w := range rs.Stages {
		if w.Model != cfg.Models[i/len(st.Scenarios)] || w.Scenario != st.Scenarios[i%len(st.Scenarios)].Name {
			t.Errorf("stage %d is %s/%s", i, w.Model, w.Scenario)
		}
		if w.OutputTokens <= 0 || !w.To.After(w.From) {
			t.Errorf("stage %d: %d tokens, window %v–%v", i, w.OutputTokens, w.From, w.To)
		}
		if i > 0 && w.From.Before(rs.Stages[i-1].To) {
			t.Errorf("stage %d starts before stage %d ends", i, i-1)
		}
	}
	if rs.Run.N == 0 || rs.Run.N > len(res.Series.Samples) || rs.Run.CPUPct.Mean == nil || rs.Run.ProcRSSBytes.Mean == nil {
		t.Fatalf("run window: %d samples of %d, cpu %v rss %v", rs.Run.N, len(res.Series.Samples), rs.Run.CPUPct.Mean, rs.Run.ProcRSSBytes.Mean)
	}
	total := 0
	for _, m := range rs.Models {
		total += m.OutputTokens
	}
	if total != rs.Run.OutputTokens || total == 0 {
		t.Errorf("model tokens %d, run tokens %d", total, rs.Run.OutputTokens)
	}
	if rs.Run.EnergyJ != nil || rs.Run.JoulesPerToken != nil || rs.Run.TokensPerJoule != nil {
		t.Errorf("energy without a power source: %v J, %v J/token", rs.Run.EnergyJ, rs.Run.JoulesPerToken)
	}
	if rs.Cost.Ticks == 0 || rs.IntervalMS != 20 {
		t.Errorf("cost %+v interval %d", rs.Cost, rs.IntervalMS)
	}
}

// TestFirstAndLastStageEnergyExact summarises a series shaped as the
// sampler records it (a sample at start without power, ticks of a 250 W
// source, a sample at stop without power, too soon after the last tick)
// over three stages, the first starting before the first tick and the last
// ending after the last: energy per token of every stage, the first and
// last included, is 250 W × its length / its tokens, and the run's is the
// whole span's.
func TestFirstAndLastStageEnergyExact(t *testing.T) {
	const watts = 250.0
	start := time.Now()
	ser := &telemetry.Series{Start: start, IntervalMS: 100, RAPLDomains: []string{"package-0"}}
	for _, ms := range []int64{0, 100, 200, 300, 400, 500, 503} {
		smp := telemetry.Sample{T: ms}
		if ms != 0 && ms != 503 {
			p := watts
			smp.PackagePowerW = &p
		}
		ser.Samples = append(ser.Samples, smp)
	}
	at := func(us int64) time.Time { return start.Add(time.Duration(us) * time.Microsecond) }
	stages := []stageWindow{
		{model: "a", scenario: "s1", start: at(1_250), end: at(180_500), tokens: 30},
		{model: "a", scenario: "s2", start: at(180_600), end: at(320_000), tokens: 41},
		{model: "b", scenario: "s1", start: at(320_100), end: at(502_900), tokens: 17},
	}
	rs := resources(ser, stages)
	for i, st := range stages {
		w := rs.Stages[i]
		secs := st.end.Sub(st.start).Seconds()
		if w.EnergyJ == nil || w.JoulesPerToken == nil || w.TokensPerJoule == nil {
			t.Fatalf("stage %d: no energy: %+v", i, w.Summary)
		}
		if got, want := *w.JoulesPerToken, watts*secs/float64(st.tokens); math.Abs(got-want) > 1e-9*want {
			t.Errorf("stage %d: %.12g J/token, want %.12g (%.12g J over %.6f s)", i, got, want, *w.EnergyJ, secs)
		}
		if math.Abs(*w.EnergySpanS-secs) > 1e-12 {
			t.Errorf("stage %d: energy over %v s of a %v s window", i, *w.EnergySpanS, secs)
		}
	}
	secs := stages[2].end.Sub(stages[0].start).Seconds()
	if got, want := *rs.Run.JoulesPerToken, watts*secs/(30+41+17); math.Abs(got-want) > 1e-9*want {
		t.Errorf("run: %.12g J/token, want %.12g", got, want)
	}
	if got, want := *rs.Models[1].EnergyJ, watts*stages[2].end.Sub(stages[2].start).Seconds(); math.Abs(got-want) > 1e-9*want {
		t.Errorf("model b: %v J, want %v", got, want)
	}
}

// TestStagesLieBetweenSamples runs with the sampler on and checks that the
// series has a sample at its start and one at or after the end of the last
// stage, so every stage window is bracketed by samples (its energy is
// integrated whole wherever power is measured).
func TestStagesLieBetweenSamples(t *testing.T) {
	a := startSim(t, sim.Profile{Name: "a", TTFT: 2 * time.Millisecond, DecodeTPS: 4000, Usage: true})
	st, _ := suite.Parse("accuracy.json", []byte(accuracySuite))
	cfg := Config{Mode: load.Sequential, Concurrency: 1, Requests: 2, Models: []string{"a"}, Stream: true, Timeout: Duration(10 * time.Second), MaxTokens: 20}
	r := &Runner{Client: backend.New(a.base, backend.Options{}), Engine: engine.Info{Kind: engine.Sim, Endpoint: a.base, Simulated: true},
		Suite: st, Scenarios: st.Scenarios, Config: cfg,
		Resources: &telemetry.Options{Interval: time.Second, GPU: telemetry.GPUOff}}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ser, rs := res.Series, res.Resources
	if ser == nil || rs == nil || len(rs.Stages) != len(st.Scenarios) {
		t.Fatalf("series %v, resources %+v", ser != nil, rs)
	}
	first, last := ser.At(0), ser.At(len(ser.Samples)-1)
	if ser.Samples[0].T != 0 || len(ser.Samples) < 2 {
		t.Fatalf("%d samples, the first at %d ms", len(ser.Samples), ser.Samples[0].T)
	}
	for i, w := range rs.Stages {
		if w.From.Before(first) || w.To.After(last) {
			t.Errorf("stage %d (%v–%v) not within the samples (%v–%v)", i, w.From, w.To, first, last)
		}
	}
}
