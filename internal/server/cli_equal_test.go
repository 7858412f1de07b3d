package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/cli"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/server"
	"flperf/internal/store"
	"flperf/internal/telemetry"
)

// get fetches url and returns its body, wanting 200.
func get(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, res.StatusCode, err, b)
	}
	return b
}

// flperf runs the command line and returns its stdout, wanting success.
func flperf(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb); code != cli.ExitOK {
		t.Fatalf("flperf %v: exit %d: %s", args, code, errb.String())
	}
	return out.Bytes()
}

// TestSameAnswersAsTheCommandLine checks that the app's export and compare
// give the bytes and numbers `flperf export` and `flperf compare` give for
// the same runs in the same database.
func TestSameAnswersAsTheCommandLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := server.New(server.Options{DB: db, Listen: "127.0.0.1:0", Detect: func(context.Context) []engine.Found { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(s.Close)
	var ids []string
	for i := range 2 {
		body := `{"engine":"sim","models":["sim-fast","sim-slow"],"scenarios":["Simple Q&A - Short","Code Generation"],"requests":4,"max_tokens":8,"seed":` + string(rune('1'+i)) + `}`
		res, err := http.Post(hs.URL+"/api/v1/runs", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("start: %d %v", res.StatusCode, err)
		}
		ids = append(ids, out.Data.ID)
		waitDone(t, hs.URL, out.Data.ID)
	}
	for _, f := range []string{"json", "csv", "jsonl"} {
		api := get(t, hs.URL+"/api/v1/runs/"+ids[0]+"/export?format="+f)
		want := flperf(t, "export", ids[0], "--db", path, "--format", f)
		if !bytes.Equal(api, want) {
			t.Errorf("export %s: the app's %d bytes differ from flperf export's %d", f, len(api), len(want))
		}
	}
	// Two runs with power readings: the energy rows must be there, and the
	// same, on both sides too.
	storeWithEnergy(t, db, "energy-base", 0.5)
	storeWithEnergy(t, db, "energy-cand", 0.4)
	for _, sides := range [][2]string{{ids[0], ids[1]}, {ids[0] + "@sim-fast", ids[0] + "@sim-slow"}, {"energy-base", "energy-cand"}} {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		q := hs.URL + "/api/v1/compare?base=" + sides[0] + "&candidate=" + sides[1] + "&metric=ttft_ms&metric=e2e_ms&alpha=0.1"
		if err := json.Unmarshal(get(t, q), &env); err != nil {
			t.Fatal(err)
		}
		want := flperf(t, "compare", sides[0], sides[1], "--db", path, "--format", "json", "--metric", "ttft_ms", "--metric", "e2e_ms", "--alpha", "0.1")
		var a, b bytes.Buffer
		if err := json.Compact(&a, env.Data); err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&b, want); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() || !strings.Contains(a.String(), `"rows"`) {
			t.Errorf("compare %v differs:\napp  %s\nflperf %s", sides, a.String(), b.String())
		}
		var doc struct {
			Energy []struct {
				Scenario  string   `json:"scenario"`
				Pooled    bool     `json:"pooled"`
				Base      *float64 `json:"base"`
				Candidate *float64 `json:"candidate"`
			} `json:"energy"`
		}
		if err := json.Unmarshal(env.Data, &doc); err != nil {
			t.Fatal(err)
		}
		if sides[0] != "energy-base" {
			continue
		}
		if len(doc.Energy) != 2 || doc.Energy[0].Scenario != "chat" || doc.Energy[0].Base == nil || *doc.Energy[0].Base != 0.5 ||
			doc.Energy[0].Candidate == nil || *doc.Energy[0].Candidate != 0.4 || !doc.Energy[1].Pooled {
			t.Errorf("energy rows of the app's comparison: %s", a.String())
		}
		table := flperf(t, "compare", "energy-base", "energy-cand", "--db", path)
		if !bytes.Contains(table, []byte("Energy per output token")) || !bytes.Contains(table, []byte("0.5000")) || !bytes.Contains(table, []byte("-20.00%")) {
			t.Errorf("flperf compare's table has no energy block with the figures:\n%s", table)
		}
	}
}

// storeWithEnergy stores a completed run of model "m" on scenario "chat"
// (8 ok requests) whose resource windows measured jpt joules per token.
func storeWithEnergy(t *testing.T, db *store.DB, id string, jpt float64) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	res := &runner.Result{ID: id, Tool: runner.CurrentTool(), Started: t0,
		Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true},
		Config: runner.Config{Models: []string{"m"}, Scenarios: []string{"chat"}, Mode: load.Sequential, Concurrency: 1, Requests: 8, Stream: true},
		Suite:  runner.SuiteInfo{Name: "t", Source: "test", Scenarios: []string{"chat"}}}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(id, store.WriterOptions{})
	for i := range 8 {
		ttft := time.Duration(20+i) * time.Millisecond
		r := record.Record{Seq: int64(i), Model: "m", Scenario: "chat", Stream: true, MaxTok: 10, Scheduled: t0, Sent: t0, Status: 200,
			Outcome: record.OK, FirstByte: ttft, FirstToken: ttft, FirstAnswer: ttft, LastToken: ttft + 9*time.Millisecond, End: ttft + 10*time.Millisecond,
			InputTokens: 5, InputSource: record.SourceUsage, OutputTokens: 10, OutputSource: record.SourceUsage, FinishReason: "length"}
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	win := func(scenario string) runner.Window {
		e := jpt * 80
		return runner.Window{Model: "m", Scenario: scenario, OutputTokens: 80, JoulesPerToken: &jpt,
			Summary: telemetry.Summary{EnergyJ: &e, EnergySources: []string{"nvidia-gpu0"}}}
	}
	res.Status, res.Ended, res.Records = runner.Completed, t0.Add(time.Minute), 8
	res.Resources = &runner.Resources{IntervalMS: 250, Notes: []string{}, Stages: []runner.Window{win("chat")}, Models: []runner.Window{win("")}}
	if err := db.FinishRun(ctx, res); err != nil {
		t.Fatal(err)
	}
}

// waitDone waits until run id is over in the app: saved, and its engine
// free again (GET /runs/{id} has no live progress).
func waitDone(t *testing.T, url, id string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var env struct {
			Data struct {
				Run struct {
					Status string `json:"status"`
				} `json:"run"`
				Live *struct{} `json:"live"`
			} `json:"data"`
		}
		if err := json.Unmarshal(get(t, url+"/api/v1/runs/"+id), &env); err != nil {
			t.Fatal(err)
		}
		if env.Data.Live == nil && env.Data.Run.Status != string(store.Running) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %s did not finish", id)
}
