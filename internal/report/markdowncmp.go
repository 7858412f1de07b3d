package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"flperf/internal/engine"
	"flperf/internal/stats"
	"flperf/internal/telemetry"
)

// CompareSide is what a Markdown comparison says of one side beyond its
// records: the engine it ran on (its SIMULATED label) and the machine.
type CompareSide struct {
	Engine   engine.Info
	Hardware *telemetry.Hardware
}

// CompareMarkdown writes a comparison as GitHub-flavoured Markdown with
// benchstat's convention (docs/metrics.md §6): one table per metric with
// one row per scenario (its model too when the comparison holds several),
// "median ± CI%" on each side, the relative change of the medians, or "~"
// where it is not significant (Mann–Whitney p > α), "?" where it could not
// be tested, the p-value and n, then the geomean row; the energy and
// capacity tables when present; the warnings. base and cand, when not nil,
// give each side's engine line (a SIMULATED side is labelled) and the
// machine in one line. Every text from outside flperf is escaped (mdText).
func CompareMarkdown(w io.Writer, c stats.Comparison, base, cand *CompareSide) error {
	ew := &errWriter{w: w}
	ew.printf("### flperf compare: %s → %s\n\n", mdText(c.BaseLabel), mdText(c.CandLabel))
	if (base != nil && base.Engine.Simulated) || (cand != nil && cand.Engine.Simulated) {
		ew.printf("> [!WARNING]\n> **SIMULATED engine** on %s: flperf's built-in simulator, not a real model.\n\n", simulatedSides(base, cand))
	}
	if base != nil {
		ew.printf("- **Base:** %s\n", mdText(base.Engine.Label()))
	}
	if cand != nil {
		ew.printf("- **Candidate:** %s\n", mdText(cand.Engine.Label()))
	}
	if base != nil && cand != nil {
		bh, ch := hardwareLine(base.Hardware), hardwareLine(cand.Hardware)
		switch {
		case bh == ch && bh != "":
			ew.printf("- **Machine:** %s\n", mdText(bh))
		case bh != ch:
			ew.printf("- **Machine:** base %s; candidate %s\n", mdText(orUnknown(bh)), mdText(orUnknown(ch)))
		}
	}
	alpha := "α"
	if finiteF(c.Alpha) && c.Alpha > 0 {
		alpha = "α = " + strconv.FormatFloat(c.Alpha, 'g', -1, 64)
	}
	ew.printf("- **Reading:** medians ± the 95 %% CI of the median; change of the medians, `~` where it is not significant (Mann–Whitney U, p > %s), `?` where it could not be tested.\n", alpha)

	showModel := distinctModels(c.Rows) > 1
	blocks := 0
	for _, m := range comparedMetrics(c) {
		var rows []stats.Row
		for _, r := range c.Rows {
			if r.Metric == m.Key {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		var geo *stats.GeoRow
		for i := range c.Geomean {
			if c.Geomean[i].Metric == m.Key {
				geo = &c.Geomean[i]
			}
		}
		blocks++
		mdCompareBlock(ew, m, rows, geo, showModel)
	}
	if blocks == 0 && len(c.Energy) == 0 && c.Capacity == nil {
		ew.printf("\nNothing to compare.\n")
	}
	if len(c.Energy) > 0 {
		mdEnergy(ew, c)
	}
	if c.Capacity != nil {
		mdCapacityPair(ew, c.Capacity)
	}
	if len(c.Warnings) > 0 {
		ew.printf("\n#### Warnings\n\n")
		for _, s := range c.Warnings {
			ew.printf("- ⚠️ %s\n", mdText(s))
		}
	}
	return ew.err
}

// simulatedSides names the sides that ran on the simulator.
func simulatedSides(base, cand *CompareSide) string {
	b, c := base != nil && base.Engine.Simulated, cand != nil && cand.Engine.Simulated
	switch {
	case b && c:
		return "both sides"
	case b:
		return "the base"
	}
	return "the candidate"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// mdRowLabel names a comparison row by its parts, each escaped.
func mdRowLabel(r stats.Row, showModel bool) string {
	s := mdText(r.Scenario)
	if r.Stage != "" {
		s += " @ " + mdText(r.Stage)
	}
	if r.Pooled {
		s = "*" + PooledLabel + "*"
	}
	if showModel {
		s = mdText(ModelName(r.Model)) + " / " + s
	}
	return s
}

// mdCompareBlock writes the table of one metric.
func mdCompareBlock(ew *errWriter, m stats.Metric, rows []stats.Row, geo *stats.GeoRow, showModel bool) {
	perModel := map[string]int{}
	for _, r := range rows {
		if !r.Pooled {
			perModel[r.Model]++
		}
	}
	notes := &footnotes{}
	name := "Scenario"
	if showModel {
		name = "Model / scenario"
	}
	t := mdTable{head: []string{name, "Base", "Candidate", "Change", "p", "n", "Notes"},
		right: []bool{false, true, true, true, true, true, false}}
	for _, r := range rows {
		if r.Pooled && perModel[r.Model] == 1 {
			continue
		}
		delta, p := signedPct(r.Delta), strconv.FormatFloat(r.P, 'f', 3, 64)
		switch {
		case math.IsNaN(r.P):
			delta, p = "?", "–"
		case !r.Significant:
			delta = "~"
		}
		var marks []string
		bci, cci := ciText(r.Base), ciText(r.Cand)
		if (r.Base.N > 0 && bci == ciUnknown) || (r.Cand.N > 0 && cci == ciUnknown) {
			marks = append(marks, strconv.Itoa(notes.add(fmt.Sprintf("need ≥ 6 samples for a confidence interval at level %g%%", 100*stats.Confidence))))
		}
		if r.Note != "" {
			marks = append(marks, strconv.Itoa(notes.add(r.Note)))
		}
		t.rows = append(t.rows, []string{mdRowLabel(r, showModel), mdSide(r.Base, bci), mdSide(r.Cand, cci), delta, p,
			fmt.Sprintf("%d+%d", r.NBase, r.NCand), strings.Join(marks, ", ")})
	}
	if geo != nil {
		t.rows = append(t.rows, []string{"**geomean**", num4(geo.Base), num4(geo.Cand), signedPct(geo.Delta), "", "", ""})
	}
	ew.printf("\n#### %s\n\n", mdText(strings.TrimSpace(m.Name+" ("+m.Unit+")")))
	t.write(ew)
	if len(notes.list) > 0 {
		ew.printf("\n")
		for i, n := range notes.list {
			ew.printf("%d. %s\n", i+1, mdText(n))
		}
	}
}

// mdSide formats one side's median with its CI: "102.5 ± 3%".
func mdSide(d stats.Dist, ci string) string {
	s := median(d)
	if ci != "" {
		s += " " + ci
	}
	return s
}

// mdEnergy writes the energy per output token: one measurement per side,
// never "~" nor a p-value.
func mdEnergy(ew *errWriter, c stats.Comparison) {
	perModel := map[string]int{}
	models := map[string]bool{}
	for _, r := range c.Energy {
		models[r.Model] = true
		if !r.Pooled {
			perModel[r.Model]++
		}
	}
	showModel := len(models) > 1
	ew.printf("\n#### Energy per output token (%s)\n\nOne measurement per stage: no significance test.\n\n", stats.EnergyUnit)
	t := mdTable{head: []string{"Scenario", "Base", "Candidate", "Change", "Note"}, right: []bool{false, true, true, true, false}}
	for _, r := range c.Energy {
		if r.Pooled && perModel[r.Model] == 1 {
			continue
		}
		note := ""
		if extra, ok := strings.CutPrefix(r.Note, stats.EnergyNote+"; "); ok {
			note = mdText(extra)
		}
		t.rows = append(t.rows, []string{mdRowLabel(stats.Row{Model: r.Model, Scenario: r.Scenario, Pooled: r.Pooled}, showModel),
			num4(r.Base), num4(r.Cand), signedPct(r.Delta), note})
	}
	t.write(ew)
}

// mdCapacityPair writes two capacity searches side by side
// (docs/metrics.md §10).
func mdCapacityPair(ew *errWriter, p *stats.CapacityPair) {
	ew.printf("\n#### Capacity\n\n")
	t := mdTable{head: []string{"Side", "Level", "req/s", "tok/s", "Objectives at the level", "First failing"},
		right: []bool{false, true, true, true, false, false}}
	for _, s := range []struct {
		name string
		side *stats.CapacitySide
	}{{"base", p.Base}, {"candidate", p.Candidate}} {
		if s.side == nil {
			t.rows = append(t.rows, []string{s.name, "no capacity search", "", "", "", ""})
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
			objs = append(objs, fmt.Sprintf("%s %s [%s–%s] ≤ %s ms", o.Objective, msOrDash(o.ValueMS), ciEnd(o.CI, 0), ciEnd(o.CI, 1), strconv.FormatFloat(o.TargetMS, 'g', -1, 64)))
		}
		failing := "none"
		if cs.FirstFailing != nil {
			failing = strconv.FormatFloat(*cs.FirstFailing, 'g', -1, 64) + ": " + cs.Why
		}
		t.rows = append(t.rows, []string{s.name + " (" + mdText(ModelName(cs.Model)+", "+cs.SLO+" by "+cs.By) + ")", level,
			optRate(cs.RequestsPerS), optRate(cs.OutputTokensPerS), mdText(strings.Join(objs, "; ")), mdText(failing)})
	}
	t.write(ew)
	if p.Delta != nil {
		ew.printf("\nChange of the level: %s\n", signedPct(*p.Delta))
	}
}

// RegressionsMarkdown writes the verdict of `flperf compare
// --fail-if-slower` for a job summary: the rows that failed the gate
// (Regressions), or that none did. threshold is a fraction (0.05 for 5 %).
func RegressionsMarkdown(w io.Writer, bad []stats.Row, threshold float64) error {
	ew := &errWriter{w: w}
	gate := strconv.FormatFloat(100*threshold, 'g', -1, 64) + "%"
	if len(bad) == 0 {
		ew.printf("\n✅ **No regression:** nothing is significantly worse by %s or more (`--fail-if-slower %s`).\n", gate, gate)
		return ew.err
	}
	ew.printf("\n❌ **Regression** (`--fail-if-slower %s`):\n\n", gate)
	for _, r := range bad {
		scope := mdText(ModelName(r.Model))
		switch {
		case r.Note == GeomeanNote:
			scope = "geomean"
		case r.Model == "":
			scope = PooledLabel
		}
		p := ""
		if !math.IsNaN(r.P) {
			p = fmt.Sprintf(" (p=%.3f)", r.P)
		}
		ew.printf("- %s `%s` %+.1f%%%s\n", scope, r.Metric, 100*r.Delta, p)
	}
	return ew.err
}
