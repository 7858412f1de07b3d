package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"flperf/internal/runner"
	"flperf/internal/store"
)

// foreignPoll is how often a run written by another process is checked.
const foreignPoll = 2 * time.Second

// handleRunEvents answers GET /runs/{id}/events: the run's live stream
// while it runs in this app (and for a while after), else its final
// status and summary at once; for a run that another flperf process is
// writing, a running status, then the end when that process finishes it.
func (s *Server) handleRunEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	h := s.jobs.hub(id)
	if h == nil {
		res, err := s.result(r.Context(), id)
		if err != nil {
			return err
		}
		h = newHub(keepProgress, after+1)
		if finished(res) {
			finalEvents(h, res)
		} else {
			h.publish("status", statusEvent{State: string(store.Running), Message: "this run is being written by another flperf process: its progress is not shown here"}, false)
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			go s.watchForeign(ctx, h, id)
		}
	}
	s.stream(w, r, h, after)
	return nil
}

// finalEvents publishes a finished run's status, summary and end.
func finalEvents(h *hub, res *runner.Result) {
	h.publish("status", statusEvent{State: string(res.Status), Message: statusMessage(res.Status)}, false)
	h.publish("summary", map[string]any{"run": res}, false)
	h.publish("end", struct{}{}, false)
}

// watchForeign waits for another process to finish run id, then publishes
// its end.
func (s *Server) watchForeign(ctx context.Context, h *hub, id string) {
	t := time.NewTicker(foreignPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.reap(ctx)
		running, err := s.db.Runs(ctx, store.Filter{Status: string(store.Running)})
		if err != nil {
			return
		}
		if slices.ContainsFunc(running, func(ri store.RunInfo) bool { return ri.ID == id }) {
			continue
		}
		res, err := s.result(ctx, id)
		if err != nil {
			return
		}
		finalEvents(h, res)
		return
	}
}
