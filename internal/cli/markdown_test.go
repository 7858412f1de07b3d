package cli

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// mdTableRows returns the rows of the Markdown tables in out whose first
// cell is first, each split into cells; it fails the test when a row has
// a different number of cells than its table's header.
func mdTableRows(t *testing.T, out, first string) [][]string {
	t.Helper()
	split := func(l string) []string {
		l = strings.TrimSuffix(strings.TrimPrefix(l, "| "), " |")
		return strings.Split(strings.ReplaceAll(l, `\|`, "\x00"), " | ")
	}
	var rows [][]string
	head := -1
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "|") {
			head = -1
			continue
		}
		cells := split(l)
		if head < 0 {
			head = len(cells)
		}
		if len(cells) != head {
			t.Errorf("row %q has %d cells, its header %d", l, len(cells), head)
		}
		if cells[0] == first {
			rows = append(rows, cells)
		}
	}
	return rows
}

// TestMarkdownRunAndShow checks --format markdown on run and show: the
// SIMULATED label, one row per model × scenario with its n, the pooled
// rows, and the same tables from the stored run.
func TestMarkdownRunAndShow(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny-a"), fastProfile("tiny-b"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	db := newDB(t)
	o := run(t, "run", "--db", db, "--endpoint", s.base, "--model", "tiny-a,tiny-b", "--suite", suitePath,
		"--requests", "2", "--warmup", "0", "--seed", "5", "--format", "markdown")
	wantCode(t, o, ExitOK)
	noTerminalCodes(t, o.stdout, "run --format markdown")
	for _, want := range []string{"### flperf run ", "**SIMULATED engine**", "- **Engine:** SIMULATED engine", "#### Per model × scenario", "#### Per model (all scenarios pooled"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("run --format markdown lacks %q:\n%s", want, o.stdout)
		}
	}
	for _, m := range []string{"tiny-a", "tiny-b"} {
		rows := mdTableRows(t, o.stdout, m)
		if len(rows) != 3 { // alpha, beta, pooled
			t.Fatalf("%d rows for %s, want 2 scenarios and the pooled row:\n%s", len(rows), m, o.stdout)
		}
		if rows[0][1] != "alpha" || rows[0][2] != "2/2" || rows[1][1] != "beta" || rows[2][1] != "4/4" {
			t.Errorf("rows of %s: %q", m, rows)
		}
	}
	id := strings.Fields(strings.TrimPrefix(strings.SplitN(o.stdout, "\n", 2)[0], "### flperf run "))[0]

	sh := run(t, "show", id, "--db", db, "--format", "markdown")
	wantCode(t, sh, ExitOK)
	// The tables only (the run's line carries its duration). Throughputs
	// are a group's tokens over its window, which the stored run reads on
	// the wall clock and the live one on the monotonic clock: they may
	// differ in the last shown digit, so they are compared to 0.1 %.
	tables := func(s string) [][]string {
		var out [][]string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "|") {
				out = append(out, strings.Split(l, " | "))
			}
		}
		return out
	}
	same := func(a, b string) bool {
		if a == b {
			return true
		}
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		return err1 == nil && err2 == nil && math.Abs(x-y) <= 1e-3*math.Max(math.Abs(x), math.Abs(y))
	}
	st, rt := tables(sh.stdout), tables(o.stdout)
	differ := len(st) != len(rt) || !strings.Contains(sh.stdout, "### flperf run "+id)
	var header []string
	for i := 0; !differ && i < len(st); i++ {
		if len(st[i]) != len(rt[i]) {
			differ = true
			break
		}
		if strings.HasPrefix(st[i][0], "| Model") {
			header = st[i]
		}
		for j := range st[i] {
			rate := j < len(header) && (header[j] == "req/s" || header[j] == "out tok/s")
			if st[i][j] != rt[i][j] && (!rate || !same(st[i][j], rt[i][j])) {
				differ = true
			}
		}
	}
	if differ {
		t.Errorf("show --format markdown differs from the run's:\n%s\n--- run\n%s", sh.stdout, o.stdout)
	}
	wantCode(t, run(t, "show", id, "--db", db, "--format", "html"), ExitUsage)
}

// TestMarkdownCompareGate checks compare --format markdown: the TTFT table
// with a significant change, and --fail-if-slower still gating (exit 3,
// stderr naming the regression) with the verdict in the Markdown, and an
// improvement passing.
func TestMarkdownCompareGate(t *testing.T) {
	s := startTestSim(t, quickProfile(), laggyProfile())
	suitePath := writeFile(t, "one.json", oneSuite)
	db := newDB(t)
	id := savedID(t, db, s, "--model", "quick,laggy", "--suite", suitePath, "--requests", "10")
	quick, laggy := id+"@quick", id+"@laggy"

	o := run(t, "compare", quick, laggy, "--db", db, "--metric", "ttft_ms", "--format", "markdown")
	wantCode(t, o, ExitOK)
	rows := mdTableRows(t, o.stdout, "only")
	if len(rows) != 1 || rows[0][3] == "~" || !strings.HasPrefix(rows[0][3], "+") || rows[0][5] != "10+10" {
		t.Fatalf("TTFT rows %q: want one significant positive change with n 10+10:\n%s", rows, o.stdout)
	}
	for _, want := range []string{"### flperf compare: " + quick + " → " + laggy, "#### TTFT (ms)", "**SIMULATED engine** on both sides", "`~`"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("compare --format markdown lacks %q:\n%s", want, o.stdout)
		}
	}
	if strings.Contains(o.stdout, "Regression") {
		t.Errorf("a verdict without --fail-if-slower:\n%s", o.stdout)
	}

	o = run(t, "compare", quick, laggy, "--db", db, "--metric", "ttft_ms", "--fail-if-slower", "5%", "--format", "markdown")
	wantCode(t, o, ExitRegression)
	if !strings.Contains(o.stderr, "regression") || !strings.Contains(o.stdout, "❌ **Regression**") || !strings.Contains(o.stdout, "`ttft_ms`") {
		t.Errorf("the gate's regression is not in stderr and the Markdown:\nstdout:\n%s\nstderr:\n%s", o.stdout, o.stderr)
	}
	o = run(t, "compare", laggy, quick, "--db", db, "--metric", "ttft_ms", "--fail-if-slower", "5%", "--format", "markdown")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "✅ **No regression:**") || strings.Contains(o.stderr, "regression") {
		t.Errorf("an improvement: stdout\n%s\nstderr\n%s", o.stdout, o.stderr)
	}
	o = run(t, "compare", quick, laggy, "--db", db, "--format", "md")
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, "markdown") {
		t.Errorf("a bad --format does not list markdown: %q", o.stderr)
	}
}
