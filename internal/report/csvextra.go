package report

import (
	"strconv"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// inputCSVHeader are the input-length figures of a row (suite
// input_tokens; README: Input lengths): the ok requests that asked for a
// length and carry the engine's count, the mean length asked for and
// measured, their relative difference, the requests more than 1 % off,
// and how the prompts were made that long (input_length_method).
var inputCSVHeader = []string{"input_length_n", "input_requested_mean", "input_measured_mean",
	"input_length_difference", "input_length_off", "input_length_method"}

// cacheCSVHeader are the prefix-cache figures of a row (docs/metrics.md
// §12): Σ cached tokens over the ok requests and their share of Σ input.
var cacheCSVHeader = []string{"cached_tokens", "cached_share"}

// turnCSVHeader are the columns of a conversation turn's row: its 1-based
// index (empty on every other row) and its mean input and cached tokens.
var turnCSVHeader = []string{"turn", "turn_input_tokens_mean", "turn_cached_tokens_mean"}

// inputCSVCells are g's input-length figures; empty cells when none of its
// requests asked for a length. The method is a scenario's (model ×
// scenario); pooled rows leave it empty.
func inputCSVCells(r *runner.Result, g *stats.Group) []string {
	cells := make([]string, len(inputCSVHeader))
	f := g.InputLength
	if f == nil {
		return cells
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f64(*v)
	}
	cells[0], cells[1], cells[2], cells[3], cells[4] = strconv.Itoa(f.N), opt(f.RequestedMean), opt(f.MeasuredMean), opt(f.Diff), strconv.Itoa(f.Off)
	if il := r.Suite.InputLengths; il != nil && g.Scenario != "" {
		for _, p := range il.Prompts {
			if p.Model == g.Model && p.Scenario == g.Scenario {
				cells[5] = p.Method
			}
		}
	}
	return cells
}

// cacheCSVCells are g's cached tokens and share; empty cells when the
// engine reported no cache hit.
func cacheCSVCells(g *stats.Group) []string {
	if g.CachedShare == nil && g.CachedTokens == 0 {
		return []string{"", ""}
	}
	share := ""
	if g.CachedShare != nil {
		share = f64(*g.CachedShare)
	}
	return []string{strconv.FormatInt(g.CachedTokens, 10), share}
}

// turnRows are the rows of g's conversation turns, one per turn, after
// every group's row: the group's identity, the turn's requests, ok and
// TTFT distribution in the columns of the same name, its cached share,
// index and mean input and cached tokens; every other cell is empty (not
// measured per turn). Readers that predate them skip rows whose turn is
// set.
func turnRows(r *runner.Result, g *stats.Group) [][]string {
	if len(g.Turns) == 0 {
		return nil
	}
	head := CSVHeader()
	col := make(map[string]int, len(head))
	for i, h := range head {
		col[h] = i
	}
	rows := make([][]string, 0, len(g.Turns))
	for _, t := range g.Turns {
		row := make([]string, len(head))
		set := func(k, v string) { row[col[k]] = v }
		set("run_id", r.ID)
		set("engine", string(r.Engine.Kind))
		set("endpoint", r.Engine.Endpoint)
		set("simulated", strconv.FormatBool(r.Engine.Simulated))
		set("model", g.Model)
		set("scenario", g.Scenario)
		set("stage", g.Stage)
		set("load", stagePlan(r, g.Stage))
		set("requests", strconv.Itoa(t.Requests))
		set("ok", strconv.Itoa(t.OK))
		d := t.TTFT
		set("ttft_ms_n", strconv.Itoa(d.N))
		if d.N > 0 {
			for k, v := range map[string]float64{"mean": d.Mean, "std": d.Std, "min": d.Min, "p50": d.P50, "p90": d.P90, "p95": d.P95, "p99": d.P99, "max": d.Max} {
				set("ttft_ms_"+k, f64(v))
			}
		}
		if t.CachedShare != nil {
			set("cached_share", f64(*t.CachedShare))
		}
		set("language", r.Suite.Languages[g.Scenario])
		set("turn", strconv.Itoa(t.Turn))
		set("turn_input_tokens_mean", f64(t.InputTokens))
		set("turn_cached_tokens_mean", f64(t.CachedTokens))
		rows = append(rows, row)
	}
	return rows
}
