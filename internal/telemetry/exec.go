package telemetry

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// commandTimeout bounds every short external command (fingerprint queries,
// one rocm-smi poll).
const commandTimeout = 2 * time.Second

// maxCommandOutput bounds what is kept of one command's standard output.
const maxCommandOutput = 4 << 20

// runFunc runs a short external command given as an argument vector and
// returns its standard output and the CPU time (user + system) the child
// used. It is the seam tests replace.
type runFunc func(ctx context.Context, name string, args ...string) (out []byte, childCPU time.Duration, err error)

// lookPathFunc finds an executable; exec.LookPath in production.
type lookPathFunc func(name string) (string, error)

// execRun is the production runFunc: exec.CommandContext with an argument
// vector, a commandTimeout deadline and bounded output buffers.
func execRun(ctx context.Context, name string, args ...string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	stdout := &boundedBuffer{max: maxCommandOutput}
	stderr := &boundedBuffer{max: 4096}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = 500 * time.Millisecond
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		if msg := bytes.TrimSpace(stderr.Bytes()); len(msg) > 0 {
			err = errors.Join(err, errors.New(firstLine(string(msg))))
		}
		return stdout.Bytes(), cpu, err
	}
	return stdout.Bytes(), cpu, nil
}

// boundedBuffer is an io.Writer that keeps at most max bytes and silently
// drops the rest, so that a runaway child cannot exhaust memory. It is safe
// for concurrent use.
type boundedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

// Write keeps what fits and reports the whole of p as written.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// maxLine bounds one line handed to a lineWriter's callback; longer lines are
// cut (a real nvidia-smi line is under 100 bytes).
const maxLine = 4096

// lineWriter is an io.Writer that splits what it receives into lines
// (without the trailing "\n" or "\r\n") and hands each to fn. Writes come
// from a single goroutine (exec's copier), so it needs no lock.
type lineWriter struct {
	fn      func(line string)
	partial []byte
	over    bool // the current line exceeded maxLine and is being skipped
}

// Write splits p into lines; a final line without "\n" waits for the next
// Write.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.keep(p)
			break
		}
		w.keep(p[:i])
		if !w.over {
			w.fn(string(bytes.TrimSuffix(w.partial, []byte("\r"))))
		}
		w.partial = w.partial[:0]
		w.over = false
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) keep(p []byte) {
	if w.over {
		return
	}
	if len(w.partial)+len(p) > maxLine {
		w.over = true
		w.partial = w.partial[:0]
		return
	}
	w.partial = append(w.partial, p...)
}

// firstLine returns s up to its first line break, at most 200 bytes.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
