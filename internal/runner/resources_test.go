package runner

import (
	"context"
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
