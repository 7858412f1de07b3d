package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/record"
)

// poll calls cond until it holds or a generous deadline passes.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// storedSeqs returns the seqs of run id's records through db, checking that
// each record is the one makeRecord(seq, chunks) made.
func storedSeqs(t *testing.T, db *DB, id string, chunks int) []int64 {
	t.Helper()
	var seqs []int64
	err := db.Records(context.Background(), id, func(r *record.Record) error {
		want := makeRecord(r.Seq, chunks)
		if jsonOf(t, r) != jsonOf(t, &want) {
			return fmt.Errorf("record %d is not what was written:\n got %s\nwant %s", r.Seq, jsonOf(t, r), jsonOf(t, &want))
		}
		seqs = append(seqs, r.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

func TestWriterCommitsWhileTheRunGoes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	writer, reader := openAt(t, path), openAt(t, path) // two handles, as two processes
	ctx := context.Background()
	if err := writer.BeginRun(ctx, testResult("live")); err != nil {
		t.Fatal(err)
	}
	w := writer.NewRecordWriter("live", WriterOptions{FlushInterval: 100 * time.Millisecond})
	t.Cleanup(func() { w.Close() })
	for seq := range int64(50) {
		r := makeRecord(seq, 5)
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing else happens: the timer alone must commit them, and another
	// handle must see them.
	poll(t, "50 records visible to another handle", func() bool { return len(storedSeqs(t, reader, "live", 5)) == 50 })
	if w.Stored() != 50 {
		t.Errorf("Stored() = %d, want 50", w.Stored())
	}
	var n int
	if err := reader.sql.QueryRow("SELECT records FROM runs WHERE id = 'live'").Scan(&n); err != nil || n != 50 {
		t.Errorf("runs.records = %d (%v), want 50", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := makeRecord(99, 1)
	if err := w.Add(&r); err == nil {
		t.Error("Add after Close succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// An idle writer (a long request, no record completing) still tells other
// processes that its run is alive.
func TestWriterHeartbeatWhileIdle(t *testing.T) {
	db := openTest(t)
	if err := db.BeginRun(context.Background(), testResult("idle")); err != nil {
		t.Fatal(err)
	}
	beat := func() int64 {
		var b int64
		if err := db.sql.QueryRow("SELECT heartbeat FROM runs WHERE id = 'idle'").Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := beat()
	w := db.NewRecordWriter("idle", WriterOptions{heartbeat: 5 * time.Millisecond})
	t.Cleanup(func() { w.Close() })
	poll(t, "a heartbeat", func() bool { return beat() > first })
	if err := w.Close(); err != nil || w.Stored() != 0 {
		t.Errorf("Close: %v, stored %d", err, w.Stored())
	}
}

func TestWriterMaxBatchAndQueue(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.BeginRun(ctx, testResult("b")); err != nil {
		t.Fatal(err)
	}
	// A long interval: only MaxBatch can trigger a commit. A queue of 1
	// makes Add wait for the writer (never drop).
	w := db.NewRecordWriter("b", WriterOptions{FlushInterval: time.Hour, MaxBatch: 10, Queue: 1})
	for seq := range int64(25) {
		r := makeRecord(seq, 3)
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "two full batches", func() bool { return w.Stored() == 20 })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := storedSeqs(t, db, "b", 3); len(got) != 25 {
		t.Errorf("%d records after Close, want 25", len(got))
	}
}

func TestTwoWritersAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	dbs := []*DB{openAt(t, path), openAt(t, path)}
	const n = 5000
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("run%d", i)
			res := testResult(id)
			if errs[i] = db.BeginRun(context.Background(), res); errs[i] != nil {
				return
			}
			w := db.NewRecordWriter(id, WriterOptions{FlushInterval: 20 * time.Millisecond, MaxBatch: 200})
			for seq := range int64(n) {
				r := makeRecord(seq, 8)
				if errs[i] = w.Add(&r); errs[i] != nil {
					w.Close()
					return
				}
			}
			errs[i] = w.Close()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	for i := range dbs {
		if got := storedSeqs(t, dbs[1-i], fmt.Sprintf("run%d", i), 8); len(got) != n {
			t.Errorf("run%d: %d records, want %d", i, len(got), n)
		}
	}
}

func TestReaderNeverSeesAPartialBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	db, reader := openAt(t, path), openAt(t, path)
	if err := db.BeginRun(context.Background(), testResult("r")); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	w := db.NewRecordWriter("r", WriterOptions{FlushInterval: 10 * time.Millisecond, MaxBatch: 64})
	done := make(chan error, 1)
	go func() {
		for seq := range int64(n) {
			r := makeRecord(seq, 6)
			if err := w.Add(&r); err != nil {
				done <- err
				return
			}
			if seq%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		done <- w.Close()
	}()
	scans := 0
	for finished := false; !finished; scans++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		// One writer commits in seq order, whole batches at a time: a
		// reader sees exactly seqs 0..k-1, each record complete.
		seqs := storedSeqs(t, reader, "r", 6)
		for i, s := range seqs {
			if s != int64(i) {
				t.Fatalf("scan %d: record %d has seq %d: a gap or a partial batch", scans, i, s)
			}
		}
		var stored int
		if err := reader.sql.QueryRow("SELECT records FROM runs WHERE id = 'r'").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored < len(seqs) {
			t.Fatalf("runs.records %d behind the %d records seen before it", stored, len(seqs))
		}
		if finished && len(seqs) != n {
			t.Fatalf("%d records after Close, want %d", len(seqs), n)
		}
	}
	t.Logf("%d scans while writing", scans)
}

func TestWriterFullDisk(t *testing.T) {
	sqliteOnly(t, "fills the SQLite file (PRAGMA max_page_count)")
	path := filepath.Join(t.TempDir(), "flperf.db")
	ctx := context.Background()
	db := openAt(t, path)
	if err := db.BeginRun(ctx, testResult("full")); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := db.sql.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The same file, with every connection limited to a few more pages:
	// SQLite then reports SQLITE_FULL as on a full disk.
	small, err := open(ctx, loc(t, path), openOptions{pragmas: []string{fmt.Sprintf("max_page_count(%d)", pages+30)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { small.Close() })
	w := small.NewRecordWriter("full", WriterOptions{FlushInterval: 10 * time.Millisecond, MaxBatch: 10})
	select {
	case <-w.Failed():
		t.Fatal("Failed is closed before anything failed")
	default:
	}
	var addErr error
	for seq := int64(0); seq < 5000 && addErr == nil; seq++ {
		r := makeRecord(seq, 50)
		r.Text = strings.Repeat("x", record.TextLimit)
		addErr = w.Add(&r)
		if seq == 20 {
			poll(t, "the first records committed", func() bool { return w.Stored() > 0 })
		}
	}
	select {
	case <-w.Failed(): // the runner stops at once on it
		if w.Err() == nil || sqliteCode(w.Err()) != codeFull {
			t.Errorf("Failed is closed, Err %v; want the disk-full error", w.Err())
		}
	case <-time.After(time.Minute):
		t.Fatal("Failed is not closed after the write error")
	}
	err = w.Close()
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "database or disk is full") || !strings.Contains(err.Error(), path) || sqliteCode(err) != codeFull {
		t.Fatalf("Close: %v; want a clear disk-full error naming the database", err)
	}
	if addErr == nil || !errors.Is(addErr, err) && !strings.Contains(addErr.Error(), "full") {
		t.Errorf("Add kept accepting records after the failure: %v", addErr)
	}
	stored := w.Stored()
	if stored == 0 || !strings.Contains(err.Error(), fmt.Sprintf("%d were", stored)) {
		t.Errorf("stored %d; error %q", stored, err)
	}
	small.Close()
	// The file opens cleanly (quick_check) and holds exactly the committed
	// records, intact.
	again := openAt(t, path)
	var seqs []int64
	if err := again.Records(ctx, "full", func(r *record.Record) error {
		want := makeRecord(r.Seq, 50)
		want.Text = strings.Repeat("x", record.TextLimit)
		if jsonOf(t, r) != jsonOf(t, &want) {
			return fmt.Errorf("record %d damaged", r.Seq)
		}
		seqs = append(seqs, r.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != stored {
		t.Errorf("%d records in the database, the writer committed %d", len(seqs), stored)
	}
}

func TestWriterErrors(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	// No BeginRun.
	w := db.NewRecordWriter("ghost", WriterOptions{})
	r := makeRecord(0, 1)
	w.Add(&r)
	if err := w.Close(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "BeginRun") {
		t.Errorf("writer of an unknown run: %v", err)
	}

	// A duplicate seq: that record is refused, the others stored.
	if err := db.BeginRun(ctx, testResult("d")); err != nil {
		t.Fatal(err)
	}
	w = db.NewRecordWriter("d", WriterOptions{})
	for _, seq := range []int64{0, 1, 1, 2} {
		r := makeRecord(seq, 2)
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "record seq 1 not saved") || !strings.Contains(err.Error(), "1 records of run d were not saved; 3 were") {
		t.Errorf("Close: %v", err)
	}
	if got := storedSeqs(t, db, "d", 2); len(got) != 3 {
		t.Errorf("stored %v, want 0 1 2", got)
	}

	// A time the database cannot hold, and nil: refused by Add.
	if err := db.BeginRun(ctx, testResult("e")); err != nil {
		t.Fatal(err)
	}
	w = db.NewRecordWriter("e", WriterOptions{})
	good, bad := makeRecord(0, 2), makeRecord(1, 2)
	bad.Sent = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := w.Add(&good); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&bad); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("Add of a year-9999 record: %v", err)
	}
	if err := w.Add(nil); err == nil {
		t.Error("Add(nil) succeeded")
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "outside") || !strings.Contains(err.Error(), "2 records of run e were not saved; 1 were") {
		t.Errorf("Close: %v", err)
	}

	// The run deleted under the writer (by another host's prune, say).
	if err := db.BeginRun(ctx, testResult("del")); err != nil {
		t.Fatal(err)
	}
	w = db.NewRecordWriter("del", WriterOptions{FlushInterval: 10 * time.Millisecond})
	first := makeRecord(0, 2)
	w.Add(&first)
	poll(t, "the first record", func() bool { return w.Stored() == 1 })
	if _, err := db.sql.Exec("DELETE FROM runs WHERE id = 'del'"); err != nil {
		t.Fatal(err)
	}
	for seq := range int64(3) {
		r := makeRecord(seq+1, 2)
		w.Add(&r)
	}
	if err := w.Close(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "deleted while it was being written") ||
		!strings.Contains(err.Error(), "3 records of run del were not saved; 1 were") {
		t.Errorf("Close: %v", err)
	}
}
