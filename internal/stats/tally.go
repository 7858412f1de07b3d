package stats

import (
	"time"

	"flperf/internal/record"
)

// tally is the countable part of a group: everything that pools by
// addition. Summary adds the option-dependent counts (short, good).
type tally struct {
	requests, ok, canceled, warmup int
	fail                           [5]int // by failClasses
	httpStatus                     map[int]int
	timeoutPhase                   map[record.Phase]int
	sources                        [4]int // ok records by outSources
	noSource                       int    // ok records without an output token source
	oneEvent                       int    // ok records with ≥ 2 tokens all in one event (no TPOT)
	checked, disagree              int    // ok records with usage and engine counts; of which > 2 % apart
	worst                          disagreement
	impossible                     int           // ok records whose server count cannot be true (Record.Output)
	worstClaim                     impossible    // the largest such count
	sumIn, sumOut                  int64         // token sums of ok records
	cacheIn, cached                int64         // of ok records with a known input count: Σ input tokens, Σ cached tokens
	chars                          charTally     // characters and their tokens (tokens per character)
	inputLen                       inputLenTally // requested vs measured input lengths
	engine                         int           // ok records carrying the engine's own timings
	connRetries                    int           // sendings repeated on a new connection (Record.ConnRetries)
	classes                        [3]int        // final failures by record.Classes
	retry                          retryTally    // user retries (Record.Attempt, Retried)
	start, end                     time.Time

	// Set by Summary from the options.
	short, good int
	goodFirst   int    // of good, ok at the first attempt
	sloMissing  [3]int // ok records lacking the TTFT, TPOT, E2E an SLO needs
}

// disagreement is one record's usage and engine output token counts.
type disagreement struct {
	usage, engine int
	rel           float64 // |usage − engine| / max(usage, engine)
}

// impossible is a server's output token count that its text cannot hold.
type impossible struct {
	count, textBytes int
	source           record.TokenSource
}

// noteImpossible counts an ok record whose server count cannot be true.
func (t *tally) noteImpossible(r *record.Record) {
	t.impossible++
	if r.OutputTokens > t.worstClaim.count {
		t.worstClaim = impossible{r.OutputTokens, r.TextBytes, r.OutputSource}
	}
}

// DisagreeFraction is the relative difference between two output token
// counts of one request above which a warning is raised (docs/metrics.md §2).
const DisagreeFraction = 0.02

// failed returns the number of failed records.
func (t *tally) failed() int {
	n := 0
	for _, c := range t.fail {
		n += c
	}
	return n
}

// widen extends the measurement window to cover r.
func (t *tally) widen(r *record.Record) {
	if r.Sent.IsZero() {
		return
	}
	off := max(r.End, r.LastToken, r.FirstToken, r.FirstAnswer, r.FirstByte, 0)
	end := r.Sent.Add(off)
	if t.start.IsZero() || r.Sent.Before(t.start) {
		t.start = r.Sent
	}
	if t.end.IsZero() || end.After(t.end) {
		t.end = end
	}
}

// window returns the measurement window in seconds (0 when unknown).
func (t *tally) window() float64 {
	if t.start.IsZero() || !t.end.After(t.start) {
		return 0
	}
	return t.end.Sub(t.start).Seconds()
}

// addFailure counts a failed record by outcome, class, HTTP status and
// timeout phase.
func (t *tally) addFailure(r *record.Record) {
	t.fail[failIndex(r.Outcome)]++
	t.classes[classIndex(r.Class())]++
	switch r.Outcome {
	case record.HTTPError:
		if t.httpStatus == nil {
			t.httpStatus = map[int]int{}
		}
		t.httpStatus[r.Status]++
	case record.Timeout:
		if r.Phase != "" {
			if t.timeoutPhase == nil {
				t.timeoutPhase = map[record.Phase]int{}
			}
			t.timeoutPhase[r.Phase]++
		}
	}
}

// checkAgreement compares a record's usage and engine output token counts.
func (t *tally) checkAgreement(usage, engine int) {
	t.checked++
	diff := usage - engine
	if diff < 0 {
		diff = -diff
	}
	rel := float64(diff) / float64(max(usage, engine))
	if rel > DisagreeFraction {
		t.disagree++
		if rel > t.worst.rel {
			t.worst = disagreement{usage, engine, rel}
		}
	}
}

// add pools o into t. It writes only t's own maps, so t may start as a
// fresh tally while o's maps are shared with an accumulator.
func (t *tally) add(o tally) {
	t.requests += o.requests
	t.ok += o.ok
	t.canceled += o.canceled
	t.warmup += o.warmup
	for i := range t.fail {
		t.fail[i] += o.fail[i]
	}
	for k, v := range o.httpStatus {
		if t.httpStatus == nil {
			t.httpStatus = map[int]int{}
		}
		t.httpStatus[k] += v
	}
	for k, v := range o.timeoutPhase {
		if t.timeoutPhase == nil {
			t.timeoutPhase = map[record.Phase]int{}
		}
		t.timeoutPhase[k] += v
	}
	for i := range t.sources {
		t.sources[i] += o.sources[i]
	}
	t.noSource += o.noSource
	t.oneEvent += o.oneEvent
	t.checked += o.checked
	t.disagree += o.disagree
	if o.worst.rel > t.worst.rel {
		t.worst = o.worst
	}
	t.impossible += o.impossible
	if o.worstClaim.count > t.worstClaim.count {
		t.worstClaim = o.worstClaim
	}
	t.sumIn += o.sumIn
	t.cacheIn += o.cacheIn
	t.cached += o.cached
	t.sumOut += o.sumOut
	t.chars.outChars += o.chars.outChars
	t.chars.outTokens += o.chars.outTokens
	t.chars.promptChars += o.chars.promptChars
	t.chars.inTokens += o.chars.inTokens
	t.inputLen.merge(o.inputLen)
	t.engine += o.engine
	t.connRetries += o.connRetries
	for i := range t.classes {
		t.classes[i] += o.classes[i]
	}
	t.retry.add(o.retry)
	if !o.start.IsZero() && (t.start.IsZero() || o.start.Before(t.start)) {
		t.start = o.start
	}
	if !o.end.IsZero() && (t.end.IsZero() || o.end.After(t.end)) {
		t.end = o.end
	}
	t.short += o.short
	t.good += o.good
	t.goodFirst += o.goodFirst
	for i := range t.sloMissing {
		t.sloMissing[i] += o.sloMissing[i]
	}
}

// tallyFor returns g's tally completed with the option-dependent counts.
// The maps are shared with g; callers only read them.
func (g *acc) tallyFor(opts Options) tally {
	t := g.t
	slo := opts.SLO
	for _, w := range g.rows {
		if w.outKnown && !w.length && w.maxTok > 0 && float64(w.out) < opts.ShortFraction*float64(w.maxTok) {
			t.short++
		}
		if slo.IsZero() {
			continue
		}
		good := true
		for i, c := range [3]struct {
			limit time.Duration
			v     float64
		}{{slo.TTFT, w.ttft}, {slo.TPOT, w.tpot}, {slo.E2E, w.e2e}} {
			switch {
			case c.limit <= 0:
			case !finite(c.v):
				t.sloMissing[i]++
				good = false
			case c.v > ms(c.limit):
				good = false
			}
		}
		if good {
			t.good++
			if !w.recovered {
				t.goodFirst++
			}
		}
	}
	return t
}
