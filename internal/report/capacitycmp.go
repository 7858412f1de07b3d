package report

import (
	"fmt"
	"strconv"
	"strings"

	"flperf/internal/stats"
)

// capacityBlock prints two capacity searches side by side: for each side
// the level found, its throughput and each objective's percentile with its
// confidence interval, and the first failing level (docs/metrics.md §10).
func capacityBlock(ew *errWriter, c stats.Comparison) {
	p := c.Capacity
	ew.printf("Capacity\n")
	rows := [][]string{{"", "level", "req/s", "tok/s", "objectives at the level", "first failing"}}
	for _, s := range []struct {
		name string
		side *stats.CapacitySide
	}{{"base", p.Base}, {"candidate", p.Candidate}} {
		if s.side == nil {
			rows = append(rows, []string{s.name, "no capacity search", "", "", "", ""})
			continue
		}
		cs := s.side
		level := "none"
		if cs.Level != nil {
			level = strconv.FormatFloat(*cs.Level, 'g', -1, 64)
			if cs.By == "rate" {
				level += "/s"
			}
		}
		var objs []string
		for _, o := range cs.Objectives {
			objs = append(objs, fmt.Sprintf("%s %s [%s–%s] ≤ %s", o.Objective, msOrDash(o.ValueMS), ciEnd(o.CI, 0), ciEnd(o.CI, 1), strconv.FormatFloat(o.TargetMS, 'g', -1, 64)+" ms"))
		}
		failing := "none"
		if cs.FirstFailing != nil {
			failing = strconv.FormatFloat(*cs.FirstFailing, 'g', -1, 64) + ": " + cs.Why
		}
		rows = append(rows, []string{s.name + " (" + ModelName(cs.Model) + ", " + cs.SLO + " by " + cs.By + ")", level,
			optRate(cs.RequestsPerS), optRate(cs.OutputTokensPerS), strings.Join(objs, "; "), failing})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, v := range r {
			widths[i] = max(widths[i], width(v))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, v := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(pad(v, widths[i], i >= 1 && i <= 3))
		}
		ew.printf("  %s\n", strings.TrimRight(b.String(), " "))
	}
	if p.Delta != nil {
		ew.printf("  change of the level: %s\n", signedPct(*p.Delta))
	}
}

// msOrDash writes a latency in ms, "–" when unknown.
func msOrDash(v *float64) string {
	if v == nil {
		return "–"
	}
	return num4(*v) + " ms"
}

// ciEnd writes one end of an interval, "–" when there is none.
func ciEnd(ci *[2]float64, i int) string {
	if ci == nil {
		return "–"
	}
	return num4(ci[i])
}

// optRate writes a throughput, "–" when unknown.
func optRate(v *float64) string {
	if v == nil {
		return "–"
	}
	return num4(*v)
}
