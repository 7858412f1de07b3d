package report

import (
	"fmt"
	"text/tabwriter"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// prefixRow is one model × scenario of a --prefix-cache warm run: its
// cold and warm stages' TTFT p50, the saving and their cached shares, as
// the table and the Markdown report show them.
type prefixRow struct {
	model, scenario      string
	cold, warm, saved    string
	coldShare, warmShare *float64
}

// prefixRows pairs a --prefix-cache warm run's cold and warm stages per
// model × scenario, in the order the groups come; nil for any other run.
func prefixRows(r *runner.Result) []prefixRow {
	if r.Config.PrefixCache != runner.PrefixWarm {
		return nil
	}
	type pair struct{ cold, warm *stats.Group }
	var order []string
	pairs := map[string]*pair{}
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Stage != runner.StagePrefixCold && g.Stage != runner.StagePrefixWarm {
			continue
		}
		key := g.Model + "\x00" + g.Scenario
		p := pairs[key]
		if p == nil {
			p = &pair{}
			pairs[key] = p
			order = append(order, key)
		}
		if g.Stage == runner.StagePrefixCold {
			p.cold = g
		} else {
			p.warm = g
		}
	}
	rows := make([]prefixRow, 0, len(order))
	for _, key := range order {
		p := pairs[key]
		g := p.cold
		if g == nil {
			g = p.warm
		}
		row := prefixRow{model: g.Model, scenario: g.Scenario, cold: "–", warm: "–", saved: "–"}
		if p.cold != nil {
			row.cold, row.coldShare = distP50(p.cold.TTFT), p.cold.CachedShare
		}
		if p.warm != nil {
			row.warm, row.warmShare = distP50(p.warm.TTFT), p.warm.CachedShare
		}
		if p.cold != nil && p.warm != nil && p.cold.TTFT.N > 0 && p.warm.TTFT.N > 0 && p.cold.TTFT.P50 > 0 {
			row.saved = pct((p.cold.TTFT.P50 - p.warm.TTFT.P50) / p.cold.TTFT.P50)
		}
		rows = append(rows, row)
	}
	return rows
}

// prefixBlock writes a --prefix-cache warm run's cold and warm stages side
// by side per model × scenario: TTFT with the shared prefix prefilled and
// with it served from the engine's cache, the saving, and the cached share
// of the input (docs/metrics.md §12).
func prefixBlock(ew *errWriter, r *runner.Result) {
	rows := prefixRows(r)
	if len(rows) == 0 {
		return
	}
	ew.printf("\nPrefix cache (a shared prefix of %d tokens; TTFT p50 in ms over ok requests)\n", r.Config.PrefixTokens)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tSCENARIO\tCOLD TTFT\tWARM TTFT\tSAVED\tCOLD CACHED\tWARM CACHED\t")
	for _, p := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", ModelName(p.model), p.scenario, p.cold, p.warm, p.saved, share(p.coldShare), share(p.warmShare))
	}
	tw.Flush()
	ew.printf("  (CACHED: Σ cached ÷ Σ input tokens as the engine reported them; – where it reported no cache hit.\n")
	ew.printf("   SAVED: (cold − warm) ÷ cold TTFT p50)\n")
}

// mdPrefix writes prefixBlock's figures as a Markdown table.
func mdPrefix(ew *errWriter, r *runner.Result) {
	rows := prefixRows(r)
	if len(rows) == 0 {
		return
	}
	t := mdTable{head: []string{"Model", "Scenario", "Cold TTFT", "Warm TTFT", "Saved", "Cold cached", "Warm cached"},
		right: []bool{false, false, true, true, true, true, true}}
	for _, p := range rows {
		t.rows = append(t.rows, []string{mdText(ModelName(p.model)), mdText(p.scenario), p.cold, p.warm, p.saved, share(p.coldShare), share(p.warmShare)})
	}
	ew.printf("\n#### Prefix cache\n\nA shared prefix of %d tokens; TTFT p50 in ms over ok requests; cached: Σ cached ÷ Σ input tokens as the engine reported them; saved: (cold − warm) ÷ cold TTFT p50.\n\n", r.Config.PrefixTokens)
	t.write(ew)
}

// share formats an optional share as a percentage; "–" when unknown.
func share(v *float64) string {
	if v == nil {
		return "–"
	}
	return pct(*v)
}
