package cli

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"flperf/internal/bench"
	"flperf/internal/report"
	"flperf/internal/store"
)

// ExitRegression is the exit code of `flperf compare --fail-if-slower` when
// the candidate is significantly worse by at least the threshold.
const ExitRegression = 3

// compareCmd compares two runs, or two models within runs.
func compareCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "compare", "BASE CAND [flags]",
		"Compares two runs, or two models within runs (RUN@MODEL), per scenario and pooled: medians with 95% CIs,\n"+
			"relative change, Mann-Whitney p and n, '~' where the difference is not significant, and a geometric-mean row.\n"+
			"BASE and CAND are run ids (or unique prefixes), optionally followed by @MODEL, e.g.\n"+
			"  flperf compare 20261127-1402 20261128-0911\n  flperf compare 20261127-1402@llama3.2:1b 20261127-1402@qwen2.5:1.5b")
	var metrics listFlag
	c.fs.Var(&metrics, "metric", "metric `key` to compare, repeatable: "+strings.Join(bench.MetricKeys(), ", ")+" (default "+strings.Join(bench.DefaultCompareMetrics, ",")+")")
	format := c.fs.String("format", "table", "`format`: table, json or markdown (GitHub tables for a pull request or a job summary)")
	failIf := c.fs.String("fail-if-slower", "", "exit with code 3 if CAND is significantly worse than BASE by at least `PCT` (e.g. 5%) on a pooled row or the geomean")
	alpha := c.fs.Float64("alpha", 0.05, "significance level")
	pos, code, ok := c.parse(args, 2, 2)
	if !ok {
		return code
	}
	var errs []string
	ms, unknown := bench.CompareMetrics(metrics)
	for _, k := range unknown {
		errs = append(errs, fmt.Sprintf("--metric: unknown metric %q (choose from %s)", k, strings.Join(bench.MetricKeys(), ", ")))
	}
	threshold := -1.0
	if *failIf != "" {
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(*failIf), "%"), 64)
		if err != nil || v < 0 || v > 1000 {
			errs = append(errs, fmt.Sprintf("--fail-if-slower: want a percentage like 5%%, got %q", *failIf))
		}
		threshold = v / 100
	}
	if *alpha <= 0 || *alpha >= 1 {
		errs = append(errs, fmt.Sprintf("--alpha: must be between 0 and 1, got %g", *alpha))
	}
	if *format != "table" && *format != "json" && *format != "markdown" {
		errs = append(errs, fmt.Sprintf("--format: must be table, json or markdown, got %q", *format))
	}
	if len(errs) > 0 {
		fmt.Fprintf(env.Stderr, "flperf compare: %s\n", strings.Join(errs, "\n"))
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	cmp, err := bench.Compare(ctx, db, pos[0], pos[1], ms, *alpha)
	if err != nil {
		return c.fail(err)
	}
	// No gate on a legacy side, neither pass nor fail: its figures are not
	// flperf's (the comparison still prints, its warning first).
	gateRefused := threshold >= 0 && len(cmp.Legacy) > 0
	if gateRefused {
		threshold = -1
	}
	switch *format {
	case "json":
		err = report.CompareJSON(env.Stdout, cmp)
	case "markdown":
		var base, cand *report.CompareSide
		if base, err = compareSide(ctx, db, pos[0]); err == nil {
			cand, err = compareSide(ctx, db, pos[1])
		}
		if err == nil {
			err = report.CompareMarkdown(env.Stdout, cmp, base, cand)
		}
		if err == nil && threshold >= 0 {
			err = report.RegressionsMarkdown(env.Stdout, report.Regressions(cmp, threshold), threshold)
		}
	default:
		err = report.CompareTable(env.Stdout, cmp)
	}
	if err != nil {
		return c.fail(err)
	}
	if gateRefused {
		fmt.Fprintf(env.Stderr, "flperf compare: --fail-if-slower refused: a side is a LEGACY run imported from the original FLPerformance, whose figures are not comparable with flperf's; benchmark the baseline again with flperf to gate on it\n")
		return ExitUsage
	}
	if threshold >= 0 {
		if bad := report.Regressions(cmp, threshold); len(bad) > 0 {
			for _, r := range bad {
				scope, p := r.Model, ""
				switch {
				case r.Note == report.GeomeanNote:
					scope = "geomean"
				case scope == "":
					scope = report.PooledLabel
				}
				if !math.IsNaN(r.P) {
					p = fmt.Sprintf(" (p=%.3f)", r.P)
				}
				fmt.Fprintf(env.Stderr, "flperf compare: regression: %s %s %+.1f%%%s\n", scope, r.Metric, 100*r.Delta, p)
			}
			return ExitRegression
		}
	}
	return ExitOK
}

// compareSide reads the engine and machine of RUN or RUN@MODEL, for the
// Markdown comparison's header.
func compareSide(ctx context.Context, db *store.DB, spec string) (*report.CompareSide, error) {
	prefix, _, _ := strings.Cut(spec, "@")
	id, err := db.Resolve(ctx, prefix)
	if err != nil {
		return nil, err
	}
	res, err := db.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	return &report.CompareSide{Engine: res.Engine, Hardware: res.Hardware}, nil
}
