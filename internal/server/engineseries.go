package server

import (
	"context"
	"net/http"
	"time"

	"flperf/internal/engineseries"
	"flperf/internal/runner"
)

// enginePoint is one point of the engine-series plot: the mean of the
// samples of one time bucket (one sample when the series is short). TMS is
// the mean of their send times, in ms since the series' start; each figure
// is the mean over the samples that have it, null when none has (a failed
// or absent figure is never averaged in as 0). Failed counts the samples
// of the bucket with a failed read.
type enginePoint struct {
	TMS          float64  `json:"t_ms"`
	N            int      `json:"n"`
	Failed       int      `json:"failed"`
	Running      *float64 `json:"running"`
	Waiting      *float64 `json:"waiting"`
	KVCacheUsage *float64 `json:"kv_cache_usage"`
	SlotsBusy    *float64 `json:"slots_busy"`
	SlotsTotal   *float64 `json:"slots_total"`
	LoadedModels *float64 `json:"loaded_models"`
	VRAMBytes    *float64 `json:"vram_bytes"`
}

// engineSeriesView is GET /runs/{id}/engine-series. Sampled is false (and
// Points empty) when the run has no stored engine series: its engine has no
// queue routes, sampling was off, the run predates it, or it is still
// running (the series is stored when it ends).
type engineSeriesView struct {
	Sampled    bool                   `json:"sampled"`
	Engine     string                 `json:"engine"`
	IntervalMS int64                  `json:"interval_ms"`
	Start      *time.Time             `json:"start"`
	Samples    int                    `json:"samples"`   // samples in the stored series
	BucketMS   *float64               `json:"bucket_ms"` // width of a time bucket; null when every sample is a point
	Sources    map[string]string      `json:"sources"`
	Notes      []string               `json:"notes"`
	Stages     []engineseries.Summary `json:"stages"` // each stage's window and the mean and peak of each figure over it
	Points     []enginePoint          `json:"points"`
}

// handleEngineSeries answers GET /runs/{id}/engine-series: the engine's
// own queue and cache over the run for plotting, at most
// maxResourcePoints points, with its stages on the same time axis.
// Cached once the run is over.
func (s *Server) handleEngineSeries(w http.ResponseWriter, r *http.Request) error {
	return s.runSeries(w, r, "engine-series", func(ctx context.Context, id string, res *runner.Result) (any, error) {
		series, err := s.db.EngineSeries(ctx, id)
		if err != nil {
			return nil, err
		}
		return engineSeriesOf(res, series, maxResourcePoints), nil
	})
}

// engineSeriesOf builds the view of run res's engine series (nil: none),
// with at most maxPoints points.
func engineSeriesOf(res *runner.Result, es *engineseries.Series, maxPoints int) *engineSeriesView {
	v := &engineSeriesView{Engine: string(res.Engine.Kind), Sources: map[string]string{}, Notes: []string{},
		Stages: []engineseries.Summary{}, Points: []enginePoint{}}
	if es == nil {
		if !finished(res) {
			v.Notes = append(v.Notes, "the engine series is stored when the run ends")
		}
		return v
	}
	v.Sampled, v.Engine, v.IntervalMS, v.Samples = true, es.Engine, es.IntervalMS, len(es.Samples)
	start := es.Start
	v.Start = &start
	if es.Sources != nil {
		v.Sources = es.Sources
	}
	v.Notes = append(v.Notes, es.Notes...)
	v.Stages = es.Summaries()
	v.Points, v.BucketMS = bucketEngine(es.Samples, maxPoints)
	return v
}

// bucketEngine turns samples (in time order) into at most maxPoints points
// as downsample does the resource samples: with no more samples than that,
// each is a point; otherwise the span from the first sample's time to the
// last one's is cut into maxPoints buckets of equal width (bucketMS),
// sample i falling in floor((T_i − T_first) / width), the last in the last.
func bucketEngine(samples []engineseries.Sample, maxPoints int) (points []enginePoint, bucketMS *float64) {
	points = []enginePoint{}
	n := len(samples)
	if n == 0 {
		return points, nil
	}
	maxPoints = max(maxPoints, 1)
	if n <= maxPoints {
		for i := range samples {
			points = append(points, enginePointOf(samples[i:i+1]))
		}
		return points, nil
	}
	t0, t1 := samples[0].TMS, samples[n-1].TMS
	width := (t1 - t0) / float64(maxPoints)
	bucket := func(i int) int {
		if width <= 0 {
			return 0
		}
		return min(int((samples[i].TMS-t0)/width), maxPoints-1)
	}
	for lo := 0; lo < n; {
		b := bucket(lo)
		hi := lo + 1
		for hi < n && bucket(hi) == b {
			hi++
		}
		points = append(points, enginePointOf(samples[lo:hi]))
		lo = hi
	}
	return points, &width
}

// enginePointOf averages samples (at least one) into a point.
func enginePointOf(samples []engineseries.Sample) enginePoint {
	var t avg
	figs := make([]avg, len(engineseries.FigureKeys))
	failed := 0
	for i := range samples {
		s := &samples[i]
		tv := s.TMS
		t.add(&tv)
		for j, f := range s.Figures() {
			figs[j].add(f.Value)
		}
		if len(s.Failed) > 0 {
			failed++
		}
	}
	return enginePoint{TMS: *t.value(), N: len(samples), Failed: failed,
		Running: figs[0].value(), Waiting: figs[1].value(), KVCacheUsage: figs[2].value(), SlotsBusy: figs[3].value(),
		SlotsTotal: figs[4].value(), LoadedModels: figs[5].value(), VRAMBytes: figs[6].value()}
}
