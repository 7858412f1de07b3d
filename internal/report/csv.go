package report

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

var distCols = []string{"n", "mean", "std", "min", "p50", "p90", "p95", "p99", "max"}

// CSVHeader is the header row of CSV: one column per summary figure.
func CSVHeader() []string {
	h := []string{"run_id", "engine", "endpoint", "simulated", "model", "scenario", "stage", "load",
		"requests", "ok", "canceled"}
	for _, o := range failureOrder {
		h = append(h, string(o))
	}
	h = append(h, "error_rate", "short_responses", "connection_retries")
	for _, m := range metrics {
		for _, c := range distCols {
			h = append(h, m.Key+"_"+c)
		}
	}
	h = append(h, "window_s", "requests_per_s", "output_tokens_per_s", "total_tokens_per_s",
		"goodput_per_s", "good_fraction", "token_source", "warnings",
		"engine_n", "engine_ttft_ms_mean", "engine_ttft_ms_p50", "engine_decode_tps_mean", "engine_decode_tps_p50",
		"engine_overhead_ms_mean", "engine_overhead_ms_p50",
		"res_cpu_pct_mean", "res_cpu_pct_peak", "res_engine_cpu_pct_mean", "res_engine_cpu_pct_peak", "res_engine_rss_peak_bytes",
		"res_mem_used_peak_bytes", "res_gpu_util_pct_mean", "res_gpu_util_pct_peak", "res_gpu_mem_used_peak_mib", "res_gpu_power_w_mean",
		"res_energy_j", "res_joules_per_token")
	h = append(h, "language", "chars_per_s_n", "chars_per_s_mean", "chars_per_s_p50",
		"output_chars", "tokens_per_char", "prompt_chars", "input_tokens_per_char")
	h = append(h, retryCSVHeader...)
	h = append(h, inputCSVHeader...)
	h = append(h, cacheCSVHeader...)
	return append(h, turnCSVHeader...)
}

// resourceCells are the resource figures of g's window (its stage, or its
// model's stages); empty cells where unknown or not sampled. GPU figures
// are over all GPUs: utilisation averaged, memory and power summed.
func resourceCells(r *runner.Result, g *stats.Group) []string {
	cells := make([]string, 12)
	if r.Resources == nil {
		return cells
	}
	ws := r.Resources.Stages
	if g.Scenario == "" {
		ws = r.Resources.Models
	}
	var w *runner.Window
	for i := range ws {
		if ws[i].Model == g.Model && ws[i].Scenario == g.Scenario {
			w = &ws[i]
		}
	}
	if w == nil {
		return cells
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64) // bytes stay whole numbers, not 2.1e+09
	}
	var util, utilPeak, mem, power []float64
	for _, gs := range w.GPUs {
		for dst, v := range map[*[]float64]*float64{&util: gs.UtilPct.Mean, &utilPeak: gs.UtilPct.Peak, &mem: gs.MemUsedMiB.Peak, &power: gs.PowerW.Mean} {
			if v != nil {
				*dst = append(*dst, *v)
			}
		}
	}
	agg := func(vs []float64, mean bool) string {
		if len(vs) == 0 || len(vs) != len(w.GPUs) {
			return "" // a GPU without the figure: no honest total
		}
		t := 0.0
		for _, v := range vs {
			t += v
		}
		if mean {
			t /= float64(len(vs))
		}
		return f64(t)
	}
	maxOf := func(vs []float64) string {
		if len(vs) == 0 {
			return ""
		}
		m := vs[0]
		for _, v := range vs {
			m = max(m, v)
		}
		return f64(m)
	}
	return []string{opt(w.CPUPct.Mean), opt(w.CPUPct.Peak), opt(w.ProcCPUPct.Mean), opt(w.ProcCPUPct.Peak), opt(w.ProcRSSBytes.Peak),
		opt(w.MemUsedBytes.Peak), agg(util, true), maxOf(utilPeak), agg(mem, false), agg(power, false),
		opt(w.EnergyJ), opt(w.JoulesPerToken)}
}

// engineCells are the engine's own per-response figures of g (empty cells
// when it reported none).
func engineCells(g *stats.Group) []string {
	if g.Engine == nil {
		return []string{"0", "", "", "", "", "", ""}
	}
	e := g.Engine
	cell := func(d stats.Dist) (string, string) {
		if d.N == 0 {
			return "", ""
		}
		return f64(d.Mean), f64(d.P50)
	}
	tm, tp := cell(e.TTFT)
	dm, dp := cell(e.DecodeTPS)
	om, op := cell(e.Overhead)
	return []string{strconv.Itoa(e.N), tm, tp, dm, dp, om, op}
}

// CSV writes one row per model × scenario, then one per model (scenario
// empty: all scenarios pooled), then one per conversation turn of each
// model × scenario (turn set; see turnRows). Unknown figures are empty
// cells, never 0.
// Quoting follows RFC 4180 (encoding/csv).
func CSV(w io.Writer, r *runner.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return err
	}
	for _, groups := range [][]stats.Group{r.Groups, r.Models} {
		for i := range groups {
			if err := cw.Write(csvRow(r, &groups[i])); err != nil {
				return err
			}
		}
	}
	for i := range r.Groups {
		if err := cw.WriteAll(turnRows(r, &r.Groups[i])); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func f64(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func csvRow(r *runner.Result, g *stats.Group) []string {
	row := []string{r.ID, string(r.Engine.Kind), r.Engine.Endpoint, strconv.FormatBool(r.Engine.Simulated),
		g.Model, g.Scenario, g.Stage, stagePlan(r, g.Stage),
		strconv.Itoa(g.Requests), strconv.Itoa(g.OK), strconv.Itoa(g.Canceled)}
	for _, o := range failureOrder {
		row = append(row, strconv.Itoa(g.Failures[o]))
	}
	row = append(row, f64(g.ErrorRate), strconv.Itoa(g.Short), strconv.Itoa(g.ConnRetries))
	for _, m := range metrics {
		d := m.Get(g)
		if d.N == 0 {
			row = append(row, "0")
			for range distCols[1:] {
				row = append(row, "")
			}
			continue
		}
		row = append(row, strconv.Itoa(d.N), f64(d.Mean), f64(d.Std), f64(d.Min), f64(d.P50), f64(d.P90), f64(d.P95), f64(d.P99), f64(d.Max))
	}
	good, frac := "", ""
	if g.Goodput != nil {
		good, frac = f64(g.Goodput.PerS), f64(g.Goodput.Fraction)
	}
	rps, ops, tps := "", "", ""
	if g.OK > 0 {
		rps, ops, tps = f64(g.RequestsPerS), f64(g.OutputTokensPerS), f64(g.TotalTokensPerS)
	}
	row = append(row, f64(g.Window), rps, ops, tps, good, frac, g.TokenSource, strings.Join(g.Warnings, "; "))
	row = append(row, engineCells(g)...)
	row = append(row, resourceCells(r, g)...)
	row = append(row, charCells(r, g)...)
	row = append(row, retryCSVCells(g)...)
	row = append(row, inputCSVCells(r, g)...)
	row = append(row, cacheCSVCells(g)...)
	return append(row, make([]string, len(turnCSVHeader))...)
}

// charCells are g's language (its scenario's; empty for pooled rows) and
// character figures (docs/metrics.md §3); empty cells where unknown.
func charCells(r *runner.Result, g *stats.Group) []string {
	ratio := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f64(*v)
	}
	d := g.CharsPerS
	cells := []string{r.Suite.Languages[g.Scenario], strconv.Itoa(d.N), f64(d.Mean), f64(d.P50), "", "", "", ""}
	if d.N == 0 {
		cells[2], cells[3] = "", ""
	}
	if c := g.Chars; c != nil {
		cells[4], cells[5] = strconv.FormatInt(c.OutputChars, 10), ratio(c.TokensPerChar)
		cells[6], cells[7] = strconv.FormatInt(c.PromptChars, 10), ratio(c.InputTokensPerChar)
	}
	return cells
}

// stagePlan labels the load of a stage: the run's, or its level's in a
// sweep ("concurrency=4").
func stagePlan(r *runner.Result, stage string) string {
	p := r.Config.Plan()
	if l, ok := runner.ParseLevel(stage); ok && r.Config.Sweep() != nil {
		p = l.Apply(p)
	}
	return p.String()
}
