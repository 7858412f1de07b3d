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
// sorted, from ok measured requests (the summary's rules). ITL (one
// sample per token) is kept only for the request that asked for it.
type sampleSet struct {
	models   []string               // in run order
	byMetric map[string][][]float64 // metric key → per model, sorted
	finished bool                   // the run is over: the set will not change
}

// metric returns the samples of metric key for model i.
func (ss *sampleSet) metric(key string, i int) []float64 { return ss.byMetric[key][i] }

// sampleSets computes each run's samples once, sharing one scan between
// concurrent requests, and keeps the latest few.
type sampleSets struct {
	mu       sync.Mutex
	sets     *lru
	inflight map[string]chan struct{}
}

func newSampleSets() *sampleSets {
	return &sampleSets{sets: newLRU(keepSampleSets), inflight: map[string]chan struct{}{}}
}

// samplesOf returns run id's sample set; with itl, one that includes
// ITL (computed for this call, never kept). A finished run's set (without
// ITL) is kept.
func (s *Server) samplesOf(ctx context.Context, id string, itl bool) (*sampleSet, error) {
	if itl {
		return s.scanSamples(ctx, id, true)
	}
	ss := s.samples
	for {
		ss.mu.Lock()
		if v, ok := ss.sets.get(id); ok {
			ss.mu.Unlock()
			return v.(*sampleSet), nil
		}
		if wait, ok := ss.inflight[id]; ok {
			ss.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		ss.inflight[id] = done
		ss.mu.Unlock()
		set, err := s.scanSamples(ctx, id, false)
		ss.mu.Lock()
		delete(ss.inflight, id)
		if err == nil && set.finished {
			ss.sets.put(id, id, set)
		}
		close(done)
		ss.mu.Unlock()
		return set, err
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
	ss := s.samples
	ss.mu.Lock()
	_, kept := ss.sets.get(id)
	_, busy := ss.inflight[id]
	ss.mu.Unlock()
	if kept || busy {
		return
	}
	s.background.Go(func() { _, _ = s.samplesOf(s.base, id, false) })
}

// scanSamples reads run id's records once into a sample set.
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
	var metrics []stats.Metric
	for _, k := range distMetrics {
		if m, _ := stats.MetricByKey(k); (k == "itl_ms") == itl {
			metrics = append(metrics, m)
		}
	}
	set := &sampleSet{byMetric: map[string][][]float64{}, finished: finished && !itl}
	index := map[string]int{}
	err := s.db.Records(ctx, id, func(r *record.Record) error {
		i, ok := index[r.Model]
		if !ok {
			i = len(set.models)
			index[r.Model] = i
			set.models = append(set.models, r.Model)
			for _, m := range metrics {
				set.byMetric[m.Key] = append(set.byMetric[m.Key], nil)
			}
		}
		if r.Warmup || r.Outcome != record.OK {
			return nil
		}
		for _, m := range metrics {
			xs := set.byMetric[m.Key]
			xs[i] = m.Samples(r, xs[i])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, per := range set.byMetric {
		for i, xs := range per {
			xs = slices.DeleteFunc(xs, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) })
			slices.Sort(xs)
			per[i] = slices.Clip(xs)
		}
	}
	return set, nil
}

// forget drops run id's kept samples (the run was deleted).
func (ss *sampleSets) forget(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sets.removeTag(id)
}
