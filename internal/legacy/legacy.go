// Package legacy describes runs imported from the original FLPerformance
// (the Node.js app this project replaces): the figures it stored, kept as
// it computed them, named by the method it used, and the caveats that
// make them incomparable with flperf's own figures (docs/legacy.md).
//
// A legacy run has no request records: its summary is empty, and its
// figures live in the run's Legacy block, which every view shows apart
// from flperf's figures under a LEGACY label. Reading the original's files
// is package legacy/original.
package legacy

import (
	"encoding/json"
	"fmt"
)

// Caveat keys: what the original got wrong, one key per defect.
const (
	ChunksAsTokens = "chunks_as_tokens"
	NearestRank    = "nearest_rank"
	SequentialOnly = "sequential_only"
	HiddenRetries  = "hidden_retries"
)

// Label is the short mark every view puts on a legacy run.
const Label = "LEGACY"

// Run is what the original stored about one benchmark run.
type Run struct {
	// Source is the kind of file it came from: "storage.json" (the JSON
	// store), "benchmarks.db" (the SQLite store) or "export" (a run's JSON
	// export).
	Source         string `json:"source"`
	OriginalID     string `json:"original_id"`     // the original's run id
	OriginalStatus string `json:"original_status"` // running, completed or failed, as it stored it
	Suite          string `json:"suite"`
	// The original's run configuration (nil: not stored).
	Iterations  *int     `json:"iterations"`
	TimeoutMs   *float64 `json:"timeout_ms"`
	Temperature *float64 `json:"temperature"`
	Streaming   *bool    `json:"streaming"`
	// Concurrency is the concurrency it stored and ignored: it ran one
	// request at a time whatever this says.
	Concurrency *float64 `json:"concurrency_ignored"`
	// Hardware is its hardware_info object as stored (strings like
	// "63 GB"); nil when it stored none.
	Hardware json.RawMessage `json:"hardware,omitempty"`
	// Caveats say what it got wrong, in words, keyed by the constants above.
	Caveats []Caveat `json:"caveats"`
	// Methods names how each of the Results' figures was computed.
	Methods []Method `json:"methods"`
	Results []Result `json:"results"`
}

// Caveat is one defect of the original's figures.
type Caveat struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}

// Method names how the original computed one figure.
type Method struct {
	Field  string `json:"field"`
	Method string `json:"method"`
}

// Result is one of the original's result rows: a model × scenario's
// figures, as it computed them. Nil: not stored (the SQLite store also
// wrote 0 as NULL; docs/legacy.md).
type Result struct {
	Model     string `json:"model"`    // the alias it showed (its model id when unknown)
	ModelID   string `json:"model_id"` // its app model id
	CatalogID string `json:"catalog_id,omitempty"`
	Scenario  string `json:"scenario"`

	TPS         *float64 `json:"tps"`
	TTFT        *float64 `json:"ttft"`
	TPOT        *float64 `json:"tpot"`
	GenTPS      *float64 `json:"gen_tps"`
	LatencyP50  *float64 `json:"latency_p50"`
	LatencyP95  *float64 `json:"latency_p95"`
	LatencyP99  *float64 `json:"latency_p99"`
	ErrorRate   *float64 `json:"error_rate"`   // percent
	TimeoutRate *float64 `json:"timeout_rate"` // percent
	CPUAvg      *float64 `json:"cpu_avg"`
	RAMAvg      *float64 `json:"ram_avg"`
	GPUAvg      *float64 `json:"gpu_avg"`

	TotalTokens          *int `json:"total_tokens"`
	TotalIterations      *int `json:"total_iterations"`
	SuccessfulIterations *int `json:"successful_iterations"`

	// Iterations are its per-iteration figures, when it kept them.
	Iterations []Iteration `json:"iterations,omitempty"`
}

// Iteration is one request as the original recorded it.
type Iteration struct {
	LatencyMs *float64 `json:"latency_ms"` // end − start (its own retries included)
	TTFTMs    *float64 `json:"ttft_ms"`    // wall-clock ms to the first content chunk
	Tokens    int      `json:"tokens"`     // content chunks when streaming
	Error     string   `json:"error,omitempty"`
	Timeout   bool     `json:"timeout,omitempty"`
}

// Methods are the original's methods, one per figure of Result.
var Methods = []Method{
	{"tps", "Σ tokens ÷ Σ latency of the successful iterations, TTFT included; 'tokens' are content chunks when streaming"},
	{"ttft", "element ⌊n/2⌋ of the sorted wall-clock TTFTs (upper median), successful streamed iterations only, integer ms"},
	{"tpot", "mean of all gaps between content chunks, pooled over iterations (chunk gaps, not token gaps)"},
	{"gen_tps", "1000 ÷ tpot: chunks per second when streaming"},
	{"latency_p50/p95/p99", "nearest rank (element ⌈p·n⌉−1 of the sorted latencies) of the successful iterations; failures and timeouts left out; with 5 iterations P95 = P99 = the maximum"},
	{"error_rate, timeout_rate", "percent of the configured iterations; requests its client retried and then succeeded count as successes"},
	{"cpu_avg, ram_avg, gpu_avg", "system-wide snapshots taken after each request, not during it; first GPU only"},
}

// Caveats returns what the original got wrong for a run; streaming says
// whether it streamed (nil: unknown).
func Caveats(streaming *bool) []Caveat {
	chunks := "Tokens counted as chunks: when streaming, the original counted content chunks, not tokens (an engine that sends 4 tokens per chunk shows a quarter of its rate), and its tps includes the time to the first token."
	if streaming != nil && !*streaming {
		chunks = "Tokens were the engine's usage counts (this run did not stream), but its tps includes the whole request time, TTFT included: not a decode rate."
	}
	return []Caveat{
		{ChunksAsTokens, chunks},
		{NearestRank, "Nearest-rank percentiles over the successful iterations only (with 5 iterations P95 = P99 = the slowest); TTFT is an upper median in wall-clock ms; timeouts and failures are left out of every latency."},
		{SequentialOnly, "Sequential only: one request at a time with a pause between them, whatever concurrency it stored; no figure describes behaviour under load."},
		{HiddenRetries, "Retried errors hidden: its client retried failed requests twice with backoff and counted them as successes (inflating latency and TTFT), and a scenario whose requests failed was dropped without a row, so its error rate understates failures."},
	}
}

// Warning is the run-level warning a legacy run carries.
func Warning(r *Run) string {
	return fmt.Sprintf("%s: imported from the original FLPerformance (%s, run %s). Its figures are kept as it computed them, in the legacy block, and are not comparable with flperf's: chunks counted as tokens, nearest-rank percentiles, sequential requests only, retried errors hidden (docs/legacy.md).", Label, r.Source, r.OriginalID)
}

// CompareWarning is what a comparison involving a legacy run says first.
func CompareWarning(side, id string) string {
	return fmt.Sprintf("%s run %s (%s) was imported from the original FLPerformance: its figures were computed differently (chunks counted as tokens, nearest-rank percentiles, sequential only, retried errors hidden) and are NOT compared with flperf's; no figure of it enters this comparison or any --fail-if-slower gate.", Label, id, side)
}
