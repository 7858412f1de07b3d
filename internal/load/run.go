package load

import (
	"context"
	"sync"
	"time"

	"flperf/internal/record"
)

// Job is one request to send, as the load generator hands it to the DoFunc.
type Job struct {
	Seq       int64     // 0.. in scheduling order, warm-ups included; only jobs actually started get one
	Index     int       // 0.. among measured requests (among warm-ups for warm-up jobs)
	Warmup    bool      // a warm-up request: recorded, never summarised
	Worker    int       // closed-loop worker id, or open-loop slot id (warm-ups: 0)
	Scheduled time.Time // intended send time (open loop); for the closed loop and warm-ups, the moment the job was picked
}

// DoFunc performs one request and returns its record. It is called from
// several goroutines at once (up to the plan's concurrency), must not retain
// job beyond the call, and must return promptly when ctx is cancelled (the
// record then says canceled).
type DoFunc func(ctx context.Context, job Job) record.Record

// outBuffer is the capacity of Run's output channel. Records never wait on it
// (they are queued without bound behind it), so it only smooths delivery.
const outBuffer = 64

// Run starts the stage described by p and returns a channel that yields one
// record per job started, in the order they finished, and is closed once
// every started job has finished. The caller must drain it until it is
// closed. Run copies the job's Seq, Warmup, Worker and Scheduled into the
// record where the DoFunc left them zero.
//
// Warm-ups come first, one at a time; the measured stage starts when they are
// done (Duration counts from there). In the closed loop (sequential and
// concurrency modes) each worker picks the next job as soon as its previous
// one has finished, until Requests jobs have been picked or Duration has
// passed since the first one. In the open loop (rate mode) the n-th arrival is
// due at stage start + the schedule's At(n), for every n with At(n) <
// Duration (and n < Requests); each runs in its own goroutine, after waiting
// for a slot when MaxInFlight is set. An arrival that is late, for want of a
// slot or because the generator fell behind, is still sent, with its
// intended Scheduled time, so an overloaded stage may run past Duration while
// that backlog drains.
//
// When Stopped(ctx) fires, nothing more is started: arrivals not yet sent and
// jobs not yet picked produce no record; jobs in flight finish and their
// records are delivered. Cancelling ctx also stops scheduling, and the
// DoFuncs in flight see the cancelled ctx.
//
// A slow consumer never holds the generator back: finished records are
// queued in memory until received.
//
// An invalid plan (see Plan.Validate) or a nil do yields a closed channel and
// no record.
func Run(ctx context.Context, p Plan, do DoFunc) <-chan record.Record {
	out, _ := RunStage(ctx, p, do)
	return out
}

// Report is what an open-loop stage did beyond its records (docs/metrics.md
// §7). RunStage fills it; it may be read once the record channel is closed.
type Report struct {
	// Arrivals is how many measured arrivals came due and were either
	// sent or dropped (an arrival still waiting for a slot when the stage
	// stopped is neither, and not counted).
	Arrivals int
	// Dropped is how many of them found MaxInFlight requests in flight
	// under OnFull drop: they were not sent and have no record.
	Dropped int
	// Oversaturated is set when the over-saturation detector stopped
	// the stage's scheduling (see Oversaturation).
	Oversaturated *Oversaturated
}

// RunStage is Run, also returning the stage's Report, complete once the
// record channel is closed.
func RunStage(ctx context.Context, p Plan, do DoFunc) (<-chan record.Record, *Report) {
	out := make(chan record.Record, outBuffer)
	rep := &Report{}
	if do == nil || len(p.Validate()) > 0 {
		close(out)
		return out, rep
	}
	s := &stage{ctx: ctx, stopped: Stopped(ctx), halt: make(chan struct{}), plan: p, do: do, box: newMailbox(), rep: rep}
	go s.box.forward(out)
	go s.run()
	return out, rep
}

// stage is one execution of a plan.
type stage struct {
	ctx     context.Context
	stopped <-chan struct{}
	halt    chan struct{} // closed by the over-saturation detector: scheduling stops
	plan    Plan
	do      DoFunc
	box     *mailbox
	wg      sync.WaitGroup // jobs and workers in flight
	seq     int64          // next Seq (used by one goroutine at a time: see closedLoop)
	rep     *Report
}

func (s *stage) run() {
	defer s.box.close()
	if !s.warmup() {
		return
	}
	if s.plan.mode() == Rate {
		s.openLoop()
	} else {
		s.closedLoop()
	}
	s.wg.Wait()
}

// halted reports whether scheduling must stop.
func (s *stage) halted() bool {
	select {
	case <-s.stopped:
		return true
	case <-s.halt:
		return true
	case <-s.ctx.Done():
		return true
	default:
		return false
	}
}

// exec runs one job and delivers its record.
func (s *stage) exec(job Job) {
	s.box.put(fill(s.do(s.ctx, job), job))
}

// fill copies the job's identity into the fields the DoFunc left zero.
func fill(r record.Record, job Job) record.Record {
	if r.Seq == 0 {
		r.Seq = job.Seq
	}
	if !r.Warmup {
		r.Warmup = job.Warmup
	}
	if r.Worker == 0 {
		r.Worker = job.Worker
	}
	if r.Scheduled.IsZero() {
		r.Scheduled = job.Scheduled
	}
	return r
}

// warmup sends the warm-up requests one at a time; it reports false if
// scheduling stopped meanwhile.
func (s *stage) warmup() bool {
	for i := range s.plan.Warmup {
		if s.halted() {
			return false
		}
		s.exec(Job{Seq: s.seq, Index: i, Warmup: true, Scheduled: time.Now()})
		s.seq++
	}
	return !s.halted()
}

// closedLoop runs the workers of the sequential and concurrency modes.
func (s *stage) closedLoop() {
	t := &tickets{stage: s}
	n := s.plan.workers()
	if r := s.plan.Requests; r > 0 && r < n {
		n = r // the other workers would find no ticket
	}
	for w := range n {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				job, ok := t.take(w)
				if !ok {
					return
				}
				s.exec(job)
			}
		}()
	}
}

// tickets hands out closed-loop jobs. Seq, Index and Scheduled are assigned
// together under one lock, so that ordering by Seq and by Scheduled agree.
type tickets struct {
	stage    *stage
	mu       sync.Mutex
	next     int       // measured jobs handed out
	deadline time.Time // end of Duration, set with the first job
}

// take returns the next job for worker w, or false when there is none: the
// count is reached, Duration has passed or scheduling stopped.
func (t *tickets) take(w int) (Job, bool) {
	s := t.stage
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.halted() || (s.plan.Requests > 0 && t.next >= s.plan.Requests) {
		return Job{}, false
	}
	now := time.Now()
	if t.next == 0 {
		if s.plan.Duration > 0 {
			t.deadline = now.Add(s.plan.Duration)
		}
	} else if !t.deadline.IsZero() && !now.Before(t.deadline) {
		return Job{}, false
	}
	job := Job{Seq: s.seq, Index: t.next, Worker: w, Scheduled: now}
	s.seq++
	t.next++
	return job, true
}

// openLoop runs the rate mode's schedule.
func (s *stage) openLoop() {
	sched := s.plan.schedule()
	pool := newSlots(s.plan.MaxInFlight)
	drop := s.plan.OnFull == Drop && s.plan.MaxInFlight > 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	watch := s.watch(start)
	defer watch.stop()
	for n := uint64(0); s.plan.Requests == 0 || n < uint64(s.plan.Requests); n++ {
		off, ok := sched.At(n)
		if !ok || (s.plan.Duration > 0 && off >= s.plan.Duration) {
			return
		}
		at := start.Add(off)
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-s.stopped:
				return
			case <-s.halt:
				return
			case <-s.ctx.Done():
				return
			}
		}
		var slot int
		if drop {
			if slot, ok = pool.tryAcquire(); !ok {
				if s.halted() {
					return
				}
				watch.dropped.Add(1)
				s.rep.Arrivals++
				s.rep.Dropped++
				continue
			}
		} else if slot, ok = pool.acquireUnless(s.ctx, s.stopped, s.halt); !ok {
			return
		}
		if s.halted() { // a slot and the stop may have come together
			pool.release(slot)
			return
		}
		s.rep.Arrivals++
		job := Job{Seq: s.seq, Index: int(n), Worker: slot, Scheduled: at}
		s.seq++
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			r := fill(s.do(s.ctx, job), job)
			pool.release(slot)
			watch.finished(&r)
			s.box.put(r)
		}()
	}
}
