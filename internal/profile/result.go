package profile

// Result is what a profiled run measured, stored with the run's
// configuration (runner.Config.Profile): per model, every figure and the
// composite score.
type Result struct {
	ID        string        `json:"id"`        // the workload, e.g. "standard/2" (Definition.ID)
	Name      string        `json:"name"`      // "standard"
	Version   int           `json:"version"`   // 2 (or 1: the version run)
	SustainS  float64       `json:"sustain_s"` // the sustained stage's length, seconds
	Reference Reference     `json:"reference"` // what the score is relative to
	Power     string        `json:"power"`     // "ac", "battery" or "unknown": what powered the machine
	Models    []ModelResult `json:"models"`    // one per model, in run order
	Notes     []string      `json:"notes,omitempty"`
}

// ModelResult is one model's figures and score.
type ModelResult struct {
	Model  string  `json:"model"`
	Values []Value `json:"values"` // one per figure of Figures, in that order
	// Score is the composite score (null: no scored figure measured);
	// Complete is false when a scored figure is missing (Missing names
	// them), so that a partial score is never mistaken for a full one.
	Score    *float64 `json:"score"`
	Complete bool     `json:"complete"`
	Missing  []string `json:"missing,omitempty"`
	// Temperatures are the hottest GPU reading (°C) during the first
	// one-stream decode stage and after the sustained generation; null
	// where no sensor was read.
	TempStartC *float64 `json:"temp_start_c"`
	TempEndC   *float64 `json:"temp_end_c"`
}

// Model returns the result of model m, or nil.
func (r *Result) Model(m string) *ModelResult {
	if r == nil {
		return nil
	}
	for i := range r.Models {
		if r.Models[i].Model == m {
			return &r.Models[i]
		}
	}
	return nil
}

// Value returns figure key's value, or nil.
func (m *ModelResult) Value(key string) *float64 {
	for _, v := range m.Values {
		if v.Key == key {
			return v.Value
		}
	}
	return nil
}
