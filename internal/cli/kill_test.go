package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// seenLine is one complete stdout line of a child and when the test read it.
type seenLine struct {
	text string
	at   time.Time
}

// pipedChild runs the test binary as flperf (see TestMain) with its stdout
// read line by line as it comes.
type pipedChild struct {
	cmd    *exec.Cmd
	stderr syncBuffer
	mu     sync.Mutex
	lines  []seenLine
	done   chan struct{} // closed when stdout has ended
	waited bool          // Wait was called
}

func startPipedChild(t *testing.T, args ...string) *pipedChild {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	c := &pipedChild{done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	c.cmd.Env = append(cleanEnv(), "FLPERF_TEST_MAIN=1")
	c.cmd.Stderr = &c.stderr
	pipe, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		br := bufio.NewReaderSize(pipe, 1<<20)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return // a last line without its newline is cut: not counted
			}
			c.mu.Lock()
			c.lines = append(c.lines, seenLine{strings.TrimSuffix(l, "\n"), time.Now()})
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if !c.waited {
			c.cmd.Process.Kill()
			<-c.done
			c.cmd.Wait()
		}
	})
	return c
}

// seen returns the lines read so far.
func (c *pipedChild) seen() []seenLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]seenLine(nil), c.lines...)
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *pipedChild) kill(t *testing.T) time.Time {
	t.Helper()
	at := time.Now()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
	err := c.cmd.Wait()
	c.waited = true
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the killed child: %v, want a kill exit", err)
	}
	return at
}

// TestKillKeepsRecords checks kill -9 safety through the CLI: a run killed
// mid-way is listed afterwards as interrupted, and every record the child
// had printed well before the kill (0.5 s, more than the store's 200 ms
// commit interval) is in the database, readable by show and export.
func TestKillKeepsRecords(t *testing.T) {
	s := startTestSim(t, slowProfile())
	db := newDB(t)
	c := startPipedChild(t, "run", "--db", db, "--endpoint", s.base, "--model", "slow",
		"--suite", writeFile(t, "one.json", oneSuite), "--requests", "1000", "--concurrency", "2",
		"--warmup", "0", "--format", "jsonl")

	// ≥ 20 records printed (stdout is block-buffered: they come in bursts),
	// then another second of running, so that those are old at the kill.
	waitFor(t, 40*time.Second, "20 records on the child's stdout", func() bool {
		select {
		case <-c.done:
			t.Fatalf("the child ended early:\n%s", c.stderr.String())
		default:
		}
		return len(c.seen()) >= 20
	})
	time.Sleep(time.Second)
	killed := c.kill(t)

	old := map[int64]bool{}
	for _, l := range c.seen() {
		var r struct {
			Seq *int64 `json:"seq"`
		}
		if err := json.Unmarshal([]byte(l.text), &r); err != nil || r.Seq == nil {
			t.Fatalf("child stdout line is not a record (%v): %.200q", err, l.text)
		}
		if killed.Sub(l.at) > 500*time.Millisecond {
			old[*r.Seq] = true
		}
	}
	if len(old) < 20 {
		t.Fatalf("only %d records were printed 0.5 s before the kill, want ≥ 20", len(old))
	}

	runs := storedRuns(t, db)
	if len(runs) != 1 {
		t.Fatalf("%d runs stored, want the killed one", len(runs))
	}
	id := str(t, runs[0], "id")
	if st := str(t, runs[0], "status"); st != "interrupted" {
		t.Errorf("the killed run is %q, want interrupted", st)
	}

	o := run(t, "show", id, "--db", db, "--format", "jsonl")
	wantCode(t, o, ExitOK)
	stored := map[int64]bool{}
	for _, r := range jsonlRecords(t, o.stdout) {
		stored[int64(num(t, r, "seq"))] = true
	}
	for seq := range old {
		if !stored[seq] {
			t.Errorf("record seq %d was printed more than 0.5 s before the kill but is not in the database", seq)
		}
	}
	t.Logf("%d records printed, %d of them more than 0.5 s before the kill; %d in the database", len(c.seen()), len(old), len(stored))
	if n := num(t, runs[0], "records"); int(n) != len(stored) {
		t.Errorf("runs says %v records, show printed %d", n, len(stored))
	}

	o = run(t, "show", id, "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	doc := decodeJSON(t, o.stdout)
	if st := str(t, doc, "status"); st != "interrupted" {
		t.Errorf("show: status %q, want interrupted", st)
	}
	if ws, _ := json.Marshal(doc["warnings"]); !strings.Contains(string(ws), "killed or crashed") {
		t.Errorf("show: warnings %s do not say the process died", ws)
	}

	o = run(t, "export", id, "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	exp := decodeJSON(t, o.stdout)
	if n := len(list(t, exp, "records")); n != len(stored) {
		t.Errorf("export holds %d records, show %d", n, len(stored))
	}
	wantCode(t, run(t, "compare", id, id, "--db", db), ExitOK)
}
