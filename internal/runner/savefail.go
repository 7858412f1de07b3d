package runner

import (
	"context"
	"fmt"
	"sync"

	"flperf/internal/load"
)

// Failer is a Sink that can fail between two Adds: a store writer whose
// commit failed in the background (a full disk). Failed is closed at its
// first such failure, and Err then says what it was. The run stops
// scheduling at once, not at the next record.
type Failer interface {
	Failed() <-chan struct{}
	Err() error
}

// saveGuard stops a run whose results can no longer be saved: at the first
// sink failure (an Add that fails, or a Failer's Failed) no new request is
// scheduled, the requests in flight finish (and still reach every sink that
// takes them: a terminal, a file), the failure is logged at once, and the
// run ends interrupted, as the store will show it. Going on would measure
// what can no longer be kept, and print a run the database does not hold.
type saveGuard struct {
	r    *Runner
	stop context.CancelFunc
	done chan struct{} // closed when the run no longer watches its sinks

	mu  sync.Mutex
	err error // the first failure
}

// guardSaving returns ctx with the guard's stop signal (a user's stop still
// stops it too), and the guard, which watches every Failer among the sinks
// until close.
func (r *Runner) guardSaving(ctx context.Context) (context.Context, *saveGuard) {
	ctx, stop := load.WithStop(ctx)
	g := &saveGuard{r: r, stop: stop, done: make(chan struct{})}
	for _, s := range r.Sinks {
		if f, ok := s.(Failer); ok {
			go func() {
				select {
				case <-f.Failed():
					g.failed(f.Err())
				case <-g.done:
				}
			}()
		}
	}
	return ctx, g
}

// failed records the first failure, says so and stops scheduling.
func (g *saveGuard) failed(err error) {
	g.mu.Lock()
	first := g.err == nil
	if first {
		g.err = err
	}
	g.mu.Unlock()
	if first {
		g.r.log("error", fmt.Sprintf("results can no longer be saved (%v): stopping the run; no new requests, the requests in flight finish", err))
		g.stop()
	}
}

// failure returns the first failure, or nil.
func (g *saveGuard) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// close stops watching the sinks; the caller still calls stop, once the
// run's status is settled (stop raises the signal it reads).
func (g *saveGuard) close() { close(g.done) }
