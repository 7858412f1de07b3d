package report

import (
	"fmt"
	"math"
	"strings"

	"flperf/internal/engineseries"
	"flperf/internal/runner"
)

// engineSeriesBlock prints the engine's own view of each stage, one
// compact line per stage: mean/peak of the requests running and waiting and
// of the KV cache in use, "–" where the engine gives no such figure; the
// busy slots (llama.cpp) and loaded models and VRAM (Ollama) when sampled.
func engineSeriesBlock(ew *errWriter, r *runner.Result) {
	es := r.EngineSeries
	if es == nil {
		return
	}
	ew.printf("\nEngine's own view (%s, read every %d ms, %d samples; mean/peak over each stage)\n", es.Engine, es.IntervalMS, len(es.Samples))
	for _, s := range es.Summaries() {
		label := ModelName(s.Model) + " × " + s.Scenario
		if s.Stage != "" {
			label += " [" + s.Stage + "]"
		}
		ew.printf("  %s: %s  (%d samples)\n", label, engineStageLine(s), s.Samples)
	}
	for _, n := range es.Notes {
		ew.printf("  note: %s\n", n)
	}
}

// engineStageLine is one stage's figures.
func engineStageLine(s engineseries.Summary) string {
	f := s.Figures
	parts := []string{
		"running " + statMeanPeak(f["running"], 1, ""),
		"waiting " + statMeanPeak(f["waiting"], 1, ""),
		"KV " + statMeanPeak(f["kv_cache_usage"], 100, " %"),
	}
	if st := f["slots_busy"]; st.N > 0 {
		total := ""
		if t := f["slots_total"].Peak; t != nil {
			total = " of " + whole(*t)
		}
		parts = append(parts, "busy slots "+statMeanPeak(st, 1, "")+total)
	}
	if st := f["loaded_models"]; st.N > 0 {
		parts = append(parts, "loaded models "+statMeanPeak(st, 1, ""))
	}
	if st := f["vram_bytes"]; st.N > 0 {
		parts = append(parts, "VRAM "+statMeanPeak(st, 1.0/(1<<30), " GiB"))
	}
	return strings.Join(parts, ", ")
}

// statMeanPeak formats a stat as "mean/peak" scaled, with unit; "–" when
// no sample had the figure.
func statMeanPeak(s engineseries.Stat, scale float64, unit string) string {
	if s.Mean == nil || s.Peak == nil {
		return "–"
	}
	return fmt.Sprintf("%s/%s%s", whole(*s.Mean*scale), whole(*s.Peak*scale), unit)
}

// whole formats a whole number without decimals (a count of requests),
// anything else as num does.
func whole(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return num(v)
}
