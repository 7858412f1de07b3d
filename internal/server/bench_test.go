package server

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"flperf/internal/store"
)

// big100k is a database holding one finished run of 100,000 requests
// (100 stream events and about 500 bytes of text each, as the store's own
// benchmarks), built once per test binary.
var big100k struct {
	once sync.Once
	dir  string
	err  error
}

// bigRunID is the id of the 100,000-request run.
const bigRunID = "20261127-120000-b100k0"

// TestMain removes the shared 100,000-request database.
func TestMain(m *testing.M) {
	code := m.Run()
	if big100k.dir != "" {
		os.RemoveAll(big100k.dir)
	}
	if pg := postgresPass(); code == 0 {
		code = pg
	}
	os.Exit(code)
}

// bigDB opens the database of the 100,000-request run.
func bigDB(b *testing.B) *store.DB {
	b.Helper()
	big100k.once.Do(func() {
		dir, err := os.MkdirTemp("", "flperf-server-bench-")
		if err != nil {
			big100k.err = err
			return
		}
		big100k.dir = dir
		db, err := store.Open(context.Background(), filepath.Join(dir, "flperf.db"))
		if err != nil {
			big100k.err = err
			return
		}
		defer db.Close()
		storeRun(b, db, bigRunID, 100_000, 100, 500)
	})
	if big100k.err != nil {
		b.Fatal(big100k.err)
	}
	return openDB(b, filepath.Join(big100k.dir, "flperf.db"))
}

// getOK fetches url, wanting 200, and reads the whole body.
func getOK(b *testing.B, url string) int {
	res, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return int(n)
}

// forgetBig drops everything computed from the 100,000-request run and
// waits for any computation of it in the background to end.
func forgetBig(a *testApp) {
	for wait := a.s.samples.sets.flight(bigRunID); wait != nil; wait = a.s.samples.sets.flight(bigRunID) {
		<-wait
	}
	a.s.cache.removeTag(bigRunID)
	a.s.samples.forget(bigRunID)
}

// recomputedDB opens a copy of the database of the 100,000-request run
// whose stored summaries cannot be used (as if another flperf build had
// stored them): Run recomputes them from the records every time.
func recomputedDB(b *testing.B) *store.DB {
	b.Helper()
	bigDB(b)
	src, err := os.ReadFile(filepath.Join(big100k.dir, "flperf.db"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "flperf.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		b.Fatal(err)
	}
	db := openDB(b, path)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE runs SET summary_build = 'flperf v0 go1' WHERE id = ?", bigRunID); err != nil {
		b.Fatal(err)
	}
	return db
}

// benchGet measures GETs of paths, one after another, on the
// 100,000-request run: "cold" is the first time (nothing computed yet),
// "warm" a repeat (a finished run's answers are kept).
func benchGet(b *testing.B, paths ...string) { benchGetOn(b, bigDB(b), paths...) }

// benchGetOn is benchGet on db.
func benchGetOn(b *testing.B, db *store.DB, paths ...string) {
	a := newApp(b, Options{DB: db})
	get := func() {
		for _, p := range paths {
			getOK(b, a.url+p)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			forgetBig(a)
			b.StartTimer()
			get()
		}
		b.StopTimer()
		forgetBig(a)
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	})
	b.Run("warm", func(b *testing.B) {
		get()
		for b.Loop() {
			get()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
}

// The paths of the Results page's first requests.
const (
	bigRunPath  = "/api/v1/runs/" + bigRunID
	bigDistPath = "/api/v1/runs/" + bigRunID + "/distribution?metric=e2e_ms&bins=40"
)

// BenchmarkRunGet100k measures GET /api/v1/runs/{id} of a stored run of
// 100,000 requests: the summaries recomputed from the records, and the log.
func BenchmarkRunGet100k(b *testing.B) { benchGet(b, bigRunPath) }

// BenchmarkDistribution100k measures GET /api/v1/runs/{id}/distribution
// (E2E latency, 40 bins) of a stored run of 100,000 requests, alone.
func BenchmarkDistribution100k(b *testing.B) { benchGet(b, bigDistPath) }

// BenchmarkResultsPage100k measures what the Results page asks first for
// a stored run of 100,000 requests: the run, then its distribution (whose
// samples the first request started computing).
func BenchmarkResultsPage100k(b *testing.B) { benchGet(b, bigRunPath, bigDistPath) }

// BenchmarkResultsPage100kRecomputed is BenchmarkResultsPage100k for a
// run whose stored summaries cannot be used (stored by another build, or
// never stored: its process died): the summary is recomputed from the
// records, with the distribution's samples collected in the same pass.
func BenchmarkResultsPage100kRecomputed(b *testing.B) {
	benchGetOn(b, recomputedDB(b), bigRunPath, bigDistPath)
}

// BenchmarkStartup measures the app's start: New, serving, and the first
// GET /api/v1/health answered ("open-db" also opens the database first,
// as `flperf serve` does).
func BenchmarkStartup(b *testing.B) {
	for _, withDB := range []bool{false, true} {
		name := "server"
		if withDB {
			name = "open-db"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			db := openDB(b, filepath.Join(dir, "flperf.db"))
			var total time.Duration
			n := 0
			for b.Loop() {
				start := time.Now()
				d := db
				if withDB {
					var err error
					if d, err = store.Open(context.Background(), filepath.Join(dir, "flperf.db")); err != nil {
						b.Fatal(err)
					}
				}
				s, err := New(Options{DB: d, Listen: "127.0.0.1:0", Detect: noEngines})
				if err != nil {
					b.Fatal(err)
				}
				ln := listen(b)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- s.Serve(ctx, ln) }()
				getOK(b, "http://"+ln.Addr().String()+"/api/v1/health")
				total += time.Since(start)
				n++
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				if withDB {
					d.Close()
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms-to-first-answer")
		})
	}
}
