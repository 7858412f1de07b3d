package bench

import (
	"fmt"

	"flperf/internal/capacity"
	"flperf/internal/stats"
)

// capacityPair puts the capacity searches of two sides of a comparison side
// by side (nil when neither side was one), with a warning when only one
// was, or when they searched under different objectives or loads.
func capacityPair(b, c *capacity.Result) (*stats.CapacityPair, []string) {
	if b == nil && c == nil {
		return nil, nil
	}
	p := &stats.CapacityPair{Base: capacitySide(b), Candidate: capacitySide(c)}
	var warns []string
	switch {
	case b == nil || c == nil:
		warns = append(warns, "only one side is a capacity search (flperf capacity): there is no capacity to compare with")
	case b.SLO != c.SLO || b.By != c.By:
		warns = append(warns, fmt.Sprintf("the two capacity searches differ (%s by %s vs %s by %s): their levels answer different questions", b.SLO, b.By, c.SLO, c.By))
	case b.Level != nil && c.Level != nil && *b.Level > 0:
		d := (*c.Level - *b.Level) / *b.Level
		p.Delta = &d
	}
	return p, warns
}

// capacitySide is what one search found, as a comparison shows it.
func capacitySide(c *capacity.Result) *stats.CapacitySide {
	if c == nil {
		return nil
	}
	s := &stats.CapacitySide{Model: c.Model, Scenario: c.Scenario, By: string(c.By), SLO: c.SLO, Level: c.Level,
		Objectives: []stats.CapacityFigure{}, Answer: c.Answer}
	if l := c.Sustained(); l != nil {
		rps, tps := l.RequestsPerS, l.OutputTokensPerS
		s.RequestsPerS, s.OutputTokensPerS = &rps, &tps
		for _, m := range l.Objectives {
			s.Objectives = append(s.Objectives, stats.CapacityFigure{Objective: m.Objective.Label(),
				TargetMS: float64(m.Objective.Target) / 1e6, ValueMS: m.Value, CI: m.CI})
		}
	}
	if f := c.FirstFailing; f != nil {
		v := f.Level
		s.FirstFailing, s.Why = &v, f.Why
	}
	return s
}
