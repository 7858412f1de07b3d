package report

import (
	"fmt"
	"strconv"
	"strings"

	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// failureClasses writes, for every model × scenario with failures or
// retries, its failed requests by class (docs/metrics.md §4) and, with
// retries, the first-attempt figures beside the final ones. Nothing when
// every request succeeded at once.
func failureClasses(ew *errWriter, r *runner.Result) {
	var lines []string
	for i := range r.Groups {
		if s := classLine(&r.Groups[i]); s != "" {
			lines = append(lines, "  "+groupLabel(&r.Groups[i])+": "+s)
		}
	}
	if len(lines) == 0 {
		return
	}
	ew.printf("\nFailures by class (transient: 429, 503, connection refused or reset, timeout before the first byte; permanent: other 4xx)\n")
	for _, l := range lines {
		ew.printf("%s\n", l)
	}
}

// classLine describes g's failures by class and its retries; "" when it
// has neither.
func classLine(g *stats.Group) string {
	f := g.Retries
	failed := 0
	for _, c := range record.Classes {
		failed += g.Classes[c]
	}
	if failed == 0 && f == nil {
		return ""
	}
	s := classCounts(g.Classes)
	if f == nil {
		return s
	}
	s = fmt.Sprintf("first attempt %s failed (%s), final %s failed (%s); %d retries, %d of %d requests recovered",
		pct(f.FirstAttemptErrorRate), classCounts(f.FirstAttemptClasses), pct(g.ErrorRate), s, f.Retries, f.Recovered, g.Requests)
	if f.FailedAfterRetries > 0 {
		s += fmt.Sprintf(", %d failed after retrying", f.FailedAfterRetries)
	}
	if gp := g.Goodput; gp != nil && gp.FirstAttemptFraction != nil {
		s += fmt.Sprintf("; goodput %s first attempt, %s final", pct(*gp.FirstAttemptFraction), pct(gp.Fraction))
	}
	return s
}

// classCounts writes "2 transient, 1 permanent, 0 other".
func classCounts(m map[record.Class]int) string {
	parts := make([]string, len(record.Classes))
	for i, c := range record.Classes {
		parts[i] = strconv.Itoa(m[c]) + " " + string(c)
	}
	return strings.Join(parts, ", ")
}

// errCell is the table's ERR cell: the error rate, with retries the
// first attempt's → the final one.
func errCell(g *stats.Group) string {
	if g.Retries != nil {
		return pct(g.Retries.FirstAttemptErrorRate) + "→" + pct(g.ErrorRate)
	}
	return pct(g.ErrorRate)
}

// retryCSVHeader names the columns retryCSVCells fills.
var retryCSVHeader = []string{"transient", "permanent", "other_failures", "attempts", "retries", "recovered",
	"failed_after_retries", "first_attempt_error_rate", "first_attempt_good_fraction"}

// retryCSVCells are g's failures by class and its retry figures (empty
// without retries: then every request had one attempt).
func retryCSVCells(g *stats.Group) []string {
	row := make([]string, 0, len(retryCSVHeader))
	for _, c := range record.Classes {
		row = append(row, strconv.Itoa(g.Classes[c]))
	}
	f := g.Retries
	if f == nil {
		return append(row, "", "", "", "", "", "")
	}
	frac := ""
	if gp := g.Goodput; gp != nil && gp.FirstAttemptFraction != nil {
		frac = f64(*gp.FirstAttemptFraction)
	}
	return append(row, strconv.Itoa(f.Attempts), strconv.Itoa(f.Retries), strconv.Itoa(f.Recovered),
		strconv.Itoa(f.FailedAfterRetries), f64(f.FirstAttemptErrorRate), frac)
}
