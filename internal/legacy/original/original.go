// Package original reads the history of the original FLPerformance (the
// Node.js app this project replaces) into flperf runs marked legacy: its
// JSON store (results/storage.json), its SQLite store
// (results/benchmarks.db, opened read-only) and a run's JSON export, as
// its versions of January–February 2026 wrote them. The format is told by
// content, not by name. docs/legacy.md describes the formats and what an
// import keeps.
package original

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"flperf/internal/engine"
	"flperf/internal/legacy"
	"flperf/internal/load"
	"flperf/internal/runner"
)

// Format is a kind of file the original wrote.
type Format string

// The formats Detect recognises.
const (
	None    Format = ""              // not a file of the original
	Storage Format = "storage.json"  // its JSON store
	SQLite  Format = "benchmarks.db" // its SQLite store
	Export  Format = "export"        // one run's JSON export
)

var sqliteMagic = []byte("SQLite format 3\x00")

// Detect tells the format from the file's first bytes (for SQLite) or its
// top-level JSON keys: benchmark_runs (the JSON store), run + results +
// exported_at (an export). None: something else (such as flperf's own
// export document).
func Detect(head []byte) Format {
	if bytes.HasPrefix(head, sqliteMagic) {
		return SQLite
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(head, &top) != nil {
		return None
	}
	if _, ok := top["benchmark_runs"]; ok {
		return Storage
	}
	_, run := top["run"]
	_, results := top["results"]
	_, exported := top["exported_at"]
	if run && results && exported {
		return Export
	}
	return None
}

// ErrNotOriginal says the file is not one of the original's.
var ErrNotOriginal = errors.New("not a file of the original FLPerformance")

// File is what one of the original's files holds, as flperf runs.
type File struct {
	Format Format
	Runs   []*runner.Result // legacy runs, oldest first
	// Orphans counts result rows whose run is not in the file (skipped).
	Orphans int
}

// ReadFile reads path, whichever of the original's formats it is in.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, _ := io.ReadFull(f, head)
	if bytes.Equal(head[:n], sqliteMagic) {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if st.Size() > MaxDBBytes {
			return nil, fmt.Errorf("%s: %d bytes, larger than the %d an import reads", path, st.Size(), MaxDBBytes)
		}
		return readDB(path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxJSONBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxJSONBytes {
		return nil, fmt.Errorf("%s: larger than the %d bytes an import reads", path, MaxJSONBytes)
	}
	return ParseJSON(data)
}

// ParseJSON reads the original's JSON store or a run's export.
func ParseJSON(data []byte) (*File, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: invalid JSON at %s: %v", ErrNotOriginal, lineCol(data, se.Offset), err)
		}
		return nil, fmt.Errorf("%w: want a JSON object: %v", ErrNotOriginal, err)
	}
	switch Detect(data) {
	case Storage:
		return parseStorage(object{m: top})
	case Export:
		return parseExport(object{m: top})
	}
	return nil, fmt.Errorf("%w: a JSON object without benchmark_runs (storage.json) or run, results and exported_at (an export)", ErrNotOriginal)
}

// models maps the original's app model ids to its alias and catalog id.
type models map[string][2]string

func (ms models) label(id string) (alias, catalog string) {
	m, ok := ms[id]
	if !ok || m[0] == "" {
		return id, m[1]
	}
	return m[0], m[1]
}

func parseModels(o object) (models, error) {
	ms := models{}
	v := o.raw("models")
	if v == nil {
		return ms, nil
	}
	var byID map[string]json.RawMessage
	if v[0] != '{' || json.Unmarshal(v, &byID) != nil {
		return nil, &FieldError{"models", "want an object keyed by model id, got " + kindOf(v)}
	}
	for id, raw := range byID {
		m, err := newObject(fmt.Sprintf("models[%q]", clip(id)), raw)
		if err != nil {
			return nil, err
		}
		alias, err := m.str("alias", false)
		if err != nil {
			return nil, err
		}
		catalog, err := m.str("model_id", false)
		if err != nil {
			return nil, err
		}
		ms[id] = [2]string{alias, catalog}
	}
	return ms, nil
}

func parseStorage(top object) (*File, error) {
	ms, err := parseModels(top)
	if err != nil {
		return nil, err
	}
	runsRaw := top.raw("benchmark_runs")
	var runs map[string]json.RawMessage
	if runsRaw == nil || runsRaw[0] != '{' || json.Unmarshal(runsRaw, &runs) != nil {
		return nil, &FieldError{"benchmark_runs", "want an object keyed by run id, got " + kindOf(runsRaw)}
	}
	if len(runs) > MaxRuns {
		return nil, &FieldError{"benchmark_runs", fmt.Sprintf("%d runs, more than the %d an import reads", len(runs), MaxRuns)}
	}
	var results map[string]json.RawMessage
	if v := top.raw("benchmark_results"); v != nil {
		if v[0] != '{' || json.Unmarshal(v, &results) != nil {
			return nil, &FieldError{"benchmark_results", "want an object keyed by run id, got " + kindOf(v)}
		}
	}
	file := &File{Format: Storage}
	for id, raw := range runs {
		o, err := newObject(fmt.Sprintf("benchmark_runs[%q]", clip(id)), raw)
		if err != nil {
			return nil, err
		}
		rows, err := resultRows(fmt.Sprintf("benchmark_results[%q]", clip(id)), results[id])
		if err != nil {
			return nil, err
		}
		r, err := buildRun(Storage, id, o, rows, ms)
		if err != nil {
			return nil, err
		}
		file.Runs = append(file.Runs, r)
	}
	for id, rows := range results {
		if _, ok := runs[id]; !ok {
			var a []json.RawMessage
			_ = json.Unmarshal(rows, &a)
			file.Orphans += len(a)
		}
	}
	sortRuns(file.Runs)
	return file, nil
}

func parseExport(top object) (*File, error) {
	o, err := newObject("run", top.raw("run"))
	if err != nil {
		return nil, err
	}
	id, err := o.str("id", true)
	if err != nil {
		return nil, err
	}
	rows, err := resultRows("results", top.raw("results"))
	if err != nil {
		return nil, err
	}
	r, err := buildRun(Export, id, o, rows, models{})
	if err != nil {
		return nil, err
	}
	return &File{Format: Export, Runs: []*runner.Result{r}}, nil
}

// resultRows splits a run's array of result rows into objects.
func resultRows(path string, raw json.RawMessage) ([]object, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var a []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &a) != nil {
		return nil, &FieldError{path, "want an array of result rows, got " + kindOf(raw)}
	}
	if len(a) > MaxResultsPerRun {
		return nil, &FieldError{path, fmt.Sprintf("%d result rows, more than the %d an import reads", len(a), MaxResultsPerRun)}
	}
	rows := make([]object, len(a))
	for i, v := range a {
		o, err := newObject(fmt.Sprintf("%s[%d]", path, i), v)
		if err != nil {
			return nil, err
		}
		rows[i] = o
	}
	return rows, nil
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// RunID is the flperf id of the original's run id: stable, so importing
// the same file twice (or the same run from its JSON and SQLite stores)
// finds the run already there.
func RunID(originalID string) string {
	if safeID.MatchString(originalID) {
		return "legacy-" + originalID
	}
	sum := sha256.Sum256([]byte(originalID))
	return "legacy-" + hex.EncodeToString(sum[:16])
}

// buildRun turns one of the original's runs and its result rows into a
// legacy run.
func buildRun(src Format, id string, o object, rows []object, ms models) (*runner.Result, error) {
	if len(id) > maxString {
		return nil, &FieldError{o.path, "run id longer than 4096 bytes"}
	}
	suiteName, err := o.str("suite_name", false)
	if err != nil {
		return nil, err
	}
	status, err := o.str("status", false)
	if err != nil {
		return nil, err
	}
	started, err := o.millis("started_at")
	if err != nil {
		return nil, err
	}
	if started == nil {
		return nil, &FieldError{o.at("started_at"), "missing"}
	}
	completed, err := o.millis("completed_at")
	if err != nil {
		return nil, err
	}
	lr := &legacy.Run{Source: string(src), OriginalID: id, OriginalStatus: status, Suite: suiteName}
	if v := o.raw("config"); v != nil {
		c, err := newObject(o.at("config"), v)
		if err != nil {
			return nil, err
		}
		if lr.Iterations, err = c.count("iterations"); err != nil {
			return nil, err
		}
		if lr.TimeoutMs, err = c.num("timeout"); err != nil {
			return nil, err
		}
		if lr.Temperature, err = c.num("temperature"); err != nil {
			return nil, err
		}
		if lr.Streaming, err = c.boolean("streaming"); err != nil {
			return nil, err
		}
		if lr.Concurrency, err = c.num("concurrency"); err != nil {
			return nil, err
		}
	}
	if v := o.raw("hardware_info"); v != nil {
		if v[0] != '{' || !json.Valid(v) {
			return nil, &FieldError{o.at("hardware_info"), "want an object, got " + kindOf(v)}
		}
		if len(v) > maxHardwareBytes {
			return nil, &FieldError{o.at("hardware_info"), fmt.Sprintf("longer than %d bytes", maxHardwareBytes)}
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, &FieldError{o.at("hardware_info"), err.Error()}
		}
		lr.Hardware = buf.Bytes()
	}
	var modelOrder []string
	if ids, err := o.array("model_ids", MaxResultsPerRun); err != nil {
		return nil, err
	} else {
		for i, v := range ids {
			var s string
			if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil || len(s) > maxString {
				return nil, &FieldError{fmt.Sprintf("%s[%d]", o.at("model_ids"), i), "want a model id string, got " + kindOf(v)}
			}
			alias, _ := ms.label(s)
			modelOrder = appendNew(modelOrder, alias)
		}
	}
	var scenarios []string
	for _, row := range rows {
		res, err := parseResult(row, ms)
		if err != nil {
			return nil, err
		}
		lr.Results = append(lr.Results, res)
		modelOrder = appendNew(modelOrder, res.Model)
		scenarios = appendNew(scenarios, res.Scenario)
	}
	lr.Caveats = legacy.Caveats(lr.Streaming)
	lr.Methods = legacy.Methods
	if lr.Results == nil {
		lr.Results = []legacy.Result{}
	}

	st := runner.Completed
	if status != "completed" {
		st = runner.Interrupted // running (never finished) or failed
	}
	cfg := runner.Config{Models: modelOrder, Suite: suiteName, Scenarios: scenarios, Mode: load.Sequential, Concurrency: 1}
	if cfg.Models == nil {
		cfg.Models = []string{}
	}
	if cfg.Scenarios == nil {
		cfg.Scenarios = []string{}
	}
	if lr.Iterations != nil {
		cfg.Requests = *lr.Iterations
	}
	if lr.TimeoutMs != nil && *lr.TimeoutMs > 0 && *lr.TimeoutMs < 1e9 {
		cfg.Timeout = runner.Duration(time.Duration(*lr.TimeoutMs * float64(time.Millisecond)))
	}
	cfg.Temperature = lr.Temperature
	if lr.Streaming != nil {
		cfg.Stream = *lr.Streaming
	}
	r := &runner.Result{
		ID:       RunID(id),
		Tool:     runner.Tool{Name: "FLPerformance (original)"},
		Status:   st,
		Started:  time.UnixMilli(*started).UTC(),
		Engine:   engine.Info{Kind: engine.Foundry, DetectedBy: "imported from the original FLPerformance (" + string(src) + ")"},
		Config:   cfg,
		Suite:    runner.SuiteInfo{Name: suiteName, Source: "the original FLPerformance", Scenarios: scenarios},
		Warnings: []string{legacy.Warning(lr)},
		Legacy:   lr,
	}
	if r.Suite.Scenarios == nil {
		r.Suite.Scenarios = []string{}
	}
	if completed != nil && *completed >= *started {
		r.Ended = time.UnixMilli(*completed).UTC()
	}
	return r, nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func sortRuns(rs []*runner.Result) {
	sort.Slice(rs, func(i, j int) bool {
		if !rs[i].Started.Equal(rs[j].Started) {
			return rs[i].Started.Before(rs[j].Started)
		}
		return rs[i].ID < rs[j].ID
	})
}

// parseResult reads one result row.
func parseResult(o object, ms models) (legacy.Result, error) {
	var res legacy.Result
	var err error
	if res.ModelID, err = o.str("model_id", true); err != nil {
		return res, err
	}
	if res.Scenario, err = o.str("scenario", true); err != nil {
		return res, err
	}
	res.Model, res.CatalogID = ms.label(res.ModelID)
	if alias, err := o.str("model_alias", false); err != nil {
		return res, err
	} else if alias != "" {
		res.Model = alias
	}
	for _, f := range []struct {
		key string
		dst **float64
	}{
		{"tps", &res.TPS}, {"ttft", &res.TTFT}, {"tpot", &res.TPOT}, {"gen_tps", &res.GenTPS},
		{"latency_p50", &res.LatencyP50}, {"latency_p95", &res.LatencyP95}, {"latency_p99", &res.LatencyP99},
		{"error_rate", &res.ErrorRate}, {"timeout_rate", &res.TimeoutRate},
		{"cpu_avg", &res.CPUAvg}, {"ram_avg", &res.RAMAvg}, {"gpu_avg", &res.GPUAvg},
	} {
		if *f.dst, err = o.num(f.key); err != nil {
			return res, err
		}
	}
	for _, f := range []struct {
		key string
		dst **int
	}{{"total_tokens", &res.TotalTokens}, {"total_iterations", &res.TotalIterations}, {"successful_iterations", &res.SuccessfulIterations}} {
		if *f.dst, err = o.count(f.key); err != nil {
			return res, err
		}
	}
	if v := o.raw("raw_data"); v != nil {
		raw, err := newObject(o.at("raw_data"), v)
		if err != nil {
			return res, err
		}
		if res.Iterations, err = parseIterations(raw); err != nil {
			return res, err
		}
		// The SQLite store wrote a 0 rate as NULL: the counts it kept
		// beside the iterations give it back.
		if n := len(res.Iterations); n > 0 {
			for _, f := range []struct {
				key  string
				rate **float64
			}{{"errors", &res.ErrorRate}, {"timeouts", &res.TimeoutRate}} {
				c, err := raw.count(f.key)
				if err != nil {
					return res, err
				}
				if *f.rate == nil && c != nil {
					v := float64(*c) / float64(n) * 100
					*f.rate = &v
				}
			}
		}
	}
	return res, nil
}

// parseIterations reads raw_data.iterations, the per-request figures the
// original kept: {startTime, endTime, ttft, tokens, error, timeout}.
func parseIterations(raw object) ([]legacy.Iteration, error) {
	its, err := raw.array("iterations", MaxIterations)
	if err != nil || its == nil {
		return nil, err
	}
	out := make([]legacy.Iteration, 0, len(its))
	for i, v := range its {
		o, err := newObject(fmt.Sprintf("%s[%d]", raw.at("iterations"), i), v)
		if err != nil {
			return nil, err
		}
		var it legacy.Iteration
		start, err := o.num("startTime")
		if err != nil {
			return nil, err
		}
		end, err := o.num("endTime")
		if err != nil {
			return nil, err
		}
		if start != nil && end != nil {
			if *end < *start {
				return nil, &FieldError{o.at("endTime"), "before startTime"}
			}
			d := *end - *start
			it.LatencyMs = &d
		}
		if it.TTFTMs, err = o.num("ttft"); err != nil {
			return nil, err
		}
		tokens, err := o.count("tokens")
		if err != nil {
			return nil, err
		}
		if tokens != nil {
			it.Tokens = *tokens
		}
		if v := o.raw("error"); v != nil {
			var s string
			if v[0] == '"' && json.Unmarshal(v, &s) == nil {
				it.Error = cut(s)
			} else {
				it.Error = cut(string(v)) // an error object, kept as its JSON
			}
		}
		timeout, err := o.boolean("timeout")
		if err != nil {
			return nil, err
		}
		it.Timeout = timeout != nil && *timeout
		out = append(out, it)
	}
	return out, nil
}

// cut bounds an error message, on a rune boundary.
func cut(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxErrorText {
		return s
	}
	return strings.ToValidUTF8(s[:maxErrorText], "") + errorTextEllipsis
}
