package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRuns10k measures the run list over 10,000 stored runs, from
// their stored summaries: the newest 100 ("page"), all of them ("all"),
// and those of one model among 10 ("model"). On SQLite and, when
// FLPERF_TEST_POSTGRES names a server, PostgreSQL.
func BenchmarkRuns10k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchRuns(b, filepath.Join(b.TempDir(), "flperf.db")) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgTestEnv) == "" {
			b.Skipf("set %s to a PostgreSQL server URL", pgTestEnv)
		}
		benchRuns(b, pgSchemaURL(b))
	})
}

// benchRuns stores 10,000 finished runs, with a total summary each, in one
// transaction, then lists them.
func benchRuns(b *testing.B, path string) {
	const n = 10_000
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	res := testResult("x")
	j, err := encodeRunJSON(res)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("20250301-%06d-000000", i)
		cfg := fmt.Sprintf(`{"models":["m%d"],"suite":"default"}`, i%10)
		started := t0.UnixNano() + int64(i)*1e9
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (id, started, ended, status, tool, engine, config, suite, hardware, warnings, owner_pid, owner_host, heartbeat, records)
			VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, NULL, '[]', 0, '', ?, 100)`, id, started, started+5e9, j.tool, j.engine, cfg, j.suite, started); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO summaries (run_id, kind, model, scenario, stage, ord, requests, ok, error_rate, ttft_p50_ms, decode_p50_tps, output_tokens_per_s, json)
			VALUES (?, 'total', '', '', '', 0, 100, 99, 0.01, 120.5, 41.25, 300.0, '{}')`, id); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if db.pg != nil { // what autovacuum does soon after a bulk load
		if _, err := db.sql.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	for name, f := range map[string]Filter{"page": {Limit: 100}, "all": {}, "model": {Model: "m3"}} {
		b.Run(name, func(b *testing.B) {
			var got int
			for b.Loop() {
				runs, err := db.Runs(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				got = len(runs)
			}
			want := map[string]int{"page": 100, "all": n, "model": n / 10}[name]
			if got != want {
				b.Fatalf("%d runs listed, want %d", got, want)
			}
		})
	}
}
