package telemetry

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// nvidiaCollector runs one long-lived "nvidia-smi … -lms N" child for the
// whole window and keeps the latest reading per GPU index, taken from the
// latest whole block of the loop's output (see block).
type nvidiaCollector struct {
	latestGPU
	notes  *noteLog
	raw    io.Writer // may be nil
	cancel context.CancelFunc
	done   chan struct{} // closed once the child has been waited for

	block block // used only by the goroutine that calls line

	stateMu  sync.Mutex // guards the fields below
	stopping bool
	badLines int
	childCPU time.Duration
	reader   time.Duration
}

// startNvidia starts the nvidia-smi loop at path. Its failure to start is
// returned (the caller notes it); later failures are notes.
func startNvidia(ctx context.Context, path string, interval time.Duration, raw io.Writer, notes *noteLog) (*nvidiaCollector, error) {
	ms := max(int(interval/time.Millisecond), 1)
	ctx, cancel := context.WithCancel(ctx)
	c := &nvidiaCollector{
		latestGPU: latestGPU{staleAfter: staleLimit(interval, interval)},
		notes:     notes,
		raw:       raw,
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	cmd := exec.CommandContext(ctx, path, NvidiaSMISampleArgs(ms)...)
	cmd.Stdout = &lineWriter{fn: c.line}
	stderr := &boundedBuffer{max: 4096}
	cmd.Stderr = stderr
	// Bounds how long Wait lingers on the output pipe after the child is
	// killed, should a grandchild still hold it.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(c.done)
		err := cmd.Wait()
		c.stateMu.Lock()
		defer c.stateMu.Unlock()
		if ps := cmd.ProcessState; ps != nil {
			c.childCPU = ps.UserTime() + ps.SystemTime()
		}
		if c.stopping {
			return
		}
		// The child ended by itself: its last values must not be reused.
		c.kill()
		msg := "exited"
		if err != nil {
			msg = err.Error()
		}
		if e := bytes.TrimSpace(stderr.Bytes()); len(e) > 0 {
			msg += ": " + firstLine(string(e))
		}
		c.notes.addf("nvidia-smi stopped during the window (%s); GPU figures are null from then on", msg)
	}()
	return c, nil
}

// line handles one line of the child's output (called from exec's copier
// goroutine, one line at a time).
func (c *nvidiaCollector) line(line string) {
	t0 := time.Now()
	if c.raw != nil {
		_, _ = io.WriteString(c.raw, line+"\n")
	}
	if g, err := ParseNvidiaSMILine(line); err == nil {
		if whole, at := c.block.add(t0, g); whole != nil {
			c.put(at, whole...)
		}
	} else if len(bytes.TrimSpace([]byte(line))) > 0 {
		c.stateMu.Lock()
		c.badLines++
		first := c.badLines == 1
		c.stateMu.Unlock()
		if first {
			c.notes.addf("nvidia-smi printed a line that is not a GPU reading: %v", err)
		}
	}
	d := time.Since(t0)
	c.stateMu.Lock()
	c.reader += d
	c.stateMu.Unlock()
}

// block gathers the lines of one round of the sampling loop, one per GPU,
// and hands them on only once the round is whole, so that a sample taken
// while a round is being read holds the same GPUs as the rounds before it,
// never some of them (a machine with several GPUs would otherwise get
// samples that lack a GPU).
//
// The loop prints nothing between rounds. A round is known to be whole when
// a line repeats one of its indices (the next round has begun); once a whole
// round has been seen, a round is handed on as soon as it holds every index
// of the last whole one, and each further line of it as it comes. The first
// round is thus handed on when the second begins, one interval late; the
// others as soon as their last line is read. A GPU that stops appearing
// leaves the set at the end of the first round without it; one that
// appears is handed on with its round and joins the set at the round's end.
type block struct {
	lines  []GPUSample  // the current round so far
	at     time.Time    // when its first line was read
	handed bool         // lines as they stand have been handed on
	last   map[int]bool // indices of the last whole round; nil before the first
}

// add takes a reading read at at. It returns the readings to hand on, or
// nil, and when the first line of their round was read.
func (b *block) add(at time.Time, g GPUSample) ([]GPUSample, time.Time) {
	var out []GPUSample
	var outAt time.Time
	if slices.ContainsFunc(b.lines, func(p GPUSample) bool { return p.Index == g.Index }) {
		if !b.handed {
			out, outAt = b.lines, b.at
		}
		b.last = make(map[int]bool, len(b.lines))
		for _, p := range b.lines {
			b.last[p.Index] = true
		}
		b.lines = nil
	}
	if len(b.lines) == 0 {
		b.at = at
	}
	b.lines = append(b.lines, g)
	b.handed = false
	if b.last != nil && b.hasAll() {
		// With one GPU, a repeated index both ends a round and completes
		// the next: the newer one wins.
		out, outAt = b.lines, b.at
		b.handed = true
	}
	return out, outAt
}

// hasAll reports whether the current round holds every index of the last
// whole round.
func (b *block) hasAll() bool {
	seen := 0
	for _, g := range b.lines {
		if b.last[g.Index] {
			seen++
		}
	}
	return seen == len(b.last)
}

func (c *nvidiaCollector) stop() {
	c.stateMu.Lock()
	c.stopping = true
	c.stateMu.Unlock()
	c.cancel()
	<-c.done
}

func (c *nvidiaCollector) cost() (child, reader time.Duration) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.childCPU, c.reader
}
