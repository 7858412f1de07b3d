package runner

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/suite"
)

// TestConnectionReuseRecorded runs against the simulated llama.cpp, which
// closes the connection after each streamed answer as the real server
// does: no request fails, and whatever the client met is in the result:
// the connection retries per group and for the run, a run warning that
// explains them, and the engine block saying that each request opened its
// own connection.
func TestConnectionReuseRecorded(t *testing.T) {
	l, err := dialect.NewLlamaCpp(sim.Profile{Name: "m.gguf", TTFT: time.Millisecond, DecodeTPS: 20000, OutputTokens: 4, Slots: 8, Seed: 5}, dialect.LlamaCppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l)
	t.Cleanup(s.Close)
	st, err := suite.Parse("accuracy.json", []byte(accuracySuite))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Mode: load.Concurrency, Concurrency: 8, Requests: 200, Warmup: 8, Seed: 1, Stream: true,
		Models: []string{"m.gguf"}, Endpoint: s.URL + "/v1", Timeout: Duration(30 * time.Second)}
	sink := &collect{}
	r := &Runner{Client: backend.New(s.URL+"/v1", backend.Options{}), Engine: engine.Info{Kind: engine.LlamaCpp, Endpoint: s.URL + "/v1"},
		Suite: st, Scenarios: st.Scenarios, Config: cfg, Sinks: []Sink{sink}}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	retries, all := 0, 0
	for _, rec := range sink.recs {
		all += rec.ConnRetries
		if !rec.Warmup {
			retries += rec.ConnRetries
		}
	}
	if g := res.Total; g.OK != 200 || g.ErrorRate != 0 || g.ConnRetries != retries || res.Groups[0].ConnRetries != retries {
		t.Fatalf("ok %d, error rate %v, connection retries %d (group %d), records %d", g.OK, g.ErrorRate, g.ConnRetries, res.Groups[0].ConnRetries, retries)
	}
	if (all > 0) != strings.HasPrefix(res.Engine.ConnectionReuse, "new connection per request") {
		t.Errorf("%d connection retries, engine block says %q", all, res.Engine.ConnectionReuse)
	}
	warned := false
	for _, w := range res.Warnings {
		warned = warned || strings.HasPrefix(w, "connection retries: ")
	}
	if warned != (retries > 0) {
		t.Errorf("%d connection retries, run warnings %q", retries, res.Warnings)
	}
	t.Logf("%d connection retries (%d with warm-ups); engine: %s", retries, all, res.Engine.ConnectionReuse)
}

// retryDoer answers every request ok after one connection retry, and says
// how it used connections.
type retryDoer struct{ note string }

func (d retryDoer) Do(_ context.Context, _ backend.Request, rec *record.Record) {
	now := time.Now()
	rec.Sent, rec.Scheduled, rec.FirstToken, rec.End = now, now, time.Millisecond, 2*time.Millisecond
	rec.Outcome, rec.Status, rec.ConnRetries = record.OK, 200, 1
}

func (d retryDoer) ConnectionReuse() string { return d.note }

// TestConnectionReuseFromTheClient checks the wiring: the client's own
// account of connections lands in the engine block and the warning.
func TestConnectionReuseFromTheClient(t *testing.T) {
	st, err := suite.Parse("accuracy.json", []byte(accuracySuite))
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Client: retryDoer{note: "new connection per request: test"}, Suite: st, Scenarios: st.Scenarios,
		Config: Config{Mode: load.Sequential, Concurrency: 1, Requests: 3, Models: []string{"m"}, Stream: true}}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Engine.ConnectionReuse != "new connection per request: test" || res.Total.ConnRetries != 3 {
		t.Fatalf("engine block %q, %d connection retries", res.Engine.ConnectionReuse, res.Total.ConnRetries)
	}
	want := "connection retries: 3 requests went once more on a new connection"
	if len(res.Warnings) == 0 || !strings.HasPrefix(res.Warnings[len(res.Warnings)-1], want) ||
		!strings.HasSuffix(res.Warnings[len(res.Warnings)-1], "Connections: new connection per request: test.") {
		t.Errorf("warnings %q, want one starting %q", res.Warnings, want)
	}
}
