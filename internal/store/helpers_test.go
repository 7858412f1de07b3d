package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Environment of the child process the kill and two-process tests start
// (this test binary, re-executed).
const (
	childEnv   = "FLPERF_STORE_TEST_CHILD" // the database path
	childRun   = "FLPERF_STORE_TEST_RUN"   // the run id
	childCount = "FLPERF_STORE_TEST_COUNT" // records to write, then finish; empty: write until killed
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(childMain(path, os.Getenv(childRun), os.Getenv(childCount)))
	}
	code := m.Run()
	if pg := runPostgresPass(); code == 0 {
		code = pg
	}
	os.Exit(code)
}

// childMain writes a run: it prints each record's seq once Add returned.
// With a count it writes that many records and finishes the run; without,
// it writes until it is killed (or a minute passes).
func childMain(path, id, count string) int {
	ctx := context.Background()
	n := -1
	if count != "" {
		n, _ = strconv.Atoi(count)
	}
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer db.Close()
	res := testResult(id)
	if err := db.BeginRun(ctx, res); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	w := db.NewRecordWriter(id, WriterOptions{})
	out := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(time.Minute)
	for seq := int64(0); (n < 0 || seq < int64(n)) && time.Now().Before(deadline); seq++ {
		r := makeRecord(seq, 20)
		if err := w.Add(&r); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
		if n < 0 { // the kill test reads each seq as soon as Add returned
			fmt.Fprintf(out, "%d\n", seq)
			out.Flush()
			time.Sleep(time.Millisecond)
		}
	}
	if err := w.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	res.Status, res.Records, res.Ended = runner.Completed, n, time.Now()
	if err := db.FinishRun(ctx, res); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	return 0
}

// t0 starts every constructed run.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const msec = time.Millisecond

// testResult is a run as BeginRun receives it.
func testResult(id string) *runner.Result {
	temp := 0.0
	return &runner.Result{
		ID:      id,
		Tool:    runner.Tool{Name: "flperf", Version: "test", Go: "go1.26", OS: "linux", Arch: "amd64"},
		Started: t0,
		Engine:  engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true, DetectedBy: "built-in"},
		Config: runner.Config{
			Command:  []string{"flperf", "run", "--model", "m1"},
			Endpoint: "http://127.0.0.1:1/v1", Models: []string{"m1", "m2"}, Suite: "default",
			Scenarios: []string{"chat", "code", "Q&A <long>"}, Mode: load.Concurrency, Concurrency: 2, Requests: 10,
			Timeout: runner.Duration(30 * time.Second), Temperature: &temp, Stream: true, SLOSpec: "ttft=500ms,e2e=10s", Seed: 7,
		},
		Suite: runner.SuiteInfo{Name: "default", Version: "1", Source: "builtin", Scenarios: []string{"chat", "code", "Q&A <long>"}},
	}
}

var (
	testModels    = []string{"m1", "m2"}
	testScenarios = []string{"chat", "code", "Q&A <long>"}
)

// makeRecord returns a deterministic record for seq: mostly ok streamed
// responses with n chunks, every 10th a timeout before the first token,
// every 10th an HTTP error, every 25th a warm-up.
func makeRecord(seq int64, n int) record.Record {
	sent := t0.Add(time.Duration(seq) * 10 * msec)
	r := record.Record{
		Seq: seq, Model: testModels[seq%2], Scenario: testScenarios[seq%3], Worker: int(seq % 4),
		Stream: true, MaxTok: 128, Endpoint: "http://127.0.0.1:1/v1",
		Scheduled: sent.Add(-time.Duration(seq%5) * msec), Sent: sent,
		InputTokens: 40 + int(seq%9), InputSource: record.SourceUsage, Status: 200,
	}
	switch seq % 10 {
	case 9:
		r.Outcome, r.Phase, r.FirstByte, r.End = record.Timeout, record.PhaseFirstToken, 5*msec, 30*time.Second
		r.Error = "timeout after 30s"
	case 8:
		r.Outcome, r.Status, r.FirstByte, r.End = record.HTTPError, 503, 3*msec, 3*msec
		r.Error = "overloaded:\n{\"error\": \"busy\"} ✗"
	default:
		ttft := 50*msec + time.Duration(seq%50)*msec
		at := ttft
		for i := range n {
			tok := 1
			if seq%2 == 1 {
				tok = 0 // no per-chunk usage: estimated split
			}
			r.Chunks = append(r.Chunks, record.Chunk{At: at, Tokens: tok, Est: 1 + i%3})
			at += 7*msec + time.Duration(i%5)*msec
		}
		r.Outcome, r.FirstByte, r.FirstToken, r.FirstAnswer = record.OK, ttft-msec, ttft, ttft
		r.LastToken, r.End = at, at+2*msec
		r.ChunkCount, r.OutputTokens, r.OutputSource, r.EstOutTokens = n, n, record.SourceUsage, n+1
		r.FinishReason = "length"
		r.Text = fmt.Sprintf("answer %d: héllo\n\"quoted\" ✓ <b>&amp;</b>", seq)
		r.TextBytes = len(r.Text) + 100
	}
	if seq%25 == 0 {
		r.Warmup = true
	}
	return r
}

// openTest opens a fresh database in a temp dir, closed at cleanup.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openAt(t, t.TempDir()+"/flperf.db")
}

// openAt opens the database at path, closed at cleanup.
func openAt(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), loc(t, path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// writeRun stores a finished run of n records made by mk, with the summary
// a live run would have computed, and returns the run as FinishRun got it.
func writeRun(t testing.TB, db *DB, id string, recs []record.Record) *runner.Result {
	t.Helper()
	ctx := context.Background()
	res := testResult(id)
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(id, WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	finish(t, db, res, recs)
	return res
}

// finish completes res with the live summary of recs and calls FinishRun.
func finish(t testing.TB, db *DB, res *runner.Result, recs []record.Record) {
	t.Helper()
	res.Status, res.Ended, res.Records = runner.Completed, t0.Add(time.Hour), len(recs)
	res.Summary = liveSummary(t, res, recs)
	res.Warnings = []string{"SIMULATED engine: test"}
	if err := db.FinishRun(context.Background(), res); err != nil {
		t.Fatal(err)
	}
}

// makeRecords returns records 0..n-1 of makeRecord.
func makeRecords(n, chunks int) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = makeRecord(int64(i), chunks)
	}
	return out
}

// fileHash returns the SHA-256 of a file's bytes.
func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// jsonOf encodes v for comparisons.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// count returns a single integer query result.
func count(t testing.TB, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// liveSummary is the summary the runner computes while recs arrive.
func liveSummary(t testing.TB, res *runner.Result, recs []record.Record) stats.Summary {
	t.Helper()
	slo, err := stats.ParseSLO(res.Config.SLOSpec)
	if err != nil {
		t.Fatal(err)
	}
	var agg stats.Aggregator
	for i := range recs {
		agg.Add(&recs[i])
	}
	return agg.Summary(stats.Options{SLO: slo})
}

// migratedFrom writes recs as run "before" into a database at the schema
// before schema, then opens it with this build, which migrates it, and
// checks that it reached schema: the set-up of each migration test.
func migratedFrom(t *testing.T, schema int, recs []record.Record) *DB {
	t.Helper()
	path := t.TempDir() + "/flperf.db"
	old, err := open(context.Background(), loc(t, path), openOptions{target: schema - 1})
	if err != nil {
		t.Fatal(err)
	}
	writeRun(t, old, "before", recs)
	old.Close()
	db := openAt(t, path)
	if db.SchemaVersion() < schema {
		t.Fatalf("at schema %d, want %d or later", db.SchemaVersion(), schema)
	}
	return db
}
