package report

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// inputLengthBlock writes, for the groups whose requests asked for an input
// length (suite input_tokens), the length asked for beside the engine's
// own count, how the prompts were made that long, and what resolving them
// cost (README: Input lengths).
func inputLengthBlock(ew *errWriter, r *runner.Result) {
	var gs []*stats.Group
	for i := range r.Groups {
		if r.Groups[i].InputLength != nil {
			gs = append(gs, &r.Groups[i])
		}
	}
	if len(gs) == 0 {
		return
	}
	methods := map[[2]string]string{}
	if il := r.Suite.InputLengths; il != nil {
		for _, p := range il.Prompts {
			methods[[2]string{p.Model, p.Scenario}] = p.Method
		}
	}
	ew.printf("\nInput lengths (tokens asked for vs the engine's own count, means over ok requests)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tSCENARIO\tLOAD\tMETHOD\tN\tREQUESTED\tMEASURED\tDIFF\tOFF >1%\t")
	for _, g := range gs {
		f := g.InputLength
		diff := "–"
		if f.Diff != nil {
			diff = strconv.FormatFloat(100**f.Diff, 'f', 2, 64) + "%"
		}
		m := methods[[2]string{g.Model, g.Scenario}]
		if m == "" {
			m = "–"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t\n", ModelName(g.Model), g.Scenario, dash(g.Stage), m, f.N,
			mean1(f.RequestedMean), mean1(f.MeasuredMean), diff, f.Off)
	}
	tw.Flush()
	if il := r.Suite.InputLengths; il != nil {
		ew.printf("  (resolved before the run: %d tokenizer counts, %d calibration requests taking %.2f s; not recorded, in no figure)\n",
			il.TokenizerCounts, il.CalibrationRequests, il.CalibrationSeconds)
	}
}

// mean1 formats a mean to one decimal; "–" when unknown.
func mean1(v *float64) string {
	if v == nil || !finiteF(*v) {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}

// dash is s, or "–" when empty.
func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// mdInputLengths writes inputLengthBlock's figures as a Markdown table: per
// group that asked for an input length, the method, the mean length asked
// for and the engine's own mean count, their difference and the requests
// more than 1 % off, then what resolving the prompts cost.
func mdInputLengths(ew *errWriter, r *runner.Result) {
	methods := map[[2]string]string{}
	if il := r.Suite.InputLengths; il != nil {
		for _, p := range il.Prompts {
			methods[[2]string{p.Model, p.Scenario}] = p.Method
		}
	}
	t := mdTable{head: []string{"Model", "Scenario", "Load", "Method", "N", "Requested", "Measured", "Diff", "Off >1%"},
		right: []bool{false, false, false, false, true, true, true, true, true}}
	for i := range r.Groups {
		g := &r.Groups[i]
		f := g.InputLength
		if f == nil {
			continue
		}
		diff := "–"
		if f.Diff != nil {
			diff = strconv.FormatFloat(100**f.Diff, 'f', 2, 64) + "%"
		}
		t.rows = append(t.rows, []string{mdText(ModelName(g.Model)), mdText(g.Scenario), mdText(g.Stage), mdText(dash(methods[[2]string{g.Model, g.Scenario}])),
			strconv.Itoa(f.N), mean1(f.RequestedMean), mean1(f.MeasuredMean), diff, strconv.Itoa(f.Off)})
	}
	if len(t.rows) == 0 {
		return
	}
	ew.printf("\n#### Input lengths\n\nTokens asked for vs the engine's own count, means over ok requests.\n\n")
	t.write(ew)
	if il := r.Suite.InputLengths; il != nil {
		ew.printf("\nResolved before the run: %d tokenizer counts, %d calibration requests taking %.2f s (not recorded, in no figure).\n",
			il.TokenizerCounts, il.CalibrationRequests, il.CalibrationSeconds)
	}
}
