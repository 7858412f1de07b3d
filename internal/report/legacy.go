package report

import (
	"fmt"
	"math"
	"strconv"
	"text/tabwriter"
	"unicode/utf8"

	"flperf/internal/legacy"
	"flperf/internal/runner"
)

// legacyHeader is the line the table report puts under its title for a
// run imported from the original FLPerformance.
func legacyHeader(ew *errWriter, r *runner.Result) {
	l := r.Legacy
	ew.printf("%s   imported from the original FLPerformance (%s, run %s, status %q): its own figures, NOT comparable with flperf's\n",
		legacy.Label, l.Source, l.OriginalID, l.OriginalStatus)
}

// legacyBlock writes the original's figures of a legacy run, with the
// method behind each and what it got wrong (docs/legacy.md).
func legacyBlock(ew *errWriter, r *runner.Result) {
	l := r.Legacy
	if l == nil {
		return
	}
	conf := "configuration not stored"
	if l.Iterations != nil {
		conf = fmt.Sprintf("%d iterations per scenario, one at a time", *l.Iterations)
		if l.Streaming != nil {
			conf += map[bool]string{true: ", streamed", false: ", not streamed"}[*l.Streaming]
		}
		if l.TimeoutMs != nil {
			conf += fmt.Sprintf(", timeout %s ms", legacyNum(l.TimeoutMs))
		}
	}
	ew.printf("%s figures, as the original FLPerformance computed them (%s)\n", legacy.Label, conf)
	mw, sw := len("MODEL"), len("SCENARIO")
	for i := range l.Results {
		mw = max(mw, utf8.RuneCountInString(l.Results[i].Model))
		sw = max(sw, utf8.RuneCountInString(l.Results[i].Scenario))
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t%-*s\ttps*\tttft (upper median)\ttpot*\tgen_tps*\tlatency p50 (nearest rank)\tp95\tp99\terror %%\ttimeout %%\tok/N\t\n", mw, "MODEL", sw, "SCENARIO")
	for i := range l.Results {
		x := &l.Results[i]
		fmt.Fprintf(tw, "%-*s\t%-*s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", mw, x.Model, sw, x.Scenario,
			legacyNum(x.TPS), legacyNum(x.TTFT), legacyNum(x.TPOT), legacyNum(x.GenTPS),
			legacyNum(x.LatencyP50), legacyNum(x.LatencyP95), legacyNum(x.LatencyP99),
			legacyNum(x.ErrorRate), legacyNum(x.TimeoutRate), okOfN(x))
	}
	tw.Flush()
	if len(l.Results) == 0 {
		ew.printf("  (the original stored no result rows for this run)\n")
	}
	ew.printf("  * per second / per gap of content chunks when streaming, not tokens; times in ms\n")
	ew.printf("Methods of the original\n")
	for _, m := range l.Methods {
		ew.printf("  %s: %s\n", m.Field, m.Method)
	}
	ew.printf("What the original got wrong\n")
	for _, c := range l.Caveats {
		ew.printf("  ! %s\n", c.Text)
	}
}

// okOfN is "successful/total" iterations where the original stored them.
func okOfN(x *legacy.Result) string {
	switch {
	case x.SuccessfulIterations != nil && x.TotalIterations != nil:
		return fmt.Sprintf("%d/%d", *x.SuccessfulIterations, *x.TotalIterations)
	case len(x.Iterations) > 0:
		ok := 0
		for _, it := range x.Iterations {
			if it.Error == "" && !it.Timeout {
				ok++
			}
		}
		return fmt.Sprintf("%d/%d", ok, len(x.Iterations))
	}
	return "–"
}

// legacyNum formats a figure the original may not have stored ("–").
func legacyNum(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return "–"
	}
	if math.Abs(*v) >= 1e15 {
		return num(*v)
	}
	// As stored, to two decimals: these are the original's own numbers.
	return strconv.FormatFloat(math.Round(*v*100)/100, 'f', -1, 64)
}

// engineLine names the engine of a run; a legacy run's endpoint and
// version were never recorded.
func engineLine(r *runner.Result) string {
	if r.Legacy != nil {
		return string(r.Engine.Kind) + " through the original FLPerformance (endpoint and version not recorded)"
	}
	return r.Engine.Label()
}

// mdLegacy writes a legacy run's figures as a Markdown table, with the
// methods and caveats (the table report's legacyBlock).
func mdLegacy(ew *errWriter, r *runner.Result) {
	l := r.Legacy
	ew.printf("\n#### %s figures, as the original FLPerformance computed them\n\n", legacy.Label)
	t := mdTable{
		head:  []string{"Model", "Scenario", "tps\\*", "ttft (upper median)", "tpot\\*", "gen\\_tps\\*", "latency p50 (nearest rank)", "p95", "p99", "error %", "timeout %", "ok/N"},
		right: []bool{false, false, true, true, true, true, true, true, true, true, true, true},
	}
	for i := range l.Results {
		x := &l.Results[i]
		t.rows = append(t.rows, []string{mdText(x.Model), mdText(x.Scenario),
			legacyNum(x.TPS), legacyNum(x.TTFT), legacyNum(x.TPOT), legacyNum(x.GenTPS),
			legacyNum(x.LatencyP50), legacyNum(x.LatencyP95), legacyNum(x.LatencyP99),
			legacyNum(x.ErrorRate), legacyNum(x.TimeoutRate), okOfN(x)})
	}
	t.write(ew)
	ew.printf("\n\\* per second / per gap of content chunks when streaming, not tokens; times in ms.\n\n**What the original got wrong**\n\n")
	for _, c := range l.Caveats {
		ew.printf("- %s\n", mdText(c.Text))
	}
}
