package record

import (
	"math"
	"math/bits"
	"time"
)

// A token is at least one byte of text, except the few a server never
// shows (end of sequence, a matched stop sequence, a control token). An
// output token count above MaxOutTokens of the text received cannot be true
// (docs/metrics.md §2): it is a token-source disagreement, and figures use
// the next source instead (Output).
const (
	tokensPerByte = 2  // allowance per byte of text: twice the most possible
	hiddenTokens  = 64 // allowance for tokens that produce no text
)

// MaxEventSamples is the most ITL samples one text event gives (docs/metrics.md
// §3). An event that carried more tokens gives this many samples, each still
// its gap over its token count: the values stay right and memory stays
// bounded by the events received, whatever a record claims.
const MaxEventSamples = 256

// MaxOutTokens returns the most output tokens that can have produced
// textBytes bytes of text: 2 × textBytes + 64 (saturating).
func MaxOutTokens(textBytes int) int {
	b := max(textBytes, 0)
	if b > (math.MaxInt-hiddenTokens)/tokensPerByte {
		return math.MaxInt
	}
	return tokensPerByte*b + hiddenTokens
}

// textFloor is the fewest bytes of text the record can have received: its
// TextBytes, or the sum of its events' estimates when that is larger (an
// estimate never exceeds the bytes it counts; only hand-built records lack
// TextBytes).
func (r *Record) textFloor() int {
	est := 0
	for _, c := range r.Chunks {
		if est += max(c.Est, 1); est < 0 {
			return math.MaxInt
		}
	}
	return max(r.TextBytes, est)
}

// Output returns the output token count that figures use, and its source:
// OutputTokens, unless the server's count (usage or engine) cannot be true
// for the text received (more than MaxOutTokens); then impossible is true and
// the next source stands in, as the backend orders them (docs/metrics.md §2):
// a possible engine count beside usage, the tokenizer estimate, the events.
// A response without any text is not checked: there is nothing to hold its
// count against (a server may withhold all of it, e.g. reasoning cut short
// by max_tokens), and it has no per-token samples to bound.
func (r *Record) Output() (n int, src TokenSource, impossible bool) {
	n, src = r.OutputTokens, r.OutputSource
	if src != SourceUsage && src != SourceEngine || n <= hiddenTokens || r.TextBytes <= 0 && len(r.Chunks) == 0 {
		return n, src, false
	}
	return r.outputWithin(MaxOutTokens(r.textFloor()))
}

// outputWithin is Output with the limit MaxOutTokens of the text known.
func (r *Record) outputWithin(limit int) (n int, src TokenSource, impossible bool) {
	n, src = r.OutputTokens, r.OutputSource
	if src != SourceUsage && src != SourceEngine || n <= limit {
		return n, src, false
	}
	switch {
	case src == SourceUsage && r.EngineOutTokens > 0 && r.EngineOutTokens <= limit:
		return r.EngineOutTokens, SourceEngine, true
	case r.EstOutTokens > 0 && r.EstOutTokens <= limit:
		return r.EstOutTokens, SourceEstimate, true
	case r.ChunkCount > 0 && r.ChunkCount <= limit:
		return r.ChunkCount, SourceChunks, true
	}
	return 0, SourceNone, true
}

// ITLRuns yields the per-token inter-token latency samples of
// docs/metrics.md §3 as runs, one per text-bearing event after the first:
// k samples of d, the gap before the event split evenly over the tokens it
// carried. The tokens come from per-chunk server counts when every chunk
// has one, else from the tokenizer estimate scaled so that they sum to
// N_out − k_first (largest-remainder apportionment, at least one per event).
//
// Whatever a record claims, the samples stay bounded by what was received:
// per-chunk counts or an N_out beyond MaxOutTokens of the text are not used
// (the estimate stands in), and no event gives more than MaxEventSamples.
// Record.ITL and the statistics both read the samples from here.
func (r *Record) ITLRuns(yield func(d time.Duration, k int) bool) {
	cs := r.Chunks
	n := len(cs)
	if n < 2 {
		return
	}
	// What the text can hold: its bytes, raised to the events' estimates
	// only when a count needs it (hand-built records lack TextBytes).
	limit := MaxOutTokens(r.TextBytes)
	exact, sum := true, 0
	for i := range cs {
		if cs[i].Tokens <= 0 {
			exact = false
			break
		}
		if i > 0 {
			if sum += cs[i].Tokens; sum < 0 {
				sum = math.MaxInt
			}
		}
	}
	if exact && sum > limit {
		limit = MaxOutTokens(r.textFloor())
		exact = sum <= limit
	}
	if exact {
		for i := 1; i < n; i++ {
			k := cs[i].Tokens
			if !yield((cs[i].At-cs[i-1].At)/time.Duration(k), min(k, MaxEventSamples)) {
				return
			}
		}
		return
	}
	// Estimated split, scaled to the true count when it is known.
	est := 0
	for _, c := range cs[1:] {
		if est += max(c.Est, 1); est < 0 {
			// Estimates beyond any text (only a damaged record has
			// them): no split to trust, one sample per event.
			for i := 1; i < n; i++ {
				if !yield(cs[i].At-cs[i-1].At, 1) {
					return
				}
			}
			return
		}
	}
	if floor := est + max(cs[0].Est, 1); floor > r.TextBytes && floor > 0 {
		limit = max(limit, MaxOutTokens(floor)) // estimates never exceed their text
	}
	target := est
	if out, src, _ := r.outputWithin(limit); out > 0 && src != SourceChunks {
		first := max(cs[0].Est, 1)
		if t := out - first; t >= n-1 && t <= limit {
			target = t
		}
	}
	small := est <= math.MaxInt32 && target <= math.MaxInt32 // acc·target fits in an int
	acc, given := 0, 0
	for i := 1; i < n; i++ {
		e := max(cs[i].Est, 1)
		acc += e
		var k int
		switch {
		case target == est:
			k = e // cumulative rounding of an unscaled split is the estimate itself
		case small:
			k = max((acc*target+est/2)/est-given, 1)
		default: // the same, exactly, in 128 bits
			hi, lo := bits.Mul64(uint64(acc), uint64(target))
			lo, carry := bits.Add64(lo, uint64(est/2), 0)
			q, _ := bits.Div64(hi+carry, lo, uint64(est))
			k = max(int(q)-given, 1)
		}
		given += k
		if !yield((cs[i].At-cs[i-1].At)/time.Duration(k), min(k, MaxEventSamples)) {
			return
		}
	}
}

// ITL appends the per-token inter-token latency samples of docs/metrics.md
// §3 (ITLRuns, one value per sample) to dst.
func (r *Record) ITL(dst []time.Duration) []time.Duration {
	for d, k := range r.ITLRuns {
		for range k {
			dst = append(dst, d)
		}
	}
	return dst
}
