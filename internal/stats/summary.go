package stats

import (
	"bytes"
	"encoding/json"
	"maps"
	"runtime"
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

// Summary is the summary of a run (docs/metrics.md §5).
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
	// ConnRetries counts the requests sent once more on a new connection
	// because the server had closed the reused one before any response
	// byte (Record.ConnRetries): not failures, but worth knowing.
	ConnRetries int `json:"connection_retries"`
	// Classes counts the failed requests by class (record.Class:
	// transient, permanent, other), zeros included.
	Classes map[record.Class]int `json:"failure_classes"`
	// Retries are the user retries' figures, first attempt beside final;
	// nil when no record of the group is a retry (docs/metrics.md §4).
	Retries *RetryFigures `json:"retries,omitempty"`

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
	CharsPerS  Dist `json:"chars_per_s"` // generated characters / (t_last − t_first) s

	InputTokens  Dist `json:"input_tokens"`  // per-request N_in of ok requests
	OutputTokens Dist `json:"output_tokens"` // per-request N_out of ok requests

	Window           float64 `json:"window_s"`            // first non-warm-up t_send → last t_end
	RequestsPerS     float64 `json:"requests_per_s"`      // ok / window
	OutputTokensPerS float64 `json:"output_tokens_per_s"` // Σ N_out of ok / window
	TotalTokensPerS  float64 `json:"total_tokens_per_s"`  // Σ (N_in + N_out) of ok / window

	Goodput *Goodput `json:"goodput,omitempty"` // only when an SLO is set

	Engine *EngineFigures `json:"engine,omitempty"` // the engine's own per-response figures, when it reported them

	// Chars are the tokens per character of the output and the prompt;
	// nil when no record counted characters (runs stored before schema 12).
	Chars *CharFigures `json:"chars,omitempty"`
	// InputLength compares the input lengths asked for with the engine's
	// counts; nil when no request asked for one (suite input_tokens).
	InputLength *InputLengthFigures `json:"input_length,omitempty"`

	// CachedTokens is Σ cached prompt tokens the engine reported over the
	// ok records (record.CachedTokens), and CachedShare that over Σ their
	// input tokens; nil when no record reported a cache hit
	// (docs/metrics.md §12).
	CachedTokens int64    `json:"cached_tokens,omitempty"`
	CachedShare  *float64 `json:"cached_share,omitempty"`

	// Turns are the figures of each conversation turn, on a scenario's
	// group only (the pooled rows leave them out); nil when no request
	// was a conversation's turn (docs/metrics.md §12).
	Turns []TurnFigures `json:"turns,omitempty"`

	TokenSource  string                     `json:"token_source"`  // usage, engine, estimate, chunks, mixed ("" without counts)
	TokenSources map[record.TokenSource]int `json:"token_sources"` // ok records per output token source, zeros included

	Warnings []string `json:"warnings"` // user-readable; each says what to do
}

// EngineFigures are what the engine reported of itself per response
// (record.Server: llama.cpp timings, Ollama's native durations, LM Studio's
// stats) over the group's ok records that carried them, beside the client's
// figures for the same requests.
type EngineFigures struct {
	N         int  `json:"n"`           // ok records carrying the engine's own timings
	TTFT      Dist `json:"ttft_ms"`     // the engine's time to first token: its own TTFT, else load wait + prefill
	DecodeTPS Dist `json:"decode_tps"`  // the engine's decode rate: its decode tokens / its decode time
	Overhead  Dist `json:"overhead_ms"` // client TTFT − engine TTFT per request: time outside the engine (network, queueing in front of it, the client)
}

// Goodput counts the requests that are ok and meet every set objective.
type Goodput struct {
	SLO      string  `json:"slo"`        // the objectives, in ParseSLO syntax
	Good     int     `json:"good"`       // ok requests meeting every set objective
	PerS     float64 `json:"good_per_s"` // good / window
	Fraction float64 `json:"fraction"`   // good / (requests − canceled)
	// With retries (Group.Retries set): of Good, the requests ok at their
	// first attempt, and their fraction: goodput without retries.
	FirstAttemptGood     *int     `json:"first_attempt_good,omitempty"`
	FirstAttemptFraction *float64 `json:"first_attempt_fraction,omitempty"`
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
	p.Classes = maps.Clone(p.Classes)
	if p.Classes == nil {
		p.Classes = map[record.Class]int{}
	}
	for _, c := range record.Classes {
		p.Classes[c] += 0
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
// set is sorted once; pooled rows merge their members' sorted samples. A
// large summary is computed on several goroutines; the result is the same.
func (a *Aggregator) Summary(opts Options) Summary {
	opts = opts.normalized()
	n := len(a.order)

	// Per model × stage, first-seen order.
	type pool struct {
		key     groupKey
		members []int
	}
	var models []pool
	index := map[groupKey]int{}
	samples := 0
	for i, g := range a.order {
		k := groupKey{model: g.key.model, stage: g.key.stage}
		j, ok := index[k]
		if !ok {
			j = len(models)
			index[k] = j
			models = append(models, pool{key: k})
		}
		models[j].members = append(models[j].members, i)
		samples += len(g.rows) + g.itl.len()
	}
	par := 1
	if samples >= parallelSamples {
		par = runtime.GOMAXPROCS(0)
	}

	// Each group's samples, sorted; then their distributions while the
	// pooled rows merge them; then the pooled rows' distributions while the
	// whole run's samples merge; then the run's distributions.
	sets := make([]*sampleSet, n)
	tallies := make([]tally, n)
	var tasks taskList
	scratch := make(chan *radixScratch, par) // one per goroutine at most
	for range par {
		scratch <- new(radixScratch)
	}
	for i, g := range a.order {
		tasks.add(len(g.rows)+g.itl.len(), func() {
			sc := <-scratch
			tallies[i] = g.tallyFor(opts)
			sets[i] = g.samples(sc)
			scratch <- sc
		})
	}
	tasks.run(par)

	groupDists := make([]dists, n)
	tasks.addDists(ptrs(groupDists), sets)
	modelSets := make([]*sampleSet, len(models))
	modelTallies := make([]tally, len(models))
	for j, m := range models {
		if len(m.members) == 1 {
			modelSets[j], modelTallies[j] = sets[m.members[0]], tallies[m.members[0]]
			continue
		}
		parts := make([]*sampleSet, 0, len(m.members))
		for _, i := range m.members {
			modelTallies[j].add(tallies[i])
			parts = append(parts, sets[i])
		}
		modelSets[j] = new(sampleSet)
		tasks.addMerge(modelSets[j], parts)
	}
	tasks.run(par)

	modelDists := make([]dists, len(models))
	var pooled []*dists
	var pooledSets []*sampleSet
	for j, m := range models {
		if len(m.members) > 1 {
			pooled, pooledSets = append(pooled, &modelDists[j]), append(pooledSets, modelSets[j])
		}
	}
	tasks.addDists(pooled, pooledSets)
	var total tally
	var totalSet sampleSet
	if len(models) != 1 {
		for j := range modelTallies {
			total.add(modelTallies[j])
		}
		tasks.addMerge(&totalSet, modelSets)
	}
	tasks.run(par)

	var totalDists dists
	if len(models) != 1 {
		tasks.addDists([]*dists{&totalDists}, []*sampleSet{&totalSet})
		tasks.run(par)
	}

	s := Summary{Groups: make([]Group, 0, n), Models: make([]Group, 0, len(models))}
	for i, g := range a.order {
		s.Groups = append(s.Groups, build(g.key, &tallies[i], &groupDists[i], opts))
		s.Groups[i].Turns = g.turnFigures()
	}
	for j, m := range models {
		if len(m.members) == 1 {
			g := s.Groups[m.members[0]].clone()
			g.Scenario, g.Turns = "", nil
			s.Models = append(s.Models, g)
			continue
		}
		s.Models = append(s.Models, build(m.key, &modelTallies[j], &modelDists[j], opts))
	}
	if len(models) == 1 {
		s.Total = s.Models[0].clone()
		s.Total.Model, s.Total.Stage = "", ""
	} else {
		s.Total = build(groupKey{}, &total, &totalDists, opts)
	}
	return s
}

// clone returns a copy of g that shares no maps or slices with it.
func (g Group) clone() Group {
	g.Failures = maps.Clone(g.Failures)
	g.TokenSources = maps.Clone(g.TokenSources)
	g.Classes = maps.Clone(g.Classes)
	if g.Retries != nil {
		r := *g.Retries
		r.FirstAttemptClasses = maps.Clone(r.FirstAttemptClasses)
		g.Retries = &r
	}
	g.Warnings = slices.Clone(g.Warnings)
	g.Turns = cloneTurns(g.Turns)
	g.CachedShare = clonePtr(g.CachedShare)
	if g.Chars != nil {
		c := *g.Chars
		c.TokensPerChar, c.InputTokensPerChar = clonePtr(c.TokensPerChar), clonePtr(c.InputTokensPerChar)
		g.Chars = &c
	}
	if g.InputLength != nil {
		f := *g.InputLength
		f.RequestedMean, f.MeasuredMean, f.Diff = clonePtr(f.RequestedMean), clonePtr(f.MeasuredMean), clonePtr(f.Diff)
		g.InputLength = &f
	}
	if g.Engine != nil {
		e := *g.Engine
		g.Engine = &e
	}
	if g.Goodput != nil {
		gp := *g.Goodput
		if gp.FirstAttemptGood != nil {
			n := *gp.FirstAttemptGood
			gp.FirstAttemptGood = &n
		}
		if gp.FirstAttemptFraction != nil {
			f := *gp.FirstAttemptFraction
			gp.FirstAttemptFraction = &f
		}
		g.Goodput = &gp
	}
	return g
}

// build turns a tally and its distributions into a Group.
func build(k groupKey, t *tally, d *dists, opts Options) Group {
	g := Group{
		Model: k.model, Scenario: k.scenario, Stage: k.stage,
		Requests: t.requests, OK: t.ok, Canceled: t.canceled, Warmup: t.warmup, Short: t.short, ConnRetries: t.connRetries,
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
	g.Classes = classMap(t.classes)
	g.Retries = t.retry.figures()

	g.TTFT, g.TTFO, g.TPOT, g.ITL = d[mTTFT], d[mTTFO], d[mTPOT], d[mITL]
	g.E2E, g.QueueTTFT, g.QueueE2E = d[mE2E], d[mQTTFT], d[mQE2E]
	g.DecodeTPS, g.OutputTPS, g.PrefillTPS = d[mDecode], d[mOutRate], d[mPrefill]
	g.InputTokens, g.OutputTokens = d[mIn], d[mOut]
	g.CharsPerS = d[mChars]
	g.Chars = t.chars.figures()
	g.InputLength = t.inputLen.figures()
	if t.engine > 0 {
		g.Engine = &EngineFigures{N: t.engine, TTFT: d[mEngTTFT], DecodeTPS: d[mEngDecode], Overhead: d[mOverhead]}
	}

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
	g.CachedTokens = t.cached
	if t.cached > 0 {
		g.CachedShare = ratio(t.cached, t.cacheIn)
	}

	if !opts.SLO.IsZero() {
		gp := &Goodput{SLO: opts.SLO.String(), Good: t.good, PerS: perS(float64(t.good))}
		if measured > 0 {
			gp.Fraction = float64(t.good) / float64(measured)
		}
		if g.Retries != nil {
			first := t.goodFirst
			gp.FirstAttemptGood = &first
			var f float64
			if m := t.retry.first - t.retry.firstCanceled; m > 0 {
				f = float64(first) / float64(m)
			}
			gp.FirstAttemptFraction = &f
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
	mChars     // generated characters per second of decode
	mEngTTFT   // engine's own TTFT (record.Server)
	mEngDecode // engine's own decode rate
	mOverhead  // client TTFT − engine TTFT
	numMetrics
)

// engineMetric reports whether metric m comes from the engine's own figures,
// which most runs lack: their slices are not preallocated.
func engineMetric(m int) bool { return m >= mEngTTFT && m <= mOverhead }

// sampleSet holds one ascending slice of finite samples per metric.
type sampleSet [numMetrics][]float64

// dists holds one distribution per metric.
type dists [numMetrics]Dist

// ptrs returns pointers to the elements of ds.
func ptrs(ds []dists) []*dists {
	p := make([]*dists, len(ds))
	for i := range ds {
		p[i] = &ds[i]
	}
	return p
}

// samples extracts and sorts g's samples. The ITL slice is shared with g,
// which keeps it for the next Summary.
func (g *acc) samples(sc *radixScratch) *sampleSet {
	var s sampleSet
	for i := range s {
		if i != mITL && !engineMetric(i) {
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
		// The rates and the overhead are the attempt's own: without the
		// retry wait of a recovered request.
		if e2e := w.e2e - w.wait; w.outKnown && e2e > 0 {
			push(mOutRate, float64(w.out)/(e2e/1000))
		}
		if ttft := w.ttft - w.wait; w.inKnown && w.in > 0 && ttft > 0 {
			push(mPrefill, float64(w.in)/(ttft/1000))
		}
		if w.inKnown {
			push(mIn, float64(w.in))
		}
		if w.outKnown {
			push(mOut, float64(w.out))
		}
		push(mChars, w.charRate)
		push(mEngTTFT, w.engTTFT)
		push(mEngDecode, w.engDecode)
		push(mOverhead, w.ttft-w.wait-w.engTTFT) // NaN unless both are known
	}
	for i := range s {
		if i != mITL {
			slices.Sort(s[i])
		}
	}
	s[mITL] = g.itl.ascending(sc)
	return &s
}

// mergeSorted merges ascending slices into one ascending slice: two at a
// time, in a balanced tree (⌈log₂ k⌉ passes for k slices). A single
// non-empty input is returned as is.
func mergeSorted(parts [][]float64) []float64 {
	live := make([][]float64, 0, len(parts))
	n := 0
	for _, p := range parts {
		if len(p) > 0 {
			live = append(live, p)
			n += len(p)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	h := len(live) / 2
	a, b := mergeSorted(live[:h]), mergeSorted(live[h:])
	out := make([]float64, n)
	merge2(out, a, b)
	return out
}

// gallopAfter is how many samples in a row one side of merge2 must win
// before merge2 looks for the end of its run by search (as timsort does):
// latencies quantized to a clock tick repeat in long runs.
const gallopAfter = 8

// merge2 merges two ascending slices into out, which holds exactly both.
func merge2(out, a, b []float64) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		// Sample by sample without a branch on the comparison (which is
		// unpredictable when the sides interleave), counting wins in a row.
		wa, wb := 0, 0
		for i < len(a) && j < len(b) && wa < gallopAfter && wb < gallopAfter {
			x, y := a[i], b[j]
			t := 0 // 1: a wins (ties go to a)
			if x <= y {
				t = 1
			}
			out[k] = [2]float64{y, x}[t]
			i, j, k = i+t, j+1-t, k+1
			wa, wb = (wa+1)*t, (wb+1)*(1-t)
		}
		switch {
		case i == len(a) || j == len(b):
		case wa == gallopAfter: // a's run up to b[j], equal samples included
			e := i + runLen(a[i:], func(x float64) bool { return x <= b[j] })
			k += copy(out[k:], a[i:e])
			i = e
		default: // b's run below a[i]
			e := j + runLen(b[j:], func(y float64) bool { return y < a[i] })
			k += copy(out[k:], b[j:e])
			j = e
		}
	}
	k += copy(out[k:], a[i:])
	copy(out[k:], b[j:])
}

// runLen returns how many samples from the start of s satisfy in, which
// holds for a prefix of s: an exponential search, then a binary one.
func runLen(s []float64, in func(float64) bool) int {
	// Probe 1, 2, 4, …: in holds at lo (once lo > 0) and fails at hi, or
	// hi is past the end.
	lo, hi := 0, 1
	for hi < len(s) && in(s[hi]) {
		lo, hi = hi, 2*hi
	}
	hi = min(hi, len(s))
	// The first sample in [lo, hi) where in fails, else hi.
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if in(s[m]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
