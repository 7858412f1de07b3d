package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"flperf/internal/record"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// DefaultCompareMetrics are compared when no metric is asked for.
var DefaultCompareMetrics = []string{"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "output_tps"}

// Compare compares two stored runs, or two models within runs: base and
// cand are each a run id (or unique prefix), optionally followed by
// @MODEL. It is `flperf compare` and the app's GET /api/v1/compare alike:
// the sides' records go to stats.Compare, the labels are the specs with
// the full ids, and a warning is added when the sides ran under different
// loads or only one ran on the simulated engine.
func Compare(ctx context.Context, db *store.DB, base, cand string, metrics []stats.Metric, alpha float64) (stats.Comparison, error) {
	b, err := loadSide(ctx, db, base)
	if err != nil {
		return stats.Comparison{}, err
	}
	c, err := loadSide(ctx, db, cand)
	if err != nil {
		return stats.Comparison{}, err
	}
	cmp := stats.Compare(b.recs, c.recs, metrics, alpha)
	cmp.BaseLabel, cmp.CandLabel = b.label, c.label
	if b.load != c.load {
		cmp.Warnings = append(cmp.Warnings, fmt.Sprintf("the two sides ran under different loads (%s vs %s): latencies are not comparable", b.load, c.load))
	}
	if b.simulated != c.simulated {
		cmp.Warnings = append(cmp.Warnings, "one side ran on the SIMULATED engine")
	}
	return cmp, nil
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
		return nil, noModelError(fmt.Sprintf("run %s has no model %q (it has %s)", id, model, strings.Join(res.Config.Models, ", ")))
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

// noModelError is a RUN@MODEL whose run has no such model; it is
// ErrNoSuchModel.
type noModelError string

func (e noModelError) Error() string { return string(e) }

// Is reports whether target is ErrNoSuchModel.
func (e noModelError) Is(target error) bool { return target == ErrNoSuchModel }

// MetricKeys lists the keys of the metrics a comparison can compare.
func MetricKeys() []string {
	keys := make([]string, len(stats.Metrics))
	for i, m := range stats.Metrics {
		keys[i] = m.Key
	}
	return keys
}

// CompareMetrics returns the metrics named by keys (DefaultCompareMetrics
// when there are none), and the keys that name no metric.
func CompareMetrics(keys []string) (metrics []stats.Metric, unknown []string) {
	if len(keys) == 0 {
		keys = DefaultCompareMetrics
	}
	for _, k := range keys {
		m, ok := stats.MetricByKey(k)
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		metrics = append(metrics, m)
	}
	return metrics, unknown
}
