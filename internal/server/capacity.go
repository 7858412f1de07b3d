package server

import (
	"net/http"

	"flperf/internal/bench"
)

// capacityRequest is the body of POST /capacity: a run request and the
// search (docs/metrics.md §10).
type capacityRequest struct {
	Run      bench.Spec         `json:"run"`
	Capacity bench.CapacitySpec `json:"capacity"`
}

// handleStartCapacity answers POST /capacity: it starts a capacity search
// (`flperf capacity` in the app) as a run whose stages are the levels
// tried; the answer is the run's id, and the search is in the finished
// run's config.capacity.
func (s *Server) handleStartCapacity(w http.ResponseWriter, r *http.Request) error {
	var req capacityRequest
	if err := decodeBody(w, r, &req, maxBody); err != nil {
		return err
	}
	d, err := s.defaults(r.Context())
	if err != nil {
		return err
	}
	// The app's defaults fill what the request left out, except the load:
	// the search chooses its levels, from the first one the request gives.
	conc := req.Run.Concurrency
	d.apply(&req.Run)
	req.Run.Concurrency = conc
	cr, err := bench.ResolveCapacity(&req.Run, req.Capacity, bench.Check{Suite: s.suites.resolve, ModelsRequired: true})
	if err != nil {
		return err
	}
	return s.startRun(w, r, cr.Resolved, runKind{capacity: cr})
}
