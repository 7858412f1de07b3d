package server

import (
	"context"
	"math"
	"slices"
	"sync"

	"flperf/internal/record"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// keepSampleSets is how many runs' samples are kept: about 5 MB for a
// run of 100,000 requests.
const keepSampleSets = 4

// sampleSet is the per-request samples of one run, per metric and model,
// from ok measured requests (the summary's rules). ITL (one sample per
// token) is kept only for the request that asked for it.
type sampleSet struct {
	models   []string                  // in run order
	byMetric map[string]*metricSamples // by metric key
	finished bool                      // the run is over: the set will not change
}

// metricSamples is one metric's samples per model, sorted (and rid of
// NaN and infinities) the first time they are asked for: a page shows one
// metric at first.
type metricSamples struct {
	once     sync.Once
	perModel [][]float64
}

// metric returns the samples of metric key for model i, sorted and finite.
func (ss *sampleSet) metric(key string, i int) []float64 {
	m := ss.byMetric[key]
	m.once.Do(func() {
		for j, xs := range m.perModel {
			xs = slices.DeleteFunc(xs, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) })
			slices.Sort(xs)
			m.perModel[j] = slices.Clip(xs)
		}
	})
	return m.perModel[i]
}

// sampleCollector builds a sample set from a run's records, fed in seq
// order.
type sampleCollector struct {
	set     *sampleSet
	metrics []stats.Metric
	index   map[string]int
	last    string // the previous record's model, and its index: most records repeat it
	li      int
}

// newSampleCollector collects the distribution metrics: ITL only, or all
// but ITL.
func newSampleCollector(itl bool) *sampleCollector {
	c := &sampleCollector{set: &sampleSet{byMetric: map[string]*metricSamples{}}, index: map[string]int{}, li: -1}
	for _, k := range distMetrics {
		if m, _ := stats.MetricByKey(k); (k == "itl_ms") == itl {
			c.metrics = append(c.metrics, m)
			c.set.byMetric[k] = &metricSamples{}
		}
	}
	return c
}

// add takes the samples of one record, which it does not keep.
func (c *sampleCollector) add(r *record.Record) {
	i := c.li
	if r.Model != c.last || i < 0 {
		var ok bool
		if i, ok = c.index[r.Model]; !ok {
			i = len(c.set.models)
			c.index[r.Model] = i
			c.set.models = append(c.set.models, r.Model)
			for _, m := range c.metrics {
				ms := c.set.byMetric[m.Key]
				ms.perModel = append(ms.perModel, nil)
			}
		}
		c.last, c.li = r.Model, i
	}
	if r.Warmup || r.Outcome != record.OK {
		return
	}
	for _, m := range c.metrics {
		ms := c.set.byMetric[m.Key]
		ms.perModel[i] = m.Samples(r, ms.perModel[i])
	}
}

// sampleSets computes each run's samples once, sharing one scan between
// concurrent requests, and keeps the latest few.
type sampleSets struct {
	sets *cache[*sampleSet]
}

func newSampleSets() *sampleSets {
	return &sampleSets{sets: newCache[*sampleSet](keepSampleSets)}
}

// samplesOf returns run id's sample set; with itl, one that includes
// ITL (computed for this call, never kept). A finished run's set (without
// ITL) is kept.
func (s *Server) samplesOf(ctx context.Context, id string, itl bool) (*sampleSet, error) {
	if itl {
		return s.scanSamples(ctx, id, true)
	}
	return s.samples.sets.do(ctx, id, id, func() (*sampleSet, bool, error) {
		set, err := s.scanSamples(ctx, id, false)
		return set, err == nil && set.finished, err
	})
}

// keep keeps the sample set of a finished run read by another path (the
// recomputation of its summary), unless the run's samples were forgotten
// since removals (it was deleted meanwhile).
func (ss *sampleSets) keep(id string, set *sampleSet, since uint64) {
	if set.finished {
		ss.sets.putSince(id, id, set, since)
	}
}

// prefetchSamples starts computing a finished run's samples in the
// background (the Results page asks for a distribution right after the
// run), unless they are kept or being computed.
func (s *Server) prefetchSamples(id string) {
	select {
	case <-s.closing:
		return
	default:
	}
	if _, kept := s.samples.sets.get(id); kept || s.samples.sets.flight(id) != nil {
		return
	}
	s.background.Go(func() { _, _ = s.samplesOf(s.base, id, false) })
}

// scanSamples reads run id's records once into a sample set, with the
// store's scan of the statistics' fields: the text, error and (unless ITL
// is asked for) stream events of each record are not read.
func (s *Server) scanSamples(ctx context.Context, id string, itl bool) (*sampleSet, error) {
	// Whether the run is over is read first: records stored after this
	// point belong to a run that was not, and its set is not kept.
	finished := s.jobs.get(id) == nil
	if finished {
		running, err := s.db.Runs(ctx, store.Filter{Status: string(store.Running)})
		if err != nil {
			return nil, err
		}
		finished = !slices.ContainsFunc(running, func(ri store.RunInfo) bool { return ri.ID == id })
	}
	c := newSampleCollector(itl)
	if _, err := s.db.StatsRecords(ctx, id, store.StatsScan{Chunks: itl}, c.add); err != nil {
		return nil, err
	}
	c.set.finished = finished && !itl
	return c.set, nil
}

// forget drops run id's kept samples (the run was deleted).
func (ss *sampleSets) forget(id string) { ss.sets.removeTag(id) }
