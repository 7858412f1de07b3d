package transfer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/server"
	"flperf/internal/store"
	"flperf/internal/telemetry"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const msec = time.Millisecond

// testToken is the team server's access token in these tests.
const testToken = "0123456789abcdef0123456789abcdef"

// makeArchive returns a finished run of n deterministic records, with a
// machine fingerprint, resource summaries, a resource series and an event.
func makeArchive(id string, n int) *store.Archive {
	temp := 0.0
	model, cores, mem := "Snapdragon X Elite", 12, uint64(32<<30)
	cpu := 41.25
	a := &store.Archive{Result: runner.Result{
		ID: id, Status: runner.Completed, Started: t0, Ended: t0.Add(time.Hour),
		Tool:   runner.Tool{Name: "flperf", Version: "test", Go: "go1.26", OS: "windows", Arch: "arm64"},
		Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true, DetectedBy: "built-in"},
		Config: runner.Config{Endpoint: "http://127.0.0.1:1/v1", Models: []string{"m1", "m2"}, Suite: "default",
			Scenarios: []string{"chat", "code"}, Mode: load.Concurrency, Concurrency: 2, Requests: n,
			Timeout: runner.Duration(30 * time.Second), Temperature: &temp, Stream: true, SLOSpec: "ttft=500ms", Seed: 7},
		Suite:     runner.SuiteInfo{Name: "default", Version: "1", Source: "builtin", Scenarios: []string{"chat", "code"}},
		Hardware:  &telemetry.Hardware{CPU: telemetry.CPU{Model: &model, LogicalCores: &cores}, MemoryTotalBytes: &mem, SoC: &model, Arch: "arm64", GPUs: []telemetry.GPU{}, NPUs: []string{"Hexagon"}},
		Resources: &runner.Resources{IntervalMS: 250, Samples: 1, Notes: []string{}, Stages: []runner.Window{{Model: "m1", Scenario: "chat", OutputTokens: 9}}, Models: []runner.Window{}},
		Warnings:  []string{"SIMULATED engine: test"},
	}}
	a.Series = &telemetry.Series{Start: t0, IntervalMS: 250, Notes: []string{}, Samples: []telemetry.Sample{{T: 250, CPUPct: &cpu}}}
	a.Events = []store.Event{{At: t0.Add(time.Second), Level: "warn", Message: "engine restarted <once>"}}
	a.Records = make([]record.Record, n)
	for i := range a.Records {
		a.Records[i] = makeRecord(int64(i))
	}
	return a
}

// makeRecord returns a deterministic record: mostly streamed answers,
// every 10th a timeout, every 10th an HTTP error.
func makeRecord(seq int64) record.Record {
	sent := t0.Add(time.Duration(seq) * 10 * msec)
	r := record.Record{Seq: seq, Model: []string{"m1", "m2"}[seq%2], Scenario: []string{"chat", "code"}[(seq/2)%2],
		Worker: int(seq % 2), Stream: true, MaxTok: 64, Scheduled: sent, Sent: sent, InputTokens: 40 + int(seq%9), InputSource: record.SourceUsage, Status: 200}
	switch seq % 10 {
	case 9:
		r.Outcome, r.Phase, r.FirstByte, r.End, r.Error = record.Timeout, record.PhaseFirstToken, 5*msec, 30*time.Second, "timeout after 30s"
	case 8:
		r.Outcome, r.Status, r.FirstByte, r.End, r.Error = record.HTTPError, 503, 3*msec, 3*msec, "overloaded: \"busy\" ✗"
	default:
		ttft := 50*msec + time.Duration(seq%50)*msec
		at := ttft
		for i := range 4 {
			r.Chunks = append(r.Chunks, record.Chunk{At: at, Tokens: 1, Est: 1 + i%3})
			at += 7 * msec
		}
		r.Outcome, r.FirstByte, r.FirstToken, r.FirstAnswer, r.LastToken, r.End = record.OK, ttft-msec, ttft, ttft, at-7*msec, at
		r.ChunkCount, r.OutputTokens, r.OutputSource, r.FinishReason = 4, 4, record.SourceUsage, "length"
		r.Text = fmt.Sprintf("answer %d: héllo <b>&amp;</b>", seq)
		r.TextBytes = len(r.Text)
	}
	return r
}

// openDB opens a fresh database, closed at cleanup.
func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "flperf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// localRun stores a run of n records in a fresh database.
func localRun(t testing.TB, id string, n int) (*store.DB, *store.Archive) {
	t.Helper()
	db := openDB(t)
	if err := db.Import(context.Background(), makeArchive(id, n)); err != nil {
		t.Fatal(err)
	}
	a, err := db.Export(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return db, a
}

// httpHandler is http.Handler, named for the wrappers.
type httpHandler = http.Handler

// teamServer is a team server on 127.0.0.1 over its own database.
type teamServer struct {
	db  *store.DB
	srv *server.Server
	url string
}

// startServer starts a team server with testToken over a fresh database
// (serverDB: on PostgreSQL in that pass); wrap, when set, wraps its
// handler (a proxy that cuts connections, say).
func startServer(t testing.TB, wrap func(h httpHandler) httpHandler) *teamServer {
	t.Helper()
	db := serverDB(t)
	ts := httptest.NewUnstartedServer(nil)
	s, err := server.New(server.Options{DB: db, Listen: ts.Listener.Addr().String(), Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	var h httpHandler = s.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(func() { ts.Close(); s.Close() })
	return &teamServer{db: db, srv: s, url: ts.URL}
}

// client returns a client of ts with small retry waits.
func (ts *teamServer) client(t testing.TB) *Client {
	t.Helper()
	c, err := NewClient(ts.url, testToken, false)
	if err != nil {
		t.Fatal(err)
	}
	c.Backoff = func(int) time.Duration { return time.Millisecond }
	c.Host, c.Tool = "laptop-1", "test"
	return c
}

// exportJSON is run id of db as its canonical push encoding: header and
// every record line.
func exportJSON(t testing.TB, db *store.DB, id string) string {
	t.Helper()
	a, err := db.Export(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.PushHeader(a)
	if err != nil {
		t.Fatal(err)
	}
	out := string(h) + "\n"
	for i := range a.Records {
		l, _ := store.EncodeJSON(&a.Records[i])
		out += string(l) + "\n"
	}
	return out
}
