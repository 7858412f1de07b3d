package stats

// CapacityPair puts side by side what two capacity searches found
// (docs/metrics.md §10): Comparison.Capacity, filled by the caller from the
// runs' configurations. A side that was no capacity search (or whose
// search measured another model) is nil.
type CapacityPair struct {
	Base      *CapacitySide `json:"base"`
	Candidate *CapacitySide `json:"candidate"`
	// Delta is the relative change of the level, (cand − base) / base; nil
	// where either side found none.
	Delta *float64 `json:"delta"`
}

// CapacitySide is one search's answer: the level it found with its
// figures, and the first level that failed.
type CapacitySide struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	By       string `json:"by"`  // concurrency or rate
	SLO      string `json:"slo"` // the objectives
	// Level is the highest level that met every objective; nil: none did.
	Level            *float64         `json:"level"`
	RequestsPerS     *float64         `json:"requests_per_s"`
	OutputTokensPerS *float64         `json:"output_tokens_per_s"`
	Objectives       []CapacityFigure `json:"objectives"` // at Level
	// FirstFailing is the lowest failing level above Level and Why what
	// failed there; nil and "" when none failed.
	FirstFailing *float64 `json:"first_failing"`
	Why          string   `json:"why"`
	Answer       string   `json:"answer"` // the search's one-line answer
}

// CapacityFigure is one objective's percentile at the level found.
type CapacityFigure struct {
	Objective string      `json:"objective"` // e.g. "TTFT p99"
	TargetMS  float64     `json:"target_ms"`
	ValueMS   *float64    `json:"value_ms"`
	CI        *[2]float64 `json:"ci_ms"`
}
