package report

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"flperf/internal/runner"
)

// turnsBlock writes the per-turn figures of a run's conversation
// scenarios (stats.Group.Turns): what each turn waited for its first token
// as the history grows, how long its input was, and how much of it the
// engine's prefix cache served (docs/metrics.md §12).
func turnsBlock(ew *errWriter, r *runner.Result) {
	any, stage := false, false
	for i := range r.Groups {
		if len(r.Groups[i].Turns) > 0 {
			any, stage = true, stage || r.Groups[i].Stage != ""
		}
	}
	if !any {
		return
	}
	ew.printf("\nPer conversation turn (TTFT in ms and tokens as means over ok requests; a failed turn ends its conversation)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "MODEL\tSCENARIO\t"
	if stage {
		head += "LOAD\t"
	}
	fmt.Fprintln(tw, head+"TURN\tOK/N\tTTFT p50\tTTFT mean\tIN tok\tCACHED tok\tCACHED\t")
	for i := range r.Groups {
		g := &r.Groups[i]
		for _, f := range g.Turns {
			row := ModelName(g.Model) + "\t" + g.Scenario + "\t"
			if stage {
				row += g.Stage + "\t"
			}
			fmt.Fprintf(tw, "%s%d\t%d/%d\t%s\t%s\t%s\t%s\t%s\t\n", row, f.Turn, f.OK, f.Requests, distP50(f.TTFT), num(f.TTFT.Mean),
				num(f.InputTokens), num(f.CachedTokens), optPct(f.CachedShare))
		}
	}
	tw.Flush()
	ew.printf("  (CACHED: the input tokens the engine reported served from its prefix cache, as a share of the input;\n")
	ew.printf("   0 where the engine reports no cache hits)\n")
}

// mdTurns writes the per-turn figures of a run's conversation scenarios
// as a Markdown table (Markdown's turnsBlock).
func mdTurns(ew *errWriter, r *runner.Result) {
	t := mdTable{head: []string{"Model", "Scenario", "Load", "Turn", "OK/N", "TTFT p50", "TTFT mean", "In tok", "Cached tok", "Cached"},
		right: []bool{false, false, false, true, true, true, true, true, true, true}}
	for i := range r.Groups {
		g := &r.Groups[i]
		for _, f := range g.Turns {
			t.rows = append(t.rows, []string{mdText(ModelName(g.Model)), mdText(g.Scenario), mdText(g.Stage), strconv.Itoa(f.Turn),
				fmt.Sprintf("%d/%d", f.OK, f.Requests), distP50(f.TTFT), num(f.TTFT.Mean), num(f.InputTokens), num(f.CachedTokens), optPct(f.CachedShare)})
		}
	}
	if len(t.rows) == 0 {
		return
	}
	ew.printf("\n#### Per conversation turn\n\nTTFT in ms and tokens as means over each turn's ok requests; cached: the input tokens the engine said its prefix cache served. A failed turn ends its conversation.\n\n")
	t.write(ew)
}
