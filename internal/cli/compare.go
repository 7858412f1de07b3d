package cli

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// ExitRegression is the exit code of `flperf compare --fail-if-slower` when
// the candidate is significantly worse by at least the threshold.
const ExitRegression = 3

// defaultCompareMetrics are compared when --metric is not given.
var defaultCompareMetrics = []string{"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "output_tps"}

// compareCmd compares two runs, or two models within runs.
func compareCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "compare", "BASE CAND [flags]",
		"Compares two runs, or two models within runs (RUN@MODEL), per scenario and pooled: medians with 95% CIs,\n"+
			"relative change, Mann-Whitney p and n, '~' where the difference is not significant, and a geometric-mean row.\n"+
			"BASE and CAND are run ids (or unique prefixes), optionally followed by @MODEL, e.g.\n"+
			"  flperf compare 20261127-1402 20261128-0911\n  flperf compare 20261127-1402@llama3.2:1b 20261127-1402@qwen2.5:1.5b")
	var metrics listFlag
	c.fs.Var(&metrics, "metric", "metric `key` to compare, repeatable: "+strings.Join(metricKeys(), ", ")+" (default "+strings.Join(defaultCompareMetrics, ",")+")")
	format := c.fs.String("format", "table", "`format`: table or json")
	failIf := c.fs.String("fail-if-slower", "", "exit with code 3 if CAND is significantly worse than BASE by at least `PCT` (e.g. 5%) on a pooled row or the geomean")
	alpha := c.fs.Float64("alpha", 0.05, "significance level")
	pos, code, ok := c.parse(args, 2, 2)
	if !ok {
		return code
	}
	var errs []string
	if len(metrics) == 0 {
		metrics = defaultCompareMetrics
	}
	var ms []stats.Metric
	for _, k := range metrics {
		m, ok := stats.MetricByKey(k)
		if !ok {
			errs = append(errs, fmt.Sprintf("--metric: unknown metric %q (choose from %s)", k, strings.Join(metricKeys(), ", ")))
			continue
		}
		ms = append(ms, m)
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
	if *format != "table" && *format != "json" {
		errs = append(errs, fmt.Sprintf("--format: must be table or json, got %q", *format))
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
	base, err := loadSide(ctx, db, pos[0])
	if err != nil {
		return c.fail(err)
	}
	cand, err := loadSide(ctx, db, pos[1])
	if err != nil {
		return c.fail(err)
	}
	cmp := stats.Compare(base.recs, cand.recs, ms, *alpha)
	cmp.BaseLabel, cmp.CandLabel = base.label, cand.label
	if base.load != cand.load {
		cmp.Warnings = append(cmp.Warnings, fmt.Sprintf("the two sides ran under different loads (%s vs %s): latencies are not comparable", base.load, cand.load))
	}
	if base.simulated != cand.simulated {
		cmp.Warnings = append(cmp.Warnings, "one side ran on the SIMULATED engine")
	}
	if *format == "json" {
		err = report.CompareJSON(env.Stdout, cmp)
	} else {
		err = report.CompareTable(env.Stdout, cmp)
	}
	if err != nil {
		return c.fail(err)
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

func metricKeys() []string {
	var keys []string
	for _, m := range stats.Metrics {
		keys = append(keys, m.Key)
	}
	return keys
}

// side is one side of a comparison: a run, or one model of a run.
type side struct {
	label, load string
	simulated   bool
	recs        []record.Record
}

// loadSide reads RUN or RUN@MODEL.
func loadSide(ctx context.Context, db *store.DB, spec string) (*side, error) {
	prefix, model, _ := strings.Cut(spec, "@")
	id, err := db.Resolve(ctx, prefix)
	if err != nil {
		return nil, err
	}
	res, err := db.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	if model != "" && !slices.Contains(res.Config.Models, model) {
		return nil, fmt.Errorf("run %s has no model %q (it has %s)", id, model, strings.Join(res.Config.Models, ", "))
	}
	s := &side{label: id, load: res.Config.Plan().String(), simulated: res.Engine.Simulated}
	if model != "" {
		s.label += "@" + model
	}
	err = db.Records(ctx, id, func(r *record.Record) error {
		if model == "" || r.Model == model {
			s.recs = append(s.recs, *r)
		}
		return nil
	})
	return s, err
}
