package telemetry

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"sync"
	"time"
)

// nvidiaCollector runs one long-lived "nvidia-smi … -lms N" child for the
// whole window and keeps the latest line per GPU index.
type nvidiaCollector struct {
	latestGPU
	notes  *noteLog
	raw    io.Writer // may be nil
	cancel context.CancelFunc
	done   chan struct{} // closed once the child has been waited for

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
		c.put(t0, g)
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
