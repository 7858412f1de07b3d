package runner

import (
	"time"

	"flperf/internal/telemetry"
)

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
