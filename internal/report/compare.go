package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"flperf/internal/stats"
)

// PooledLabel names a pooled row (all scenarios of a model) in CompareTable.
const PooledLabel = "(all scenarios)"

// GeomeanNote is the Note of a Row that Regressions makes from a geomean row.
const GeomeanNote = "geomean"

// CompareTable writes a comparison in benchstat's look (docs/metrics.md §6): one
// block per metric with the two labels over the columns, one line per
// scenario with "median ± CI%" on each side (the CI is the 95 % interval
// of the median, as the larger distance from the median to an end, in %
// of the median), the relative change of the medians with p and n, or "~"
// where the change is not significant, then the geomean line. A pooled row
// is shown only when its model has more than one scenario row (otherwise it
// repeats that row). "?" marks a change that could not be tested; numbered
// footnotes under each block say why; the comparison's warnings close the
// output.
func CompareTable(w io.Writer, c stats.Comparison) error {
	ew := &errWriter{w: w}
	for _, l := range c.Legacy { // first and loud: old and new figures are never compared silently
		ew.printf("!! %s\n\n", l)
	}
	showModel := distinctModels(c.Rows) > 1
	blocks := 0
	for _, m := range comparedMetrics(c) {
		var rows []stats.Row
		for _, r := range c.Rows {
			if r.Metric == m.Key {
				rows = append(rows, r)
			}
		}
		var geo *stats.GeoRow
		for i := range c.Geomean {
			if c.Geomean[i].Metric == m.Key {
				geo = &c.Geomean[i]
			}
		}
		if len(rows) == 0 {
			continue
		}
		if blocks > 0 {
			ew.printf("\n")
		}
		blocks++
		compareBlock(ew, c, m, rows, geo, showModel)
	}
	if blocks == 0 && len(c.Energy) == 0 && c.Capacity == nil {
		ew.printf("nothing to compare\n")
	}
	if len(c.Energy) > 0 {
		if blocks > 0 {
			ew.printf("\n")
		}
		energyBlock(ew, c)
	}
	if c.Capacity != nil {
		if blocks > 0 || len(c.Energy) > 0 {
			ew.printf("\n")
		}
		capacityBlock(ew, c)
	}
	if len(c.Warnings) > 0 {
		ew.printf("\nWarnings\n")
		for _, s := range c.Warnings {
			ew.printf("  ! %s\n", clean(s))
		}
	}
	return ew.err
}

// comparedMetrics returns c.Metrics, or, when it is empty, the metrics of
// the rows in first-seen order (known keys get their names and units).
func comparedMetrics(c stats.Comparison) []stats.Metric {
	if len(c.Metrics) > 0 {
		return c.Metrics
	}
	var out []stats.Metric
	seen := map[string]bool{}
	for _, r := range c.Rows {
		if seen[r.Metric] {
			continue
		}
		seen[r.Metric] = true
		m, ok := stats.MetricByKey(r.Metric)
		if !ok {
			m = stats.Metric{Key: r.Metric, Name: r.Metric}
		}
		out = append(out, m)
	}
	return out
}

// distinctModels counts the model names of the rows.
func distinctModels(rows []stats.Row) int {
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Model] = true
	}
	return len(seen)
}

// cmpLine is one line of a comparison block, cell by cell.
type cmpLine struct {
	name, bc, bci, cc, cci, delta, p, marks string
}

// compareBlock writes the block of one metric.
func compareBlock(ew *errWriter, c stats.Comparison, m stats.Metric, rows []stats.Row, geo *stats.GeoRow, showModel bool) {
	perModel := map[string]int{}
	for _, r := range rows {
		if !r.Pooled {
			perModel[r.Model]++
		}
	}
	notes := &footnotes{}
	var lines []cmpLine
	for _, r := range rows {
		if r.Pooled && perModel[r.Model] == 1 {
			continue
		}
		l := cmpLine{
			name: rowLabel(r, showModel),
			bc:   median(r.Base), bci: ciText(r.Base),
			cc: median(r.Cand), cci: ciText(r.Cand),
		}
		switch {
		case math.IsNaN(r.P):
			l.delta, l.p = "?", fmt.Sprintf("(n=%d+%d)", r.NBase, r.NCand)
		case !r.Significant:
			l.delta, l.p = "~", fmt.Sprintf("(p=%.3f n=%d+%d)", r.P, r.NBase, r.NCand)
		default:
			l.delta, l.p = signedPct(r.Delta), fmt.Sprintf("(p=%.3f n=%d+%d)", r.P, r.NBase, r.NCand)
		}
		var marks []string
		if (r.Base.N > 0 && l.bci == ciUnknown) || (r.Cand.N > 0 && l.cci == ciUnknown) {
			marks = append(marks, superscript(notes.add(fmt.Sprintf("need ≥ 6 samples for a confidence interval at level %g%%", 100*stats.Confidence))))
		}
		if r.Note != "" {
			marks = append(marks, superscript(notes.add(r.Note)))
		}
		l.marks = strings.Join(marks, " ")
		lines = append(lines, l)
	}
	if geo != nil {
		lines = append(lines, cmpLine{name: "geomean", bc: num4(geo.Base), cc: num4(geo.Cand), delta: signedPct(geo.Delta)})
	}

	unitHdr := strings.TrimSpace(m.Name + " " + m.Unit)
	const vsBase = "vs base"
	var wName, wBC, wBCI, wCC, wCCI, wD, wP int
	for _, l := range lines {
		wName = max(wName, width(l.name))
		wBC, wBCI = max(wBC, width(l.bc)), max(wBCI, width(l.bci))
		wCC, wCCI = max(wCC, width(l.cc)), max(wCCI, width(l.cci))
		wD, wP = max(wD, width(l.delta)), max(wP, width(l.p))
	}
	wP = max(wP, width(vsBase)-wD-1)
	sideA := func(center, ci string) string {
		s := pad(center, wBC, true)
		if wBCI > 0 {
			s += " " + pad(ci, wBCI, false)
		}
		return s
	}
	sideB := func(center, ci string) string {
		s := pad(center, wCC, true)
		if wCCI > 0 {
			s += " " + pad(ci, wCCI, false)
		}
		return s
	}
	lenA := width(sideA("", ""))
	lenBv := width(sideB("", ""))
	lenB := lenBv + 2 + wD + 1 + wP
	baseLabel, candLabel := clean(c.BaseLabel), clean(c.CandLabel)
	gA := max(lenA, width(baseLabel), width(unitHdr))
	gB := max(lenB, width(candLabel), width(unitHdr)+2+width(vsBase))
	offA, offB := (gA-lenA)/2, (gB-lenB)/2

	blank := strings.Repeat(" ", wName)
	ew.printf("%s\n", strings.TrimRight(blank+" │ "+center(baseLabel, gA)+" │ "+center(candLabel, gB)+" │", " "))
	hdrB := center(unitHdr, lenBv) + "  " + pad(vsBase, wD+1+wP, false)
	ew.printf("%s\n", blank+" │ "+center(unitHdr, gA)+" │ "+place(hdrB, gB, offB)+" │")
	for _, l := range lines {
		a := sideA(l.bc, l.bci)
		b := sideB(l.cc, l.cci) + "  " + pad(l.delta, wD, true) + " " + pad(l.p, wP, false)
		s := pad(l.name, wName, false) + "   " + place(a, gA, offA) + "   " + place(b, gB, offB)
		if l.marks != "" {
			s += " " + l.marks
		}
		ew.printf("%s\n", strings.TrimRight(s, " "))
	}
	for i, n := range notes.list {
		ew.printf("%s %s\n", superscript(i+1), clean(n))
	}
}

// energyBlock writes the "Energy per output token" block: one line per
// energy row with both sides' joules per token and the relative change,
// never "~" and never a p-value (each side is one measurement), the pooled
// line only when its model has more than one stage line; the note that
// every row shares is printed once, other notes as footnotes.
func energyBlock(ew *errWriter, c stats.Comparison) {
	perModel := map[string]int{}
	models := map[string]bool{}
	for _, r := range c.Energy {
		models[r.Model] = true
		if !r.Pooled {
			perModel[r.Model]++
		}
	}
	showModel := len(models) > 1
	notes := &footnotes{}
	type line struct{ name, b, c, d, marks string }
	var lines []line
	for _, r := range c.Energy {
		if r.Pooled && perModel[r.Model] == 1 {
			continue
		}
		l := line{name: rowLabel(stats.Row{Model: r.Model, Scenario: r.Scenario, Pooled: r.Pooled}, showModel),
			b: num4(r.Base), c: num4(r.Cand), d: signedPct(r.Delta)}
		if extra, ok := strings.CutPrefix(r.Note, stats.EnergyNote+"; "); ok {
			l.marks = superscript(notes.add(extra))
		}
		lines = append(lines, l)
	}
	baseLabel, candLabel := clean(c.BaseLabel), clean(c.CandLabel)
	hdr := line{b: baseLabel, c: candLabel, d: "vs base"}
	wN, wB, wC, wD := 0, width(hdr.b), width(hdr.c), width(hdr.d)
	for _, l := range lines {
		wN, wB, wC, wD = max(wN, width(l.name)), max(wB, width(l.b)), max(wC, width(l.c)), max(wD, width(l.d))
	}
	ew.printf("Energy per output token (%s): one measurement per stage, no significance test\n", stats.EnergyUnit)
	ew.printf("%s\n", strings.TrimRight(pad("", wN, false)+"   "+pad(hdr.b, wB, true)+"   "+pad(hdr.c, wC, true)+"  "+pad(hdr.d, wD, true), " "))
	for _, l := range lines {
		s := pad(l.name, wN, false) + "   " + pad(l.b, wB, true) + "   " + pad(l.c, wC, true) + "  " + pad(l.d, wD, true)
		if l.marks != "" {
			s += " " + l.marks
		}
		ew.printf("%s\n", strings.TrimRight(s, " "))
	}
	for i, n := range notes.list {
		ew.printf("%s %s\n", superscript(i+1), clean(n))
	}
}

// rowLabel names a row: its scenario, prefixed by its model when the
// comparison holds several models; PooledLabel for a pooled row.
func rowLabel(r stats.Row, showModel bool) string {
	s := r.Scenario
	if r.Stage != "" {
		s += " @ " + r.Stage
	}
	if r.Pooled {
		s = PooledLabel
	}
	if showModel {
		s = ModelName(r.Model) + " / " + s
	}
	return clean(s)
}

// ciUnknown is the CI cell of a sample too small for a CI.
const ciUnknown = "± ∞"

// median formats the median of d, "–" without samples.
func median(d stats.Dist) string {
	if d.N == 0 {
		return "–"
	}
	return num4(d.P50)
}

// ciText formats the 95 % CI of the median as "± 3%": the larger distance
// from the median to an end of the interval, in % of the median.
func ciText(d stats.Dist) string {
	if d.N == 0 {
		return ""
	}
	lo, hi, med := d.MedianCI[0], d.MedianCI[1], d.P50
	if !finiteF(lo) || !finiteF(hi) || !finiteF(med) {
		return ciUnknown
	}
	if med == 0 {
		if lo == 0 && hi == 0 {
			return "± 0%"
		}
		return "± ?"
	}
	return fmt.Sprintf("± %.0f%%", 100*max(hi-med, med-lo)/math.Abs(med))
}

// signedPct formats a relative change as "+12.34%", "?" when unknown.
func signedPct(x float64) string {
	if !finiteF(x) {
		return "?"
	}
	return fmt.Sprintf("%+.2f%%", 100*x)
}

// num4 formats a figure with four significant digits (no exponent); "–"
// for unknown values.
func num4(v float64) string {
	switch {
	case !finiteF(v):
		return "–"
	case v == 0:
		return "0"
	}
	digits := 3 - int(math.Floor(math.Log10(math.Abs(v))))
	if digits < 0 {
		digits = 0
	}
	return fmt.Sprintf("%.*f", digits, v)
}

// finiteF reports whether x is neither NaN nor infinite.
func finiteF(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// superscript writes n in superscript digits, as benchstat numbers its
// footnotes.
func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	sup := []rune(digits)
	var b strings.Builder
	for _, d := range fmt.Sprint(n) {
		b.WriteRune(sup[d-'0'])
	}
	return b.String()
}

// clean makes untrusted text safe for a terminal: control characters
// (escape sequences, newlines, tabs) become '?', invalid UTF-8 '\uFFFD'.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// width is the display width of s, counted in runes.
func width(s string) int { return utf8.RuneCountInString(s) }

// pad pads s with spaces to n runes, on the left when right is true.
func pad(s string, n int, right bool) string {
	if k := n - width(s); k > 0 {
		if right {
			return strings.Repeat(" ", k) + s
		}
		return s + strings.Repeat(" ", k)
	}
	return s
}

// center centres s in n runes.
func center(s string, n int) string {
	k := n - width(s)
	if k <= 0 {
		return s
	}
	return strings.Repeat(" ", k/2) + s + strings.Repeat(" ", k-k/2)
}

// place puts s at offset off in a field of n runes.
func place(s string, n, off int) string {
	return pad(strings.Repeat(" ", off)+s, n, false)
}

// Regressions returns what a CI gate should fail on: the pooled rows (one
// per model, or one per comparison when the sides were paired by scenario)
// that are significantly worse by at least threshold (a fraction: 0.05 for
// a 5 % gate), and the geomean rows that moved in the bad direction by at
// least threshold while at least one scenario row of the same metric is
// significantly worse (a geomean has no test of its own, so noise alone,
// with every row "~", never fails the gate). Per-scenario rows are not
// gated on their own: with many scenarios, one of them crosses p ≤ α by
// chance far more often than α. An improvement never counts. A geomean
// entry has Note GeomeanNote, Worse set, no p-value (NaN), and empty Dists;
// its Delta is the geomean's. A threshold below 0 or NaN counts as 0.
func Regressions(c stats.Comparison, threshold float64) []stats.Row {
	if !(threshold >= 0) {
		threshold = 0
	}
	const slack = 1e-12 // a change of exactly the threshold fails it
	var out []stats.Row
	for _, r := range c.Rows {
		if r.Pooled && r.Worse && finiteF(r.Delta) && math.Abs(r.Delta) >= threshold-slack {
			out = append(out, r)
		}
	}
	for _, g := range c.Geomean {
		if !g.Worse || !finiteF(g.Delta) || math.Abs(g.Delta) < threshold-slack {
			continue
		}
		backed := false
		for _, r := range c.Rows {
			if r.Metric == g.Metric && !r.Pooled && r.Worse {
				backed = true
				break
			}
		}
		if backed {
			out = append(out, stats.Row{
				Metric: g.Metric, Pooled: true, Base: stats.NewDist(nil), Cand: stats.NewDist(nil),
				Delta: g.Delta, P: math.NaN(), Worse: true, Note: GeomeanNote,
			})
		}
	}
	return out
}

// cmpSideJSON is one side of a comparison row in JSON.
type cmpSideJSON struct {
	Median *float64    `json:"median"`
	CI     *[2]float64 `json:"ci"`
	N      int         `json:"n"`
}

// cmpRowJSON is a comparison row in JSON.
type cmpRowJSON struct {
	Model       string      `json:"model"`
	Scenario    string      `json:"scenario"`
	Stage       string      `json:"stage,omitempty"` // the load level of a sweep
	Pooled      bool        `json:"pooled"`
	Metric      string      `json:"metric"`
	Unit        string      `json:"unit"`
	Base        cmpSideJSON `json:"base"`
	Candidate   cmpSideJSON `json:"candidate"`
	Delta       *float64    `json:"delta"`
	P           *float64    `json:"p"`
	Significant bool        `json:"significant"`
	Worse       bool        `json:"worse"`
	Note        string      `json:"note"`
}

// cmpGeoJSON is a geomean row in JSON.
type cmpGeoJSON struct {
	Metric    string   `json:"metric"`
	Unit      string   `json:"unit"`
	Base      *float64 `json:"base"`
	Candidate *float64 `json:"candidate"`
	Delta     *float64 `json:"delta"`
	Worse     bool     `json:"worse"`
}

// cmpEnergyJSON is an energy row in JSON.
type cmpEnergyJSON struct {
	Model       string   `json:"model"`
	Scenario    string   `json:"scenario"`
	Pooled      bool     `json:"pooled"`
	Unit        string   `json:"unit"`
	Base        *float64 `json:"base"`
	Candidate   *float64 `json:"candidate"`
	Delta       *float64 `json:"delta"`
	Significant bool     `json:"significant"` // always false: one measurement per side, no test
	Note        string   `json:"note"`
}

// comparisonJSON is the document CompareJSON writes.
type comparisonJSON struct {
	Base      string          `json:"base"`
	Candidate string          `json:"candidate"`
	Alpha     *float64        `json:"alpha"`
	Rows      []cmpRowJSON    `json:"rows"`
	Geomean   []cmpGeoJSON    `json:"geomean"`
	Energy    []cmpEnergyJSON `json:"energy"`
	// Capacity: two capacity searches side by side; null when neither
	// side was one.
	Capacity *stats.CapacityPair `json:"capacity"`
	Warnings []string            `json:"warnings"`
	// Legacy: a side imported from the original FLPerformance, whose
	// figures are not compared (omitted when neither side is one).
	Legacy []string `json:"legacy,omitempty"`
}

// fnum returns a pointer to x, nil (JSON null) when x is not finite.
func fnum(x float64) *float64 {
	if !finiteF(x) {
		return nil
	}
	return &x
}

// sideJSON converts one side of a row.
func sideJSON(d stats.Dist) cmpSideJSON {
	s := cmpSideJSON{N: max(d.N, 0)}
	if d.N > 0 {
		s.Median = fnum(d.P50)
		if finiteF(d.MedianCI[0]) && finiteF(d.MedianCI[1]) {
			ci := d.MedianCI
			s.CI = &ci
		}
	}
	return s
}

// CompareJSON writes c as one indented JSON document with stable keys:
// base, candidate (the labels), alpha, rows [{model, scenario, stage (a
// sweep's load level; absent otherwise), pooled,
// metric, unit, base {median, ci [lo, hi], n}, candidate {…}, delta, p,
// significant, worse, note}], geomean [{metric, unit, base, candidate,
// delta, worse}], energy [{model, scenario, pooled, unit ("J/token"), base,
// candidate, delta, significant (always false), note}], capacity ({base,
// candidate, delta}: two capacity searches side by side, null when neither
// side is one), warnings. Unknown
// figures (a median without samples, a CI from fewer than 6, a p-value not
// computed, a change from a zero base) are null, never 0; empty lists are
// [].
func CompareJSON(w io.Writer, c stats.Comparison) error {
	units := map[string]string{}
	for _, m := range comparedMetrics(c) {
		units[m.Key] = m.Unit
	}
	doc := comparisonJSON{
		Base: c.BaseLabel, Candidate: c.CandLabel, Alpha: fnum(c.Alpha),
		Rows: make([]cmpRowJSON, 0, len(c.Rows)), Geomean: make([]cmpGeoJSON, 0, len(c.Geomean)),
		Energy: make([]cmpEnergyJSON, 0, len(c.Energy)), Warnings: append([]string{}, c.Warnings...),
		Capacity: c.Capacity, Legacy: c.Legacy,
	}
	for _, e := range c.Energy {
		doc.Energy = append(doc.Energy, cmpEnergyJSON{
			Model: e.Model, Scenario: e.Scenario, Pooled: e.Pooled, Unit: stats.EnergyUnit,
			Base: fnum(e.Base), Candidate: fnum(e.Cand), Delta: fnum(e.Delta), Note: e.Note,
		})
	}
	for _, r := range c.Rows {
		doc.Rows = append(doc.Rows, cmpRowJSON{
			Model: r.Model, Scenario: r.Scenario, Stage: r.Stage, Pooled: r.Pooled, Metric: r.Metric, Unit: units[r.Metric],
			Base: sideJSON(r.Base), Candidate: sideJSON(r.Cand),
			Delta: fnum(r.Delta), P: fnum(r.P), Significant: r.Significant, Worse: r.Worse, Note: r.Note,
		})
	}
	for _, g := range c.Geomean {
		doc.Geomean = append(doc.Geomean, cmpGeoJSON{
			Metric: g.Metric, Unit: units[g.Metric],
			Base: fnum(g.Base), Candidate: fnum(g.Cand), Delta: fnum(g.Delta), Worse: g.Worse,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
