package doctor

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// maxOutput bounds what a command's output may add to the report.
const maxOutput = 64 << 10

// boundedCommand runs programs with an argument vector (never a shell),
// each for at most d: the program is killed at the deadline, and its
// output pipes are closed soon after even when a child of it holds them.
func boundedCommand(d time.Duration) func(ctx context.Context, name string, args ...string) ([]byte, error) {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		path, err := exec.LookPath(name)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.WaitDelay = 200 * time.Millisecond
		var out limited
		cmd.Stdout, cmd.Stderr = &out, &out
		err = cmd.Run()
		if ctx.Err() != nil {
			err = context.DeadlineExceeded
		}
		return out.Bytes(), err
	}
}

// limited keeps the first maxOutput bytes written to it.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxOutput - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ io.Writer = (*limited)(nil)

// processNames lists the running processes' names.
func processNames(ctx context.Context) ([]string, error) {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if n, err := p.NameWithContext(ctx); err == nil && n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}
