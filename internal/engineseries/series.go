// Package engineseries samples an engine's own view of the load while a run
// goes: its queue (requests running and waiting), its KV cache, its busy
// slots and, on Ollama, the models it holds loaded and their accelerator
// memory. It reads the routes each engine serves for this (vLLM and
// SGLang's Prometheus /metrics, llama.cpp's /slots and /metrics, Ollama's
// /api/ps) every interval in its own goroutine, never on a request's path,
// and keeps a time series with the run, so that a reader can see that TTFT
// rose because requests queued (docs/metrics.md §7.2 for the gauges).
//
// A figure the engine does not give is null, never 0; a read that fails
// leaves that sample's figures from it null and is noted once, with a count.
package engineseries

import (
	"math"
	"time"
)

// Series is what the sampler recorded over one run.
type Series struct {
	// Start is when sampling began; every Sample.TMS is an offset from it.
	// In memory it carries a monotonic reading.
	Start time.Time `json:"start"`
	// IntervalMS is the sampling interval.
	IntervalMS int64 `json:"interval_ms"`
	// Engine is the engine's kind (vllm, sglang, llamacpp, ollama).
	Engine string `json:"engine"`
	// Sources names, per figure (the Sample's JSON key), where it was read:
	// a metric name, or a route and field ("/slots is_processing").
	Sources map[string]string `json:"sources"`
	// Stages are the run's model × scenario stages on the series' time axis.
	Stages []Stage `json:"stages"`
	// Samples in time order; ticks missed while a read was slow are
	// skipped, not queued.
	Samples []Sample `json:"samples"`
	// Notes explains every figure that is missing (a route the engine has
	// turned off, a read that failed), once each.
	Notes []string `json:"notes"`
}

// Stage is one model × scenario stage of the run, in milliseconds since
// Series.Start.
type Stage struct {
	Model    string  `json:"model"`
	Scenario string  `json:"scenario"`
	Stage    string  `json:"stage,omitempty"` // the load level's label in a sweep
	FromMS   float64 `json:"from_ms"`
	ToMS     float64 `json:"to_ms"`
}

// Sample is one reading of the engine. Pointer fields are nil (omitted
// from JSON) when the engine gives no such figure or its read failed; a
// real zero is a non-nil pointer to 0.
type Sample struct {
	// TMS is when the read was sent, in ms since Series.Start (to the µs).
	TMS float64 `json:"t_ms"`
	// TookMS is how long the engine took to answer it (all its routes, to
	// the µs): the figures held at some instant of [TMS, TMS+TookMS].
	TookMS float64 `json:"took_ms"`
	// Running is the requests being generated now (vLLM
	// num_requests_running, SGLang num_running_reqs, llama.cpp
	// requests_processing, else its busy slots).
	Running *float64 `json:"running,omitempty"`
	// Waiting is the requests queued for a slot (vLLM num_requests_waiting,
	// SGLang num_queue_reqs, llama.cpp requests_deferred).
	Waiting *float64 `json:"waiting,omitempty"`
	// KVCacheUsage is the KV cache in use, a fraction 0–1.
	KVCacheUsage *float64 `json:"kv_cache_usage,omitempty"`
	// SlotsBusy and SlotsTotal are llama.cpp's /slots: slots processing a
	// request, and all of them (--parallel).
	SlotsBusy  *float64 `json:"slots_busy,omitempty"`
	SlotsTotal *float64 `json:"slots_total,omitempty"`
	// LoadedModels and VRAMBytes are Ollama's /api/ps: the models loaded
	// and their size in accelerator memory, summed.
	LoadedModels *float64 `json:"loaded_models,omitempty"`
	VRAMBytes    *float64 `json:"vram_bytes,omitempty"`
	// Failed names the routes whose read failed in this sample.
	Failed []string `json:"failed,omitempty"`
}

// Figures lists the sample's figures as (JSON key, value): the order of
// the API's points, the table and the charts.
func (s *Sample) Figures() []Figure {
	return []Figure{{"running", s.Running}, {"waiting", s.Waiting}, {"kv_cache_usage", s.KVCacheUsage},
		{"slots_busy", s.SlotsBusy}, {"slots_total", s.SlotsTotal}, {"loaded_models", s.LoadedModels}, {"vram_bytes", s.VRAMBytes}}
}

// Figure is one figure of a Sample.
type Figure struct {
	Key   string
	Value *float64
}

// FigureKeys are the keys of Sample.Figures, in order.
var FigureKeys = []string{"running", "waiting", "kv_cache_usage", "slots_busy", "slots_total", "loaded_models", "vram_bytes"}

// Stat is the mean and peak of one figure over the samples of a window
// that have it; both null when none has.
type Stat struct {
	N    int      `json:"n"`
	Mean *float64 `json:"mean"`
	Peak *float64 `json:"peak"`
}

// Summary is the engine's figures over one stage: a Stat per figure, keyed
// as Sample's JSON.
type Summary struct {
	Model    string          `json:"model"`
	Scenario string          `json:"scenario"`
	Stage    string          `json:"stage,omitempty"`
	FromMS   float64         `json:"from_ms"`
	ToMS     float64         `json:"to_ms"`
	Samples  int             `json:"samples"` // samples sent within the stage
	Figures  map[string]Stat `json:"figures"`
}

// Summaries summarises the series over each of its stages: the samples
// sent within [FromMS, ToMS].
func (s *Series) Summaries() []Summary {
	out := make([]Summary, 0, len(s.Stages))
	for _, st := range s.Stages {
		out = append(out, s.Summarize(st))
	}
	return out
}

// Summarize summarises the samples sent within stage st.
func (s *Series) Summarize(st Stage) Summary {
	sum := Summary{Model: st.Model, Scenario: st.Scenario, Stage: st.Stage, FromMS: st.FromMS, ToMS: st.ToMS, Figures: map[string]Stat{}}
	type acc struct {
		n         int
		sum, peak float64
	}
	accs := make([]acc, len(FigureKeys))
	for i := range s.Samples {
		smp := &s.Samples[i]
		if smp.TMS < st.FromMS || smp.TMS > st.ToMS {
			continue
		}
		sum.Samples++
		for j, f := range smp.Figures() {
			if f.Value == nil {
				continue
			}
			a := &accs[j]
			if a.n == 0 || *f.Value > a.peak {
				a.peak = *f.Value
			}
			a.n++
			a.sum += *f.Value
		}
	}
	for j, k := range FigureKeys {
		a := accs[j]
		st := Stat{N: a.n}
		if a.n > 0 {
			mean, peak := a.sum/float64(a.n), a.peak
			st.Mean, st.Peak = &mean, &peak
		}
		sum.Figures[k] = st
	}
	return sum
}

// StageOf places a stage (label: its load level in a sweep, else "") that
// ran over [from, to] on the time axis of a series that started at start.
func StageOf(model, scenario, label string, start, from, to time.Time) Stage {
	return Stage{Model: model, Scenario: scenario, Stage: label, FromMS: msSince(start, from), ToMS: msSince(start, to)}
}

// msSince is t − start in milliseconds, to the µs.
func msSince(start, t time.Time) float64 {
	return roundUS(float64(t.Sub(start)) / float64(time.Millisecond))
}

// roundUS rounds milliseconds to the microsecond.
func roundUS(ms float64) float64 { return math.Round(ms*1000) / 1000 }
