package stats

import (
	"time"

	"flperf/internal/record"
)

// Block sizes of a sampleBuf: a small group wastes little; a large one grows
// by blocks of at most maxBlock samples, none of which is ever copied while
// samples arrive.
const (
	firstBlock = 1 << 8
	maxBlock   = 1 << 16
)

// sampleBuf collects a group's ITL samples as durations, in blocks: growing
// never moves what is stored. ascending turns them into sorted
// milliseconds once per Summary.
type sampleBuf struct {
	flat []float64         // ms, ascending: every sample a Summary has sorted
	full [][]time.Duration // filled blocks of samples added since
	cur  []time.Duration   // the block being filled
	n    int               // samples in full
	// The bits set in some sample's radix key (or) and clear in some
	// (nand), over the blocks: sortedMS sorts on the bits in both.
	or, nand uint64
}

// len returns the number of samples.
func (b *sampleBuf) len() int { return len(b.flat) + b.n + len(b.cur) }

// next retires the filled current block and starts a larger one.
func (b *sampleBuf) next() {
	if len(b.cur) > 0 {
		b.full = append(b.full, b.cur)
		b.n += len(b.cur)
	}
	b.cur = make([]time.Duration, 0, min(max(2*cap(b.cur), firstBlock), maxBlock))
}

// push appends d, for the usual one token per event; inlined, it leaves
// the caller to fold d into or and nand.
func (b *sampleBuf) push(d time.Duration) {
	if len(b.cur) < cap(b.cur) {
		b.cur = append(b.cur, d)
	} else {
		b.repeat(d, 1)
	}
}

// repeat appends k copies of d.
func (b *sampleBuf) repeat(d time.Duration, k int) {
	if k <= 0 {
		return
	}
	b.or |= radixKey(d)
	b.nand |= ^radixKey(d)
	for k > 0 {
		if len(b.cur) == cap(b.cur) {
			b.next()
		}
		l := len(b.cur)
		m := min(k, cap(b.cur)-l)
		dst := b.cur[l : l+m]
		for i := range dst {
			dst[i] = d
		}
		b.cur = b.cur[:l+m]
		k -= m
	}
}

// ascending returns every sample in ms, in one ascending slice that the
// caller must not modify. It keeps that slice, so a later call with nothing
// added in between costs nothing. sc lends sorting buffers (may be nil).
func (b *sampleBuf) ascending(sc *radixScratch) []float64 {
	if b.n+len(b.cur) == 0 {
		return b.flat
	}
	blocks := b.full
	if len(b.cur) > 0 {
		blocks = append(blocks, b.cur)
	}
	fresh := sortedMS(blocks, b.n+len(b.cur), b.or&b.nand, sc)
	b.full, b.cur, b.n, b.or, b.nand = nil, nil, 0, 0, 0
	if len(b.flat) == 0 {
		b.flat = fresh
	} else {
		all := make([]float64, len(b.flat)+len(fresh))
		merge2(all, b.flat, fresh)
		b.flat = all
	}
	return b.flat
}

// addITL appends r's per-token ITL samples: those of r.ITLRuns, each run of
// k equal samples written at once.
func (b *sampleBuf) addITL(r *record.Record) {
	var or, nand uint64 // of the pushed samples' keys
	for d, k := range r.ITLRuns {
		if k == 1 {
			or, nand = or|radixKey(d), nand|^radixKey(d)
			b.push(d)
		} else {
			b.repeat(d, k)
		}
	}
	b.or, b.nand = b.or|or, b.nand|nand
}
