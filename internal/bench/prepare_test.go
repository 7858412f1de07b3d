package bench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"flperf/internal/runner"
	"flperf/internal/sim"
)

// TestPrepareOnTheSimulatedEngine prepares and runs a small run on the
// built-in simulated engine: no models given takes every simulated model,
// the command line repeats it with --engine sim, and messages go to the
// log callback, not to a terminal.
func TestPrepareOnTheSimulatedEngine(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	logf := func(level, msg string) { mu.Lock(); logged = append(logged, level+" "+msg); mu.Unlock() }
	eng, cleanup, err := StartSim("test", logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	if !eng.Builtin || !eng.Simulated {
		t.Fatalf("engine %+v", eng)
	}
	rs, err := (&Spec{Scenarios: []string{"Simple Q&A - Short"}, Requests: intp(1), Warmup: intp(0), MaxTokens: 4}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(context.Background(), rs, eng, logf)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range sim.DefaultProfiles() {
		want = append(want, p.Name)
	}
	if !slices.Equal(r.Config.Models, want) || r.Config.Endpoint != eng.Endpoint || r.Engine.API != "openai" {
		t.Fatalf("runner config %+v engine %+v", r.Config, r.Engine)
	}
	if cmd := strings.Join(r.Config.Command, " "); !strings.HasPrefix(cmd, "flperf run --engine sim --model sim-fast") {
		t.Fatalf("command %q", cmd)
	}
	if len(rs.Config.Models) != 0 || eng.API != "" {
		t.Fatal("Prepare changed its inputs")
	}
	res, err := r.Run(context.Background())
	if err != nil || res.Status != runner.Completed || res.Records != len(want) {
		t.Fatalf("run: %v %+v", err, res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) == 0 || !strings.Contains(logged[0], "SIMULATED") {
		t.Fatalf("log %q", logged)
	}
}

// TestPrepareRefusesWhatTheEngineCannotDo checks that a cold start on the
// simulated engine is a Problem (a usage error), found before any model
// is touched.
func TestPrepareRefusesWhatTheEngineCannotDo(t *testing.T) {
	eng, cleanup, err := StartSim("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	rs, err := (&Spec{Models: []string{"sim-fast"}, Cold: true}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(context.Background(), rs, eng, nil)
	var p Problems
	if !errors.As(err, &p) || p[0].Field != "cold" || !strings.Contains(err.Error(), "restart it") {
		t.Fatalf("error %v", err)
	}
}
