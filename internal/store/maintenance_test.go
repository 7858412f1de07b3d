package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/runner"
)

func TestDeleteCascades(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	writeRun(t, db, "gone", makeRecords(20, 3))
	writeRun(t, db, "kept", makeRecords(10, 3))
	for _, id := range []string{"gone", "kept"} {
		if err := db.Event(ctx, id, LevelInfo, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"runs WHERE id", "records WHERE run_id", "summaries WHERE run_id", "events WHERE run_id"} {
		if n := count(t, db, "SELECT count(*) FROM "+table+" = 'gone'"); n != 0 {
			t.Errorf("%s: %d rows left", table, n)
		}
		if n := count(t, db, "SELECT count(*) FROM "+table+" = 'kept'"); n == 0 {
			t.Errorf("%s: the other run lost its rows", table)
		}
	}
	if err := db.Delete(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	// A run this (live) process is writing is refused.
	if err := db.BeginRun(ctx, testResult("busy")); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(ctx, "busy"); err == nil || !strings.Contains(err.Error(), "still being written") {
		t.Errorf("delete of a live run: %v", err)
	}
}

// setRun changes stored run fields directly, for tests.
func setRun(t *testing.T, db *DB, id, set string, args ...any) {
	t.Helper()
	if _, err := db.sql.Exec("UPDATE runs SET "+set+" WHERE id = ?", append(args, id)...); err != nil {
		t.Fatal(err)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Now()
	// r0 newest … r4 oldest (days old: 0, 2, 10, 20, 40).
	for i, days := range []int{0, 2, 10, 20, 40} {
		res := testResult("r" + string(rune('0'+i)))
		res.Started = now.Add(-time.Duration(days) * 24 * time.Hour)
		if err := db.BeginRun(ctx, res); err != nil {
			t.Fatal(err)
		}
		res.Status = runner.Completed
		if err := db.FinishRun(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	// An old run still being written by this live process.
	live := testResult("live")
	live.Started = now.Add(-100 * 24 * time.Hour)
	if err := db.BeginRun(ctx, live); err != nil {
		t.Fatal(err)
	}
	left := func() []string {
		runs, err := db.Runs(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if _, err := db.Prune(ctx, -1, 0); err == nil {
		t.Error("Prune with neither age nor count succeeded")
	}
	if n, err := db.Prune(ctx, 30*24*time.Hour, 0); err != nil || n != 1 || !slices.Equal(left(), []string{"r0", "r1", "r2", "r3", "live"}) {
		t.Errorf("older than 30d: %d %v, left %v", n, err, left())
	}
	// The live run ranks among the runs but is never deleted.
	if n, err := db.Prune(ctx, -1, 3); err != nil || n != 1 || !slices.Equal(left(), []string{"r0", "r1", "r2", "live"}) {
		t.Errorf("keep 3: %d %v, left %v", n, err, left())
	}
	// Both: older than 5 days, or beyond the newest 2.
	if n, err := db.Prune(ctx, 5*24*time.Hour, 2); err != nil || n != 1 || !slices.Equal(left(), []string{"r0", "r1", "live"}) {
		t.Errorf("older than 5d or beyond 2: %d %v, left %v", n, err, left())
	}
	// Once its writer is dead, the old running run goes too.
	setRun(t, db, "live", "owner_host = 'elsewhere', heartbeat = ?", now.Add(-time.Hour).UnixNano())
	if n, err := db.Prune(ctx, 50*24*time.Hour, 0); err != nil || n != 1 || !slices.Equal(left(), []string{"r0", "r1"}) {
		t.Errorf("dead old run: %d %v, left %v", n, err, left())
	}
	// Age 0: every run started before now, the newest included; a live
	// run stays.
	live2 := testResult("live2")
	if err := db.BeginRun(ctx, live2); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Prune(ctx, 0, 0); err != nil || n != 2 || !slices.Equal(left(), []string{"live2"}) {
		t.Errorf("older than 0s: %d %v, left %v", n, err, left())
	}
}

func TestBackup(t *testing.T) {
	sqliteOnly(t, "VACUUM INTO copies an SQLite file (PostgreSQL: pg_dump; TestPostgresBackupRefused)")
	ctx := context.Background()
	dir := t.TempDir()
	db := openAt(t, filepath.Join(dir, "flperf.db"))
	writeRun(t, db, "a", makeRecords(200, 10))
	// A run being written while the backup is taken.
	if err := db.BeginRun(ctx, testResult("b")); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("b", WriterOptions{FlushInterval: 10 * time.Millisecond})
	t.Cleanup(func() { w.Close() })
	for seq := range int64(100) {
		r := makeRecord(seq, 4)
		w.Add(&r)
	}
	poll(t, "records committed", func() bool { return w.Stored() == 100 })
	dest := filepath.Join(dir, "copy.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v", fi, err)
	}
	cp := openAt(t, dest)
	if got := storedSeqs(t, cp, "a", 10); len(got) != 200 {
		t.Errorf("backup holds %d records of a", len(got))
	}
	if got := storedSeqs(t, cp, "b", 4); len(got) != 100 {
		t.Errorf("backup holds %d records of b", len(got))
	}
	runs, _ := cp.Runs(ctx, Filter{})
	if len(runs) != 2 {
		t.Errorf("backup holds %d runs", len(runs))
	}
	// An existing destination is refused and untouched.
	if err := os.WriteFile(filepath.Join(dir, "taken"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dest, filepath.Join(dir, "taken"), filepath.Join(dir, "no", "such", "dir.db"), ""} {
		if err := db.Backup(ctx, d); err == nil {
			t.Errorf("backup to %q succeeded", d)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "taken")); string(b) != "mine" {
		t.Error("an existing file was overwritten")
	}
}

func TestStaleRunsMarkedAtOpen(t *testing.T) {
	sqliteOnly(t, "fabricates running rows with no writer session; PostgreSQL judges the writer by its lock (TestPostgresStaleByLock)")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flperf.db")
	db := openAt(t, path)
	// A pid that surely no longer exists: a finished, reaped child.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := cmd.ProcessState.Pid()
	now := time.Now()
	for _, id := range []string{"dead-pid", "old-beat", "other-host", "mine"} {
		if err := db.BeginRun(ctx, testResult(id)); err != nil {
			t.Fatal(err)
		}
	}
	setRun(t, db, "dead-pid", "owner_pid = ?", deadPID)
	setRun(t, db, "old-beat", "owner_host = 'elsewhere', heartbeat = ?", now.Add(-3*time.Minute).UnixNano())
	setRun(t, db, "other-host", "owner_host = 'elsewhere', owner_pid = ?, heartbeat = ?", deadPID, now.UnixNano())
	db.Close()

	db = openAt(t, path)
	for id, want := range map[string]runner.Status{
		"dead-pid":   runner.Interrupted, // same host, process gone
		"old-beat":   runner.Interrupted, // no heartbeat for 3 minutes
		"other-host": Running,            // a pid of another host says nothing; its heartbeat is fresh
		"mine":       Running,            // this live process
	} {
		res, err := db.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != want {
			t.Errorf("%s: %s, want %s", id, res.Status, want)
		}
		evs, _ := db.Events(ctx, id)
		if marked := len(evs) == 1 && strings.Contains(evs[0].Message, "marked interrupted"); marked != (want == runner.Interrupted) {
			t.Errorf("%s: events %+v", id, evs)
		}
		if want == runner.Interrupted && (res.Ended.IsZero() || !strings.Contains(strings.Join(res.Warnings, " "), "stopped before it finished")) {
			t.Errorf("%s: ended %v warnings %q", id, res.Ended, res.Warnings)
		}
	}
}
