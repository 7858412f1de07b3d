package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// headline is a metric "best" ranks by: per scenario in the terminal
// report (best), per model on the app's cards (Best). Both rank only the
// groups rankable says may be ranked.
type headline struct {
	key    string // the card's key
	title  string // the card's title
	name   string // the terminal report's label
	metric string // what is ranked, as the card names it
	unit   string // "ms", "tok/s", "fraction"
	low    bool   // lower is better
	// get returns the group's figure and whether it has one.
	get func(*stats.Group) (float64, bool)
	// dist is the distribution the figure is a percentile of; nil for a
	// rate over the group's window.
	dist func(*stats.Group) *stats.Dist
	// median says the figure is dist's P50 (its 95 % CI is shown).
	median bool
}

// headlines are the speed metrics, in the cards' order.
var headlines = []headline{
	{key: "ttft", title: "Fastest first token", name: "Lowest TTFT p50", metric: "TTFT p50", unit: "ms", low: true,
		get: func(g *stats.Group) (float64, bool) { return g.TTFT.P50, g.TTFT.N > 0 }, dist: func(g *stats.Group) *stats.Dist { return &g.TTFT }, median: true},
	{key: "decode", title: "Fastest generation", name: "Highest decode rate p50", metric: "decode rate p50", unit: "tok/s",
		get: func(g *stats.Group) (float64, bool) { return g.DecodeTPS.P50, g.DecodeTPS.N > 0 }, dist: func(g *stats.Group) *stats.Dist { return &g.DecodeTPS }, median: true},
	{key: "throughput", title: "Highest throughput", name: "Highest output throughput", metric: "output tokens per second", unit: "tok/s",
		get: func(g *stats.Group) (float64, bool) { return g.OutputTokensPerS, g.OK > 0 }},
	{key: "e2e", title: "Lowest tail latency", name: "Lowest E2E p95", metric: "end-to-end latency p95", unit: "ms", low: true,
		get: func(g *stats.Group) (float64, bool) { return g.E2E.P95, g.E2E.N > 0 }, dist: func(g *stats.Group) *stats.Dist { return &g.E2E }},
}

// headlineByKey returns the headline with key; it panics on an unknown key
// (a programming error).
func headlineByKey(key string) *headline {
	i := slices.IndexFunc(headlines, func(h headline) bool { return h.key == key })
	return &headlines[i]
}

// rankable returns g's figure and whether g may be ranked on it: it has
// the figure and no more than MaxRankedErrorRate of its requests failed.
func (h *headline) rankable(g *stats.Group) (float64, bool) {
	v, ok := h.get(g)
	return v, ok && finiteF(v) && g.ErrorRate <= MaxRankedErrorRate
}

// BestClaim is one "best model for…" card of a run: the run's models
// (each pooled over its scenarios) ranked on one metric, under the run's
// one load. A model that fails must never look fast: on the speed metrics
// a model with more than MaxRankedErrorRate of its requests failed is
// listed in Excluded, never ranked, even when no model qualifies (then
// Ranked is empty and Reason says why). "Most reliable" ranks every model
// with requests by its error rate.
type BestClaim struct {
	Key           string      `json:"key"`              // ttft, decode, throughput, e2e, reliable
	Title         string      `json:"title"`            // "Fastest first token"
	Metric        string      `json:"metric"`           // "TTFT p50"
	Unit          string      `json:"unit"`             // ms, tok/s, fraction
	LowerIsBetter bool        `json:"lower_is_better"`  // the ranking's direction
	MaxErrorRate  *float64    `json:"max_error_rate"`   // the most a ranked model may fail; null: no limit
	Ranked        []BestEntry `json:"ranked"`           // best first; ties keep the run's model order
	Tie           bool        `json:"tie"`              // the first two have the same figure
	Excluded      []BestEntry `json:"excluded"`         // have the figure but failed too often
	Reason        string      `json:"reason,omitempty"` // why no model is ranked (Ranked empty)
}

// BestEntry is one model's figure in a BestClaim.
type BestEntry struct {
	Model     string      `json:"model"`
	Stage     string      `json:"stage,omitempty"`
	Value     float64     `json:"value"`
	N         int         `json:"n"`                   // samples behind the figure; requests (canceled excluded) for rates and the error rate
	ErrorRate float64     `json:"error_rate"`          // failed / (requests − canceled)
	MedianCI  *[2]float64 `json:"median_ci,omitempty"` // the 95 % CI of a median figure
}

// Best ranks the run's models (Result.Models) on each headline metric and
// on reliability: the figures the app's "best model for…" cards draw.
func Best(r *runner.Result) []BestClaim {
	var models []*stats.Group
	for i := range r.Models {
		if g := &r.Models[i]; g.Model != "" && g.Requests > 0 && finiteF(g.ErrorRate) {
			models = append(models, g)
		}
	}
	out := make([]BestClaim, 0, len(headlines)+1)
	for i := range headlines {
		out = append(out, bestOn(&headlines[i], models))
	}
	return append(out, mostReliable(models))
}

// bestOn ranks models on headline h.
func bestOn(h *headline, models []*stats.Group) BestClaim {
	limit := MaxRankedErrorRate
	c := BestClaim{Key: h.key, Title: h.title, Metric: h.metric, Unit: h.unit, LowerIsBetter: h.low,
		MaxErrorRate: &limit, Ranked: []BestEntry{}, Excluded: []BestEntry{}}
	for _, g := range models {
		v, ok := h.get(g)
		if !ok || !finiteF(v) {
			continue
		}
		e := BestEntry{Model: g.Model, Stage: g.Stage, Value: v, N: g.Requests - g.Canceled, ErrorRate: g.ErrorRate}
		if h.dist != nil {
			d := h.dist(g)
			e.N = d.N
			if h.median && finiteF(d.MedianCI[0]) && finiteF(d.MedianCI[1]) {
				ci := d.MedianCI
				e.MedianCI = &ci
			}
		}
		if _, ok := h.rankable(g); ok {
			c.Ranked = append(c.Ranked, e)
		} else {
			c.Excluded = append(c.Excluded, e)
		}
	}
	sortEntries(c.Ranked, h.low)
	c.Tie = len(c.Ranked) > 1 && c.Ranked[0].Value == c.Ranked[1].Value
	switch {
	case len(c.Ranked) > 0:
	case len(c.Excluded) == 0:
		c.Reason = fmt.Sprintf("no model has a %s in this run", h.metric)
	default:
		var parts []string
		for _, e := range c.Excluded {
			parts = append(parts, fmt.Sprintf("%s %s", ModelName(e.Model), pct(e.ErrorRate)))
		}
		who := "every model"
		if len(c.Excluded) == 1 {
			who = "the only model"
		}
		c.Reason = fmt.Sprintf("none ranked: %s with a %s has more than %s of its requests failed (%s), and a model that fails is never ranked best",
			who, h.metric, pct(MaxRankedErrorRate), strings.Join(parts, ", "))
	}
	return c
}

// mostReliable ranks models by error rate, lowest first.
func mostReliable(models []*stats.Group) BestClaim {
	c := BestClaim{Key: "reliable", Title: "Most reliable", Metric: "error rate", Unit: "fraction", LowerIsBetter: true,
		Ranked: []BestEntry{}, Excluded: []BestEntry{}}
	for _, g := range models {
		if n := g.Requests - g.Canceled; n > 0 {
			c.Ranked = append(c.Ranked, BestEntry{Model: g.Model, Stage: g.Stage, Value: g.ErrorRate, N: n, ErrorRate: g.ErrorRate})
		}
	}
	sortEntries(c.Ranked, true)
	c.Tie = len(c.Ranked) > 1 && c.Ranked[0].Value == c.Ranked[1].Value
	if len(c.Ranked) == 0 {
		c.Reason = "no model has a request that was not canceled in this run"
	}
	return c
}

// sortEntries sorts best first, keeping the run's order among equals.
func sortEntries(es []BestEntry, low bool) {
	slices.SortStableFunc(es, func(a, b BestEntry) int {
		if low {
			return cmp.Compare(a.Value, b.Value)
		}
		return cmp.Compare(b.Value, a.Value)
	})
}
