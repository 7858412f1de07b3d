package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// benchRecords are records of a 100-token streamed response each, with
// 500 bytes of text.
func benchRecords(n, chunks int) []record.Record {
	recs := makeRecords(n, chunks)
	for i := range recs {
		if recs[i].Text != "" {
			recs[i].Text += strings.Repeat("token ", 500/6)
		}
	}
	return recs
}

// BenchmarkInsert measures the write path: records through a RecordWriter
// into a file database, committed.
func BenchmarkInsert(b *testing.B) {
	const perRun = 10_000
	recs := benchRecords(perRun, 100)
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "flperf.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("run%d", i)
		i++
		if err := db.BeginRun(ctx, testResult(id)); err != nil {
			b.Fatal(err)
		}
		w := db.NewRecordWriter(id, WriterOptions{})
		for j := range recs {
			if err := w.Add(&recs[j]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i*perRun)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRecompute100k measures Run's summary of a stored run of 100,000
// requests (100 stream events each): "run" is the whole Run call, "scan" the
// store's part alone (read and decode every record), "aggregate" the
// statistics' part alone (the same records from memory).
func BenchmarkRecompute100k(b *testing.B) {
	const n, chunks = 100_000, 100
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "flperf.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	recs := benchRecords(n, chunks)
	writeRun(b, db, "big", recs)
	b.Run("run", func(b *testing.B) {
		var res int
		for b.Loop() {
			r, err := db.Run(ctx, "big")
			if err != nil {
				b.Fatal(err)
			}
			res = r.Records
		}
		if res != n {
			b.Fatalf("%d records", res)
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			k := 0
			batch := &recBatch{}
			if _, err := db.scanStats(ctx, db.sql, "big", batch, func(b *recBatch) *recBatch {
				for i := range b.recs {
					k += len(b.recs[i].Chunks)
				}
				b.reset()
				return b
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	})
	b.Run("aggregate", func(b *testing.B) {
		for b.Loop() {
			var agg stats.Aggregator
			for i := range recs {
				agg.Add(&recs[i])
			}
			agg.Summary(stats.Options{})
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	})
}
