// Package report renders a run's Result for people and scripts: a table for
// the terminal, one JSON document, CSV (RFC 4180, one row per model ×
// scenario and per model), JSON Lines of the raw request records, and
// GitHub-flavoured Markdown for pull requests and issues (Markdown,
// CompareMarkdown).
// Renderers are plain functions of (io.Writer, *runner.Result). It also
// renders comparisons (CompareTable, CompareJSON, in benchstat's look) and
// writes per-request samples in Go's benchmark format (Benchstat).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// Formats lists the output formats of `flperf run`.
var Formats = []string{"table", "json", "csv", "jsonl", "markdown"}

// JSON writes the result as one indented JSON document, with the
// per-language rows (stats.LanguageRows) under "languages" when its
// scenarios carry a language, and a context sweep's figures
// (RunContextSweep) under "context_sweep".
func JSON(w io.Writer, r *runner.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		*runner.Result
		Languages    []stats.LanguageRow `json:"languages,omitempty"`
		ContextSweep *ContextSweep       `json:"context_sweep,omitempty"`
	}{r, stats.LanguageRows(r.Groups, r.Suite.Languages), RunContextSweep(r)})
}

// metric is one column family of the reports.
type metric struct {
	Key  string // JSON/CSV key
	Name string // short display name
	Unit string // "ms" or "tok/s"
	Get  func(*stats.Group) stats.Dist
	Low  bool // lower is better
}

// Metrics are the per-request metrics, in report order.
var metrics = []metric{
	{"ttft_ms", "TTFT", "ms", func(g *stats.Group) stats.Dist { return g.TTFT }, true},
	{"ttfo_ms", "TTFO", "ms", func(g *stats.Group) stats.Dist { return g.TTFO }, true},
	{"tpot_ms", "TPOT", "ms", func(g *stats.Group) stats.Dist { return g.TPOT }, true},
	{"itl_ms", "ITL", "ms", func(g *stats.Group) stats.Dist { return g.ITL }, true},
	{"e2e_ms", "E2E", "ms", func(g *stats.Group) stats.Dist { return g.E2E }, true},
	{"ttft_queue_ms", "TTFT+queue", "ms", func(g *stats.Group) stats.Dist { return g.QueueTTFT }, true},
	{"e2e_queue_ms", "E2E+queue", "ms", func(g *stats.Group) stats.Dist { return g.QueueE2E }, true},
	{"decode_tps", "decode", "tok/s", func(g *stats.Group) stats.Dist { return g.DecodeTPS }, false},
	{"output_tps", "output", "tok/s", func(g *stats.Group) stats.Dist { return g.OutputTPS }, false},
	{"prefill_tps", "prefill", "tok/s", func(g *stats.Group) stats.Dist { return g.PrefillTPS }, false},
	{"input_tokens", "in tokens", "tok", func(g *stats.Group) stats.Dist { return g.InputTokens }, false},
	{"output_tokens", "out tokens", "tok", func(g *stats.Group) stats.Dist { return g.OutputTokens }, false},
}

// num formats a figure with about three significant digits; "–" for
// unknown (NaN) values, which are never shown as 0.
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// dnum formats one statistic of a distribution, "–" when it has no samples.
func dnum(d stats.Dist, v float64) string {
	if d.N == 0 {
		return "–"
	}
	return num(v)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// failureText summarises failures as "2 timeout, 1 http_error".
func failureText(g *stats.Group) string {
	var parts []string
	for _, k := range failureOrder {
		if n := g.Failures[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return strings.Join(parts, ", ")
}
