package htmlreport

import "flperf/internal/report"

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
