package stats

import (
	"slices"
)

// TurnFigures are one conversation turn's figures within a group: its ok
// requests' TTFT, their input tokens and the part of them the engine's
// prefix cache served (docs/metrics.md §12). Turn 1 against turn N shows
// what a growing history costs and what the cache saves.
type TurnFigures struct {
	Turn     int  `json:"turn"`     // 1-based turn index
	Requests int  `json:"requests"` // requests of this turn, whatever their outcome
	OK       int  `json:"ok"`       // of which ok
	TTFT     Dist `json:"ttft_ms"`  // their time to first token
	// InputTokens is the mean input tokens of the turn's ok requests
	// whose count is known, and CachedTokens the mean cached tokens of
	// the same requests (0 where the engine reported none).
	InputTokens  float64 `json:"input_tokens"`
	CachedTokens float64 `json:"cached_tokens"`
	// CachedShare is Σ cached tokens ÷ Σ input tokens of those requests;
	// nil when no input count is known.
	CachedShare *float64 `json:"cached_share"`
}

// turnFigures returns the figures of each turn of g's ok records, in turn
// order; nil when none is a conversation's turn.
func (g *acc) turnFigures() []TurnFigures {
	type sums struct {
		ok          int
		ttft        []float64
		n, in, hits int64
	}
	by := map[int]*sums{}
	for t := range g.turns {
		by[t] = &sums{}
	}
	for _, w := range g.rows {
		if w.turn <= 0 {
			continue
		}
		s := by[w.turn]
		if s == nil {
			s = &sums{}
			by[w.turn] = s
		}
		s.ok++
		if finite(w.ttft) {
			s.ttft = append(s.ttft, w.ttft)
		}
		if w.inKnown {
			s.n++
			s.in += int64(w.in)
			s.hits += int64(w.cached)
		}
	}
	if len(by) == 0 {
		return nil
	}
	turns := make([]int, 0, len(by))
	for t := range by {
		turns = append(turns, t)
	}
	slices.Sort(turns)
	out := make([]TurnFigures, 0, len(turns))
	for _, t := range turns {
		s := by[t]
		f := TurnFigures{Turn: t, Requests: max(g.turns[t], s.ok), OK: s.ok, TTFT: NewDist(s.ttft)}
		if s.n > 0 {
			f.InputTokens = float64(s.in) / float64(s.n)
			f.CachedTokens = float64(s.hits) / float64(s.n)
			f.CachedShare = ratio(s.hits, s.in)
		}
		out = append(out, f)
	}
	return out
}

// cloneTurns returns a copy of ts sharing nothing with it.
func cloneTurns(ts []TurnFigures) []TurnFigures {
	ts = slices.Clone(ts)
	for i := range ts {
		ts[i].CachedShare = clonePtr(ts[i].CachedShare)
	}
	return ts
}
