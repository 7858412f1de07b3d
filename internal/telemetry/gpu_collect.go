package telemetry

import (
	"sort"
	"sync"
	"time"
)

// gpuCollector supplies the latest reading of each GPU to the ticker.
type gpuCollector interface {
	// snapshot appends the current readings to dst, ordered by index.
	snapshot(now time.Time, dst []GPUSample) []GPUSample
	// stop ends the collector's goroutines and children and waits for them.
	stop()
	// cost returns the children's CPU time and the time spent parsing.
	cost() (child, reader time.Duration)
}

// latestGPU keeps the most recent reading per GPU index with its time, and
// drops readings older than staleAfter at snapshot time, so that a tool that
// hangs yields nil figures instead of repeating old values.
type latestGPU struct {
	mu         sync.Mutex
	staleAfter time.Duration
	byIndex    map[int]stamped
	dead       bool
}

type stamped struct {
	at time.Time
	g  GPUSample
}

// staleLimit is how old a GPU reading may be and still be used: several
// intervals, and at least the time a slow tool takes for one poll.
func staleLimit(interval, poll time.Duration) time.Duration {
	return max(4*poll, 8*interval, 3*time.Second)
}

func (l *latestGPU) put(at time.Time, gs ...GPUSample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return
	}
	if l.byIndex == nil {
		l.byIndex = make(map[int]stamped)
	}
	for _, g := range gs {
		l.byIndex[g.Index] = stamped{at: at, g: g}
	}
}

// kill forgets every reading and refuses new ones.
func (l *latestGPU) kill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead = true
	l.byIndex = nil
}

func (l *latestGPU) snapshot(now time.Time, dst []GPUSample) []GPUSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := len(dst)
	for _, s := range l.byIndex {
		if now.Sub(s.at) <= l.staleAfter {
			dst = append(dst, s.g)
		}
	}
	added := dst[start:]
	sort.Slice(added, func(i, j int) bool { return added[i].Index < added[j].Index })
	return dst
}
