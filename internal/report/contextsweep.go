package report

import (
	"fmt"
	"slices"
	"text/tabwriter"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// ContextSweep is a context sweep's figures (docs/metrics.md §13): per
// model, one point per input length, and the prefill rate fitted over
// them. It is computed here once, so that the table, the JSON, `show` and
// the app's chart show the same numbers.
type ContextSweep struct {
	Lengths []int               `json:"lengths"` // the input lengths asked, ascending
	Models  []ContextSweepModel `json:"models"`
}

// ContextSweepModel is one model's points, ascending input length, and its
// fitted prefill rate.
type ContextSweepModel struct {
	Model  string              `json:"model"`
	Points []ContextSweepPoint `json:"points"`
	// Prefill is the least-squares line of TTFT p50 against mean input
	// tokens over the points that ran with figures and were not cut; null
	// with fewer than two such points of different lengths.
	Prefill *PrefillFit `json:"prefill_fit"`
}

// PrefillFit is the line TTFT = FixedMS + input tokens × 1000 / TPS.
type PrefillFit struct {
	TPS     float64 `json:"tps"`      // marginal prefill rate: input tokens per second of TTFT
	FixedMS float64 `json:"fixed_ms"` // TTFT of an empty prompt: the engine's and the network's fixed cost
	Points  int     `json:"points"`   // points fitted
}

// ContextSweepPoint is one input length of one model. Figures are null
// where the length has none (skipped, no ok request, not streamed).
type ContextSweepPoint struct {
	Scenario  string `json:"scenario"`  // "context-2048"
	Requested int    `json:"requested"` // input tokens the prompt was built to
	// Skipped says why the length was not sent (the context window); ""
	// when it ran.
	Skipped   string  `json:"skipped,omitempty"`
	Truncated bool    `json:"truncated,omitempty"` // the engine cut the prompts (docs/metrics.md §13)
	N         int     `json:"n"`                   // ok requests
	ErrorRate float64 `json:"error_rate"`
	// InputTokens is the mean input tokens per ok request, as the engine
	// counted them (usage, else its own counters, else the estimate;
	// docs/metrics.md §2).
	InputTokens *float64 `json:"input_tokens"`
	TTFTP50     *float64 `json:"ttft_p50_ms"`
	TTFTMean    *float64 `json:"ttft_mean_ms"`
	// PrefillP50 and PrefillMean are the per-request prefill rate, N_in ÷
	// TTFT (docs/metrics.md §3), in tokens/s.
	PrefillP50  *float64 `json:"prefill_tps_p50"`
	PrefillMean *float64 `json:"prefill_tps_mean"`
	TPOTP50     *float64 `json:"tpot_p50_ms"`
	TPOTMean    *float64 `json:"tpot_mean_ms"`
}

// RunContextSweep returns the figures of a context sweep, nil for any
// other run.
func RunContextSweep(r *runner.Result) *ContextSweep {
	if len(r.Config.ContextSweep) == 0 {
		return nil
	}
	cs := &ContextSweep{Lengths: slices.Clone(r.Config.ContextSweep), Models: []ContextSweepModel{}}
	for _, model := range r.Config.Models {
		m := ContextSweepModel{Model: model, Points: []ContextSweepPoint{}}
		for _, l := range r.Config.ContextSweep {
			name := runner.SweepScenario(l)
			p := ContextSweepPoint{Scenario: name, Requested: l}
			for _, f := range r.Suite.ContextFit {
				if f.Model == model && f.Scenario == name && f.Action == runner.FitSkipped {
					p.Skipped = f.Message
				}
			}
			for _, t := range r.Suite.Truncated {
				p.Truncated = p.Truncated || t.Model == model && t.Scenario == name
			}
			if i := slices.IndexFunc(r.Groups, func(g stats.Group) bool { return g.Model == model && g.Scenario == name }); i >= 0 {
				sweepFigures(&p, &r.Groups[i])
			} else if p.Skipped == "" {
				continue // not reached (an interrupted run)
			}
			m.Points = append(m.Points, p)
		}
		m.Prefill = fitPrefill(m.Points)
		cs.Models = append(cs.Models, m)
	}
	return cs
}

// sweepFigures fills a point from its group.
func sweepFigures(p *ContextSweepPoint, g *stats.Group) {
	p.N, p.ErrorRate = g.OK, g.ErrorRate
	val := func(d *stats.Dist, v float64) *float64 {
		if d.N == 0 {
			return nil
		}
		return fnum(v)
	}
	p.InputTokens = val(&g.InputTokens, g.InputTokens.Mean)
	p.TTFTP50, p.TTFTMean = val(&g.TTFT, g.TTFT.P50), val(&g.TTFT, g.TTFT.Mean)
	p.PrefillP50, p.PrefillMean = val(&g.PrefillTPS, g.PrefillTPS.P50), val(&g.PrefillTPS, g.PrefillTPS.Mean)
	p.TPOTP50, p.TPOTMean = val(&g.TPOT, g.TPOT.P50), val(&g.TPOT, g.TPOT.Mean)
}

// fitPrefill fits TTFT p50 = a + b × input tokens (mean per point) by
// least squares over the points with both figures that were neither
// skipped nor cut (the median, so that one request delayed by the machine
// does not bend the line): 1000/b is the
// marginal prefill rate, the fixed part a cancelled out (docs/metrics.md
// §13). nil when fewer than two points of different lengths, or when TTFT
// does not grow with the input.
func fitPrefill(points []ContextSweepPoint) *PrefillFit {
	var xs, ys []float64
	for _, p := range points {
		if p.Skipped == "" && !p.Truncated && p.InputTokens != nil && p.TTFTP50 != nil {
			xs, ys = append(xs, *p.InputTokens), append(ys, *p.TTFTP50)
		}
	}
	n := float64(len(xs))
	if len(xs) < 2 {
		return nil
	}
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i]/n, my+ys[i]/n
	}
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 || !(sxy > 0) {
		return nil
	}
	b := sxy / sxx
	tps := 1000 / b
	if !finiteF(tps) {
		return nil
	}
	return &PrefillFit{TPS: tps, FixedMS: my - b*mx, Points: len(xs)}
}

// contextSweepBlock writes a context sweep's figures: per model and input
// length, TTFT, prefill rate and TPOT, and the fitted prefill rate.
func contextSweepBlock(ew *errWriter, r *runner.Result) {
	cs := RunContextSweep(r)
	if cs == nil {
		return
	}
	ew.printf("\nContext sweep (per input length; latencies in ms over ok requests, prefill = input tokens ÷ TTFT in tokens/s)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tLENGTH\tIN tokens\tOK\tTTFT p50\tmean\tPREFILL p50\tmean\tTPOT p50\tmean\t")
	var notes []string
	for _, m := range cs.Models {
		for _, p := range m.Points {
			name := ModelName(m.Model)
			if p.Skipped != "" {
				fmt.Fprintf(tw, "%s\t%d\tskipped\t–\t–\t–\t–\t–\t–\t–\t\n", name, p.Requested)
				continue
			}
			in := optNum(p.InputTokens)
			if p.Truncated {
				in += " cut"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, p.Requested, in, p.N,
				optNum(p.TTFTP50), optNum(p.TTFTMean), optNum(p.PrefillP50), optNum(p.PrefillMean), optNum(p.TPOTP50), optNum(p.TPOTMean))
		}
		if f := m.Prefill; f != nil {
			notes = append(notes, fmt.Sprintf("  %s: prefill %s tokens/s fitted over %d lengths (TTFT ≈ %s ms + input tokens ÷ %s/s)",
				clean(ModelName(m.Model)), num(f.TPS), f.Points, num(f.FixedMS), num(f.TPS)))
		} else {
			notes = append(notes, fmt.Sprintf("  %s: no prefill rate fitted (fewer than two lengths ran with figures)", clean(ModelName(m.Model))))
		}
	}
	tw.Flush()
	for _, n := range notes {
		ew.printf("%s\n", n)
	}
	ew.printf("  (skipped: prompt + max_tokens beyond the context window, see Context window; cut: the engine counted fewer input tokens than sent)\n")
}

// mdContextSweep writes a context sweep's figures as a GitHub table, and
// each model's fitted prefill rate (docs/metrics.md §13).
func mdContextSweep(ew *errWriter, r *runner.Result) {
	cs := RunContextSweep(r)
	if cs == nil {
		return
	}
	ew.printf("\n#### Context sweep\n\nPer input length; latencies in ms over ok requests, prefill = input tokens ÷ TTFT in tokens/s.\n\n")
	t := mdTable{head: []string{"Model", "Length", "In tokens", "OK", "TTFT p50", "TTFT mean", "Prefill p50", "Prefill mean", "TPOT p50", "TPOT mean"},
		right: []bool{false, true, true, true, true, true, true, true, true, true}}
	for _, m := range cs.Models {
		for _, p := range m.Points {
			row := []string{mdText(ModelName(m.Model)), fmt.Sprint(p.Requested)}
			if p.Skipped != "" {
				t.rows = append(t.rows, append(row, "skipped"))
				continue
			}
			in := numPtr(p.InputTokens)
			if p.Truncated {
				in += " (cut)"
			}
			t.rows = append(t.rows, append(row, in, fmt.Sprint(p.N), numPtr(p.TTFTP50), numPtr(p.TTFTMean),
				numPtr(p.PrefillP50), numPtr(p.PrefillMean), numPtr(p.TPOTP50), numPtr(p.TPOTMean)))
		}
	}
	t.write(ew)
	ew.printf("\n")
	for _, m := range cs.Models {
		if f := m.Prefill; f != nil {
			ew.printf("- %s: prefill %s tokens/s fitted over %d lengths (TTFT ≈ %s ms + input tokens ÷ %s/s)\n",
				mdText(ModelName(m.Model)), num(f.TPS), f.Points, num(f.FixedMS), num(f.TPS))
		} else {
			ew.printf("- %s: no prefill rate fitted (fewer than two lengths ran with figures)\n", mdText(ModelName(m.Model)))
		}
	}
}
