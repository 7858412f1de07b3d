package report

import (
	"fmt"
	"text/tabwriter"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// prefixBlock writes a --prefix-cache warm run's cold and warm stages side
// by side per model × scenario: TTFT with the shared prefix prefilled and
// with it served from the engine's cache, the saving, and the cached share
// of the input (docs/metrics.md §12).
func prefixBlock(ew *errWriter, r *runner.Result) {
	if r.Config.PrefixCache != runner.PrefixWarm {
		return
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
	if len(order) == 0 {
		return
	}
	ew.printf("\nPrefix cache (a shared prefix of %d tokens; TTFT p50 in ms over ok requests)\n", r.Config.PrefixTokens)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tSCENARIO\tCOLD TTFT\tWARM TTFT\tSAVED\tCOLD CACHED\tWARM CACHED\t")
	for _, key := range order {
		p := pairs[key]
		g := p.cold
		if g == nil {
			g = p.warm
		}
		cold, warm, saved := "–", "–", "–"
		var coldShare, warmShare *float64
		if p.cold != nil {
			cold, coldShare = distP50(p.cold.TTFT), p.cold.CachedShare
		}
		if p.warm != nil {
			warm, warmShare = distP50(p.warm.TTFT), p.warm.CachedShare
		}
		if p.cold != nil && p.warm != nil && p.cold.TTFT.N > 0 && p.warm.TTFT.N > 0 && p.cold.TTFT.P50 > 0 {
			saved = pct((p.cold.TTFT.P50 - p.warm.TTFT.P50) / p.cold.TTFT.P50)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", ModelName(g.Model), g.Scenario, cold, warm, saved, share(coldShare), share(warmShare))
	}
	tw.Flush()
	ew.printf("  (CACHED: Σ cached ÷ Σ input tokens as the engine reported them; – where it reported no cache hit.\n")
	ew.printf("   SAVED: (cold − warm) ÷ cold TTFT p50)\n")
}

// share formats an optional share as a percentage; "–" when unknown.
func share(v *float64) string {
	if v == nil {
		return "–"
	}
	return pct(*v)
}
