package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
)

// userRetriedRecords are makeRecords with user retries (flperf run
// --retries): every fifth record a 429 that the next record retried, a
// third of those retries ok (recovered), warm-ups included.
func userRetriedRecords() []record.Record {
	recs := makeRecords(90, 3)
	for i := 1; i+1 < len(recs); i += 5 {
		first, retry := &recs[i], &recs[i+1]
		*first = record.Record{Seq: first.Seq, Model: first.Model, Scenario: first.Scenario, Stage: first.Stage, Worker: first.Worker,
			Warmup: first.Warmup, Stream: first.Stream, MaxTok: first.MaxTok, Endpoint: first.Endpoint,
			Scheduled: first.Scheduled, Sent: first.Sent, FirstByte: first.FirstByte, End: first.FirstByte,
			Outcome: record.HTTPError, Status: 429, Phase: record.PhaseHeaders, Error: "rate limited", Retried: true}
		retry.Attempt, retry.RetryOf = 1, first.Seq
		retry.RetryWait = time.Duration(i+1) * 7 * time.Millisecond
		if i%3 != 1 {
			retry.Outcome, retry.Status, retry.Phase = record.HTTPError, 503, record.PhaseHeaders
		}
	}
	return recs
}

// TestUserRetriesStoredAndRecomputed checks that each record's attempt,
// link, retried mark and retry wait are stored and read back (full records
// and the statistics' scan), and that the summary recomputed from the
// stored records states the same retry figures as the live one.
func TestUserRetriesStoredAndRecomputed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := userRetriedRecords()
	res := writeRun(t, db, "r", recs)
	if f := res.Summary.Total.Retries; f == nil || f.Recovered == 0 || f.FailedAfterRetries == 0 {
		t.Fatalf("the test run's retry figures: %+v", f)
	}
	var got []record.Record
	if err := db.Records(ctx, "r", func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		for i := range got {
			if !reflect.DeepEqual(got[i], recs[i]) {
				t.Fatalf("record %d read back\n got %+v\nwant %+v", i, got[i], recs[i])
			}
		}
		t.Fatalf("records read back differ from those written")
	}
	i := 0
	if _, err := db.StatsRecords(ctx, "r", StatsScan{}, func(r *record.Record) {
		w := &recs[i]
		if r.Attempt != w.Attempt || r.Retried != w.Retried || r.RetryWait != w.RetryWait {
			t.Errorf("stats scan of record %d: attempt %d retried %v wait %v; want %d, %v, %v", i, r.Attempt, r.Retried, r.RetryWait, w.Attempt, w.Retried, w.RetryWait)
		}
		i++
	}); err != nil {
		t.Fatal(err)
	}
	again, err := db.RecomputeRun(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := jsonOf(t, again.Summary), jsonOf(t, res.Summary); g != w {
		t.Errorf("recomputed summary differs from the live one:\n got %s\nwant %s", g, w)
	}
	if n := count(t, db, "SELECT count(*) FROM records WHERE run_id = 'r' AND retry_of IS NOT NULL"); n != 18 {
		t.Errorf("%d records with retry_of, want 18", n)
	}
}

// TestMigrateUserRetries checks that records from before userRetrySchema
// read back with no link, retried mark or retry wait (the attempt column is
// older and kept), and that their run still recomputes.
func TestMigrateUserRetries(t *testing.T) {
	ctx := context.Background()
	recs := userRetriedRecords()
	db := migratedFrom(t, userRetrySchema, recs) // the old schema cannot keep them
	i := 0
	if err := db.Records(ctx, "before", func(r *record.Record) error {
		if r.Attempt != recs[i].Attempt || r.RetryOf != 0 || r.Retried || r.RetryWait != 0 {
			t.Errorf("old record %d: attempt %d retry_of %d retried %v wait %v", r.Seq, r.Attempt, r.RetryOf, r.Retried, r.RetryWait)
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecomputeRun(ctx, "before"); err != nil {
		t.Errorf("old run: %v", err)
	}
	live := writeRun(t, db, "after", recs)
	res, err := db.RecomputeRun(ctx, "after")
	if err != nil || jsonOf(t, res.Summary) != jsonOf(t, live.Summary) {
		t.Errorf("new run recomputed (%v) differs from the live summary", err)
	}
}

// TestImportRetries checks that an exported run with retries imports as it
// was, and that an import whose retry fields no run could have written (a
// negative wait, a link to a later record) is refused, naming the field.
func TestImportRetries(t *testing.T) {
	ctx := context.Background()
	src := openTest(t)
	live := writeRun(t, src, "retried", userRetriedRecords())
	doc, err := src.Export(ctx, "retried")
	if err != nil {
		t.Fatal(err)
	}
	dst := openTest(t)
	if err := dst.Import(ctx, doc); err != nil {
		t.Fatal(err)
	}
	res, err := dst.RecomputeRun(ctx, "retried")
	if err != nil || jsonOf(t, res.Summary) != jsonOf(t, live.Summary) {
		t.Errorf("imported run recomputed (%v) differs from the live summary", err)
	}
	for _, tc := range []struct {
		edit  func(r *record.Record)
		field string
	}{
		{func(r *record.Record) { r.RetryWait = -time.Second }, "retry_wait_ns"},
		{func(r *record.Record) { r.RetryOf = r.Seq + 1 }, "retry_of"},
	} {
		bad := *doc
		bad.ID = "bad-" + tc.field
		bad.Records = append([]record.Record(nil), doc.Records...)
		tc.edit(&bad.Records[2]) // a retry (Attempt 1)
		if err := dst.Import(ctx, &bad); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("import with a bad %s: %v", tc.field, err)
		}
	}
}
