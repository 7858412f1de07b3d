package store

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"flperf/internal/record"
)

// inputLenRecords are makeRecords asking for input lengths, by method.
func inputLenRecords() []record.Record {
	recs := makeRecords(40, 4)
	methods := []string{"tokenizer", "calibration", "gguf", "estimate"}
	for i := range recs {
		r := &recs[i]
		if i%5 == 4 {
			continue // a request of a scenario without input_tokens
		}
		r.RequestedInputTokens = r.InputTokens + i%3 // some off by a token or two
		r.InputLengthMethod = methods[i%4]
	}
	return recs
}

// TestInputLengthStored: requested_input_tokens and input_length_method
// are stored and read back (full records, the statistics' scan), the
// recomputed summary states the live one's input-length figures, export
// and import keep them, and an import with an unknown method or a negative
// length is refused naming the field.
func TestInputLengthStored(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	recs := inputLenRecords()
	res := writeRun(t, db, "r", recs)
	if f := res.Summary.Total.InputLength; f == nil || f.N == 0 {
		t.Fatalf("the test run's input-length figures: %+v", f)
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
		if r.RequestedInputTokens != recs[i].RequestedInputTokens {
			t.Errorf("stats scan of record %d: requested %d, want %d", i, r.RequestedInputTokens, recs[i].RequestedInputTokens)
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
	other := openTest(t)
	if err := other.Import(ctx, doc); err != nil {
		t.Fatal(err)
	}
	var imported []record.Record
	if err := other.Records(ctx, "r", func(r *record.Record) error { imported = append(imported, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(imported, recs) {
		t.Errorf("imported records differ")
	}
	doc.Records[2].InputLengthMethod = "guess"
	doc.Records[3].RequestedInputTokens = -1
	err = openTest(t).Import(ctx, doc)
	if err == nil || !strings.Contains(err.Error(), "records[2].input_length_method") || !strings.Contains(err.Error(), "records[3].requested_input_tokens") {
		t.Errorf("import of a bad method and length: %v", err)
	}
}

// TestMigrateInputLength: records from before inputLenSchema read back with
// no requested length, and the migrated database stores them.
func TestMigrateInputLength(t *testing.T) {
	ctx := context.Background()
	recs := inputLenRecords()
	db := migratedFrom(t, inputLenSchema, recs)
	if err := db.Records(ctx, "before", func(r *record.Record) error {
		if r.RequestedInputTokens != 0 || r.InputLengthMethod != "" {
			t.Errorf("old record %d: %d %q, want none", r.Seq, r.RequestedInputTokens, r.InputLengthMethod)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if res, err := db.RecomputeRun(ctx, "before"); err != nil || res.Summary.Total.InputLength != nil {
		t.Errorf("old run recomputed (%v) with input-length figures", err)
	}
	live := writeRun(t, db, "after", recs)
	again, err := db.RecomputeRun(ctx, "after")
	if err != nil || jsonOf(t, again.Summary) != jsonOf(t, live.Summary) || live.Summary.Total.InputLength == nil {
		t.Errorf("new run recomputed (%v) differs from the live summary", err)
	}
}
