package store

import (
	"context"
	"strings"
	"testing"

	"flperf/internal/runner"
)

// TestFinishRunFailureLeavesRunDead checks a run of this very process whose
// final save failed (a full disk: here a trigger refuses its summaries):
// while it is being written MarkStale leaves it running, and once FinishRun
// has failed MarkStale marks it interrupted at once (no 2-minute heartbeat
// wait, although its process lives), saying why, so that what the app shows
// is what a later reader finds.
func TestFinishRunFailureLeavesRunDead(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	res := testResult("unsaved")
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		t.Helper()
		var st string
		if err := db.sql.QueryRow("SELECT status FROM runs WHERE id = ?", res.ID).Scan(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if err := db.MarkStale(ctx); err != nil || status() != "running" {
		t.Fatalf("a run being written: %v, %s; want it left running", err, status())
	}
	trigger := `CREATE TRIGGER full BEFORE INSERT ON summaries BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`
	if onPostgres {
		trigger = `CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$;
			CREATE TRIGGER full_disk BEFORE INSERT ON summaries FOR EACH ROW EXECUTE FUNCTION disk_full()`
	}
	if _, err := db.sql.Exec(trigger); err != nil {
		t.Fatal(err)
	}
	res.Status = runner.Interrupted
	if err := db.FinishRun(ctx, res); err == nil {
		t.Fatal("FinishRun succeeded despite the trigger")
	}
	if st := status(); st != "running" {
		t.Fatalf("after the failed FinishRun the run is %s, want still running (nothing saved)", st)
	}
	if err := db.MarkStale(ctx); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != "interrupted" {
		t.Errorf("MarkStale left the unsaved run %s, want interrupted", st)
	}
	evs, err := db.Events(ctx, res.ID)
	if err != nil || len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Message, "final save failed") {
		t.Errorf("events %v, %v; want one saying the final save failed", evs, err)
	}
}
