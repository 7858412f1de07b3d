package bench

import (
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/telemetry"
)

// TestEngineSeriesFor checks which runs sample the engine series and how
// often: engines with queue routes only, never with sampling off, every
// 500 ms or every resource sample when that is longer.
func TestEngineSeriesFor(t *testing.T) {
	on := &telemetry.Options{}
	for _, c := range []struct {
		kind     engine.Kind
		sampling *telemetry.Options
		want     time.Duration // 0: no engine series
	}{
		{engine.VLLM, on, 500 * time.Millisecond},
		{engine.SGLang, &telemetry.Options{Interval: 2 * time.Second}, 2 * time.Second},
		{engine.LlamaCpp, &telemetry.Options{Interval: 100 * time.Millisecond}, 500 * time.Millisecond},
		{engine.Ollama, on, 500 * time.Millisecond},
		{engine.VLLM, nil, 0},
		{engine.Sim, on, 0},
		{engine.LMStudio, on, 0},
		{engine.Foundry, on, 0},
		{engine.OpenAI, on, 0},
	} {
		o := engineSeriesFor(engine.Info{Kind: c.kind, Endpoint: "http://127.0.0.1:1/v1"}, c.sampling, nil)
		switch {
		case c.want == 0 && o != nil:
			t.Errorf("%s (sampling %v): an engine series every %v", c.kind, c.sampling != nil, o.Interval)
		case c.want != 0 && (o == nil || o.Interval != c.want || o.Reader == nil || o.Engine != string(c.kind)):
			t.Errorf("%s: options %+v, want every %v", c.kind, o, c.want)
		}
	}
}
