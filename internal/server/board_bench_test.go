package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"flperf/internal/board"
	"flperf/internal/engine"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/store"
	"flperf/internal/telemetry"
)

// boardDB is a database holding n completed runs of 2 models each on 40
// machines (4 hardware classes, 5 engine versions), all of one
// configuration, indexed on the board as FinishRun indexes a run (board
// rows from board.RowsOf of each run's summary): the leaderboard's worst
// case, every row in the matrix's query. The rows are written with SQL in
// one transaction, since saving 10,000 runs one by one takes minutes.
func boardDB(b *testing.B, n int) (*store.DB, board.Config) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "board.db")
	db := openDB(b, path) // creates the schema
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	vendors := []string{"nvidia", "amd", "intel", ""}
	var cfg board.Config
	for i := range n {
		cpu := fmt.Sprintf("CPU model %d", i%40)
		mem := uint64(16+i%40) << 30
		res := &runner.Result{ID: fmt.Sprintf("run-%05d", i), Status: runner.Completed, Started: t0.Add(time.Duration(i) * time.Minute),
			Engine: engine.Info{Kind: engine.Ollama, Version: fmt.Sprintf("0.%d", i%5)},
			Config: runner.Config{Models: []string{"m1", "m2"}, Scenarios: []string{"chat"}, Concurrency: 1, Stream: true},
			Suite:  runner.SuiteInfo{Name: "default", Scenarios: []string{"chat"}},
			Hardware: &telemetry.Hardware{CPU: telemetry.CPU{Model: &cpu}, Arch: "amd64", MemoryTotalBytes: &mem, OS: telemetry.OS{Name: "linux"},
				GPUs: []telemetry.GPU{}}}
		if v := vendors[i%4]; v != "" {
			name := v + " GPU"
			res.Hardware.GPUs = []telemetry.GPU{{Vendor: v, Name: &name}}
		}
		if _, err := tx.Exec(`INSERT INTO runs (id, started, ended, status, tool, engine, config, suite, owner_pid, owner_host, heartbeat, board)
			VALUES (?, ?, ?, 'completed', '{}', '{}', '{}', '{}', 0, '', 0, 1)`, res.ID, res.Started.UnixNano(), res.Started.UnixNano()); err != nil {
			b.Fatal(err)
		}
		sum := stats.Summary{}
		for j, m := range res.Config.Models {
			v := float64(i%100 + j)
			sum.Models = append(sum.Models, stats.Group{Model: m, Requests: 100, OK: 100, OutputTokensPerS: 10 + v,
				TTFT: stats.Dist{N: 100, P50: 100 + v}, DecodeTPS: stats.Dist{N: 100, P50: 20 + v}, E2E: stats.Dist{N: 100, P95: 900 + v}})
		}
		for _, r := range board.RowsOf(res, &sum) {
			mj, _ := json.Marshal(r.Machine)
			if _, err := tx.Exec(`INSERT INTO board (run_id, model, stage, started, suite, scenarios, load, profile, machine, machine_json, class,
				engine, engine_version, quant, simulated, power, requests, ok, error_rate, ttft_p50_ms, decode_p50_tps, output_tps, e2e_p95_ms, j_per_token, score, score_complete)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0)`,
				r.RunID, r.Model, r.Stage, r.Started.UnixNano(), r.Suite, r.Scenarios, r.Load, r.Profile, r.Machine.Key, string(mj), r.Machine.Class,
				r.Engine, r.EngineVersion, r.Quant, r.Power, r.Requests, r.OK, r.ErrorRate, *r.TTFTP50, *r.DecodeP50, *r.OutputTPS, *r.E2EP95); err != nil {
				b.Fatal(err)
			}
			cfg = r.Config
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db, cfg
}

// BenchmarkBoard10000Runs measures GET /api/v1/board of one configuration
// (and filtered by an engine version and a date) in a store holding
// 10,000 runs, through HTTP: the whole answer, JSON included.
func BenchmarkBoard10000Runs(b *testing.B) {
	db, cfg := boardDB(b, 10_000)
	a := newApp(b, Options{DB: db})
	q := url.Values{"suite": {cfg.Suite}, "scenarios": {cfg.Scenarios}, "load": {cfg.Load}}
	var cells int
	check := func(path string, want int) {
		var out struct {
			Data struct {
				Matrix board.Matrix `json:"matrix"`
			} `json:"data"`
		}
		res, err := http.Get(a.url + path)
		if err != nil {
			b.Fatal(err)
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
		}
		if cells = len(out.Data.Matrix.Cells); cells != want {
			b.Fatalf("%s: %d cells, want %d", path, cells, want)
		}
	}
	b.Run("config", func(b *testing.B) {
		for b.Loop() {
			check("/api/v1/board?"+q.Encode(), 80)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
	f := url.Values{"suite": {cfg.Suite}, "scenarios": {cfg.Scenarios}, "load": {cfg.Load}, "engine_version": {"0.3"}, "since": {"2026-01-03"}}
	b.Run("filtered", func(b *testing.B) {
		for b.Loop() {
			check("/api/v1/board?"+f.Encode(), 16)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
}
