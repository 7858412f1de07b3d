package store

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"flperf/internal/record"
)

// charRecords are makeRecords with their characters counted: the text's
// and a prompt length per scenario.
func charRecords() []record.Record {
	recs := makeRecords(60, 4)
	for i := range recs {
		r := &recs[i]
		r.TextChars = min(r.TextBytes, 7+i%13)
		r.PromptChars = 30 + len(r.Scenario)*3
	}
	return recs
}

// TestCharsStoredAndRecomputed checks that text_chars and prompt_chars are
// stored and read back (full records, the statistics' scan), that the
// recomputed summary states the same character figures as the live one,
// and that an import with more characters than bytes is refused.
func TestCharsStoredAndRecomputed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := charRecords()
	res := writeRun(t, db, "r", recs)
	if c := res.Summary.Total.Chars; c == nil || c.OutputChars == 0 || c.InputTokensPerChar == nil || res.Summary.Total.CharsPerS.N == 0 {
		t.Fatalf("the test run's character figures: %+v, chars/s n %d", c, res.Summary.Total.CharsPerS.N)
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
		if r.TextChars != recs[i].TextChars || r.PromptChars != recs[i].PromptChars {
			t.Errorf("stats scan of record %d: %d / %d chars, want %d / %d", i, r.TextChars, r.PromptChars, recs[i].TextChars, recs[i].PromptChars)
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
	doc.Records[3].TextChars = doc.Records[3].TextBytes + 1
	if err := openTest(t).Import(ctx, doc); err == nil || !strings.Contains(err.Error(), "text_chars") {
		t.Errorf("import of more characters than bytes: %v, want an error naming text_chars", err)
	}
}

// TestMigrateChars checks that records from before charsSchema read back
// with no character counts, that their run recomputes without character
// figures, and that the migrated database stores them.
func TestMigrateChars(t *testing.T) {
	ctx := context.Background()
	recs := charRecords()
	db := migratedFrom(t, charsSchema, recs) // the old schema cannot keep them
	if err := db.Records(ctx, "before", func(r *record.Record) error {
		if r.TextChars != 0 || r.PromptChars != 0 {
			t.Errorf("old record %d: %d / %d chars, want 0", r.Seq, r.TextChars, r.PromptChars)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := db.RecomputeRun(ctx, "before")
	if err != nil || res.Summary.Total.Chars != nil || res.Summary.Total.CharsPerS.N != 0 {
		t.Errorf("old run recomputed (%v): chars %+v, chars/s n %d; want none", err, res.Summary.Total.Chars, res.Summary.Total.CharsPerS.N)
	}
	live := writeRun(t, db, "after", recs)
	again, err := db.RecomputeRun(ctx, "after")
	if err != nil || jsonOf(t, again.Summary) != jsonOf(t, live.Summary) || live.Summary.Total.Chars == nil {
		t.Errorf("new run recomputed (%v) differs from the live summary", err)
	}
}
