package engineseries

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// DefaultInterval is the sampling interval when Options.Interval is zero
// (bench.Prepare uses the larger of it and the resource sampler's): a
// /metrics page of vLLM is a few hundred KiB to parse.
const DefaultInterval = 500 * time.Millisecond

// MinInterval is the shortest interval Start accepts.
const MinInterval = 10 * time.Millisecond

// MaxTimeout bounds one read of the engine's routes.
const MaxTimeout = 5 * time.Second

// Reader reads the engine's figures once into s. It returns an error per
// route whose read failed (its figures stay nil), keyed by the route.
type Reader interface {
	Read(ctx context.Context, s *Sample) map[string]error
	// Sources names where each figure comes from (see Series.Sources).
	Sources() map[string]string
	// Notes explains figures the engine does not give at all.
	Notes() []string
}

// Options configures a Sampler.
type Options struct {
	// Interval between reads; 0 means DefaultInterval.
	Interval time.Duration
	// Timeout of one read; 0 means the interval, at least 1 s, at most
	// MaxTimeout.
	Timeout time.Duration
	// Engine is the engine's kind, kept with the series.
	Engine string
	// Reader reads the engine (ReaderFor).
	Reader Reader
}

// Sampler reads the engine every interval from Start until Stop.
type Sampler struct {
	opts     Options
	start    time.Time
	cancel   context.CancelFunc
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	series   *Series

	// Owned by the loop goroutine until done is closed.
	samples []Sample
	fails   map[string]*failure
}

// failure counts the failed reads of one route.
type failure struct {
	n     int
	first float64 // TMS of the first
	err   string  // its error
}

// Start takes the first sample and returns; the next comes one interval
// later, and the last when Stop is called. Only invalid Options are an
// error.
func Start(ctx context.Context, opts Options) (*Sampler, error) {
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Interval < MinInterval {
		return nil, fmt.Errorf("engine series: interval %v is shorter than %v", opts.Interval, MinInterval)
	}
	if opts.Reader == nil {
		return nil, fmt.Errorf("engine series: no reader")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = min(max(opts.Interval, time.Second), MaxTimeout)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{opts: opts, cancel: cancel, quit: make(chan struct{}), done: make(chan struct{}), fails: map[string]*failure{}}
	s.start = time.Now()
	s.sample(ctx)
	go s.loop(ctx)
	return s, nil
}

// loop reads on every tick until Stop or ctx ends.
func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			s.sample(ctx) // the state as the run ended
			return
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample(ctx)
		}
	}
}

// sample takes one reading. One cut short by ctx's end is dropped, not
// noted.
func (s *Sampler) sample(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	sent := time.Now()
	smp := Sample{TMS: msSince(s.start, sent)}
	errs := s.opts.Reader.Read(rctx, &smp)
	smp.TookMS = roundUS(float64(time.Since(sent)) / float64(time.Millisecond))
	if ctx.Err() != nil {
		return
	}
	for route, err := range errs {
		smp.Failed = append(smp.Failed, route)
		f := s.fails[route]
		if f == nil {
			f = &failure{first: smp.TMS, err: err.Error()}
			s.fails[route] = f
		}
		f.n++
	}
	sort.Strings(smp.Failed)
	s.samples = append(s.samples, smp)
}

// Stop ends sampling and returns the series (the same one on every call).
// Stages are added by the caller (StageOf).
func (s *Sampler) Stop() *Series {
	s.stopOnce.Do(func() {
		close(s.quit)
		<-s.done
		s.cancel()
		notes := append([]string{}, s.opts.Reader.Notes()...)
		routes := make([]string, 0, len(s.fails))
		for r := range s.fails {
			routes = append(routes, r)
		}
		sort.Strings(routes)
		for _, r := range routes {
			f := s.fails[r]
			times := "once"
			if f.n > 1 {
				times = fmt.Sprintf("%d times", f.n)
			}
			notes = append(notes, fmt.Sprintf("reading %s failed %s (first at %.1f s: %s): its figures are null in those samples", r, times, f.first/1000, f.err))
		}
		samples := s.samples
		if samples == nil {
			samples = []Sample{}
		}
		s.series = &Series{Start: s.start, IntervalMS: s.opts.Interval.Milliseconds(), Engine: s.opts.Engine,
			Sources: s.opts.Reader.Sources(), Stages: []Stage{}, Samples: samples, Notes: notes}
	})
	return s.series
}
