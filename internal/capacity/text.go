package capacity

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Line is the search's answer in one line, e.g. "sustains 6 concurrent
// streams (2.1 req/s, 410 tok/s) with TTFT p99 1.62 s [1.48–1.80] ≤ 2 s and
// TPOT p99 71 ms [66–74] ≤ 100 ms; at 8, TTFT p99 is 2.9 s > 2 s".
func Line(r *Result) string {
	var b strings.Builder
	if sus := r.Sustained(); sus != nil {
		fmt.Fprintf(&b, "sustains %s (%s req/s, %s tok/s) with ", levelName(r.By, sus.Level), fmtRate(sus.RequestsPerS), fmtRate(sus.OutputTokensPerS))
		for i, m := range sus.Objectives {
			if i > 0 {
				b.WriteString(" and ")
			}
			fmt.Fprintf(&b, "%s %s ≤ %s", m.Objective.Label(), fmtWithCI(m), fmtDur(m.Objective.Target))
		}
	} else {
		b.WriteString("sustains no level within " + r.SLO)
	}
	if f := r.FirstFailing; f != nil {
		fmt.Fprintf(&b, "; at %s, %s", levelShort(r.By, f.Level), f.Why)
	}
	if r.Stop != "" && !strings.Contains(r.Stop, "passes and") {
		b.WriteString(" (search ended: " + r.Stop + ")")
	}
	return b.String()
}

// levelShort names a level after "at": "8", "2.5 req/s".
func levelShort(by By, v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if by == ByRate {
		return s + " req/s"
	}
	return s
}

// fmtRate writes a throughput with 2 to 3 significant digits: "2.1", "410".
func fmtRate(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// fmtWithCI writes a percentile with its confidence interval in the same
// unit: "1.62 s [1.48–1.80]", "71 ms [66–74]"; "–" where none.
func fmtWithCI(m Measured) string {
	if m.Value == nil {
		return "–"
	}
	v := *m.Value
	unit, scale := "ms", 1.0
	if v >= 1000 {
		unit, scale = "s", 1000
	}
	dec := 0
	switch x := v / scale; {
	case x < 10:
		dec = 2
	case x < 100 && unit == "s":
		dec = 1
	}
	f := func(x float64) string { return strconv.FormatFloat(x/scale, 'f', dec, 64) }
	if m.CI == nil {
		return f(v) + " " + unit
	}
	return fmt.Sprintf("%s %s [%s–%s]", f(v), unit, f(m.CI[0]), f(m.CI[1]))
}

// Table writes the levels tried, one row each, in the order tried.
func Table(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"level", "stage", "requests", "failed", "req/s", "tok/s", "good/s"}
	for _, o := range r.Objectives {
		head = append(head, fmt.Sprintf("%s [95%% CI] ≤ %s", o.Label(), fmtDur(o.Target)))
	}
	head = append(head, "result")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, l := range r.Levels {
		row := []string{strconv.FormatFloat(l.Level, 'g', -1, 64), l.Stage, strconv.Itoa(l.Requests), strconv.Itoa(l.Failed),
			fmtRate(l.RequestsPerS), fmtRate(l.OutputTokensPerS), fmtRate(l.Goodput.PerS)}
		for _, m := range l.Objectives {
			row = append(row, fmtWithCI(m))
		}
		res := "pass"
		switch {
		case !l.Complete:
			res = "incomplete"
		case !l.Pass:
			res = "FAIL: " + l.Why
		}
		row = append(row, res)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "each level ran %d measured requests (the 95 %% confidence interval of every objective's percentile has an upper bound from %d, docs/metrics.md §10); a level passes when that bound is within the target. Search ended: %s.\n", r.Requests, Needed(r.Objectives), r.Stop)
	return err
}
