package store

import (
	"context"
	"reflect"
	"testing"

	"flperf/internal/record"
)

// retriedRecords are makeRecords with connection retries on some records,
// ok and failed, warm-up and measured.
func retriedRecords() []record.Record {
	recs := makeRecords(90, 3)
	for i := range recs {
		if i%4 == 1 || i == 25 || i == 29 {
			recs[i].ConnRetries = 1 + i%3
		}
	}
	return recs
}

// TestConnRetriesStoredAndRecomputed checks that each record's connection
// retries are stored and read back, and that the summary recomputed from
// the stored records counts them as the live summary did, per group, per
// model and for the run.
func TestConnRetriesStoredAndRecomputed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := retriedRecords()
	res := writeRun(t, db, "r", recs)
	if res.Summary.Total.ConnRetries == 0 {
		t.Fatal("the test run has no connection retries")
	}
	var got []record.Record
	if err := db.Records(ctx, "r", func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("records read back differ from those written")
	}
	again, err := db.RecomputeRun(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := jsonOf(t, again.Summary), jsonOf(t, res.Summary); g != w {
		t.Errorf("recomputed summary differs from the live one:\n got %s\nwant %s", g, w)
	}
	for i, g := range again.Summary.Groups {
		if g.ConnRetries != res.Summary.Groups[i].ConnRetries {
			t.Errorf("group %s/%s: %d connection retries, live %d", g.Model, g.Scenario, g.ConnRetries, res.Summary.Groups[i].ConnRetries)
		}
	}
	stored, err := db.Run(ctx, "r")
	if err != nil || stored.Summary.Total.ConnRetries != res.Summary.Total.ConnRetries {
		t.Errorf("stored summary: %v connection retries (%v), want %d", stored.Summary.Total.ConnRetries, err, res.Summary.Total.ConnRetries)
	}
}

// TestMigrateConnRetries checks that a database from before retrySchema
// gains the column with 0 for every record it held, and that records
// written afterwards keep theirs.
func TestMigrateConnRetries(t *testing.T) {
	ctx := context.Background()
	db := migratedFrom(t, retrySchema, retriedRecords()) // the old schema cannot keep them
	if n := count(t, db, "SELECT count(*) FROM records WHERE run_id = 'before' AND connection_retries != 0"); n != 0 {
		t.Errorf("%d old records with connection retries, want 0", n)
	}
	res, err := db.RecomputeRun(ctx, "before")
	if err != nil || res.Summary.Total.ConnRetries != 0 {
		t.Errorf("old run: %v connection retries (%v), want 0", res.Summary.Total.ConnRetries, err)
	}
	recs := retriedRecords()
	live := writeRun(t, db, "after", recs)
	res, err = db.RecomputeRun(ctx, "after")
	if err != nil || res.Summary.Total.ConnRetries != live.Summary.Total.ConnRetries || live.Summary.Total.ConnRetries == 0 {
		t.Errorf("new run: %v connection retries (%v), live %d", res.Summary.Total.ConnRetries, err, live.Summary.Total.ConnRetries)
	}
}
