package result

import "flperf/internal/telemetry"

// Resources is what the machine did during a run: the resource sampler's
// summaries per model × scenario stage, per model and for the whole run,
// with energy per output token where power was measured. The time series
// itself is kept apart (Result.Series; the store's run_samples).
type Resources struct {
	IntervalMS int64          `json:"interval_ms"`
	Samples    int            `json:"samples"`
	Cost       telemetry.Cost `json:"cost"`  // the sampler's own CPU cost
	Notes      []string       `json:"notes"` // figures missing or degraded, and why
	Stages     []Window       `json:"stages"`
	Models     []Window       `json:"models"`
	Run        Window         `json:"run"`
}

// Window is the resource summary of one stretch of a run (a stage, a
// model's stages, the whole run). OutputTokens counts every token the
// engine produced in it, warm-ups and partial responses included: they
// used the energy too. JoulesPerToken and TokensPerJoule are null where no
// power source was measured over the whole window.
type Window struct {
	Model          string   `json:"model,omitempty"`
	Scenario       string   `json:"scenario,omitempty"`
	Stage          string   `json:"stage,omitempty"` // the load level's label in a sweep
	OutputTokens   int      `json:"output_tokens"`
	JoulesPerToken *float64 `json:"joules_per_token"`
	TokensPerJoule *float64 `json:"tokens_per_joule"`
	telemetry.Summary
}
