package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"flperf/internal/bench"
	"flperf/internal/htmlreport"
)

// reportCmd writes stored runs as one self-contained HTML file.
func reportCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "report", "RUN [RUN...] --html FILE",
		"Writes one self-contained HTML file of the runs (ids or unique prefixes): cards, charts, the per-scenario\n"+
			"table, engine figures, machine, configuration and the command, and for two runs their comparison\n"+
			"(the numbers of flperf compare, the first run the base). Styles, the chart library and the data are\n"+
			"inline: it opens from disk with no network and no server; its tables show with JavaScript off.\n"+
			"  flperf report 20261127-1402 --html report.html\n  flperf report 20261127-1402 20261128-0911 --html compare.html")
	out := c.fs.String("html", "", "write the report to `FILE` (- for standard output)")
	var metrics listFlag
	c.fs.Var(&metrics, "metric", "metric `key` the comparison of two runs compares, repeatable: "+strings.Join(bench.MetricKeys(), ", "))
	alpha := c.fs.Float64("alpha", 0.05, "significance level of the comparison of two runs")
	pos, code, ok := c.parse(args, 1, 100)
	if !ok {
		return code
	}
	var errs []string
	if *out == "" {
		errs = append(errs, "--html: give the file to write (- for standard output)")
	}
	ms, unknown := bench.CompareMetrics(metrics)
	for _, k := range unknown {
		errs = append(errs, fmt.Sprintf("--metric: unknown metric %q (choose from %s)", k, strings.Join(bench.MetricKeys(), ", ")))
	}
	if *alpha <= 0 || *alpha >= 1 {
		errs = append(errs, fmt.Sprintf("--alpha: must be between 0 and 1, got %g", *alpha))
	}
	if len(errs) > 0 {
		fmt.Fprintf(env.Stderr, "flperf report: %s\n", strings.Join(errs, "\n"))
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	rep, err := htmlreport.Load(ctx, db, pos, ms, *alpha)
	if err != nil {
		return c.fail(err)
	}
	if *out == "-" {
		if err := htmlreport.Write(env.Stdout, rep); err != nil {
			return c.fail(err)
		}
		return ExitOK
	}
	// Written beside the destination, then renamed: a failure never
	// leaves half a report under the name asked for.
	f, err := os.CreateTemp(filepath.Dir(*out), ".flperf-report-*.html")
	if err != nil {
		return c.fail(err)
	}
	werr := htmlreport.Write(f, rep)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), *out)
	}
	if werr != nil {
		os.Remove(f.Name())
		return c.fail(werr)
	}
	fmt.Fprintf(env.Stderr, "flperf report: wrote %s\n", *out)
	return ExitOK
}
