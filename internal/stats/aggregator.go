package stats

import (
	"time"

	"flperf/internal/record"
)

// Aggregator collects records and keeps their raw samples per model ×
// scenario × stage. The zero value is ready to use. It is not safe for
// concurrent use: feed it from one goroutine (the run's fan-out) and call
// Summary from the same one, or guard it.
type Aggregator struct {
	groups map[groupKey]*acc
	order  []*acc
}

// groupKey identifies one summary row.
type groupKey struct{ model, scenario, stage string }

// acc is one group's raw material: counts kept as records arrive, one row
// per ok record and every per-token ITL sample.
type acc struct {
	key  groupKey
	t    tally
	rows []row
	itl  sampleBuf // durations as they come; Summary sorts them into ms
	// turns counts the requests of each conversation turn, whatever their
	// outcome (nil: no conversation).
	turns map[int]int
}

// row holds the per-request figures of one ok record; times in ms, NaN
// where the record has no such figure.
type row struct {
	ttft, ttfo, tpot, e2e, qttft, qe2e float64
	engTTFT, engDecode                 float64 // the engine's own (record.Server); NaN: not reported
	charRate                           float64 // generated characters per second of decode; NaN: unknown
	in, out                            int
	maxTok                             int
	turn, cached                       int // a conversation's turn (0: none) and its cached prompt tokens
	inKnown, outKnown                  bool
	length                             bool // finish reason "length"
	// recovered: ok after retries; wait is its retry wait in ms, which
	// ttft, ttfo, e2e and the queue figures include (they count from the
	// first attempt) and the rates leave out (0 for a first attempt).
	recovered bool
	wait      float64
}

// otherFailure is the failure class of records whose outcome is not one of
// record.Outcomes (hostile or corrupt input).
const otherFailure record.Outcome = "other"

// failClasses lists the failure classes in report order.
var failClasses = []record.Outcome{record.Timeout, record.HTTPError, record.StreamError, record.ConnectError, otherFailure}

// failIndex returns the index of o in failClasses.
func failIndex(o record.Outcome) int {
	switch o {
	case record.Timeout:
		return 0
	case record.HTTPError:
		return 1
	case record.StreamError:
		return 2
	case record.ConnectError:
		return 3
	}
	return 4
}

// outSources lists the output token sources, best first.
var outSources = []record.TokenSource{record.SourceUsage, record.SourceEngine, record.SourceEstimate, record.SourceChunks}

// Add records r. Warm-up records are only counted. Add appends raw values
// and does no sorting; a nil record is ignored.
func (a *Aggregator) Add(r *record.Record) {
	if r == nil {
		return
	}
	g := a.group(groupKey{r.Model, r.Scenario, r.Stage})
	if r.Warmup {
		if !r.Retried {
			g.t.warmup++ // a warm-up request, counted once
		}
		return
	}
	g.t.connRetries += max(r.ConnRetries, 0)
	g.t.widen(r)
	g.t.retry.note(r)
	if r.Retried {
		return // a later attempt of the same request carries its outcome
	}
	g.t.requests++
	if r.Turn > 0 {
		if g.turns == nil {
			g.turns = map[int]int{}
		}
		g.turns[r.Turn]++
	}
	switch r.Outcome {
	case record.OK:
		a.addOK(g, r)
	case record.Canceled:
		g.t.canceled++
	default:
		g.t.addFailure(r)
	}
}

// group returns the accumulator for k, creating it in first-seen order.
func (a *Aggregator) group(k groupKey) *acc {
	if g, ok := a.groups[k]; ok {
		return g
	}
	if a.groups == nil {
		a.groups = map[groupKey]*acc{}
	}
	g := &acc{key: k}
	a.groups[k] = g
	a.order = append(a.order, g)
	return g
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// addOK records the figures of an ok record.
func (a *Aggregator) addOK(g *acc, r *record.Record) {
	t := &g.t
	t.ok++
	w := row{ttft: nan, ttfo: nan, tpot: nan, e2e: nan, qttft: nan, qe2e: nan, engTTFT: nan, engDecode: nan, charRate: nan, maxTok: r.MaxTok, length: r.FinishReason == "length",
		turn: r.Turn, cached: max(r.CachedTokens, 0)}
	if r.Server != nil {
		t.engine++
		if v, ok := r.Server.EngineTTFT(); ok {
			w.engTTFT = v
		}
		if v, ok := r.Server.DecodeRate(); ok {
			w.engDecode = v
		}
	}
	qw := r.QueueWait()
	if r.Attempt > 0 {
		// Recovered: what its user waited counts from the first attempt
		// (docs/metrics.md §4); a retry's own queue wait is the backoff,
		// already in RetryWait.
		w.recovered, w.wait, qw = true, ms(max(r.RetryWait, 0)), 0
	}
	if d, ok := r.TTFT(); ok {
		w.ttft, w.qttft = ms(d)+w.wait, ms(qw+d)+w.wait
	}
	if d, ok := r.TTFO(); ok {
		w.ttfo = ms(d) + w.wait
	}
	if d, ok := r.E2E(); ok {
		w.e2e, w.qe2e = ms(d)+w.wait, ms(qw+d)+w.wait
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
	out, src, impossible := r.Output()
	if out > 0 || (out == 0 && known(src)) {
		w.out, w.outKnown = out, true
	}
	if impossible {
		t.noteImpossible(r)
	}
	t.sumIn += int64(w.in)
	if w.inKnown {
		t.cacheIn += int64(w.in)
		t.cached += int64(w.cached)
	}
	t.sumOut += int64(w.out)
	w.charRate = t.chars.add(r, w.out, w.outKnown && reported(src))
	t.inputLen.add(r)

	if i := sourceIndex(src); i >= 0 {
		t.sources[i]++
	} else {
		t.noSource++
	}
	if src == record.SourceUsage && r.EngineOutTokens > 0 && w.outKnown {
		t.checkAgreement(out, r.EngineOutTokens)
	}
	g.rows = append(g.rows, w)
	g.itl.addITL(r)
}

// reported reports whether s is a count the server sent (usage or the
// engine's own), not the client's estimate.
func reported(s record.TokenSource) bool {
	return s == record.SourceUsage || s == record.SourceEngine
}

// known reports whether s is one of the defined token sources.
func known(s record.TokenSource) bool { return sourceIndex(s) >= 0 }

// sourceIndex returns the index of s in outSources, or -1.
func sourceIndex(s record.TokenSource) int {
	switch s {
	case record.SourceUsage:
		return 0
	case record.SourceEngine:
		return 1
	case record.SourceEstimate:
		return 2
	case record.SourceChunks:
		return 3
	}
	return -1
}
