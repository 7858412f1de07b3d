package load

import (
	"sync"
	"sync/atomic"
	"time"

	"flperf/internal/record"
)

// watcher runs the over-saturation detector of one open-loop stage: it
// samples the requests in the system every detector interval, hands the
// detector each finished request's queue-inclusive TTFT, and stops the
// stage's scheduling when the detector finds the engine fell behind.
type watcher struct {
	stage    *stage
	det      *detector // nil: the detector is off
	start    time.Time // the first measured arrival's intended time
	done     atomic.Int64
	dropped  atomic.Int64
	quit     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// watch starts the watcher of the open loop that began at start.
func (s *stage) watch(start time.Time) *watcher {
	w := &watcher{stage: s, det: newDetector(s.plan.Oversaturation, s.plan.Rate), start: start, quit: make(chan struct{})}
	if w.det != nil {
		w.wg.Add(1)
		go w.sample()
	}
	return w
}

// sample runs until stop, or until the detector stops the stage.
func (w *watcher) sample() {
	defer w.wg.Done()
	p := w.stage.plan
	sched := p.schedule() // its own: a Poisson schedule asked out of order replays its draws
	var due uint64        // arrivals due so far
	tick := time.NewTicker(w.det.interval())
	defer tick.Stop()
	for {
		select {
		case <-w.quit:
			return
		case now := <-tick.C:
			el := now.Sub(w.start)
			for p.Requests == 0 || due < uint64(p.Requests) {
				off, ok := sched.At(due)
				if !ok || off > el || (p.Duration > 0 && off >= p.Duration) {
					break
				}
				due++
			}
			n := max(int64(due)-w.dropped.Load()-w.done.Load(), 0)
			w.det.observeInFlight(el, int(n))
			if why := w.det.check(el); why != nil {
				w.stage.rep.Oversaturated = why
				close(w.stage.halt)
				return
			}
		}
	}
}

// finished notes a request of the stage that has finished.
func (w *watcher) finished(r *record.Record) {
	w.done.Add(1)
	if w.det == nil || r.FirstToken <= 0 || r.Sent.IsZero() {
		return
	}
	w.det.observeTTFT(time.Since(w.start), r.QueueWait()+r.FirstToken)
}

// stop ends the sampling and waits for it; the stage's Report is then
// complete.
func (w *watcher) stop() {
	w.stopOnce.Do(func() { close(w.quit) })
	w.wg.Wait()
}
