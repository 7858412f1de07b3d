package stats

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	"flperf/internal/record"
)

// DefaultShortFraction is the Options.ShortFraction used when none is set.
const DefaultShortFraction = 0.8

// Options tune a Summary.
type Options struct {
	SLO SLO // objectives for goodput; zero: no goodput
	// ShortFraction: an ok response that did not stop for "length" and has
	// fewer than ShortFraction × max_tokens output tokens is short. Values
	// outside (0, 1] mean DefaultShortFraction.
	ShortFraction float64
}

// normalized returns o with defaults applied.
func (o Options) normalized() Options {
	if !(o.ShortFraction > 0 && o.ShortFraction <= 1) {
		o.ShortFraction = DefaultShortFraction
	}
	return o
}

// Summary is the summary of a run (metrics.md §5).
// Its JSON form has no method of its own, so that types embedding it (the
// runner's Result) keep their other fields; Aggregator.Summary never returns
// nil lists, so they encode as [].
type Summary struct {
	Groups []Group `json:"groups"` // one per model × scenario (× stage), in first-seen order
	Models []Group `json:"models"` // per model (× stage), pooling the records of all its scenarios; Scenario ""
	Total  Group   `json:"total"`  // the whole run pooled
}

// Group summarises the records of one row: a model × scenario (× stage), a
// model, or the whole run. Dists are over ok records only; times in ms.
type Group struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Stage    string `json:"stage,omitempty"`

	Requests  int                    `json:"requests"` // all non-warm-up records, canceled included
	OK        int                    `json:"ok"`
	Failures  map[record.Outcome]int `json:"failures"` // per failed class, zeros included ("other": unknown outcomes, only when present)
	Canceled  int                    `json:"canceled"`
	Warmup    int                    `json:"warmup"`
	ErrorRate float64                `json:"error_rate"`      // failed / (records − canceled), 0..1
	Short     int                    `json:"short_responses"` // ok responses that stopped well before max_tokens

	TTFT      Dist `json:"ttft_ms"`       // t_first − t_send
	TTFO      Dist `json:"ttfo_ms"`       // t_first_answer − t_send
	TPOT      Dist `json:"tpot_ms"`       // (t_last − t_first) / (N_out − 1)
	ITL       Dist `json:"itl_ms"`        // per-token samples pooled over the group's records
	E2E       Dist `json:"e2e_ms"`        // t_end − t_send
	QueueTTFT Dist `json:"ttft_queue_ms"` // t_first − t_sched
	QueueE2E  Dist `json:"e2e_queue_ms"`  // t_end − t_sched

	DecodeTPS  Dist `json:"decode_tps"`  // 1000 / TPOT ms
	OutputTPS  Dist `json:"output_tps"`  // N_out / E2E s
	PrefillTPS Dist `json:"prefill_tps"` // N_in / TTFT s

	InputTokens  Dist `json:"input_tokens"`  // per-request N_in of ok requests
	OutputTokens Dist `json:"output_tokens"` // per-request N_out of ok requests

	Window           float64 `json:"window_s"`            // first non-warm-up t_send → last t_end
	RequestsPerS     float64 `json:"requests_per_s"`      // ok / window
	OutputTokensPerS float64 `json:"output_tokens_per_s"` // Σ N_out of ok / window
	TotalTokensPerS  float64 `json:"total_tokens_per_s"`  // Σ (N_in + N_out) of ok / window

	Goodput *Goodput `json:"goodput,omitempty"` // only when an SLO is set

	TokenSource  string                     `json:"token_source"`  // usage, engine, estimate, chunks, mixed ("" without counts)
	TokenSources map[record.TokenSource]int `json:"token_sources"` // ok records per output token source, zeros included

	Warnings []string `json:"warnings"` // user-readable; each says what to do
}

// Goodput counts the requests that are ok and meet every set objective.
type Goodput struct {
	SLO      string  `json:"slo"`        // the objectives, in ParseSLO syntax
	Good     int     `json:"good"`       // ok requests meeting every set objective
	PerS     float64 `json:"good_per_s"` // good / window
	Fraction float64 `json:"fraction"`   // good / (records − canceled)
}

// MarshalJSON writes g with empty maps and slices as {} and [], never null,
// and every failure class present.
func (g Group) MarshalJSON() ([]byte, error) {
	type plain Group // no methods: no recursion
	p := plain(g)
	if p.Warnings == nil {
		p.Warnings = []string{}
	}
	p.Failures = maps.Clone(p.Failures)
	if p.Failures == nil {
		p.Failures = map[record.Outcome]int{}
	}
	for _, c := range failClasses[:4] {
		p.Failures[c] += 0
	}
	p.TokenSources = maps.Clone(p.TokenSources)
	if p.TokenSources == nil {
		p.TokenSources = map[record.TokenSource]int{}
	}
	for _, s := range outSources {
		p.TokenSources[s] += 0
	}
	return marshalNoEscape(p)
}

// marshalNoEscape is json.Marshal without HTML escaping: model and scenario
// names such as "Q&A" stay readable (the output is never HTML).
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Summary computes the summary of everything added so far. Each raw sample
// set is sorted once; pooled rows merge their members' sorted samples.
func (a *Aggregator) Summary(opts Options) Summary {
	opts = opts.normalized()
	s := Summary{Groups: make([]Group, 0, len(a.order)), Models: []Group{}}
	sets := make([]*sampleSet, len(a.order))
	tallies := make([]tally, len(a.order))
	for i, g := range a.order {
		tallies[i] = g.tallyFor(opts)
		sets[i] = g.samples()
		s.Groups = append(s.Groups, build(g.key, &tallies[i], sets[i], opts))
	}

	// Per model × stage, first-seen order.
	type pool struct {
		key     groupKey
		members []int
	}
	var models []pool
	index := map[groupKey]int{}
	for i, g := range a.order {
		k := groupKey{model: g.key.model, stage: g.key.stage}
		j, ok := index[k]
		if !ok {
			j = len(models)
			index[k] = j
			models = append(models, pool{key: k})
		}
		models[j].members = append(models[j].members, i)
	}
	modelSets := make([]*sampleSet, len(models))
	modelTallies := make([]tally, len(models))
	for j, m := range models {
		if len(m.members) == 1 {
			i := m.members[0]
			modelSets[j], modelTallies[j] = sets[i], tallies[i]
			g := s.Groups[i].clone()
			g.Scenario = ""
			s.Models = append(s.Models, g)
			continue
		}
		parts := make([]*sampleSet, 0, len(m.members))
		for _, i := range m.members {
			modelTallies[j].add(tallies[i])
			parts = append(parts, sets[i])
		}
		modelSets[j] = mergeSets(parts)
		s.Models = append(s.Models, build(m.key, &modelTallies[j], modelSets[j], opts))
	}

	// The whole run.
	if len(models) == 1 {
		s.Total = s.Models[0].clone()
		s.Total.Model, s.Total.Stage = "", ""
	} else {
		var t tally
		for j := range modelTallies {
			t.add(modelTallies[j])
		}
		s.Total = build(groupKey{}, &t, mergeSets(modelSets), opts)
	}
	return s
}

// clone returns a copy of g that shares no maps or slices with it.
func (g Group) clone() Group {
	g.Failures = maps.Clone(g.Failures)
	g.TokenSources = maps.Clone(g.TokenSources)
	g.Warnings = slices.Clone(g.Warnings)
	if g.Goodput != nil {
		gp := *g.Goodput
		g.Goodput = &gp
	}
	return g
}

// build turns a tally and its sorted samples into a Group.
func build(k groupKey, t *tally, s *sampleSet, opts Options) Group {
	g := Group{
		Model: k.model, Scenario: k.scenario, Stage: k.stage,
		Requests: t.requests, OK: t.ok, Canceled: t.canceled, Warmup: t.warmup, Short: t.short,
		Failures:     map[record.Outcome]int{},
		TokenSources: map[record.TokenSource]int{},
		Warnings:     []string{},
	}
	for i, c := range failClasses {
		if t.fail[i] > 0 || c != otherFailure {
			g.Failures[c] = t.fail[i]
		}
	}
	measured := t.requests - t.canceled
	if measured > 0 {
		g.ErrorRate = float64(t.failed()) / float64(measured)
	}

	g.TTFT = distSorted(s[mTTFT])
	g.TTFO = distSorted(s[mTTFO])
	g.TPOT = distSorted(s[mTPOT])
	g.ITL = distSorted(s[mITL])
	g.E2E = distSorted(s[mE2E])
	g.QueueTTFT = distSorted(s[mQTTFT])
	g.QueueE2E = distSorted(s[mQE2E])
	g.DecodeTPS = distSorted(s[mDecode])
	g.OutputTPS = distSorted(s[mOutRate])
	g.PrefillTPS = distSorted(s[mPrefill])
	g.InputTokens = distSorted(s[mIn])
	g.OutputTokens = distSorted(s[mOut])

	g.Window = t.window()
	perS := func(x float64) float64 {
		if g.Window <= 0 {
			return 0
		}
		if v := x / g.Window; finite(v) {
			return v
		}
		return 0
	}
	g.RequestsPerS = perS(float64(t.ok))
	g.OutputTokensPerS = perS(float64(t.sumOut))
	g.TotalTokensPerS = perS(float64(t.sumIn + t.sumOut))

	if !opts.SLO.IsZero() {
		gp := &Goodput{SLO: opts.SLO.String(), Good: t.good, PerS: perS(float64(t.good))}
		if measured > 0 {
			gp.Fraction = float64(t.good) / float64(measured)
		}
		g.Goodput = gp
	}

	kinds := 0
	for i, src := range outSources {
		g.TokenSources[src] = t.sources[i]
		if t.sources[i] > 0 {
			kinds++
			g.TokenSource = string(src)
		}
	}
	if kinds > 1 {
		g.TokenSource = "mixed"
	}
	g.Warnings = warnings(t, &g, opts)
	return g
}

// Metric indices of a sampleSet.
const (
	mTTFT = iota
	mTTFO
	mTPOT
	mITL
	mE2E
	mQTTFT
	mQE2E
	mDecode
	mOutRate
	mPrefill
	mIn
	mOut
	numMetrics
)

// sampleSet holds one ascending slice of finite samples per metric.
type sampleSet [numMetrics][]float64

// samples extracts and sorts g's samples. The ITL slice is sorted in place
// (its order carries no meaning) and shared with g.
func (g *acc) samples() *sampleSet {
	var s sampleSet
	for i := range s {
		if i != mITL {
			s[i] = make([]float64, 0, len(g.rows))
		}
	}
	push := func(m int, x float64) {
		if finite(x) {
			s[m] = append(s[m], x)
		}
	}
	for _, w := range g.rows {
		push(mTTFT, w.ttft)
		push(mTTFO, w.ttfo)
		push(mTPOT, w.tpot)
		push(mE2E, w.e2e)
		push(mQTTFT, w.qttft)
		push(mQE2E, w.qe2e)
		if w.tpot > 0 {
			push(mDecode, 1000/w.tpot)
		}
		if w.outKnown && w.e2e > 0 {
			push(mOutRate, float64(w.out)/(w.e2e/1000))
		}
		if w.inKnown && w.in > 0 && w.ttft > 0 {
			push(mPrefill, float64(w.in)/(w.ttft/1000))
		}
		if w.inKnown {
			push(mIn, float64(w.in))
		}
		if w.outKnown {
			push(mOut, float64(w.out))
		}
	}
	for i := range s {
		if i != mITL {
			slices.Sort(s[i])
		}
	}
	slices.Sort(g.itl)
	s[mITL] = g.itl[:len(g.itl):len(g.itl)]
	return &s
}

// mergeSets merges the sorted samples of several sets, metric by metric.
func mergeSets(parts []*sampleSet) *sampleSet {
	var out sampleSet
	lists := make([][]float64, len(parts))
	for m := range out {
		for i, p := range parts {
			lists[i] = p[m]
		}
		out[m] = mergeSorted(lists)
	}
	return &out
}

// mergeSorted merges ascending slices into one ascending slice, pairwise
// (O(n log k) for k slices). A single non-empty input is returned as is.
func mergeSorted(parts [][]float64) []float64 {
	var live [][]float64
	for _, p := range parts {
		if len(p) > 0 {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return nil
	}
	for len(live) > 1 {
		next := make([][]float64, 0, (len(live)+1)/2)
		for i := 0; i+1 < len(live); i += 2 {
			next = append(next, merge2(live[i], live[i+1]))
		}
		if len(live)%2 == 1 {
			next = append(next, live[len(live)-1])
		}
		live = next
	}
	return live[0]
}

// merge2 merges two ascending slices into a new one.
func merge2(a, b []float64) []float64 {
	out := make([]float64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] <= b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
