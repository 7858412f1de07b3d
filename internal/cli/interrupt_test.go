package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/load"
	"flperf/internal/sim"
)

// slowProfile takes about 50 ms per request of oneSuite (10 tokens).
func slowProfile() sim.Profile {
	return sim.Profile{Name: "slow", TTFT: 40 * time.Millisecond, DecodeTPS: 1000, TokensPerChunk: 1, Usage: true}
}

// stuckProfile takes a minute to its first token: only cancelling ends it.
func stuckProfile() sim.Profile {
	return sim.Profile{Name: "stuck", TTFT: time.Minute, DecodeTPS: 1000, Usage: true}
}

// TestInterruptDrains checks the first interrupt stage in-process: once
// scheduling is stopped, the requests in flight finish, the partial result
// is reported with status "interrupted" and the exit code is 130.
func TestInterruptDrains(t *testing.T) {
	s := startTestSim(t, slowProfile())
	ctx, stop := load.WithStop(context.Background())
	defer stop()
	suitePath := writeFile(t, "one.json", oneSuite)
	done := make(chan outcome, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		done <- cli(t, ctx, nil, "run", "--endpoint", s.base, "--model", "slow", "--suite", suitePath,
			"--requests", "1000", "--concurrency", "4", "--warmup", "0", "--format", "json")
	}()
	t.Cleanup(func() { stop(); <-ended }) // before the engine stops, even if the test fails early
	// Stop once the run is under way (counted, not timed).
	waitFor(t, 30*time.Second, "8 requests to reach the engine", func() bool { return s.Stats().Requests >= 8 })
	stop()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after scheduling was stopped")
	}
	wantCode(t, o, ExitInterrupted)
	doc := decodeJSON(t, o.stdout)
	if st := str(t, doc, "status"); st != "interrupted" {
		t.Errorf("status %q, want interrupted", st)
	}
	groups := objects(t, list(t, doc, "groups"))
	if len(groups) != 1 {
		t.Fatalf("%d groups, want 1", len(groups))
	}
	g := groups[0]
	n, ok, canceled := num(t, g, "requests"), num(t, g, "ok"), num(t, g, "canceled")
	if n >= 1000 || n < 8 {
		t.Errorf("%v requests recorded, want the ≥ 8 sent before the stop and fewer than 1000", n)
	}
	if ok != n || canceled != 0 {
		t.Errorf("ok %v canceled %v of %v: requests in flight must be drained, not cancelled", ok, canceled, n)
	}
	if sent := s.Stats().Requests; float64(sent) != n {
		t.Errorf("the engine got %d requests but %v were recorded: every request sent must be recorded", sent, n)
	}
}

// child runs the test binary as flperf (see TestMain) with real signal
// handling, its stderr read line by line.
type child struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr strings.Builder
	lines  chan string
	exited chan struct{}
	err    error // from Wait, once exited is closed
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	c := &child{lines: make(chan string, 100), exited: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	c.cmd.Env = append(cleanEnv(), "FLPERF_TEST_MAIN=1")
	c.cmd.Stdout = &c.stdout
	pipe, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
	})
	return c
}

// cleanEnv is the process environment without FLPERF_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLPERF_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitLine waits for a stderr line containing s.
func (c *child) waitLine(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-c.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-c.exited:
			t.Fatalf("the child exited (%v) before printing %q:\n%s", c.err, s, c.errText())
		case <-timeout:
			t.Fatalf("the child did not print %q:\n%s", s, c.errText())
		}
	}
}

func (c *child) errText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

func (c *child) interrupt(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the child to exit and returns its exit code.
func (c *child) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(within):
		t.Fatalf("the child did not exit within %v:\n%s", within, c.errText())
	}
	var ee *exec.ExitError
	switch {
	case c.err == nil:
		return 0
	case errors.As(c.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("child: %v", c.err)
	return -1
}

// TestSignalInterrupt checks one real SIGINT: scheduling stops, requests in
// flight finish, the table is still printed with status "interrupted", and
// the process exits with code 130.
func TestSignalInterrupt(t *testing.T) {
	s := startTestSim(t, slowProfile())
	c := startChild(t, "run", "--endpoint", s.base, "--model", "slow", "--suite", writeFile(t, "one.json", oneSuite),
		"--requests", "1000", "--concurrency", "2", "--warmup", "0")
	c.waitLine(t, "flperf: benchmarking")
	waitFor(t, 30*time.Second, "4 requests to reach the engine", func() bool { return s.Stats().Requests >= 4 })
	c.interrupt(t)
	c.waitLine(t, "stopping: no new requests")
	if code := c.wait(t, 30*time.Second); code != ExitInterrupted {
		t.Fatalf("exit code %d, want 130\nstderr:\n%s", code, c.errText())
	}
	out := c.stdout.String()
	first, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(first, "FLPerformance run ") || !strings.Contains(first, " interrupted ") {
		t.Errorf("first line %q, want the table header with status interrupted\n%s", first, out)
	}
	if !strings.Contains(out, "interrupted: scheduling was stopped early") {
		t.Errorf("the table does not warn that the run was interrupted:\n%s", out)
	}
	noTerminalCodes(t, out, "stdout")
}

// TestSignalCancel checks two real SIGINTs: the second cancels requests in
// flight, which would otherwise take a minute, so the process ends at once
// with status "canceled", the cancelled requests recorded as such, and exit
// code 130.
func TestSignalCancel(t *testing.T) {
	s := startTestSim(t, stuckProfile())
	c := startChild(t, "run", "--endpoint", s.base, "--model", "stuck", "--suite", writeFile(t, "one.json", oneSuite),
		"--requests", "1000", "--concurrency", "2", "--warmup", "0", "--timeout", "5m", "--format", "json")
	c.waitLine(t, "flperf: benchmarking")
	waitFor(t, 30*time.Second, "2 requests in flight", func() bool { return s.Stats().InFlight >= 2 })
	c.interrupt(t)
	c.waitLine(t, "stopping: no new requests")
	c.interrupt(t)
	// Without cancellation the requests in flight would run for a minute.
	if code := c.wait(t, 30*time.Second); code != ExitInterrupted {
		t.Fatalf("exit code %d, want 130\nstderr:\n%s", code, c.errText())
	}
	if !strings.Contains(c.errText(), "cancelling requests in flight") {
		t.Errorf("stderr does not say requests are being cancelled:\n%s", c.errText())
	}
	doc := decodeJSON(t, c.stdout.String())
	if st := str(t, doc, "status"); st != "canceled" {
		t.Errorf("status %q, want canceled", st)
	}
	g := objects(t, list(t, doc, "groups"))
	if len(g) != 1 {
		t.Fatalf("%d groups, want 1", len(g))
	}
	if n, canceled, ok := num(t, g[0], "requests"), num(t, g[0], "canceled"), num(t, g[0], "ok"); canceled < 2 || ok != 0 || n != canceled {
		t.Errorf("requests %v, canceled %v, ok %v: want the 2 requests in flight recorded as canceled", n, canceled, ok)
	}
}
