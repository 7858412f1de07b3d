// Package legacytest writes files in the original FLPerformance's storage
// formats (docs/legacy.md) for tests: its JSON store and its SQLite store
// with the schema it created, in both generations of benchmark_results.
package legacytest

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"

	_ "modernc.org/sqlite" // the pure-Go driver flperf uses
)

// Run ids and figures the files hold, for assertions.
const (
	RunStreamed   = "5f0c1a2e-7b1d-4c3e-9a55-1c2d3e4f5a6b" // completed, streamed, 2 models × 1 scenario
	RunUnstreamed = "9e8d7c6b-5a49-4838-8271-605f4e3d2c1b" // failed, not streamed, 1 result
	Alias         = "qwen2.5-0.5b"
	Alias2        = "phi-4-mini"
	Scenario      = "Simple Q&A - Short"
	TPS           = 18.4   // the first result's tps (chunks per second)
	P95           = 1911.5 // its latency_p95
	StartedMs     = int64(1769000000000)
)

// Storage is the JSON store of the original: models by app id, runs by id,
// result rows by run id (with raw_data), logs.
func Storage() map[string]any {
	return map[string]any{
		"models": map[string]any{
			"model_1769000000001_ab12": map[string]any{"id": "model_1769000000001_ab12", "alias": Alias, "model_id": "qwen2.5-0.5b-instruct-generic-cpu:4", "status": "running", "created_at": 1769000000001, "updated_at": 1769000000001},
			"model_1769000000002_cd34": map[string]any{"id": "model_1769000000002_cd34", "alias": Alias2, "model_id": "Phi-4-mini-instruct-generic-gpu:5", "status": "stopped", "created_at": 1769000000002, "updated_at": 1769000000002},
		},
		"benchmark_runs": map[string]any{
			RunStreamed: map[string]any{
				"id": RunStreamed, "suite_name": "default", "model_ids": []string{"model_1769000000001_ab12", "model_1769000000002_cd34"},
				"config":        map[string]any{"iterations": 3, "concurrency": 4, "timeout": 60000, "temperature": 0.7, "streaming": true},
				"hardware_info": map[string]any{"cpu": map[string]any{"manufacturer": "Intel", "brand": "Core i7-1185G7", "cores": 8, "physicalCores": 4}, "memory": map[string]any{"total": "63 GB"}, "gpu": map[string]any{"model": "Iris Xe", "vram": "2047.99609375 MB"}, "os": map[string]any{"platform": "win32", "distro": "Windows 11", "release": "10.0.22631", "arch": "x64"}},
				"status":        "completed", "started_at": StartedMs, "completed_at": StartedMs + 9000, "created_at": StartedMs,
			},
			RunUnstreamed: map[string]any{
				"id": RunUnstreamed, "suite_name": "default", "model_ids": []string{"model_1769000000001_ab12"},
				"config": map[string]any{"iterations": 2, "concurrency": 1, "timeout": 30000, "temperature": 0, "streaming": false},
				"status": "failed", "started_at": StartedMs + 60000, "completed_at": StartedMs + 61000, "created_at": StartedMs + 60000,
			},
		},
		"benchmark_results": map[string]any{
			RunStreamed: []any{
				result(RunStreamed, "r-1", "model_1769000000001_ab12", TPS, 410, P95),
				result(RunStreamed, "r-2", "model_1769000000002_cd34", 7.5, 980, 4200),
			},
			RunUnstreamed: []any{
				result(RunUnstreamed, "r-3", "model_1769000000001_ab12", 71.1, 0, 700),
			},
		},
		"logs": []any{},
	}
}

func result(run, id, model string, tps, ttft, p95 float64) map[string]any {
	r := map[string]any{
		"id": id, "run_id": run, "model_id": model, "scenario": Scenario,
		"tps": tps, "tpot": 40.8, "gen_tps": 24.5, "latency_p50": p95 - 100, "latency_p95": p95, "latency_p99": p95,
		"error_rate": 0, "timeout_rate": 0, "cpu_avg": 31.5, "ram_avg": 62.25, "gpu_avg": nil,
		"total_tokens": 42, "total_iterations": 3, "successful_iterations": 3, "created_at": StartedMs + 5000,
		"raw_data": map[string]any{
			"iterations": []any{
				map[string]any{"startTime": 1000.25, "endTime": 1000.25 + p95 - 100, "ttft": ttft, "tokens": 14, "error": nil, "timeout": false},
				map[string]any{"startTime": 3000.5, "endTime": 3000.5 + p95, "ttft": ttft + 3, "tokens": 14, "error": nil, "timeout": false},
				map[string]any{"startTime": 6000, "endTime": 6000 + p95, "ttft": ttft + 5, "tokens": 14, "error": nil, "timeout": false},
			},
			"latencies": []any{p95 - 100, p95, p95}, "ttfts": []any{ttft, ttft + 3, ttft + 5}, "tokenCounts": []any{14, 14, 14},
			"errors": 0, "timeouts": 0, "resourceSnapshots": []any{},
		},
	}
	if ttft == 0 {
		r["ttft"] = nil
	} else {
		r["ttft"] = ttft
	}
	return r
}

// WriteStorage writes Storage() (changed by edit, when not nil) to path as
// the original did: indented JSON.
func WriteStorage(path string, edit func(map[string]any)) error {
	s := Storage()
	if edit != nil {
		edit(s)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// WriteSQLite writes the same history as a SQLite store, with the schema
// the original created; withTPOT adds the tpot and gen_tps columns of its
// later versions. Like it, it writes 0 as NULL, created_at in seconds and
// the JSON columns as text. extra runs after the inserts (to spoil a
// value), when not empty.
func WriteSQLite(path string, withTPOT bool, extra string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	tpotCols := ""
	if withTPOT {
		tpotCols = "tpot REAL, gen_tps REAL,"
	}
	schema := `
CREATE TABLE IF NOT EXISTS models (id TEXT PRIMARY KEY, alias TEXT NOT NULL, model_id TEXT NOT NULL, endpoint TEXT,
  status TEXT DEFAULT 'stopped', last_error TEXT, last_heartbeat INTEGER,
  created_at INTEGER DEFAULT (strftime('%s', 'now')), updated_at INTEGER DEFAULT (strftime('%s', 'now')));
CREATE TABLE IF NOT EXISTS benchmark_runs (id TEXT PRIMARY KEY, suite_name TEXT NOT NULL, model_ids TEXT NOT NULL,
  config TEXT NOT NULL, hardware_info TEXT, status TEXT DEFAULT 'running', started_at INTEGER NOT NULL,
  completed_at INTEGER, created_at INTEGER DEFAULT (strftime('%s', 'now')));
CREATE TABLE IF NOT EXISTS benchmark_results (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, model_id TEXT NOT NULL,
  scenario TEXT NOT NULL, tps REAL, ttft REAL, ` + tpotCols + ` latency_p50 REAL, latency_p95 REAL, latency_p99 REAL,
  error_rate REAL, timeout_rate REAL, cpu_avg REAL, ram_avg REAL, gpu_avg REAL, raw_data TEXT,
  created_at INTEGER DEFAULT (strftime('%s', 'now')),
  FOREIGN KEY (run_id) REFERENCES benchmark_runs(id), FOREIGN KEY (model_id) REFERENCES models(id));
CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY AUTOINCREMENT, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
  level TEXT NOT NULL, message TEXT NOT NULL, metadata TEXT, created_at INTEGER DEFAULT (strftime('%s', 'now')));`
	if _, err := db.Exec(schema); err != nil {
		return err
	}
	s := Storage()
	for _, m := range s["models"].(map[string]any) {
		m := m.(map[string]any)
		if _, err := db.Exec(`INSERT INTO models (id, alias, model_id, endpoint, status, last_error, last_heartbeat, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, strftime('%s', 'now'))`,
			m["id"], m["alias"], m["model_id"], nil, m["status"], nil, nil); err != nil {
			return err
		}
	}
	orNull := func(v any) any { // the original's `value || null`
		switch x := v.(type) {
		case nil:
			return nil
		case float64:
			if x == 0 {
				return nil
			}
		case int:
			if x == 0 {
				return nil
			}
		}
		return v
	}
	for _, id := range []string{RunStreamed, RunUnstreamed} {
		r := s["benchmark_runs"].(map[string]any)[id].(map[string]any)
		mids, _ := json.Marshal(r["model_ids"])
		cfg, _ := json.Marshal(r["config"])
		var hw any
		if h, ok := r["hardware_info"]; ok {
			b, _ := json.Marshal(h)
			hw = string(b)
		}
		if _, err := db.Exec(`INSERT INTO benchmark_runs (id, suite_name, model_ids, config, hardware_info, status, started_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, r["suite_name"], string(mids), string(cfg), hw, r["status"], r["started_at"], orNull(r["completed_at"])); err != nil {
			return err
		}
		for _, x := range s["benchmark_results"].(map[string]any)[id].([]any) {
			x := x.(map[string]any)
			raw, _ := json.Marshal(x["raw_data"])
			cols := "id, run_id, model_id, scenario, tps, ttft, latency_p50, latency_p95, latency_p99, error_rate, timeout_rate, cpu_avg, ram_avg, gpu_avg, raw_data"
			args := []any{x["id"], id, x["model_id"], x["scenario"], orNull(x["tps"]), orNull(x["ttft"]), orNull(x["latency_p50"]), orNull(x["latency_p95"]), orNull(x["latency_p99"]),
				orNull(x["error_rate"]), orNull(x["timeout_rate"]), orNull(x["cpu_avg"]), orNull(x["ram_avg"]), orNull(x["gpu_avg"]), string(raw)}
			if withTPOT {
				cols += ", tpot, gen_tps"
				args = append(args, orNull(x["tpot"]), orNull(x["gen_tps"]))
			}
			q := fmt.Sprintf("INSERT INTO benchmark_results (%s) VALUES (?%s)", cols, repeat(", ?", len(args)-1))
			if _, err := db.Exec(q, args...); err != nil {
				return err
			}
		}
	}
	if extra != "" {
		if _, err := db.Exec(extra); err != nil {
			return err
		}
	}
	return nil
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
