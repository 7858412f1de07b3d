package transfer

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flperf/internal/store"
)

// TestMain lets the test binary serve as a pushing machine: with
// FLPERF_TRANSFER_CHILD set, it pushes the runs named in its arguments
// from a database and exits.
func TestMain(m *testing.M) {
	if os.Getenv("FLPERF_TRANSFER_CHILD") == "push" {
		os.Exit(childPush(os.Args[1:]))
	}
	code := m.Run()
	if pg := postgresPass(); code == 0 {
		code = pg
	}
	os.Exit(code)
}

// childPush is a child process's work: URL DB CHUNK RUN... pushes each
// run of database DB to URL in chunks of CHUNK records.
func childPush(args []string) int {
	if len(args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: URL DB CHUNK RUN...")
		return 2
	}
	ctx := context.Background()
	db, err := store.Open(ctx, args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	c, err := NewClient(args[0], testToken, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.ChunkRecords, _ = strconv.Atoi(args[2])
	c.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	for _, id := range args[3:] {
		if _, err := c.Push(ctx, db, id); err != nil {
			fmt.Fprintf(os.Stderr, "run %s: %v\n", id, err)
			return 1
		}
	}
	return 0
}

// pusher starts a child process pushing runs.
func pusher(t *testing.T, url, dbPath string, chunk int, ids ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{url, dbPath, strconv.Itoa(chunk)}, ids...)...)
	cmd.Env = append(os.Environ(), "FLPERF_TRANSFER_CHILD=push")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// TestConcurrentPushingProcesses: 8 processes push at once, each its own
// run and its neighbour's (two machines pushing one run together): every
// run is stored once, whole and exact.
func TestConcurrentPushingProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 processes")
	}
	ctx := context.Background()
	ts := startServer(t, nil)
	const machines = 8
	paths := make([]string, machines)
	ids := make([]string, machines)
	dbs := make([]*store.DB, machines)
	for i := range machines {
		ids[i] = fmt.Sprintf("20260302-0000%02d-%016x", i, 0xabc0+i)
		dbs[i], _ = localRun(t, ids[i], 200+31*i)
		paths[i] = dbs[i].Path()
	}
	for i := range machines { // each machine also holds its neighbour's run, as pulled from it
		j := (i + 1) % machines
		if err := dbs[i].Import(ctx, makeArchive(ids[j], 200+31*j)); err != nil {
			t.Fatal(err)
		}
	}
	cmds := make([]*exec.Cmd, machines)
	for i := range machines {
		cmds[i] = pusher(t, ts.url, paths[i], 40, ids[i], ids[(i+1)%machines])
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("pusher %d: %v: %s", i, err, cmd.Stderr)
		}
	}
	runs, err := ts.db.Runs(ctx, store.Filter{})
	if err != nil || len(runs) != machines {
		t.Fatalf("%d runs on the server, want %d (%v)", len(runs), machines, err)
	}
	for i := range machines {
		if exportJSON(t, ts.db, ids[i]) != exportJSON(t, dbs[i], ids[i]) {
			t.Errorf("run %s differs on the server", ids[i])
		}
	}
}

// TestKilledPusherResumes: a pushing process killed (SIGKILL) mid-push
// leaves the server holding the chunks it acknowledged and no run; the
// next push sends only the rest, and the run is exact.
func TestKilledPusherResumes(t *testing.T) {
	ctx := context.Background()
	src, a := localRun(t, "20260302-010000-0000000000000042", 500)
	var chunks atomic.Int64
	reached := make(chan struct{})
	var once sync.Once
	hold := make(chan struct{})
	ts := startServer(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && chunks.Add(1) == 4 { // the 4th chunk hangs: the pusher is killed meanwhile
				once.Do(func() { close(reached) })
				select {
				case <-hold:
				case <-r.Context().Done():
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	defer close(hold)
	// The child opens the same database file as this test's handle.
	cmd := pusher(t, ts.url, src.Path(), 50, a.ID)
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatal("the pusher never reached its 4th chunk")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	st, err := ts.db.PushStatus(ctx, a.ID)
	if err != nil || st.State != store.PushReceiving || st.Received != 150 {
		t.Fatalf("after the kill: %+v, %v", st, err)
	}
	if runs, _ := ts.db.Runs(ctx, store.Filter{}); len(runs) != 0 {
		t.Fatal("a half-received run is listed")
	}
	c := ts.client(t)
	c.ChunkRecords = 50
	res, err := c.Push(ctx, src, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 150 || res.Sent != 350 {
		t.Fatalf("resume: %+v", res)
	}
	if exportJSON(t, ts.db, a.ID) != exportJSON(t, src, a.ID) {
		t.Fatal("the run differs after a killed and resumed push")
	}
}
