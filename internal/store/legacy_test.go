package store

import (
	"context"
	"path/filepath"
	"testing"

	"flperf/internal/legacy/legacytest"
	"flperf/internal/legacy/original"
	"flperf/internal/runner"
)

// TestImportLegacyAllOrNothing: the runs of one file are stored in one
// transaction (a failure on the second run leaves the first out too), a
// second import adds nothing, and Run gives back the legacy block with an
// empty summary.
func TestImportLegacyAllOrNothing(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "storage.json")
	if err := legacytest.WriteStorage(src, nil); err != nil {
		t.Fatal(err)
	}
	f, err := original.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	db := openAt(t, filepath.Join(t.TempDir(), "flperf.db"))
	// The second run's insert fails inside the transaction.
	trigger := `CREATE TRIGGER refuse BEFORE INSERT ON runs WHEN NEW.id = 'legacy-` + legacytest.RunUnstreamed + `'
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`
	drop := `DROP TRIGGER refuse`
	if onPostgres {
		trigger = `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
			CREATE TRIGGER refuse BEFORE INSERT ON runs FOR EACH ROW WHEN (NEW.id = 'legacy-` + legacytest.RunUnstreamed + `') EXECUTE FUNCTION refuse()`
		drop = `DROP TRIGGER refuse ON runs`
	}
	if _, err := db.sql.ExecContext(ctx, trigger); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportLegacy(ctx, f.Runs); err == nil {
		t.Fatal("import succeeded through a refused insert")
	}
	if runs, err := db.Runs(ctx, Filter{}); err != nil || len(runs) != 0 {
		t.Fatalf("after a failed import: %d runs (%v), want none", len(runs), err)
	}
	if _, err := db.sql.ExecContext(ctx, drop); err != nil {
		t.Fatal(err)
	}
	res, err := db.ImportLegacy(ctx, f.Runs)
	if err != nil || len(res.Added) != 2 || len(res.Present) != 0 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	res, err = db.ImportLegacy(ctx, f.Runs)
	if err != nil || len(res.Added) != 0 || len(res.Present) != 2 {
		t.Fatalf("second import: %+v, %v", res, err)
	}
	runs, err := db.Runs(ctx, Filter{})
	if err != nil || len(runs) != 2 || !runs[0].Legacy || runs[0].Requests != nil {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	r, err := db.Run(ctx, "legacy-"+legacytest.RunStreamed)
	if err != nil {
		t.Fatal(err)
	}
	if r.Legacy == nil || len(r.Legacy.Results) != 2 || *r.Legacy.Results[0].TPS != legacytest.TPS || r.Records != 0 || len(r.Groups) != 0 {
		t.Fatalf("run read back: legacy %+v, %d records, %d groups", r.Legacy, r.Records, len(r.Groups))
	}
}

// TestPruneKeepsLegacyRuns: imported runs of the original FLPerformance
// carry its start dates (months old), so an age rule would erase an import
// at once: prune neither deletes nor counts them; delete removes one.
func TestPruneKeepsLegacyRuns(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "storage.json")
	if err := legacytest.WriteStorage(src, nil); err != nil {
		t.Fatal(err)
	}
	f, err := original.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	db := openAt(t, filepath.Join(t.TempDir(), "flperf.db"))
	if _, err := db.ImportLegacy(ctx, f.Runs); err != nil {
		t.Fatal(err)
	}
	own := testResult("own")
	if err := db.BeginRun(ctx, own); err != nil {
		t.Fatal(err)
	}
	own.Status = runner.Completed
	if err := db.FinishRun(ctx, own); err != nil {
		t.Fatal(err)
	}
	count := func() (legacy, others int) {
		runs, err := db.Runs(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Legacy {
				legacy++
			} else {
				others++
			}
		}
		return
	}
	if n, err := db.Prune(ctx, -1, 1); err != nil || n != 0 {
		t.Errorf("keep 1 with one run of flperf's own: deleted %d (%v), want 0", n, err)
	}
	if n, err := db.Prune(ctx, 0, 0); err != nil || n != 1 {
		t.Errorf("older than 0s: deleted %d (%v), want flperf's own run only", n, err)
	}
	if l, o := count(); l != 2 || o != 0 {
		t.Errorf("after pruning: %d legacy runs and %d others, want 2 and 0", l, o)
	}
	if err := db.Delete(ctx, "legacy-"+legacytest.RunStreamed); err != nil {
		t.Fatal(err)
	}
	if l, _ := count(); l != 1 {
		t.Errorf("after deleting one: %d legacy runs, want 1", l)
	}
}
