package htmlreport

import (
	"strconv"

	"flperf/internal/report"
)

// sweepRow is one input length of one model of a context sweep, as the
// report's table shows it (docs/metrics.md §13).
type sweepRow struct {
	Model, Scenario               string
	Requested                     int
	N                             int
	In, TTFT50, Prefill50, TPOT50 string
	ErrorRate, Note               string
}

// sweepFit is one model's fitted prefill rate, as the table's note says it.
type sweepFit struct {
	Model, TPS, FixedMS string
	Points              int
}

// sweepRows are the rows and fits of a context sweep (report.ContextSweep,
// the figures the terminal report, the JSON and the app show).
func sweepRows(cs *report.ContextSweep) ([]sweepRow, []sweepFit) {
	if cs == nil {
		return nil, nil
	}
	var rows []sweepRow
	var fits []sweepFit
	for _, m := range cs.Models {
		for _, p := range m.Points {
			row := sweepRow{Model: m.Model, Scenario: p.Scenario, Requested: p.Requested, N: p.N, In: numPtr(p.InputTokens),
				TTFT50: numPtr(p.TTFTP50), Prefill50: numPtr(p.PrefillP50), TPOT50: numPtr(p.TPOTP50), ErrorRate: pct(p.ErrorRate)}
			switch {
			case p.Skipped != "":
				row.Note, row.ErrorRate = "skipped: "+p.Skipped, "–"
			case p.Truncated:
				row.Note = "the engine cut the prompts"
			}
			rows = append(rows, row)
		}
		f := sweepFit{Model: m.Model, TPS: "–", FixedMS: "–"}
		if m.Prefill != nil {
			f.TPS, f.FixedMS, f.Points = num(m.Prefill.TPS), num(m.Prefill.FixedMS), m.Prefill.Points
		}
		fits = append(fits, f)
	}
	return rows, fits
}

// sweepCharts are the context sweep's charts: TTFT, prefill rate and TPOT
// against input tokens on a logarithmic x axis (report.js drawSweep).
func sweepCharts(prefix string) []chartView {
	return []chartView{
		{prefix + "-context-ttft", "TTFT against input tokens (context sweep; p50 solid, mean dashed; log x axis)"},
		{prefix + "-context-prefill", "Prefill rate against input tokens (context sweep; p50 solid, mean dashed; log x axis)"},
		{prefix + "-context-tpot", "TPOT against input tokens (context sweep; p50 solid, mean dashed; log x axis)"},
	}
}

// inputRow is one model × scenario that asked for an input length (suite
// input_tokens): the length asked for beside the engine's own count.
type inputRow struct {
	Model, Scenario, Stage, Method string
	N, Off                         int
	Requested, Measured, Diff      string
}

// inputRows are the input-length figures of r's groups (stats.Group
// InputLength) with the method each model × scenario's prompts were made
// by; nil when no request asked for a length.
func inputRows(r *Run) []inputRow {
	res := r.Result
	methods := map[[2]string]string{}
	if il := res.Suite.InputLengths; il != nil {
		for _, p := range il.Prompts {
			methods[[2]string{p.Model, p.Scenario}] = p.Method
		}
	}
	var rows []inputRow
	for i := range res.Groups {
		g := &res.Groups[i]
		f := g.InputLength
		if f == nil {
			continue
		}
		row := inputRow{Model: g.Model, Scenario: g.Scenario, Stage: g.Stage, Method: methods[[2]string{g.Model, g.Scenario}], N: f.N, Off: f.Off,
			Requested: numPtr(f.RequestedMean), Measured: numPtr(f.MeasuredMean), Diff: "–"}
		if row.Method == "" {
			row.Method = "–"
		}
		if f.Diff != nil {
			row.Diff = strconv.FormatFloat(100**f.Diff, 'f', 2, 64) + " %"
		}
		rows = append(rows, row)
	}
	return rows
}
