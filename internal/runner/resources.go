package runner

import (
	"time"

	"flperf/internal/telemetry"
)

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

// window summarises series over [from, to].
func window(s *telemetry.Series, model, scenario string, from, to time.Time, tokens int) Window {
	sum := telemetry.Summarize(s, from, to)
	return Window{Model: model, Scenario: scenario, OutputTokens: tokens, Summary: sum,
		JoulesPerToken: sum.JoulesPerToken(tokens), TokensPerJoule: sum.TokensPerJoule(tokens)}
}

// resources summarises series over the run's stages, models and whole span.
func resources(s *telemetry.Series, stages []stageWindow) *Resources {
	r := &Resources{IntervalMS: s.IntervalMS, Samples: len(s.Samples), Cost: s.Cost, Notes: s.Notes,
		Stages: []Window{}, Models: []Window{}}
	if r.Notes == nil {
		r.Notes = []string{}
	}
	if len(stages) == 0 {
		return r
	}
	total := 0
	for i, st := range stages {
		w := window(s, st.model, st.scenario, st.start, st.end, st.tokens)
		w.Stage = st.stage
		r.Stages = append(r.Stages, w)
		total += st.tokens
		if i > 0 && stages[i-1].model == st.model {
			continue
		}
		// A model's stages run one after another: its window is from its
		// first stage's start to its last stage's end.
		end, tokens := st.end, 0
		for _, o := range stages[i:] {
			if o.model != st.model {
				break
			}
			end, tokens = o.end, tokens+o.tokens
		}
		r.Models = append(r.Models, window(s, st.model, "", st.start, end, tokens))
	}
	r.Run = window(s, "", "", stages[0].start, stages[len(stages)-1].end, total)
	return r
}
