package transfer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flperf/internal/server"
	"flperf/internal/store"
)

// TestPushPullRoundTrip pushes a run to a team server and pulls it into a
// third database: the run is equal field by field everywhere (records,
// resources, fingerprint, events), with its origin recorded, and a second
// push or pull stores nothing more.
func TestPushPullRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, a := localRun(t, "20260301-120000-0011223344556677", 1234)
	ts := startServer(t, nil)
	c := ts.client(t)
	c.ChunkRecords = 100
	var progress []int64
	c.Progress = func(done, total int64) {
		if total != 1234 {
			t.Errorf("progress total %d", total)
		}
		progress = append(progress, done)
	}
	res, err := c.Push(ctx, src, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Already || res.Sent != 1234 || res.Resumed != 0 || res.State.State != store.PushStored || res.State.Total != 1234 {
		t.Fatalf("push: %+v", res)
	}
	if len(progress) != 13 || progress[0] != 100 || progress[12] != 1234 {
		t.Errorf("progress %v", progress)
	}
	want := exportJSON(t, src, a.ID)
	if got := exportJSON(t, ts.db, a.ID); got != want {
		t.Fatalf("the server's copy differs:\n%.600s\n---\n%.600s", got, want)
	}
	st, origin, err := ts.db.RunDigest(ctx, a.ID)
	if err != nil || origin == nil || origin.Via != "push" || origin.Host != "laptop-1" || origin.User != "token" || origin.Remote != "127.0.0.1" || origin.Tool != "test" || origin.At.IsZero() {
		t.Fatalf("origin %+v %v", origin, err)
	}
	if d, _ := store.ArchiveDigest(a); st.Digest != d {
		t.Errorf("server digest %s, local %s", st.Digest, d)
	}
	again, err := c.Push(ctx, src, a.ID)
	if err != nil || !again.Already || again.Sent != 0 {
		t.Fatalf("second push: %+v, %v", again, err)
	}
	if runs, _ := ts.db.Runs(ctx, store.Filter{}); len(runs) != 1 {
		t.Fatalf("%d runs on the server after two pushes", len(runs))
	}

	dst := openDB(t)
	pr, err := c.Pull(ctx, dst, a.ID[:20]) // a unique prefix names it
	if err != nil {
		t.Fatal(err)
	}
	if pr.Already || pr.State.State != store.PushStored || pr.State.Total != 1234 {
		t.Fatalf("pull: %+v", pr)
	}
	if got := exportJSON(t, dst, a.ID); got != want {
		t.Fatal("the pulled run differs from the pushed one")
	}
	got, _ := dst.Export(ctx, a.ID)
	if *got.Hardware.SoC != "Snapdragon X Elite" || len(got.Series.Samples) != 1 || got.Resources.Stages[0].OutputTokens != 9 || len(got.Events) != 1 || len(got.Records) != 1234 {
		t.Fatalf("pulled run lacks parts: %+v", got.Result)
	}
	_, porigin, _ := dst.RunDigest(ctx, a.ID)
	if porigin == nil || porigin.Via != "pull" || porigin.Remote != ts.url {
		t.Errorf("pulled origin %+v", porigin)
	}
	if pr, err := c.Pull(ctx, dst, a.ID); err != nil || !pr.Already {
		t.Fatalf("second pull: %+v, %v", pr, err)
	}
	// The pulled copy pushed back is recognised as the same run.
	if res, err := c.Push(ctx, dst, a.ID); err != nil || !res.Already {
		t.Fatalf("pushing the pulled copy: %+v, %v", res, err)
	}
}

// TestPushConflict: another run under the same id is refused, not
// overwritten, both ways.
func TestPushConflict(t *testing.T) {
	ctx := context.Background()
	src, a := localRun(t, "same-id", 30)
	ts := startServer(t, nil)
	c := ts.client(t)
	if _, err := c.Push(ctx, src, a.ID); err != nil {
		t.Fatal(err)
	}
	other, _ := localRun(t, "same-id", 31)
	_, err := c.Push(ctx, other, "same-id")
	var se *ServerError
	if !errors.As(err, &se) || se.Status != http.StatusConflict || !strings.Contains(se.Message, "already stored here with other content") {
		t.Fatalf("push of other content: %v", err)
	}
	if _, err := c.Pull(ctx, other, "same-id"); err == nil || !strings.Contains(err.Error(), "other content") {
		t.Fatalf("pull over other content: %v", err)
	}
	if got := exportJSON(t, ts.db, "same-id"); got != exportJSON(t, src, "same-id") {
		t.Fatal("the stored run changed")
	}
}

// cutter is a proxy in front of the server that cuts the connection of
// every records chunk after the first keep ones (for cuts times; -1: for
// good), before the server sees the chunk.
type cutter struct {
	keep   int
	cuts   atomic.Int64 // changed by the test while the server runs
	chunks atomic.Int64
	cut    atomic.Int64
}

// newCutter returns a cutter that keeps keep chunks, then cuts cuts times.
func newCutter(keep, cuts int) *cutter {
	c := &cutter{keep: keep}
	c.cuts.Store(int64(cuts))
	return c
}

func (c *cutter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/records") {
			if n := c.chunks.Add(1); n > int64(c.keep) && (c.cuts.Load() < 0 || c.cut.Load() < c.cuts.Load()) {
				c.cut.Add(1)
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// TestPushResumesAfterDroppedConnection: a connection cut mid-push is
// retried and the push completes, exact; a push whose retries all fail
// leaves the server holding what it acknowledged, and the next push sends
// only the rest.
func TestPushResumesAfterDroppedConnection(t *testing.T) {
	ctx := context.Background()
	src, a := localRun(t, "20260301-120000-aabbccddeeff0011", 1000)
	want := exportJSON(t, src, a.ID)

	t.Run("retried", func(t *testing.T) {
		cut := newCutter(3, 2)
		ts := startServer(t, cut.wrap)
		c := ts.client(t)
		c.ChunkRecords = 100
		var logs []string
		c.Log = func(m string) { logs = append(logs, m) }
		res, err := c.Push(ctx, src, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cut.cut.Load() != 2 || res.Sent != 1000 || len(logs) != 2 || !strings.Contains(logs[0], "sending records 300–399") {
			t.Fatalf("cuts %d, result %+v, log %q", cut.cut.Load(), res, logs)
		}
		if got := exportJSON(t, ts.db, a.ID); got != want {
			t.Fatal("the run differs after a retried push")
		}
	})

	t.Run("resumed", func(t *testing.T) {
		cut := newCutter(4, -1)
		ts := startServer(t, cut.wrap)
		c := ts.client(t)
		c.ChunkRecords, c.Retries = 100, 2
		_, err := c.Push(ctx, src, a.ID)
		if err == nil {
			t.Fatal("a push through a dead connection succeeded")
		}
		st, err2 := ts.db.PushStatus(ctx, a.ID)
		if err2 != nil || st.State != store.PushReceiving || st.Received != 400 {
			t.Fatalf("after the failed push: %+v, %v (push error %v)", st, err2, err)
		}
		if runs, _ := ts.db.Runs(ctx, store.Filter{}); len(runs) != 0 {
			t.Fatal("a half-received run is listed")
		}
		cut.cuts.Store(0) // the network is back
		var logs []string
		c.Log = func(m string) { logs = append(logs, m) }
		res, err := c.Push(ctx, src, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.Resumed != 400 || res.Sent != 600 || len(logs) != 1 || !strings.Contains(logs[0], "resuming from record 400") {
			t.Fatalf("resume: %+v %q", res, logs)
		}
		if got := exportJSON(t, ts.db, a.ID); got != want {
			t.Fatal("the run differs after a resumed push")
		}
	})
}

// TestConcurrentPushers: 8 machines push at once, each its own run and
// its neighbour's: every run is stored once, whole and exact.
func TestConcurrentPushers(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, nil)
	const machines = 8
	dbs := make([]*store.DB, machines)
	ids := make([]string, machines)
	for i := range machines {
		ids[i] = "20260301-1200" + string(rune('0'+i)) + "0-00112233445566" + string(rune('a'+i)) + "0"
		dbs[i], _ = localRun(t, ids[i], 300+37*i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*machines)
	for i := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ts.client(t)
			c.ChunkRecords = 50
			for _, j := range []int{i, (i + 1) % machines} {
				if _, err := c.Push(ctx, dbs[j], ids[j]); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	runs, err := ts.db.Runs(ctx, store.Filter{})
	if err != nil || len(runs) != machines {
		t.Fatalf("%d runs on the server, want %d (%v)", len(runs), machines, err)
	}
	for i := range machines {
		if got := exportJSON(t, ts.db, ids[i]); got != exportJSON(t, dbs[i], ids[i]) {
			t.Errorf("run %s differs on the server", ids[i])
		}
	}
}

// TestPushResumesAcrossServerRestart: a push session lives in the
// server's database, so a push cut by the server's restart resumes on the
// restarted server from the records it acknowledged before.
func TestPushResumesAcrossServerRestart(t *testing.T) {
	ctx := context.Background()
	src, a := localRun(t, "20260301-120000-5e5e5e5e5e5e5e5e", 600)
	dbPath := filepath.Join(t.TempDir(), "team.db")
	serve := func(wrap func(http.Handler) http.Handler) (*store.DB, string, func()) {
		db, err := store.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewUnstartedServer(nil)
		s, err := server.New(server.Options{DB: db, Listen: hs.Listener.Addr().String(), Token: testToken})
		if err != nil {
			t.Fatal(err)
		}
		var h http.Handler = s.Handler()
		if wrap != nil {
			h = wrap(h)
		}
		hs.Config.Handler = h
		hs.Start()
		return db, hs.URL, func() { hs.Close(); s.Close(); db.Close() }
	}
	cut := newCutter(2, -1)
	_, url1, stop1 := serve(cut.wrap)
	c, _ := NewClient(url1, testToken, false)
	c.ChunkRecords, c.Retries, c.Backoff = 100, 1, func(int) time.Duration { return time.Millisecond }
	if _, err := c.Push(ctx, src, a.ID); err == nil {
		t.Fatal("a push through a dead connection succeeded")
	}
	stop1() // the server goes down with 200 records received

	db2, url2, stop2 := serve(nil)
	defer stop2()
	c2, _ := NewClient(url2, testToken, false)
	c2.ChunkRecords = 100
	res, err := c2.Push(ctx, src, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 200 || res.Sent != 400 {
		t.Fatalf("after the restart: %+v", res)
	}
	if exportJSON(t, db2, a.ID) != exportJSON(t, src, a.ID) {
		t.Fatal("the run differs after a push resumed on a restarted server")
	}
}

// TestPushersOfOneRun: 8 machines push the same run at once, in the same
// chunks (a retried chunk racing its original, a copied database pushed
// twice): every push succeeds, and the run is stored once, exact, on
// either store (on PostgreSQL the session row is locked per chunk).
func TestPushersOfOneRun(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, nil)
	const machines = 8
	id := "20260301-120000-0ne0ne0ne0ne0ne0"
	src, _ := localRun(t, id, 700)
	var wg sync.WaitGroup
	errs := make(chan error, machines)
	for range machines {
		wg.Go(func() {
			c := ts.client(t)
			c.ChunkRecords = 50
			if _, err := c.Push(ctx, src, id); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	runs, err := ts.db.Runs(ctx, store.Filter{})
	if err != nil || len(runs) != 1 || runs[0].Records != 700 {
		t.Fatalf("the server holds %+v (%v), want one run of 700 records", runs, err)
	}
	if got := exportJSON(t, ts.db, id); got != exportJSON(t, src, id) {
		t.Errorf("run %s differs on the server", id)
	}
	if st, err := ts.db.PushStatus(ctx, id); err != nil || st.State != store.PushStored || st.Origin == nil || st.Origin.Host != "laptop-1" {
		t.Errorf("push status: %+v, %v", st, err)
	}
}
