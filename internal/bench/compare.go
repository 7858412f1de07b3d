package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"flperf/internal/capacity"
	"flperf/internal/legacy"
	"flperf/internal/record"
	"flperf/internal/runner"
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
	for _, x := range []struct {
		name string
		s    *side
	}{{"base", b}, {"candidate", c}} {
		if x.s.legacy {
			w := legacy.CompareWarning(x.name, x.s.label)
			cmp.Legacy = append(cmp.Legacy, w)
			cmp.Warnings = append([]string{w}, cmp.Warnings...)
		}
	}
	if b.simulated != c.simulated {
		cmp.Warnings = append(cmp.Warnings, "one side ran on the SIMULATED engine")
	}
	var warns []string
	cmp.Energy, warns = energyRows(b, c)
	cmp.Warnings = append(cmp.Warnings, warns...)
	cmp.Capacity, warns = capacityPair(b.capacity, c.capacity)
	cmp.Warnings = append(cmp.Warnings, warns...)
	return cmp, nil
}

// side is one side of a comparison: a run, or one model of a run.
type side struct {
	label, load string
	simulated   bool
	legacy      bool // imported from the original FLPerformance: no records
	recs        []record.Record
	resources   *runner.Resources // nil: the run was not sampled
	capacity    *capacity.Result  // nil: the run was no capacity search of this side's model
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
	s := &side{label: id, load: res.Config.Plan().String(), simulated: res.Engine.Simulated, legacy: res.Legacy != nil, resources: res.Resources}
	if model != "" {
		s.label += "@" + model
	}
	if c := res.Config.Capacity; c != nil && (model == "" || c.Model == model) {
		s.capacity = c
	}
	err = db.Records(ctx, id, func(r *record.Record) error {
		if model == "" || r.Model == model {
			s.recs = append(s.recs, *r)
		}
		return nil
	})
	return s, err
}

// energyRows compares the energy per output token of the two sides'
// resource windows (runner.Resources: one figure per model × scenario
// stage and one per model), paired as stats.Compare pairs the records:
// by model × scenario when the sides share a model (models measured on
// one side only are left out), else by scenario when each side holds one
// model (model X against model Y); sides holding several models and no
// shared one give no energy rows. For each model, its paired stages come
// in the base's order, then its pooled row (the model's whole window). A
// row exists only where both windows have a joules_per_token figure:
// never a 0 for an unknown. The warning says when only one side measured
// any energy.
func energyRows(b, c *side) ([]stats.EnergyRow, []string) {
	if b.resources == nil && c.resources == nil {
		return nil, nil
	}
	bm, cm := usableModels(b.recs), usableModels(c.recs)
	var pairs [][2]string // base model, candidate model
	for _, m := range bm {
		if slices.Contains(cm, m) {
			pairs = append(pairs, [2]string{m, m})
		}
	}
	byModel := len(pairs) > 0
	if !byModel && len(bm) == 1 && len(cm) == 1 {
		pairs = [][2]string{{bm[0], cm[0]}}
	}
	var rows []stats.EnergyRow
	var bKnown, cKnown bool
	for _, p := range pairs {
		bStages, cStages := stagesOf(b.resources, p[0]), stagesOf(c.resources, p[1])
		bKnown = bKnown || anyEnergy(bStages) || anyEnergy(modelWindow(b.resources, p[0]))
		cKnown = cKnown || anyEnergy(cStages) || anyEnergy(modelWindow(c.resources, p[1]))
		label := p[0]
		if !byModel {
			label = ""
		}
		for _, bw := range bStages {
			for _, cw := range cStages {
				if cw.Scenario == bw.Scenario && bw.JoulesPerToken != nil && cw.JoulesPerToken != nil {
					rows = append(rows, stats.NewEnergyRow(label, bw.Scenario, false, *bw.JoulesPerToken, *cw.JoulesPerToken, sourcesNote(bw, cw)))
				}
			}
		}
		bw, cw := modelWindow(b.resources, p[0]), modelWindow(c.resources, p[1])
		if len(bw) == 1 && len(cw) == 1 && bw[0].JoulesPerToken != nil && cw[0].JoulesPerToken != nil {
			rows = append(rows, stats.NewEnergyRow(label, "", true, *bw[0].JoulesPerToken, *cw[0].JoulesPerToken, sourcesNote(bw[0], cw[0])))
		}
	}
	var warns []string
	switch {
	case bKnown && !cKnown:
		warns = append(warns, "energy per token was measured for the base only (the candidate has no power readings): not compared")
	case cKnown && !bKnown:
		warns = append(warns, "energy per token was measured for the candidate only (the base has no power readings): not compared")
	}
	return rows, warns
}

// usableModels returns the distinct models of the ok, non-warm-up
// records, in first-seen order: the models stats.Compare pairs.
func usableModels(recs []record.Record) []string {
	var out []string
	for i := range recs {
		r := &recs[i]
		if !r.Warmup && r.Outcome == record.OK && !slices.Contains(out, r.Model) {
			out = append(out, r.Model)
		}
	}
	return out
}

// stagesOf returns model's stage windows (none when rs is nil).
func stagesOf(rs *runner.Resources, model string) []runner.Window {
	if rs == nil {
		return nil
	}
	var out []runner.Window
	for _, w := range rs.Stages {
		if w.Model == model {
			out = append(out, w)
		}
	}
	return out
}

// modelWindow returns model's whole window, as a list of at most one.
func modelWindow(rs *runner.Resources, model string) []runner.Window {
	if rs == nil {
		return nil
	}
	for _, w := range rs.Models {
		if w.Model == model {
			return []runner.Window{w}
		}
	}
	return nil
}

// anyEnergy reports whether some window has a joules_per_token figure.
func anyEnergy(ws []runner.Window) bool {
	for _, w := range ws {
		if w.JoulesPerToken != nil {
			return true
		}
	}
	return false
}

// sourcesNote says when the two windows' energy summed different power
// sources (the figures then measure different things); "" when the same.
func sourcesNote(b, c runner.Window) string {
	bs := strings.Join(slices.Sorted(slices.Values(b.EnergySources)), " + ")
	cs := strings.Join(slices.Sorted(slices.Values(c.EnergySources)), " + ")
	if bs == cs {
		return ""
	}
	return fmt.Sprintf("the sides measured different power sources (base: %s; candidate: %s): not comparable as such", orNone(bs), orNone(cs))
}

// orNone returns s, or "none" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
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
