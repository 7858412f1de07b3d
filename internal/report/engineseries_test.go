package report

import (
	"bytes"
	"strings"
	"testing"

	"flperf/internal/engineseries"
	"flperf/internal/runner"
)

// TestEngineSeriesTable checks the table's per-stage line of the engine's
// own view: mean/peak of running, waiting and KV % over the stage's
// samples, "–" for a figure the engine never gave (never 0), real zeros
// shown as 0, llama.cpp's busy slots of all slots, the stage's load level,
// and the notes.
func TestEngineSeriesTable(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	res := &runner.Result{ID: "x", EngineSeries: &engineseries.Series{Engine: "llamacpp", IntervalMS: 500,
		Stages: []engineseries.Stage{{Model: "m", Scenario: "chat", Stage: "c=4", FromMS: 0, ToMS: 1000}, {Model: "m", Scenario: "idle", FromMS: 1000, ToMS: 2000}},
		Samples: []engineseries.Sample{
			{TMS: 0, Running: f(2), SlotsBusy: f(2), SlotsTotal: f(2)},
			{TMS: 500, Running: f(1), SlotsBusy: f(1), SlotsTotal: f(2)},
			{TMS: 1500, Running: f(0), SlotsBusy: f(0), SlotsTotal: f(2)},
		},
		Notes: []string{"llama.cpp: /metrics is turned off"}}}
	var b bytes.Buffer
	ew := &errWriter{w: &b}
	engineSeriesBlock(ew, res)
	out := b.String()
	for _, want := range []string{
		"Engine's own view (llamacpp, read every 500 ms, 3 samples",
		"m × chat [c=4]: running 1.50/2, waiting –, KV –, busy slots 1.50/2 of 2  (2 samples)",
		"m × idle: running 0/0, waiting –, KV –, busy slots 0/0 of 2  (1 samples)",
		"note: llama.cpp: /metrics is turned off",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the block lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	engineSeriesBlock(ew, &runner.Result{})
	if b.Len() != 0 {
		t.Errorf("a run without an engine series prints %q", b.String())
	}
}
