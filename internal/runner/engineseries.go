package runner

import "flperf/internal/engineseries"

// engineSeries stops the engine series' sampler and places the run's
// stages on its time axis.
func engineSeries(q *engineseries.Sampler, windows []stageWindow) *engineseries.Series {
	s := q.Stop()
	for _, w := range windows {
		s.Stages = append(s.Stages, engineseries.StageOf(w.model, w.scenario, w.stage, s.Start, w.start, w.end))
	}
	return s
}
