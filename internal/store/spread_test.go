package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"testing"

	"flperf/internal/record"
)

// statsView is what StatsRecords gives of a record read whole: the fields
// the statistics use, chunks and server timings as cols asks.
func statsView(r record.Record, cols StatsScan) record.Record {
	v := r
	v.Seq, v.Worker, v.Stream, v.Attempt, v.Endpoint = 0, 0, false, 0, ""
	v.ChunkCount, v.ReasonChunk, v.EstOutTokens, v.CachedTokens = 0, 0, 0, 0
	v.Error, v.Text, v.TextBytes = "", "", 0
	if !cols.Chunks {
		v.Chunks = nil
	}
	if !cols.Server {
		v.Server = nil
	}
	return v
}

// StatsRecords feeds every record once, in seq order, with exactly the
// statistics' fields it was asked for, with one reader and several.
func TestStatsRecords(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var seqs []int64
	for s := int64(0); len(seqs) < 2*blockSeqs+50; s++ {
		if s%9 != 4 {
			seqs = append(seqs, s)
		}
	}
	writeRun(t, db, "r", variedRecords(seqs))
	if _, err := db.sql.Exec("UPDATE records SET server = ? WHERE run_id = 'r' AND seq % 7 = 1", []byte{0}); err != nil {
		t.Fatal(err) // some records with (empty) server timings
	}
	var whole []record.Record
	if err := db.Records(ctx, "r", func(r *record.Record) error { whole = append(whole, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	withServer := slices.ContainsFunc(whole, func(r record.Record) bool { return r.Server != nil })
	for _, procs := range []int{1, 4} {
		for _, cols := range []StatsScan{{}, {Chunks: true}, {Server: true}, allStats} {
			t.Run(fmt.Sprintf("GOMAXPROCS=%d/%+v", procs, cols), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				var got []record.Record
				n, err := db.StatsRecords(ctx, "r", cols, func(r *record.Record) {
					c := *r
					c.Chunks = slices.Clone(r.Chunks) // the scan reuses them
					got = append(got, c)
				})
				if err != nil || n != len(whole) || len(got) != len(whole) {
					t.Fatalf("%d records (%d fed), %v; want %d", n, len(got), err, len(whole))
				}
				for i := range whole {
					if w := statsView(whole[i], cols); !reflect.DeepEqual(got[i], w) {
						t.Fatalf("record %d:\n got %+v\nwant %+v", i, got[i], w)
					}
				}
			})
		}
	}
	if !withServer {
		t.Error("no record has server timings: the test checks too little")
	}
	if _, err := db.StatsRecords(ctx, "nope", StatsScan{}, func(*record.Record) {}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v, want ErrNotFound", err)
	}
}

// spreadOf is SpreadRecords' choice made the plain way: every record
// through Records, counting the measured ones of the model.
func spreadOf(t *testing.T, db *DB, id string, sp Spread) []record.Record {
	t.Helper()
	var out []record.Record
	i := 0
	err := db.Records(context.Background(), id, func(r *record.Record) error {
		if r.Warmup || (sp.Model != "" && r.Model != sp.Model) || len(out) >= sp.Limit {
			return nil
		}
		if i%max(sp.Stride, 1) == 0 {
			out = append(out, *r)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SpreadRecords chooses what counting through every record chooses, and
// reads those whole; at the schema before record_text too.
func TestSpreadRecords(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	old, err := open(ctx, loc(t, t.TempDir()+"/old.db"), openOptions{target: textSchema - 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	recs := makeRecords(1000, 3)
	for _, d := range []*DB{db, old} {
		writeRun(t, d, "r", recs)
		for _, sp := range []Spread{
			{Stride: 1, Limit: 5}, {Stride: 47, Limit: 20}, {Stride: 0, Limit: 3}, {Stride: 960, Limit: 20},
			{Stride: 5000, Limit: 20}, {Model: "m2", Stride: 24, Limit: 20}, {Model: "m1", Stride: 1, Limit: 2000},
			{Model: "none", Stride: 1, Limit: 20}, {Stride: 3, Limit: 0},
		} {
			var got []record.Record
			if err := d.SpreadRecords(ctx, "r", sp, func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
				t.Fatal(err)
			}
			want := spreadOf(t, d, "r", sp)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("schema %d, %+v: %d records, want %d", d.SchemaVersion(), sp, len(got), len(want))
			}
			if sp.Limit > 0 && sp.Model != "none" && (len(got) == 0 || got[0].Text == "" && got[0].Error == "") {
				t.Errorf("schema %d, %+v: %d records, the first without its text", d.SchemaVersion(), sp, len(got))
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := db.SpreadRecords(ctx, "r", Spread{Stride: 1, Limit: 10}, func(*record.Record) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("an error from fn: %v after %d calls", err, calls)
	}
	if err := db.SpreadRecords(ctx, "nope", Spread{Stride: 1, Limit: 1}, func(*record.Record) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v, want ErrNotFound", err)
	}
}
