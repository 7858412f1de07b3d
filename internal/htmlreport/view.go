package htmlreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// The views below are what the template shows: every figure formatted
// here, so that the template only places text (which it escapes).

type pageView struct {
	Title     string
	Generated string
	Runs      []runView
	Compare   *compareView
}

type runView struct {
	Prefix    string // chart ids and the JSON's run key: "r0", "r1", …
	ID        string
	Title     string
	Status    string
	Started   string
	Took      string
	Engine    string
	Simulated bool
	Warnings  []string
	Cards     []cardView
	Best      []bestView
	Charts    []chartView
	Groups    []rowView
	Pooled    []rowView
	Engines   []engineRow
	Curve     []curveRow
	Turns     []turnRow
	Sweep     []sweepRow
	Inputs    []inputRow
	SweepFits []sweepFit
	Machine   string
	Config    []kv
	Command   string
	Samples   []sampleView
	Text      string
}

type kv struct{ Key, Value string }

type cardView struct {
	Model string
	Figs  []kv
	Notes []string
}

type bestView struct {
	Key, Title, Metric string
	Model, Value, Raw  string // Raw: the figure exactly (data-value)
	N                  int
	CI                 string
	Tie                bool
	Excluded           string
	Reason             string
}

type chartView struct{ ID, Title string }

// rowView is one row of the per-scenario table. Cells hold formatted
// figures; a cell's Mark is "*" when its percentile rests on too few
// samples (docs/metrics.md §5).
type rowView struct {
	Model, Scenario, Stage string
	OK, Requests           int
	Cells                  []cell
	ErrorRate              string
	Warnings               []string
}

type cell struct{ Text, Mark, Title string }

type engineRow struct {
	Label                        string
	N                            int
	TTFT, Decode, Overhead, Cttf string
}

// turnRow is one conversation turn of a scenario's group (stats.TurnFigures).
type turnRow struct {
	Model, Scenario, Stage string
	Turn, OK, Requests     int
	TTFT50, TTFTMean       string
	In, Cached, Share      string
}

type curveRow struct {
	Model, Stage, Knee                                string
	N                                                 int
	ErrorRate, OutTPS, TTFT50, TTFT99, TPOT50, TPOT99 string
}

type sampleView struct {
	Model, Scenario, Outcome, TTFT, E2E string
	Tokens                              int
	Text                                string
}

type compareView struct {
	Base, Cand string
	Alpha      string
	Rows       []compareRow
	Geomean    []compareRow
	Warnings   []string
	Text       string
}

type compareRow struct {
	Metric, Model, Scenario, Stage string
	Base, Cand, Delta, P           string
	NBase, NCand                   int
	Significant, Worse             bool
	Note                           string
}

// groupCols are the per-scenario table's figures after n: header, the
// group's distribution and statistic.
var groupCols = []struct {
	Head  string
	Dist  func(*stats.Group) stats.Dist
	Field string
}{
	{"TTFT p50 ms", func(g *stats.Group) stats.Dist { return g.TTFT }, "p50"},
	{"TTFT p95 ms", func(g *stats.Group) stats.Dist { return g.TTFT }, "p95"},
	{"TTFT p99 ms", func(g *stats.Group) stats.Dist { return g.TTFT }, "p99"},
	{"TPOT p50 ms", func(g *stats.Group) stats.Dist { return g.TPOT }, "p50"},
	{"decode p50 tok/s", func(g *stats.Group) stats.Dist { return g.DecodeTPS }, "p50"},
	{"E2E p50 ms", func(g *stats.Group) stats.Dist { return g.E2E }, "p50"},
	{"E2E p95 ms", func(g *stats.Group) stats.Dist { return g.E2E }, "p95"},
	{"E2E p99 ms", func(g *stats.Group) stats.Dist { return g.E2E }, "p99"},
}

// groupHeads is the header of the per-scenario table's figure columns.
func groupHeads() []string {
	h := make([]string, 0, len(groupCols)+1)
	for _, c := range groupCols {
		h = append(h, c.Head)
	}
	return append(h, "output tok/s")
}

// num formats a figure with about three significant digits, "–" for an
// unknown one (never 0).
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func numPtr(v *float64) string {
	if v == nil {
		return "–"
	}
	return num(*v)
}

func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + " %"
}

// stat reads field of d ("–" territory: NaN when d has no samples).
func stat(d stats.Dist, field string) float64 {
	if d.N == 0 {
		return math.NaN()
	}
	switch field {
	case "p50":
		return d.P50
	case "p90":
		return d.P90
	case "p95":
		return d.P95
	case "p99":
		return d.P99
	case "mean":
		return d.Mean
	}
	return math.NaN()
}

// smallN says whether a percentile of n samples is close to the maximum
// (docs/metrics.md §5: p95 from fewer than 20, p99 from fewer than 100).
func smallN(field string, n int) bool {
	return field == "p95" && n < 20 || field == "p99" && n < 100
}

func modelLabel(g *stats.Group) string {
	if g.Stage != "" {
		return g.Model + " [" + g.Stage + "]"
	}
	return g.Model
}

func newRow(g *stats.Group) rowView {
	row := rowView{Model: g.Model, Scenario: g.Scenario, Stage: g.Stage, OK: g.OK, Requests: g.Requests, ErrorRate: pct(g.ErrorRate), Warnings: g.Warnings}
	for _, c := range groupCols {
		d := c.Dist(g)
		v := stat(d, c.Field)
		x := cell{Text: num(v), Title: fmt.Sprintf("n = %d", d.N)}
		if !math.IsNaN(v) && smallN(c.Field, d.N) {
			x.Mark = "*"
			x.Title = fmt.Sprintf("from only %d samples: close to the maximum", d.N)
		}
		row.Cells = append(row.Cells, x)
	}
	out := math.NaN()
	if g.OK > 0 {
		out = g.OutputTokensPerS
	}
	return append1(row, cell{Text: num(out), Title: fmt.Sprintf("over a %.1f s window", g.Window)})
}

func append1(r rowView, c cell) rowView {
	r.Cells = append(r.Cells, c)
	return r
}

func newCard(g *stats.Group) cardView {
	p95 := stat(g.E2E, "p95")
	e2e := num(p95)
	if !math.IsNaN(p95) && smallN("p95", g.E2E.N) {
		e2e += " *"
	}
	out := "–"
	if g.OK > 0 {
		out = num(g.OutputTokensPerS) + " tok/s"
	}
	c := cardView{Model: modelLabel(g), Figs: []kv{
		{"TTFT p50", unit(stat(g.TTFT, "p50"), "ms")},
		{"Decode p50", unit(stat(g.DecodeTPS, "p50"), "tok/s")},
		{"Output", out},
		{"E2E p95", unit(p95, "ms") + strings.TrimPrefix(e2e, num(p95))},
		{"Error rate", pct(g.ErrorRate)},
		{"ok / requests", fmt.Sprintf("%d / %d", g.OK, g.Requests)},
	}}
	if g.Requests > 0 && g.OK == 0 {
		c.Notes = append(c.Notes, "every request failed: no latency or throughput figures")
	}
	if g.Short > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d short responses (stopped well before max_tokens): throughput is not comparable", g.Short))
	}
	return c
}

func unit(v float64, u string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return num(v) + " " + u
}

func newBest(c report.BestClaim) bestView {
	b := bestView{Key: c.Key, Title: c.Title, Metric: c.Metric, Tie: c.Tie, Reason: c.Reason}
	if len(c.Ranked) > 0 {
		e := c.Ranked[0]
		b.Model, b.N, b.Raw = e.Model, e.N, strconv.FormatFloat(e.Value, 'g', -1, 64)
		if e.Stage != "" {
			b.Model += " [" + e.Stage + "]"
		}
		if c.Unit == "fraction" {
			b.Value = pct(e.Value) + " failed"
		} else {
			b.Value = num(e.Value) + " " + c.Unit
		}
		if e.MedianCI != nil {
			b.CI = fmt.Sprintf("95 %% CI %s–%s", num(e.MedianCI[0]), num(e.MedianCI[1]))
		}
	}
	var ex []string
	for _, e := range c.Excluded {
		ex = append(ex, fmt.Sprintf("%s (%s failed)", e.Model, pct(e.ErrorRate)))
	}
	if len(ex) > 0 {
		limit := ""
		if c.MaxErrorRate != nil {
			limit = " over " + pct(*c.MaxErrorRate) + " failed"
		}
		b.Excluded = "not ranked," + limit + ": " + strings.Join(ex, ", ")
	}
	return b
}

// commandLine quotes argv for a POSIX shell where an argument needs it.
func commandLine(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,%+", r))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

func newRunView(i int, r *Run) runView {
	res := r.Result
	v := runView{
		Prefix: fmt.Sprintf("r%d", i), ID: res.ID, Status: string(res.Status),
		Title:   fmt.Sprintf("%s · %s · %s", res.Started.Local().Format("2006-01-02 15:04"), strings.Join(res.Config.Models, ", "), res.Suite.Name),
		Started: res.Started.Local().Format("2006-01-02 15:04:05 MST"), Engine: res.Engine.Label(), Simulated: res.Engine.Simulated,
		Warnings: res.Warnings, Machine: report.HardwareText(res.Hardware), Command: commandLine(res.Config.Command), Text: r.Text,
	}
	if !res.Ended.IsZero() {
		v.Took = res.Ended.Sub(res.Started).Round(100 * time.Millisecond).String()
	}
	for j := range res.Models {
		v.Cards = append(v.Cards, newCard(&res.Models[j]))
		v.Pooled = append(v.Pooled, newRow(&res.Models[j]))
	}
	for j := range res.Groups {
		v.Groups = append(v.Groups, newRow(&res.Groups[j]))
	}
	for _, c := range r.Best {
		v.Best = append(v.Best, newBest(c))
	}
	v.Charts = chartsOf(v.Prefix, r)
	for _, gs := range [][]stats.Group{res.Groups, res.Models} {
		for j := range gs {
			g := &gs[j]
			if g.Engine == nil || g.Engine.N == 0 {
				continue
			}
			label := report.ModelName(modelLabel(g))
			if g.Scenario != "" {
				label = report.ModelName(g.Model) + " / " + g.Scenario
				if g.Stage != "" {
					label += " [" + g.Stage + "]"
				}
			} else {
				label += " (all scenarios)"
			}
			v.Engines = append(v.Engines, engineRow{Label: label, N: g.Engine.N,
				TTFT: num(stat(g.Engine.TTFT, "p50")), Decode: num(stat(g.Engine.DecodeTPS, "p50")),
				Overhead: num(stat(g.Engine.Overhead, "p50")), Cttf: num(stat(g.TTFT, "p50"))})
		}
	}
	if c := r.Curve; c != nil {
		for _, m := range c.Models {
			for _, p := range m.Points {
				row := curveRow{Model: m.Model, Stage: p.Stage, N: p.N, ErrorRate: pct(p.ErrorRate), OutTPS: numPtr(p.OutputTPS),
					TTFT50: numPtr(p.TTFTP50), TTFT99: numPtr(p.TTFTP99), TPOT50: numPtr(p.TPOTP50), TPOT99: numPtr(p.TPOTP99)}
				if m.Knee != nil && *m.Knee == p.Stage {
					row.Knee = "knee"
				}
				v.Curve = append(v.Curve, row)
			}
		}
	}
	v.Sweep, v.SweepFits = sweepRows(r.Sweep)
	v.Inputs = inputRows(r)
	for j := range res.Groups {
		g := &res.Groups[j]
		for _, f := range g.Turns {
			share := "–"
			if f.CachedShare != nil {
				share = pct(*f.CachedShare)
			}
			v.Turns = append(v.Turns, turnRow{Model: g.Model, Scenario: g.Scenario, Stage: g.Stage, Turn: f.Turn, OK: f.OK, Requests: f.Requests,
				TTFT50: num(stat(f.TTFT, "p50")), TTFTMean: num(stat(f.TTFT, "mean")), In: num(f.InputTokens), Cached: num(f.CachedTokens), Share: share})
		}
	}
	v.Config = configRows(res)
	for _, s := range r.Samples {
		v.Samples = append(v.Samples, sampleView{Model: s.Model, Scenario: s.Scenario, Outcome: s.Outcome,
			TTFT: num(s.TTFTMS), E2E: num(s.E2EMS), Tokens: s.OutputTokens, Text: s.Text})
	}
	return v
}

// configRows is the run's configuration, engine and suite.
func configRows(res *runner.Result) []kv {
	c := &res.Config
	rows := []kv{
		{"Run", res.ID},
		{"Engine", res.Engine.Label()},
		{"Models", strings.Join(c.Models, ", ")},
		{"Suite", fmt.Sprintf("%s (%d scenarios)", res.Suite.Name, len(res.Suite.Scenarios))},
		{"Scenarios", strings.Join(c.Scenarios, ", ")},
		{"Load", report.LoadText(c)},
		{"Request", report.RequestText(c)},
		{"Records", strconv.Itoa(res.Records)},
		{"flperf", strings.TrimSpace(res.Tool.Version + " " + res.Tool.Go + " " + res.Tool.OS + "/" + res.Tool.Arch)},
	}
	if res.Engine.ConnectionReuse != "" {
		rows = append(rows, kv{"Connections", res.Engine.ConnectionReuse})
	}
	return rows
}

// chartsOf lists the charts the script draws for run r, in page order.
func chartsOf(prefix string, r *Run) []chartView {
	cs := []chartView{
		{prefix + "-throughput", "Output throughput per scenario"},
		{prefix + "-ttft", "TTFT p50 per scenario, 95 % CI"},
		{prefix + "-decode", "Decode rate p50 per scenario, 95 % CI"},
		{prefix + "-tpot", "TPOT p50 per scenario, 95 % CI"},
		{prefix + "-e2e-pct", "End-to-end latency percentiles (p50 with 95 % CI)"},
		{prefix + "-ttft-pct", "TTFT percentiles (p50 with 95 % CI)"},
		{prefix + "-dist-e2e_ms", "End-to-end latency distribution per model (ok requests)"},
		{prefix + "-dist-ttft_ms", "TTFT distribution per model (ok requests)"},
	}
	if r.Curve != nil {
		cs = append(cs,
			chartView{prefix + "-curve-ttft", "TTFT p50 and p99 against output throughput (load sweep)"},
			chartView{prefix + "-curve-tpot", "TPOT p50 and p99 against output throughput (load sweep)"})
	}
	if r.Sweep != nil {
		cs = append(cs, sweepCharts(prefix)...)
	}
	return cs
}

func newCompareView(rep *Report) *compareView {
	c := rep.Compare
	if c == nil {
		return nil
	}
	v := &compareView{Base: c.BaseLabel, Cand: c.CandLabel, Alpha: strconv.FormatFloat(c.Alpha, 'g', -1, 64), Warnings: c.Warnings, Text: rep.CompareText}
	for _, r := range c.Rows {
		scen := r.Scenario
		if r.Pooled {
			scen = report.PooledLabel
		}
		row := compareRow{Metric: r.Metric, Model: r.Model, Scenario: scen, Stage: r.Stage,
			Base: median(r.Base), Cand: median(r.Cand), Delta: signed(r.Delta), P: "–",
			NBase: r.NBase, NCand: r.NCand, Significant: r.Significant, Worse: r.Worse, Note: r.Note}
		if !math.IsNaN(r.P) {
			row.P = strconv.FormatFloat(r.P, 'f', 3, 64)
		}
		if !r.Significant && !math.IsNaN(r.Delta) {
			row.Delta = "~"
		}
		v.Rows = append(v.Rows, row)
	}
	for _, g := range c.Geomean {
		v.Geomean = append(v.Geomean, compareRow{Metric: g.Metric, Base: num(g.Base), Cand: num(g.Cand), Delta: signed(g.Delta), Worse: g.Worse})
	}
	return v
}

// median is a side's median with its 95 % CI.
func median(d stats.Dist) string {
	if d.N == 0 {
		return "–"
	}
	s := num(d.P50)
	if !math.IsNaN(d.MedianCI[0]) && !math.IsNaN(d.MedianCI[1]) {
		s += fmt.Sprintf(" [%s, %s]", num(d.MedianCI[0]), num(d.MedianCI[1]))
	}
	return s
}

func signed(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.1f %%", 100*x)
}
