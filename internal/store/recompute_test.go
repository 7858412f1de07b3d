package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// variedRecords returns n records at the given seqs (ascending), of two
// models, four scenarios and two stages: makeRecord's ok streams, failures
// and warm-ups, with hostile values mixed in (unknown outcomes, sources and
// phases, statuses, out-of-order chunks, quantized and arbitrary gaps).
func variedRecords(seqs []int64) []record.Record {
	rng := rand.New(rand.NewPCG(11, 12))
	recs := make([]record.Record, len(seqs))
	for i, seq := range seqs {
		r := makeRecord(int64(i), 2+rng.IntN(60))
		r.Seq = seq
		r.Scenario = fmt.Sprintf("s%d", rng.IntN(4))
		r.Stage = []string{"", "c=8"}[rng.IntN(2)]
		switch rng.IntN(12) {
		case 0:
			r.Outcome, r.Phase = "bogus", "odd\nphase"
		case 1:
			r.Outcome, r.Phase = record.Timeout, []record.Phase{record.PhaseStream, "weird", ""}[rng.IntN(3)]
		case 2:
			r.Outcome, r.Status = record.HTTPError, []int{0, 429, 500, 503}[rng.IntN(4)]
		case 3:
			r.OutputSource, r.InputSource = "nonsense", record.SourceNone
		case 4:
			r.OutputSource, r.EngineOutTokens = record.SourceUsage, r.OutputTokens+rng.IntN(9)
		case 5:
			r.Outcome = record.Canceled
		case 6:
			for j := range r.Chunks { // arbitrary ns gaps, some backwards
				r.Chunks[j].At = time.Duration(rng.Int64N(int64(3*time.Second))) - time.Second
			}
		case 7:
			r.FinishReason = "stop"
		}
		recs[i] = r
	}
	return recs
}

// summaryOfRecords summarises run id's records as Records reads them (the
// plain path, one record at a time).
func summaryOfRecords(t *testing.T, db *DB, id string, slo stats.SLO) stats.Summary {
	t.Helper()
	var agg stats.Aggregator
	if err := db.Records(context.Background(), id, func(r *record.Record) error { agg.Add(r); return nil }); err != nil {
		t.Fatal(err)
	}
	return agg.Summary(stats.Options{SLO: slo})
}

// TestRunMatchesThePlainPath holds the recomputation (readers in parallel
// over blocks of seqs, lean records, batched) to the plain path: the
// summary of the records Records returns, and the summary of the records
// in memory, bit for bit (as JSON), with one reader and several.
func TestRunMatchesThePlainPath(t *testing.T) {
	db := openTest(t)
	var seqs []int64
	for s := int64(0); len(seqs) < 3*blockSeqs+301; s++ {
		if s%7 != 3 { // gaps
			seqs = append(seqs, s)
		}
	}
	recs := variedRecords(seqs)
	res := writeRun(t, db, "big", recs) // its live summary: recs in seq order
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			got, err := db.RecomputeRun(context.Background(), "big")
			if err != nil {
				t.Fatal(err)
			}
			if got.Records != len(recs) {
				t.Errorf("%d records read, want %d", got.Records, len(recs))
			}
			g := jsonOf(t, got.Summary)
			if w := jsonOf(t, res.Summary); g != w {
				t.Errorf("recomputed summary differs from the summary of the records in memory:\n got %s\nwant %s", g, w)
			}
			if w := jsonOf(t, summaryOfRecords(t, db, "big", got.Config.SLO)); g != w {
				t.Errorf("recomputed summary differs from the summary of Records:\n got %s\nwant %s", g, w)
			}
		})
	}
	if len(res.Summary.Groups) != 16 || res.Summary.Total.ITL.N == 0 {
		t.Errorf("the test run is too plain: %d groups, %d ITL samples", len(res.Summary.Groups), res.Summary.Total.ITL.N)
	}
}

// Seqs far apart (hostile or imported) still make a bounded number of
// blocks, and every record is read once.
func TestRunWithExtremeSeqs(t *testing.T) {
	db := openTest(t)
	seqs := []int64{math.MinInt64, math.MinInt64 + 1, -5, 0, 1, 2, 3 * blockSeqs, 1 << 40, math.MaxInt64 - 1, math.MaxInt64}
	recs := variedRecords(seqs)
	res := writeRun(t, db, "far", recs)
	for _, procs := range []int{1, 4} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			got, err := db.RecomputeRun(context.Background(), "far")
			if err != nil {
				t.Fatal(err)
			}
			if got.Records != len(recs) || jsonOf(t, got.Summary) != jsonOf(t, res.Summary) {
				t.Errorf("GOMAXPROCS=%d: %d records; summary %s, want %s", procs, got.Records, jsonOf(t, got.Summary), jsonOf(t, res.Summary))
			}
		}()
	}
	// One record, and none.
	writeRun(t, db, "one", variedRecords([]int64{42}))
	if got, err := db.RecomputeRun(context.Background(), "one"); err != nil || got.Records != 1 {
		t.Errorf("one record: %v records, %v", got.Records, err)
	}
	writeRun(t, db, "none", nil)
	if got, err := db.RecomputeRun(context.Background(), "none"); err != nil || got.Records != 0 || got.Summary.Total.Requests != 0 {
		t.Errorf("no records: %+v, %v", got, err)
	}
}

func TestSeqBlocksCoverTheSpan(t *testing.T) {
	for _, c := range []struct {
		lo, hi int64
	}{{0, 0}, {0, 99_999}, {-3, 5}, {math.MinInt64, math.MaxInt64}, {math.MaxInt64 - 10, math.MaxInt64}, {0, blockSeqs*maxBlocks*3 + 17}} {
		span := uint64(c.hi - c.lo)
		n := min(span/blockSeqs+1, maxBlocks)
		b := seqBlocks{lo: c.lo, span: span, width: span/n + 1, n: n}
		next := c.lo // the first seq not yet covered
		done := false
		for k := range n {
			first, last, ok := b.bounds(k)
			if !ok {
				if !done {
					t.Fatalf("%+v: block %d of %d is empty before the span is covered", c, k, n)
				}
				continue
			}
			if done || first != next || last < first || last > c.hi {
				t.Fatalf("%+v: block %d is [%d, %d], want it to start at %d and stay within", c, k, first, last, next)
			}
			if last == c.hi {
				done = true
			} else {
				next = last + 1
			}
		}
		if !done {
			t.Errorf("%+v: %d blocks do not reach %d", c, n, c.hi)
		}
	}
}

// A damaged chunk blob fails a recomputation with errChunkBlob, whichever
// reader meets it, and a canceled context fails it too; neither hangs.
func TestRunReadErrors(t *testing.T) {
	db := openTest(t)
	recs := makeRecords(4*blockSeqs, 5)
	writeRun(t, db, "bad", recs)
	if _, err := db.sql.Exec("UPDATE records SET chunks = ? WHERE run_id = 'bad' AND seq = ?", []byte{2, 1}, 3*blockSeqs+7); err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, 4} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			if _, err := db.RecomputeRun(context.Background(), "bad"); !errors.Is(err, errChunkBlob) {
				t.Errorf("GOMAXPROCS=%d: damaged blob: %v, want errChunkBlob", procs, err)
			}
		}()
	}
	writeRun(t, db, "ok", recs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, read := range []func(context.Context, string) (*runner.Result, error){db.Run, db.RecomputeRun} {
		if _, err := read(ctx, "ok"); err == nil {
			t.Error("reading a run with a canceled context succeeded")
		}
	}
}

// v1Blob encodes chunks in the first, all-varint layout, as flperf wrote
// them before chunkBlobFixed.
func v1Blob(cs []record.Chunk) []byte {
	dst := []byte{chunkBlobV1}
	dst = binary.AppendUvarint(dst, uint64(len(cs)))
	var prev int64
	for _, c := range cs {
		dst = binary.AppendVarint(dst, int64(c.At)-prev)
		dst = binary.AppendVarint(dst, int64(c.Tokens))
		dst = binary.AppendVarint(dst, int64(c.Est))
		prev = int64(c.At)
	}
	return dst
}

func TestChunkBlobLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		cs := make([]record.Chunk, 1+rng.IntN(40))
		for j := range cs {
			switch i % 4 {
			case 0: // a stream: small tokens and estimates, ms gaps
				cs[j] = record.Chunk{At: time.Duration(j) * 20 * msec, Tokens: 1, Est: 1 + rng.IntN(3)}
			case 1: // any values at all
				cs[j] = record.Chunk{At: time.Duration(rng.Uint64()), Tokens: int(rng.Uint64()), Est: int(rng.Uint64())}
			default: // values of every width
				w := uint(rng.IntN(64))
				cs[j] = record.Chunk{At: time.Duration(rng.Int64() >> w), Tokens: int(rng.Int64() >> (63 - w%63)), Est: -int(rng.Int64() >> w)}
			}
		}
		fixed := appendChunkBlob(nil, cs)
		if fixed[0] != chunkBlobFixed {
			t.Fatalf("written as layout %d", fixed[0])
		}
		for _, blob := range [][]byte{fixed, v1Blob(cs)} {
			got, err := appendDecodeChunks(nil, blob)
			if err != nil || !reflect.DeepEqual(got, cs) {
				t.Fatalf("layout %d: %v %v, want %v", blob[0], got, err, cs)
			}
			// Every truncation and extension is refused, never a panic.
			for _, bad := range [][]byte{blob[:len(blob)-1], append(slices.Clip(blob), 0)} {
				if _, err := appendDecodeChunks(nil, bad); !errors.Is(err, errChunkBlob) {
					t.Fatalf("layout %d, %d of %d bytes: %v", blob[0], len(bad), len(blob), err)
				}
			}
		}
		if i%4 == 0 && len(fixed) > len(v1Blob(cs))+4 {
			t.Errorf("a stream of %d chunks takes %d bytes, %d as varints", len(cs), len(fixed), len(v1Blob(cs)))
		}
	}
	for name, b := range map[string][]byte{
		"no chunks":  {chunkBlobFixed, 0, 0, 1, 1, 1},
		"width 0":    {chunkBlobFixed, 1, 0, 0, 1, 1, 0, 0},
		"width 9":    {chunkBlobFixed, 1, 0, 1, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"no widths":  {chunkBlobFixed, 1, 0, 1, 1},
		"huge count": {chunkBlobFixed, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 8, 8, 8},
	} {
		if _, err := appendDecodeChunks(nil, b); !errors.Is(err, errChunkBlob) {
			t.Errorf("%s: %v, want errChunkBlob", name, err)
		}
	}
}

// A database at the schema before textSchema, with texts and errors,
// keeps them through the move to record_text, where only records that have
// one get a row.
func TestMigrateTextToItsTable(t *testing.T) {
	sqliteOnly(t, "reads pragma_table_info")
	ctx := context.Background()
	path := t.TempDir() + "/flperf.db"
	old, err := open(ctx, loc(t, path), openOptions{target: textSchema - 1})
	if err != nil {
		t.Fatal(err)
	}
	recs := makeRecords(60, 3)
	recs[4].Text, recs[4].Error = "", "" // neither
	recs[5].Error = "both an error\x00 and a text"
	writeRun(t, old, "r", recs)
	if n := count(t, old, "SELECT count(*) FROM pragma_table_info('records') WHERE name IN ('error', 'text')"); n != 2 {
		t.Fatalf("schema %d has %d of error and text in records", textSchema-1, n)
	}
	old.Close()

	db := openAt(t, path)
	if db.SchemaVersion() != LatestSchema() || LatestSchema() < textSchema {
		t.Fatalf("at schema %d", db.SchemaVersion())
	}
	if n := count(t, db, "SELECT count(*) FROM pragma_table_info('records') WHERE name IN ('error', 'text')"); n != 0 {
		t.Errorf("records still has %d of error and text", n)
	}
	withText := 0
	for _, r := range recs {
		if r.Error != "" || r.Text != "" {
			withText++
		}
	}
	if n := count(t, db, "SELECT count(*) FROM record_text WHERE run_id = 'r'"); n != withText {
		t.Errorf("%d record_text rows, want %d", n, withText)
	}
	var got []record.Record
	if err := db.Records(ctx, "r", func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("records after the migration differ:\n got %+v\nwant %+v", got, recs)
	}
	res, err := db.Run(ctx, "r")
	if err != nil || jsonOf(t, res.Summary) != jsonOf(t, summaryOfRecords(t, db, "r", res.Config.SLO)) {
		t.Errorf("recomputed summary after the migration: %v", err)
	}
	// Deleting the run deletes its texts.
	if err := db.Delete(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM record_text"); n != 0 {
		t.Errorf("%d record_text rows left after Delete", n)
	}
}

// A refused duplicate seq leaves the first record's text alone.
func TestDuplicateSeqKeepsTheFirstText(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.BeginRun(ctx, testResult("d")); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("d", WriterOptions{})
	recs := makeRecords(40, 2)
	dup := recs[7]
	dup.Text, dup.Error = "the duplicate's text", "the duplicate's error"
	for i := range recs {
		w.Add(&recs[i])
		if i == 20 {
			w.Add(&dup)
		}
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "record seq 7 not saved") {
		t.Fatalf("Close: %v", err)
	}
	var got []record.Record
	if err := db.Records(ctx, "d", func(r *record.Record) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("stored records differ from the first ones written")
	}
}

// Readers on snapshots other than the caller's are used only when they
// show the same run: records written after the caller's snapshot began are
// not counted, and nothing is fed twice.
func TestRecomputeKeepsTheCallersSnapshot(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	db := openTest(t)
	ctx := context.Background()
	recs := makeRecords(3*blockSeqs, 3)
	var early, late []record.Record // late: every 7th, written after the snapshot began
	for i, r := range recs {
		if i%7 == 5 {
			late = append(late, r)
		} else {
			early = append(early, r)
		}
	}
	if err := db.BeginRun(ctx, testResult("live")); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("live", WriterOptions{})
	for i := range early {
		w.Add(&early[i])
	}
	poll(t, "the early records", func() bool { return w.Stored() == len(early) })

	tx, err := db.readTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	mark, err := readMark(ctx, tx, "live") // the snapshot starts here
	if err != nil || !mark.found || mark.records != int64(len(early)) {
		t.Fatalf("mark %+v, %v", mark, err)
	}
	for i := range late {
		w.Add(&late[i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	fed := 0
	n, err := db.eachStatsRecord(ctx, tx, "live", allStats, func(*record.Record) { fed++ })
	if err != nil || n != len(early) || fed != n {
		t.Errorf("read %d records (%d fed), %v; want the snapshot's %d", n, fed, err, len(early))
	}
	// The same run, as it is now, through readers of its own.
	lo, span := int64(0), uint64(3*blockSeqs-1)
	blocks := seqBlocks{lo: lo, span: span, width: blockSeqs, n: 3}
	fed = 0
	if _, same, err := db.feed(ctx, tx, "live", allStats, blocks, 3, mark, func(*record.Record) { fed++ }); same || err != nil || fed != 0 {
		t.Errorf("feed with readers on newer snapshots: same %v, %v, %d fed; want a refusal before feeding", same, err, fed)
	}
	now, err := readMark(ctx, db.sql, "live")
	if err != nil {
		t.Fatal(err)
	}
	var sent []time.Time // makeRecord sends in seq order
	n, same, err := db.feed(ctx, db.sql, "live", allStats, blocks, 3, now, func(r *record.Record) { sent = append(sent, r.Sent) })
	ordered := slices.IsSortedFunc(sent, func(a, b time.Time) int { return a.Compare(b) })
	if !same || err != nil || n != len(recs) || len(sent) != len(recs) || !ordered {
		t.Errorf("feed on the current snapshot: same %v, %v, %d records, %d fed, in order %v", same, err, n, len(sent), ordered)
	}
}
