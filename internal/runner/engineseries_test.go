package runner

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/engineseries"
	"flperf/internal/load"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/suite"
)

// TestEngineSeriesOfRun runs a closed-loop stage at twice the simulated
// vLLM's slots with the engine series on, and checks that the series
// covers the stage (its window on the series' axis), that every sample's
// running and waiting is what the simulator's queue held while that
// sample's scrape was in flight, and that the stage's summary peaks at
// every slot busy with as many requests waiting.
func TestEngineSeriesOfRun(t *testing.T) {
	const slots = 2
	v, err := dialect.NewVLLM(sim.Profile{Name: "q", TTFT: 5 * time.Millisecond, DecodeTPS: 400, Slots: slots, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v)
	defer srv.Close()
	base := srv.URL + "/v1"
	info := engine.Info{Kind: engine.VLLM, Endpoint: base}
	st, err := suite.Parse("q.json", []byte(`{"name":"q","scenarios":[{"name":"fixed","prompt":"Say something.","max_tokens":40}]}`))
	if err != nil {
		t.Fatal(err)
	}
	v.RecordQueue()
	r := &Runner{
		Client: backend.New(base, backend.Options{Timeout: 30 * time.Second, MaxConns: 2 * slots}),
		Engine: info, Suite: st, Scenarios: st.Scenarios,
		Config: Config{Models: []string{"q"}, Mode: load.Concurrency, Concurrency: 2 * slots, Requests: 16, Stream: true, Timeout: Duration(30 * time.Second)},
		EngineSeries: &engineseries.Options{Interval: 10 * time.Millisecond, Engine: string(engine.VLLM),
			Reader: engineseries.ReaderFor(info, nil)},
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	es := res.EngineSeries
	if es == nil || len(es.Stages) != 1 || len(es.Samples) < 3 {
		t.Fatalf("engine series %+v", es)
	}
	stage := es.Stages[0]
	if stage.Model != "q" || stage.Scenario != "fixed" || stage.FromMS < 0 || stage.ToMS <= stage.FromMS ||
		stage.ToMS > es.Samples[len(es.Samples)-1].TMS+es.Samples[len(es.Samples)-1].TookMS {
		t.Errorf("stage %+v on a series of %d samples ending at %.3f ms", stage, len(es.Samples), es.Samples[len(es.Samples)-1].TMS)
	}
	log := v.QueueLog()
	at := func(t time.Time) (w, run int) {
		for _, c := range log {
			if !c.At.After(t) {
				w, run = c.Waiting, c.Running
			}
		}
		return w, run
	}
	for i, smp := range es.Samples {
		from := es.Start.Add(time.Duration(smp.TMS*1e6) - time.Microsecond)
		to := es.Start.Add(time.Duration((smp.TMS+smp.TookMS)*1e6) + 2*time.Microsecond)
		w0, r0 := at(from)
		okW, okR := *smp.Waiting == float64(w0), *smp.Running == float64(r0)
		for _, c := range log {
			if c.At.After(from) && !c.At.After(to) {
				okW = okW || *smp.Waiting == float64(c.Waiting)
				okR = okR || *smp.Running == float64(c.Running)
			}
		}
		if !okW || !okR {
			t.Errorf("sample %d at %.3f ms: running %v waiting %v, not what the simulator held during the scrape", i, smp.TMS, *smp.Running, *smp.Waiting)
		}
	}
	sum := es.Summaries()[0]
	if p := sum.Figures["running"].Peak; p == nil || *p != slots {
		t.Errorf("stage peak running %v, want %d", p, slots)
	}
	if p := sum.Figures["waiting"].Peak; p == nil || *p != slots {
		t.Errorf("stage peak waiting %v, want %d (2×slots in flight)", p, slots)
	}
}
