package store

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"flperf/internal/record"
)

// turnRecords are makeRecords as the turns of conversations of three:
// turn 1 uncached, later turns with a cached prefix.
func turnRecords() []record.Record {
	recs := makeRecords(30, 2)
	for i := range recs {
		r := &recs[i]
		r.Turn = i%3 + 1
		r.CachedTokens = 0
		if r.Turn > 1 && r.InputTokens > 10 {
			r.CachedTokens = r.InputTokens - 10
		}
	}
	return recs
}

// TestTurnsStoredAndRecomputed checks that turn and cached_tokens are
// stored and read back (full records, the statistics' scan), that the
// recomputed summary has the live one's per-turn figures, that export and
// import keep them, and that a negative turn is refused on import.
func TestTurnsStoredAndRecomputed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := turnRecords()
	res := writeRun(t, db, "r", recs)
	if len(res.Summary.Groups) == 0 || res.Summary.Groups[0].Turns == nil {
		t.Fatalf("the test run has no per-turn figures")
	}
	var got []record.Record
	if err := db.Records(ctx, "r", func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("records read back differ from those written")
	}
	i := 0
	if _, err := db.StatsRecords(ctx, "r", StatsScan{}, func(r *record.Record) {
		if r.Turn != recs[i].Turn || r.CachedTokens != recs[i].CachedTokens {
			t.Errorf("stats scan of record %d: turn %d cached %d, want %d, %d", i, r.Turn, r.CachedTokens, recs[i].Turn, recs[i].CachedTokens)
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

	doc, err := db.Export(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc.Records[1])
	if !strings.Contains(string(b), `"turn":2`) {
		t.Errorf("exported record lacks its turn: %s", b)
	}
	other := openTest(t)
	if err := other.Import(ctx, doc); err != nil {
		t.Fatal(err)
	}
	var back []record.Record
	if err := other.Records(ctx, "r", func(r *record.Record) error { back = append(back, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, recs) {
		t.Errorf("imported records differ from those exported")
	}
	doc.Records[4].Turn = -1
	if err := openTest(t).Import(ctx, doc); err == nil || !strings.Contains(err.Error(), "turn") {
		t.Errorf("import of a negative turn: %v, want an error naming turn", err)
	}
}

// TestMigrateTurns checks that records from before turnSchema read back
// as turn 0 and that the migrated database stores turns.
func TestMigrateTurns(t *testing.T) {
	ctx := context.Background()
	db := migratedFrom(t, turnSchema, turnRecords()) // the old schema cannot keep turns
	n := 0
	if err := db.Records(ctx, "before", func(r *record.Record) error {
		if r.Turn != 0 {
			t.Errorf("old record %d: turn %d, want 0", r.Seq, r.Turn)
		}
		n += r.CachedTokens
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("cached_tokens, stored since schema 1, were lost")
	}
	res, err := db.RecomputeRun(ctx, "before")
	if err != nil || res.Summary.Groups[0].Turns != nil {
		t.Errorf("old run recomputed (%v): turns %+v, want none", err, res.Summary.Groups[0].Turns)
	}
	writeRun(t, db, "after", turnRecords())
	if err := db.Records(ctx, "after", func(r *record.Record) error {
		if r.Turn == 0 {
			t.Errorf("new record %d: no turn", r.Seq)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
