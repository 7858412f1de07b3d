package stats

import (
	"slices"
	"time"

	"flperf/internal/record"
)

// refAggregator is the Aggregator as it was before its samples were kept in
// blocks and merged k ways: Record.ITL through a scratch slice, append
// growth, pairwise merges. The equality tests hold the Aggregator to it.
type refAggregator struct {
	groups  map[groupKey]*refAcc
	order   []*refAcc
	scratch []time.Duration
}

type refAcc struct {
	key  groupKey
	t    tally
	rows []row
	itl  []float64
}

func (a *refAggregator) Add(r *record.Record) {
	if r == nil {
		return
	}
	k := groupKey{r.Model, r.Scenario, r.Stage}
	g, ok := a.groups[k]
	if !ok {
		if a.groups == nil {
			a.groups = map[groupKey]*refAcc{}
		}
		g = &refAcc{key: k}
		a.groups[k] = g
		a.order = append(a.order, g)
	}
	if r.Warmup {
		g.t.warmup++
		return
	}
	g.t.requests++
	g.t.widen(r)
	switch r.Outcome {
	case record.OK:
		a.addOK(g, r)
	case record.Canceled:
		g.t.canceled++
	default:
		g.t.addFailure(r)
	}
}

// addOK records the figures of an ok record.
func (a *refAggregator) addOK(g *refAcc, r *record.Record) {
	t := &g.t
	t.ok++
	w := row{ttft: nan, ttfo: nan, tpot: nan, e2e: nan, qttft: nan, qe2e: nan, charRate: nan, maxTok: r.MaxTok, length: r.FinishReason == "length"}
	qw := r.QueueWait()
	if d, ok := r.TTFT(); ok {
		w.ttft, w.qttft = ms(d), ms(qw+d)
	}
	if d, ok := r.TTFO(); ok {
		w.ttfo = ms(d)
	}
	if d, ok := r.E2E(); ok {
		w.e2e, w.qe2e = ms(d), ms(qw+d)
	}
	if d, ok := r.TPOT(); ok {
		if d > 0 {
			w.tpot = ms(d)
		} else {
			t.oneEvent++ // several tokens, one event: no decode time to measure
		}
	}
	if r.InputTokens > 0 || (r.InputTokens == 0 && known(r.InputSource)) {
		w.in, w.inKnown = r.InputTokens, true
	}
	if r.OutputTokens > 0 || (r.OutputTokens == 0 && known(r.OutputSource)) {
		w.out, w.outKnown = r.OutputTokens, true
	}
	t.sumIn += int64(w.in)
	t.sumOut += int64(w.out)
	if r.TextChars > 0 && r.LastToken > r.FirstToken && r.FirstToken > 0 {
		w.charRate = float64(r.TextChars) / (r.LastToken - r.FirstToken).Seconds()
	}
	if r.TextChars > 0 && w.outKnown && (r.OutputSource == record.SourceUsage || r.OutputSource == record.SourceEngine) {
		t.chars.outChars += int64(r.TextChars)
		t.chars.outTokens += int64(w.out)
	}
	if r.PromptChars > 0 && r.InputTokens >= 0 && (r.InputSource == record.SourceUsage || r.InputSource == record.SourceEngine) {
		t.chars.promptChars += int64(r.PromptChars)
		t.chars.inTokens += int64(r.InputTokens)
	}

	if i := sourceIndex(r.OutputSource); i >= 0 {
		t.sources[i]++
	} else {
		t.noSource++
	}
	if r.OutputSource == record.SourceUsage && r.EngineOutTokens > 0 && w.outKnown {
		t.checkAgreement(r.OutputTokens, r.EngineOutTokens)
	}
	g.rows = append(g.rows, w)

	if len(r.Chunks) >= 2 {
		a.scratch = r.ITL(a.scratch[:0])
		for _, d := range a.scratch {
			g.itl = append(g.itl, ms(d))
		}
	}
}

func (g *refAcc) samples() *sampleSet {
	var s sampleSet
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
		push(mChars, w.charRate)
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

func refMergeSets(parts []*sampleSet) *sampleSet {
	var out sampleSet
	lists := make([][]float64, len(parts))
	for m := range out {
		for i, p := range parts {
			lists[i] = p[m]
		}
		out[m] = refMergeSorted(lists)
	}
	return &out
}

func refMergeSorted(parts [][]float64) []float64 {
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
			a, b := live[i], live[i+1]
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
			next = append(next, append(out, b[j:]...))
		}
		if len(live)%2 == 1 {
			next = append(next, live[len(live)-1])
		}
		live = next
	}
	return live[0]
}

func (a *refAggregator) Summary(opts Options) Summary {
	opts = opts.normalized()
	s := Summary{Groups: make([]Group, 0, len(a.order)), Models: []Group{}}
	sets := make([]*sampleSet, len(a.order))
	tallies := make([]tally, len(a.order))
	for i, g := range a.order {
		tmp := &acc{key: g.key, t: g.t, rows: g.rows}
		tallies[i] = tmp.tallyFor(opts)
		sets[i] = g.samples()
		s.Groups = append(s.Groups, build(g.key, &tallies[i], refDists(sets[i]), opts))
	}
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
		modelSets[j] = refMergeSets(parts)
		s.Models = append(s.Models, build(m.key, &modelTallies[j], refDists(modelSets[j]), opts))
	}
	if len(models) == 1 {
		s.Total = s.Models[0].clone()
		s.Total.Model, s.Total.Stage = "", ""
	} else {
		var t tally
		for j := range modelTallies {
			t.add(modelTallies[j])
		}
		s.Total = build(groupKey{}, &t, refDists(refMergeSets(modelSets)), opts)
	}
	return s
}

// refDists summarises every metric of s, one after another.
func refDists(s *sampleSet) *dists {
	var d dists
	for m := range s {
		d[m] = distSorted(s[m])
	}
	return &d
}
