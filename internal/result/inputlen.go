package result

import "fmt"

// InputLengths is how the prompts of the scenarios that ask for an input
// length (suite input_tokens) were resolved before the run: per model ×
// scenario, and what it cost. Calibration requests are counted here and
// nowhere else: they are not records and no figure includes them.
type InputLengths struct {
	Prompts []InputLength `json:"prompts"`
	// CalibrationRequests are the chat requests with max_tokens 1 sent to
	// the engine to measure prompts (method calibration), and
	// CalibrationSeconds their time end to end, added up.
	CalibrationRequests int     `json:"calibration_requests"`
	CalibrationSeconds  float64 `json:"calibration_s"`
	// TokenizerCounts are the calls to the engine's tokenizer endpoint.
	TokenizerCounts int `json:"tokenizer_counts"`
}

// InputLength is one model × scenario's resolution (inputlen.Resolution).
type InputLength struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Spec     string `json:"spec"`    // input_tokens as asked: "512", "512:64", "uniform:256-2048"
	Method   string `json:"method"`  // tokenizer, calibration, gguf or estimate
	Lengths  int    `json:"lengths"` // distinct lengths resolved
	Missed   int    `json:"missed"`  // of which no prompt counts exactly
}

// Warnings are what a reader must know about the resolution: lengths that
// were only estimated, or that no prompt hits exactly.
func (l *InputLengths) Warnings() []string {
	if l == nil {
		return nil
	}
	var w []string
	for _, p := range l.Prompts {
		switch {
		case p.Method == "estimate":
			w = append(w, fmt.Sprintf("input length: model %s, scenario %q: the engine could not count prompts (no tokenizer endpoint, no usage, no local GGUF): input_tokens %s is estimated and only approximate", p.Model, p.Scenario, p.Spec))
		case p.Missed > 0:
			w = append(w, fmt.Sprintf("input length: model %s, scenario %q: %d of %d lengths could not be hit exactly by %s (the nearest shorter prompt is sent)", p.Model, p.Scenario, p.Missed, p.Lengths, p.Method))
		}
	}
	return w
}
