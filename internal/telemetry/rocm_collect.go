package telemetry

import (
	"context"
	"io"
	"sync"
	"time"
)

// rocmMinPoll is the shortest time between the starts of two rocm-smi polls.
// rocm-smi is a Python program that takes a few hundred milliseconds of CPU
// per call, so polling it at a 250 ms tick would cost more than the
// measurement is worth; GPU figures from it are at most this old.
const rocmMinPoll = time.Second

// rocmGiveUp is how many failed polls in a row make the collector stop.
const rocmGiveUp = 3

// rocmCollector polls rocm-smi in its own goroutine, never more often than
// every max(Interval, rocmMinPoll), and keeps the latest reading per card.
type rocmCollector struct {
	latestGPU
	cancel context.CancelFunc
	done   chan struct{}

	stateMu  sync.Mutex // guards the fields below
	childCPU time.Duration
	reader   time.Duration
}

// startROCm starts the poller, which starts a poll every poll (or as soon
// as the previous one ends, when that takes longer); run executes rocm-smi
// at path.
func startROCm(ctx context.Context, path string, interval, poll time.Duration, run runFunc, raw io.Writer, notes *noteLog) *rocmCollector {
	ctx, cancel := context.WithCancel(ctx)
	c := &rocmCollector{
		latestGPU: latestGPU{staleAfter: staleLimit(interval, poll)},
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	go func() {
		defer close(c.done)
		failures := 0
		for {
			started := time.Now()
			out, cpu, err := run(ctx, path, ROCmSMISampleArgs...)
			if ctx.Err() != nil {
				c.addCost(cpu, 0)
				return
			}
			t0 := time.Now()
			if raw != nil && len(out) > 0 {
				_, _ = raw.Write(out)
				_, _ = io.WriteString(raw, "\n")
			}
			var gs []GPUSample
			if err == nil {
				gs, err = ParseROCmSMI(out)
			}
			if err == nil {
				failures = 0
				c.put(t0, gs...)
			} else {
				failures++
				notes.addf("rocm-smi poll failed: %v", err)
				if failures >= rocmGiveUp {
					notes.addf("rocm-smi failed %d times in a row; GPU figures are null from then on", failures)
					c.kill()
					c.addCost(cpu, time.Since(t0))
					return
				}
			}
			c.addCost(cpu, time.Since(t0))
			wait := time.NewTimer(max(poll-time.Since(started), 0))
			select {
			case <-ctx.Done():
				wait.Stop()
				return
			case <-wait.C:
			}
		}
	}()
	return c
}

func (c *rocmCollector) addCost(child, reader time.Duration) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	c.childCPU += child
	c.reader += reader
}

func (c *rocmCollector) stop() {
	c.cancel()
	<-c.done
}

func (c *rocmCollector) cost() (child, reader time.Duration) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.childCPU, c.reader
}
