package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"flperf/internal/record"
	"flperf/internal/runner"
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
// into a database, committed: an SQLite file, and PostgreSQL (COPY) when
// FLPERF_TEST_POSTGRES names a server.
func BenchmarkInsert(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchInsert(b, filepath.Join(b.TempDir(), "flperf.db")) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgTestEnv) == "" {
			b.Skipf("set %s to a PostgreSQL server URL", pgTestEnv)
		}
		benchInsert(b, pgSchemaURL(b))
	})
}

// benchInsert is BenchmarkInsert on the database at path.
func benchInsert(b *testing.B, path string) {
	const perRun = 10_000
	recs := benchRecords(perRun, 100)
	db, err := Open(context.Background(), path)
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

// BenchmarkRecompute100k measures reading a stored run of 100,000 requests
// (100 stream events each): "run" is Run (the stored summaries),
// "recompute" RecomputeRun (the summary recomputed), "scan" the store's
// part of that alone (read and decode every record), "aggregate" the
// statistics' part alone (the same records from memory), "narrow"
// StatsRecords without chunks (what a distribution reads), and "spread"
// SpreadRecords of 20 records (the samples of the run's texts).
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
	for name, read := range map[string]func(context.Context, string) (*runner.Result, error){"run": db.Run, "recompute": db.RecomputeRun} {
		b.Run(name, func(b *testing.B) {
			var res int
			for b.Loop() {
				r, err := read(ctx, "big")
				if err != nil {
					b.Fatal(err)
				}
				res = r.Records
			}
			if res != n {
				b.Fatalf("%d records", res)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
		})
	}
	b.Run("narrow", func(b *testing.B) {
		for b.Loop() {
			k := 0
			if _, err := db.StatsRecords(ctx, "big", StatsScan{}, func(r *record.Record) { k += int(r.End) }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
	})
	b.Run("spread", func(b *testing.B) {
		for b.Loop() {
			k := 0
			if err := db.SpreadRecords(ctx, "big", Spread{Stride: n / 20, Limit: 20}, func(*record.Record) error { k++; return nil }); err != nil || k != 20 {
				b.Fatal(k, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
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
