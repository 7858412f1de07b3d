package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"flperf/internal/legacy"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Markdown writes the run's report as GitHub-flavoured Markdown, to paste
// into a pull request or an issue: the run, engine (with the SIMULATED
// label where it applies), suite, load, request and machine lines; one
// table row per model × scenario (per load level in a sweep) and per model
// pooled, with n, error rate, TTFT/TPOT/E2E percentiles, throughput,
// goodput and numbered warnings; the best model per headline metric; a
// sweep's knees; the capacity search; the context-window and open-loop
// stages; cold starts; the engine's own figures; and the warnings. Every
// text that comes from outside flperf (names, error texts, warnings) is
// escaped by mdText: it never becomes markup nor breaks a table.
func Markdown(w io.Writer, r *runner.Result) error {
	ew := &errWriter{w: w}
	c := &r.Config
	ew.printf("### flperf run %s · %s\n\n", mdText(r.ID), mdText(string(r.Status)))
	if r.Engine.Simulated {
		ew.printf("> [!WARNING]\n> **SIMULATED engine**: flperf's built-in simulator, not a real model. These figures measure nothing real.\n\n")
	}
	if r.Legacy != nil {
		ew.printf("> [!CAUTION]\n> **%s**: imported from the original FLPerformance; its own figures, not comparable with flperf's (docs/legacy.md).\n\n", legacy.Label)
	}
	ew.printf("- **Started:** %s UTC (%s)\n", r.Started.UTC().Format("2006-01-02 15:04:05"), r.Ended.Sub(r.Started).Round(100*time.Millisecond))
	ew.printf("- **Engine:** %s\n", mdText(engineLine(r)))
	if r.Engine.ConnectionReuse != "" {
		ew.printf("- **Connections:** %s\n", mdText(r.Engine.ConnectionReuse))
	}
	ew.printf("- **Suite:** %s (%d scenarios)\n", mdText(r.Suite.Name), len(r.Suite.Scenarios))
	ew.printf("- **Load:** %s\n", mdText(loadLabel(c)))
	ew.printf("- **Request:** %s\n", mdText(requestLabel(c)))
	if h := hardwareLine(r.Hardware); h != "" {
		ew.printf("- **Machine:** %s\n", mdText(h))
	}

	notes := &footnotes{}
	if r.Legacy != nil && len(r.Groups) == 0 {
		mdLegacy(ew, r) // no records: only the original's figures
	} else {
		ew.printf("\n#### Per model × scenario\n\nLatencies in ms over ok requests; rates in tokens/s; throughput over each group's window.\n\n")
		mdGroupTable(ew, r.Groups, notes, true)
	}
	if len(r.Models) > 0 {
		ew.printf("\n#### Per model (all scenarios pooled, not averaged)\n\n")
		mdGroupTable(ew, r.Models, notes, false)
	}
	if r.Legacy == nil || len(r.Groups) > 0 {
		mdBest(ew, r)
	}
	mdKnees(ew, r)
	mdContextSweep(ew, r)
	mdCapacity(ew, r)
	mdContextFit(ew, r)
	mdOpenLoop(ew, r)
	mdColdStarts(ew, r)
	mdEngineFigures(ew, r)
	mdInputLengths(ew, r)
	mdPrefix(ew, r)
	mdTurns(ew, r)
	if len(r.Warnings) > 0 || len(notes.list) > 0 {
		ew.printf("\n#### Warnings\n\n")
		for _, s := range r.Warnings {
			ew.printf("- ⚠️ %s\n", mdText(s))
		}
		if len(r.Warnings) > 0 && len(notes.list) > 0 {
			ew.printf("\n")
		}
		for i, s := range notes.list {
			ew.printf("%d. %s\n", i+1, mdText(s))
		}
	}
	return ew.err
}

// mdGroupTable writes one row per group: a LOAD column only in a sweep, a
// goodput column only when an SLO gave the groups one.
func mdGroupTable(ew *errWriter, groups []stats.Group, notes *footnotes, withScenario bool) {
	sweep := slices.ContainsFunc(groups, func(g stats.Group) bool { return g.Stage != "" })
	goodput := slices.ContainsFunc(groups, func(g stats.Group) bool { return g.Goodput != nil })
	head := []string{"Model"}
	align := []bool{false}
	if withScenario {
		head, align = append(head, "Scenario"), append(align, false)
	}
	if sweep {
		head, align = append(head, "Load"), append(align, false)
	}
	nums := []string{"OK/N", "Errors", "TTFT p50", "TTFT p95", "TTFT p99", "TPOT p50", "TPOT p95", "ITL p99", "Decode p50",
		"E2E p50", "E2E p95", "E2E p99", "req/s", "out tok/s"}
	if goodput {
		nums = append(nums, "Goodput/s")
	}
	head = append(head, nums...)
	for range nums {
		align = append(align, true)
	}
	head, align = append(head, "Tokens", "Notes"), append(align, false, false)
	t := mdTable{head: head, right: align}
	for i := range groups {
		g := &groups[i]
		row := []string{mdText(ModelName(g.Model))}
		if withScenario {
			row = append(row, mdText(g.Scenario))
		}
		if sweep {
			row = append(row, mdText(g.Stage))
		}
		errs := pct(g.ErrorRate) // flperf's figures and outcome names: nothing to escape
		if f := failureText(g); f != "" {
			errs += " (" + f + ")"
		}
		row = append(row, fmt.Sprintf("%d/%d", g.OK, g.Requests-g.Canceled), errs,
			dnum(g.TTFT, g.TTFT.P50), dnum(g.TTFT, g.TTFT.P95), dnum(g.TTFT, g.TTFT.P99),
			dnum(g.TPOT, g.TPOT.P50), dnum(g.TPOT, g.TPOT.P95), dnum(g.ITL, g.ITL.P99), dnum(g.DecodeTPS, g.DecodeTPS.P50),
			dnum(g.E2E, g.E2E.P50), dnum(g.E2E, g.E2E.P95), dnum(g.E2E, g.E2E.P99),
			rate(g, g.RequestsPerS), rate(g, g.OutputTokensPerS))
		if goodput {
			gp := "–"
			if g.Goodput != nil {
				gp = fmt.Sprintf("%s (%s)", num(g.Goodput.PerS), pct(g.Goodput.Fraction))
			}
			row = append(row, gp)
		}
		var refs []string
		for _, wrn := range g.Warnings {
			refs = append(refs, strconv.Itoa(notes.add(wrn)))
		}
		note := ""
		if len(refs) > 0 {
			note = "⚠️ " + strings.Join(refs, ", ")
		}
		row = append(row, mdText(g.TokenSource), note)
		t.rows = append(t.rows, row)
	}
	t.write(ew)
}

// mdBest lists, per headline metric, which model wins in how many
// scenarios: the table report's ranking, under the same rule (a group
// with more than MaxRankedErrorRate of its requests failed is never
// ranked).
func mdBest(ew *errWriter, r *runner.Result) {
	if len(r.Config.Models) < 2 {
		return
	}
	what := "scenarios"
	if r.Config.Sweep() != nil {
		what = "scenario × load levels"
	}
	ew.printf("\n#### Best model per scenario\n\nGroups with more than %.0f%% errors are never ranked.\n\n", 100*MaxRankedErrorRate)
	for _, key := range []string{"ttft", "decode", "e2e", "throughput"} {
		p := headlineByKey(key)
		wins, n := bestWins(r, p)
		var parts []string
		for _, m := range r.Config.Models {
			if wins[m] > 0 {
				parts = append(parts, fmt.Sprintf("%s in %d of %d %s", mdText(ModelName(m)), wins[m], n, what))
			}
		}
		if len(parts) == 0 {
			parts = []string{"no model has figures"}
		}
		ew.printf("- **%s:** %s\n", p.name, strings.Join(parts, "; "))
	}
}

// mdKnees writes a sweep's knee per model (docs/metrics.md §7).
func mdKnees(ew *errWriter, r *runner.Result) {
	c := RunCurve(r)
	if c == nil {
		return
	}
	ew.printf("\n#### Knee of the throughput–latency curve\n\nThe last level before output throughput gains < %.0f%% per doubling while `%s` rises > %.0f%%.\n\n",
		100*c.KneeGain, c.KneeBasis, 100*c.KneeRise)
	for _, m := range c.Models {
		if m.Knee == nil {
			ew.printf("- %s: none within the levels run (throughput still grew, or latency stayed flat)\n", mdText(ModelName(m.Model)))
			continue
		}
		k := slices.IndexFunc(m.Points, func(p CurvePoint) bool { return p.Stage == *m.Knee })
		p := m.Points[k]
		ew.printf("- %s: %s (%s output tok/s)\n", mdText(ModelName(m.Model)), mdText(p.Stage), numPtr(p.OutputTPS))
	}
}

// mdCapacity writes a capacity search's answer and the levels it tried
// (docs/metrics.md §10).
func mdCapacity(ew *errWriter, r *runner.Result) {
	c := r.Config.Capacity
	if c == nil {
		return
	}
	ew.printf("\n#### Capacity\n\n%s / %s: %s\n\n", mdText(ModelName(c.Model)), mdText(c.Scenario), mdText(c.Answer))
	head := []string{"Level", "Stage", "Requests", "Failed", "req/s", "tok/s", "good/s"}
	right := []bool{true, false, true, true, true, true, true}
	for _, o := range c.Objectives {
		head, right = append(head, mdText(fmt.Sprintf("%s [95%% CI] ≤ %s", o.Label(), o.Target))), append(right, true)
	}
	head, right = append(head, "Result"), append(right, false)
	t := mdTable{head: head, right: right}
	for _, l := range c.Levels {
		row := []string{strconv.FormatFloat(l.Level, 'g', -1, 64), mdText(l.Stage), strconv.Itoa(l.Requests), strconv.Itoa(l.Failed),
			num4(l.RequestsPerS), num4(l.OutputTokensPerS), num4(l.Goodput.PerS)}
		for _, m := range l.Objectives {
			s := msOrDash(m.Value)
			if m.CI != nil {
				s += fmt.Sprintf(" [%s–%s]", num4(m.CI[0]), num4(m.CI[1]))
			}
			row = append(row, mdText(s))
		}
		res := "pass"
		switch {
		case !l.Complete:
			res = "incomplete"
		case !l.Pass:
			res = "FAIL: " + l.Why
		}
		t.rows = append(t.rows, append(row, mdText(res)))
	}
	t.write(ew)
	ew.printf("\nSearch ended: %s.\n", mdText(c.Stop))
}

// mdContextFit writes the stages a model's context window skipped,
// stopped or warned about; the reasons are among the warnings.
func mdContextFit(ew *errWriter, r *runner.Result) {
	if len(r.Suite.ContextFit) == 0 {
		return
	}
	ew.printf("\n#### Context window\n\nPrompt tokens: exact = the engine's tokenizer, estimate = flperf's, engine = its refusal.\n\n")
	t := mdTable{head: []string{"Model", "Scenario", "Stage", "Prompt", "max_tokens", "Context", "Counted"},
		right: []bool{false, false, false, true, true, true, false}}
	for _, f := range r.Suite.ContextFit {
		action := f.Action
		if f.Action == runner.FitStopped {
			action = fmt.Sprintf("stopped after %d", f.Requests)
		}
		t.rows = append(t.rows, []string{mdText(ModelName(f.Model)), mdText(f.Scenario), mdText(action), tokenCount(f.PromptTokens),
			tokenCount(f.MaxTokens), tokenCount(f.ContextLength), mdText(f.Method)})
	}
	t.write(ew)
}

// mdOpenLoop writes the open-loop stages that dropped arrivals or that
// the over-saturation detector stopped (docs/metrics.md §7).
func mdOpenLoop(ew *errWriter, r *runner.Result) {
	if len(r.Suite.OpenLoop) == 0 {
		return
	}
	ew.printf("\n#### Open loop\n\nDropped: arrivals not sent because `--max-in-flight` requests were in flight; they are in no figure.\n\n")
	t := mdTable{head: []string{"Model", "Scenario", "Load", "Rate/s", "Arrivals", "Dropped", "Stopped"},
		right: []bool{false, false, false, true, true, true, false}}
	for _, o := range r.Suite.OpenLoop {
		stage := o.Stage
		if stage == "" {
			stage = "–"
		}
		dropped := "–"
		if o.OnFull == "drop" {
			dropped = strconv.Itoa(o.Dropped)
		}
		stopped := "–"
		if w := o.Oversaturated; w != nil {
			stopped = fmt.Sprintf("over-saturated after %.1fs: in flight %+.3g/s, TTFT %+.3g s/s", w.ElapsedS, w.InFlightSlope, w.TTFTSlope)
		}
		t.rows = append(t.rows, []string{mdText(ModelName(o.Model)), mdText(o.Scenario), mdText(stage), strconv.FormatFloat(o.Rate, 'g', 4, 64),
			strconv.Itoa(o.Arrivals), dropped, mdText(stopped)})
	}
	t.write(ew)
}

// mdColdStarts writes each model's cold start, apart from every warm
// figure.
func mdColdStarts(ew *errWriter, r *runner.Result) {
	t := mdTable{head: []string{"Model", "Load ms", "First TTFT ms", "Outcome"}, right: []bool{false, true, true, false}}
	for _, m := range r.Engine.Models {
		if m.Cold == nil {
			continue
		}
		ttft := "–"
		if m.Cold.TTFTMS != nil {
			ttft = num(*m.Cold.TTFTMS)
		}
		t.rows = append(t.rows, []string{mdText(m.ID), num(m.Cold.LoadMS), ttft, mdText(string(m.Cold.Outcome))})
	}
	if len(t.rows) == 0 {
		return
	}
	ew.printf("\n#### Cold start\n\nModel unloaded, then loaded; not part of any figure above.\n\n")
	t.write(ew)
}

// mdEngineFigures writes the engine's own per-response figures beside the
// client's, for the groups whose responses carried them.
func mdEngineFigures(ew *errWriter, r *runner.Result) {
	t := mdTable{head: []string{"Model", "Scenario", "N", "TTFT engine", "TTFT client", "Overhead", "Decode engine", "Decode client"},
		right: []bool{false, false, true, true, true, true, true, true}}
	for i := range r.Groups {
		g := &r.Groups[i]
		if e := g.Engine; e != nil {
			t.rows = append(t.rows, []string{mdText(ModelName(g.Model)), mdText(g.Scenario), strconv.Itoa(e.N),
				distP50(e.TTFT), distP50(g.TTFT), distP50(e.Overhead), distP50(e.DecodeTPS), distP50(g.DecodeTPS)})
		}
	}
	if len(t.rows) == 0 {
		return
	}
	ew.printf("\n#### Engine's own figures beside the client's\n\nMedians over ok requests that carried them; times in ms, decode in tokens/s; overhead = client TTFT − engine TTFT per request.\n\n")
	t.write(ew)
}

// mdTable is a GitHub-flavoured Markdown table. Its cells are written as
// given: the caller escapes text from outside with mdText.
type mdTable struct {
	head  []string
	right []bool // right-aligned columns (numbers)
	rows  [][]string
}

// write writes the table; a row with fewer cells than the header is padded
// with empty cells, so that every row has the header's number of cells.
func (t *mdTable) write(ew *errWriter) {
	ew.printf("%s\n", mdRow(t.head))
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = ":--"
		if i < len(t.right) && t.right[i] {
			sep[i] = "--:"
		}
	}
	ew.printf("%s\n", mdRow(sep))
	for _, r := range t.rows {
		for len(r) < len(t.head) {
			r = append(r, "")
		}
		ew.printf("%s\n", mdRow(r))
	}
}

// mdRow joins cells into a table row. The spaces around each delimiter
// keep a cell that ends in an escaped backslash from escaping the pipe.
func mdRow(cells []string) string {
	return "| " + strings.Join(cells, " | ") + " |"
}

// mdText makes text from outside flperf (model, scenario and run names,
// error texts, warnings) inert in GitHub-flavoured Markdown, in a table
// cell as in a paragraph or list item: line breaks and tabs become
// spaces, other control characters '?', invalid UTF-8 '\uFFFD'; every
// character that can start or end markup (emphasis, code, links, images,
// raw HTML, entities, strikethrough, math, a table's cell delimiter) is
// escaped with a backslash, as are a leading block marker (heading, quote,
// list item) and the "://" and "www." that would make a bare address a
// link. Rendered, the text reads as it came.
func mdText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
			continue
		case unicode.IsControl(r):
			b.WriteByte('?')
			continue
		}
		esc := false
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&', '$', '#', '!':
			esc = true
		case ':': // a scheme's "://"
			esc = i+2 < len(rs) && rs[i+1] == '/' && rs[i+2] == '/'
		case '.': // "www."
			esc = i >= 3 && strings.EqualFold(string(rs[i-3:i]), "www")
		case '-', '+', '=': // a list item, a setext underline
			esc = i == 0
		case ')': // an ordered list item: "1)"
			esc = allDigits(rs[:i])
		}
		if r == '.' && allDigits(rs[:i]) { // an ordered list item: "1."
			esc = true
		}
		if esc {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// allDigits reports whether rs is a non-empty run of ASCII digits.
func allDigits(rs []rune) bool {
	if len(rs) == 0 {
		return false
	}
	for _, r := range rs {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
