package store

import (
	"context"
	"os"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/stats"
)

func tmpDB(b *testing.B) *DB {
	path := os.Getenv("RCDB")
	ctx := context.Background()
	_, statErr := os.Stat(path)
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if statErr != nil {
		writeRun(b, db, "big", benchRecords(100_000, 100))
	}
	return db
}

func BenchmarkTmpScan(b *testing.B) {
	db := tmpDB(b)
	defer db.Close()
	ctx := context.Background()
	for b.Loop() {
		batch := &recBatch{}
		if _, err := db.scanStats(ctx, db.sql, "big", batch, func(b *recBatch) *recBatch { b.reset(); return b }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTmpRun(b *testing.B) {
	db := tmpDB(b)
	defer db.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := db.Run(ctx, "big"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTmpAgg(b *testing.B) {
	recs := benchRecords(100_000, 100)
	var tAdd, tSum time.Duration
	for b.Loop() {
		t := time.Now()
		var agg stats.Aggregator
		for i := range recs {
			agg.Add(&recs[i])
		}
		t2 := time.Now()
		agg.Summary(stats.Options{})
		tAdd += t2.Sub(t)
		tSum += time.Since(t2)
	}
	b.ReportMetric(float64(tAdd.Milliseconds())/float64(b.N), "add-ms")
	b.ReportMetric(float64(tSum.Milliseconds())/float64(b.N), "sum-ms")
	_ = record.OK
}
