package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"flperf/internal/runner"
)

// child starts this test binary as a writer of run id in the database at
// path (see childMain).
func child(t *testing.T, path, id, count string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+loc(t, path), childRun+"="+id, childCount+"="+count)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

// TestKillMidRun kills a writing process with SIGKILL and checks that every
// record it had added more than killMargin before the kill is in the
// database, that the file opens cleanly, and that the run is then
// interrupted, readable and exportable.
// killMargin is how long before the kill a record must have been added to
// be required in the database: the writer commits every
// DefaultFlushInterval, and a loaded shared machine (or a PostgreSQL
// server on it) can hold a commit up a few intervals more (seen: 47
// records of the last 200 ms missing at load average 13).
const killMargin = 5 * DefaultFlushInterval

func TestKillMidRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	path := filepath.Join(t.TempDir(), "flperf.db")
	cmd, stderr := child(t, path, "killed", "")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	type added struct {
		seq int64
		at  time.Time // when the parent read it: after the child's Add returned
	}
	var (
		mu    sync.Mutex
		seen  []added
		ready = make(chan struct{})
		eof   = make(chan struct{})
	)
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			seq, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				continue
			}
			mu.Lock()
			seen = append(seen, added{seq, time.Now()})
			if len(seen) == 500 {
				close(ready)
			}
			mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-eof:
		t.Fatalf("the child stopped before 500 records: %s", stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("the child wrote fewer than 500 records in a minute: %s", stderr)
	}
	time.Sleep(killMargin + DefaultFlushInterval)
	tKill := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-eof
	cmd.Wait() // reaped: its pid no longer exists

	mu.Lock()
	var must []int64
	for _, a := range seen {
		if a.at.Before(tKill.Add(-killMargin)) {
			must = append(must, a.seq)
		}
	}
	total := len(seen)
	mu.Unlock()
	if len(must) < 500 {
		t.Fatalf("only %d records were added %v before the kill", len(must), killMargin)
	}

	db := openAt(t, path) // opens: quick_check passed
	if !onPostgres {
		var check string
		if err := db.sql.QueryRow("PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("quick_check: %q %v", check, err)
		}
	}
	ctx := context.Background()
	stored := map[int64]bool{}
	for _, s := range storedSeqs(t, db, "killed", 20) { // every stored record is whole
		stored[s] = true
	}
	var missing []int64
	for _, s := range must {
		if !stored[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d records added ≥ %v before the kill are missing, e.g. %v", len(missing), len(must), killMargin, missing[:min(len(missing), 10)])
	}
	t.Logf("child added %d records (%d of them ≥ %v before the kill); %d stored", total, len(must), killMargin, len(stored))

	res, err := db.Run(ctx, "killed")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != runner.Interrupted || res.Records != len(stored) || res.Ended.IsZero() {
		t.Errorf("status %s records %d (stored %d) ended %v", res.Status, res.Records, len(stored), res.Ended)
	}
	if !strings.Contains(strings.Join(res.Warnings, " "), "stopped before it finished") {
		t.Errorf("warnings %q", res.Warnings)
	}
	var live int
	for s := range stored {
		if r := makeRecord(s, 20); !r.Warmup {
			live++
		}
	}
	if res.Total.Requests != live || res.Total.TTFT.N == 0 {
		t.Errorf("recomputed total: %d requests (want %d), %d TTFT samples", res.Total.Requests, live, res.Total.TTFT.N)
	}
	evs, err := db.Events(ctx, "killed")
	if err != nil || len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "marked interrupted") || !strings.Contains(evs[len(evs)-1].Message, "no longer exists") {
		t.Errorf("events %+v %v", evs, err)
	}
	a, err := db.Export(ctx, "killed")
	if err != nil || len(a.Records) != len(stored) || a.Status != runner.Interrupted {
		t.Errorf("export: %v", err)
	}
}

// Two processes write a run each, at the same time, into one file.
func TestTwoProcessesWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	makeDB(t, path, 1) // created and migrated before both start
	const n = 3000
	cmd, stderr := child(t, path, "child", strconv.Itoa(n))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	db := openAt(t, path)
	recs := makeRecords(n, 20)
	writeRun(t, db, "parent", recs)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr)
	}
	for _, id := range []string{"parent", "child"} {
		if got := storedSeqs(t, db, id, 20); len(got) != n {
			t.Errorf("%s: %d records, want %d", id, len(got), n)
		}
		res, err := db.Run(context.Background(), id)
		if err != nil || res.Status != runner.Completed {
			t.Errorf("%s: %v %v", id, res.Status, err)
		}
	}
}

// Four processes open one new database at once (each may be the one that
// creates and migrates it) and write a run each at the same time; every
// record of every run is stored once, and every run is completed.
func TestProcessesWriteAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	const procs, n = 4, 1500
	type proc struct {
		cmd    *exec.Cmd
		stderr *bytes.Buffer
	}
	var ps []proc
	for i := range procs {
		cmd, stderr := child(t, path, fmt.Sprintf("p%d", i), strconv.Itoa(n))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		ps = append(ps, proc{cmd, stderr})
	}
	for i, p := range ps {
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("p%d: %v: %s", i, err, p.stderr)
		}
	}
	db := openAt(t, path)
	if db.SchemaVersion() != LatestSchema() {
		t.Errorf("schema %d, want %d", db.SchemaVersion(), LatestSchema())
	}
	runs, err := db.Runs(context.Background(), Filter{})
	if err != nil || len(runs) != procs {
		t.Fatalf("%d runs, %v; want %d", len(runs), err, procs)
	}
	for i := range procs {
		id := fmt.Sprintf("p%d", i)
		got := storedSeqs(t, db, id, 20)
		if len(got) != n {
			t.Errorf("%s: %d records, want %d", id, len(got), n)
		}
		for j, s := range got {
			if s != int64(j) {
				t.Errorf("%s: record %d has seq %d", id, j, s)
				break
			}
		}
		res, err := db.Run(context.Background(), id)
		if err != nil || res.Status != runner.Completed || res.Total.Requests == 0 {
			t.Errorf("%s: %v %v", id, res.Status, err)
		}
	}
}
