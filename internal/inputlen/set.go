package inputlen

import (
	"context"
	"errors"
	"fmt"

	"flperf/internal/suite"
)

// Set is the resolved prompts of a run's input-length scenarios
// (suite.Scenario.InputTokens), per model: request index i of a scenario
// takes its prompt i mod the number of lengths drawn. It answers the
// runner's Input hook.
type Set struct {
	prompts map[setKey][]Prompt
	res     []Resolution
}

type setKey struct{ model, scenario string }

// Resolution is what resolving one model × scenario gave: its report in
// the run's metadata.
type Resolution struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Spec     string `json:"spec"`    // the input_tokens asked for, e.g. "512" or "512:64"
	Method   string `json:"method"`  // input_length_method of its requests
	Lengths  int    `json:"lengths"` // distinct prompts (lengths drawn)
	Missed   int    `json:"missed"`  // of which no filler length counts exactly
}

// Bounds on the lengths drawn from a distribution for one model ×
// scenario: each distinct length costs counts (calibration: requests) and
// memory, so at most MaxDraws are drawn, and fewer when long, so that
// their tokens add up to at most maxDrawTokens; the requests take them in
// turn.
const (
	MaxDraws      = 64
	maxDrawTokens = 8 << 20
)

// Draws is how many lengths of l a scenario of requests requests draws.
func Draws(l suite.InputLength, requests int) int {
	if l.Fixed() {
		return 1
	}
	longest := l.Max
	if l.Kind == suite.InputNormal {
		longest = min(l.N+4*l.StdDev, suite.MaxInputTokens)
	}
	return max(1, min(requests, MaxDraws, maxDrawTokens/max(longest, 1)))
}

// Resolve resolves every input-length scenario of scs for every model:
// requests is how many requests each will send (a distribution is drawn
// that many times with the resolver's seed, within Draws' bounds; 0, a run
// of a duration: MaxDraws; the requests take the draws in turn). Scenarios
// without InputTokens, and the stages Options.Skip names, are left alone.
// A length that cannot be made (below the chat template's own
// length) is an error naming the model and scenario.
func (r *Resolver) Resolve(ctx context.Context, models []string, scs []suite.Scenario, requests int) (*Set, error) {
	s := &Set{prompts: map[setKey][]Prompt{}}
	if requests <= 0 {
		requests = MaxDraws
	}
	for _, model := range models {
		for i := range scs {
			sc := &scs[i]
			if sc.InputTokens == nil || r.o.Skip != nil && r.o.Skip(model, sc.Name) {
				continue
			}
			lengths := sc.InputTokens.Lengths(r.o.Seed, sc.Name, Draws(*sc.InputTokens, requests))
			ps := make([]Prompt, len(lengths))
			res := Resolution{Model: model, Scenario: sc.Name, Spec: sc.InputTokens.String()}
			seen := map[int]bool{}
			for j, n := range lengths {
				p, err := r.PromptSystem(ctx, model, sc.System, n)
				if te, cut := errors.AsType[*TruncatedError](err); cut && r.o.Force != nil && r.o.Force(model, sc.Name) {
					r.logf("warn", "%v; sent anyway (--force), its prompt sized by the estimate", te)
					p, err = r.estimated(ctx, model, sc.System, n)
				}
				if err != nil {
					return nil, fmt.Errorf("model %s, scenario %q: %w", model, sc.Name, err)
				}
				ps[j] = p
				res.Method = p.Method
				if !seen[n] {
					seen[n] = true
					res.Lengths++
					if !p.Exact {
						res.Missed++
					}
				}
			}
			s.prompts[setKey{model, sc.Name}] = ps
			s.res = append(s.res, res)
		}
	}
	return s, nil
}

// Input returns the prompt of request index of a model × scenario; ok is
// false when the scenario asks for no input length.
func (s *Set) Input(model, scenario string, index int) (msgs []suite.Message, requested int, method string, ok bool) {
	if s == nil {
		return nil, 0, "", false
	}
	ps := s.prompts[setKey{model, scenario}]
	if len(ps) == 0 {
		return nil, 0, "", false
	}
	p := ps[max(index, 0)%len(ps)]
	return p.Messages, p.Requested, p.Method, true
}

// Count is how many prompts a model × scenario has (0: none).
func (s *Set) Count(model, scenario string) int {
	if s == nil {
		return 0
	}
	return len(s.prompts[setKey{model, scenario}])
}

// Resolutions lists what was resolved, per model × scenario in order.
func (s *Set) Resolutions() []Resolution {
	if s == nil {
		return nil
	}
	return append([]Resolution(nil), s.res...)
}
