package stats

import (
	"slices"
	"time"
)

// The LSD radix sort of sortedMS takes digits of radixBits bits: two
// passes sort latencies under 2²⁶ ns (67 ms), the usual inter-token gaps.
const (
	radixBits   = 13
	radixSize   = 1 << radixBits
	radixDigits = (64 + radixBits - 1) / radixBits
	// radixMin is the fewest samples worth a radix sort.
	radixMin = 1 << 10
)

// radixKey maps a duration to a key whose unsigned order is the
// duration's order.
func radixKey(d time.Duration) uint64 { return uint64(d) ^ 1<<63 }

// sortedMS returns the n durations of blocks in ms (ms(d)), ascending.
// Since ms is non-decreasing, sorting the durations sorts their ms values;
// the durations are sorted by an LSD radix sort on the digits that differ
// between them (a few for latencies: their high bits are all equal), with
// the last pass writing ms. diff has every bit in which the samples' radix
// keys differ (and may have more). The key buffers come from sc (nil:
// fresh ones).
func sortedMS(blocks [][]time.Duration, n int, diff uint64, sc *radixScratch) []float64 {
	out := make([]float64, n)
	if n < radixMin {
		all := make([]time.Duration, 0, n)
		for _, blk := range blocks {
			all = append(all, blk...)
		}
		slices.Sort(all)
		for i, d := range all {
			out[i] = ms(d)
		}
		return out
	}
	// The digits that differ between samples.
	var passes []int
	for j := range radixDigits {
		if diff>>(j*radixBits)&(radixSize-1) != 0 {
			passes = append(passes, j)
		}
	}
	if len(passes) == 0 { // every sample equal
		x := ms(blocks[0][0])
		for i := range out {
			out[i] = x
		}
		return out
	}
	// Each pass's digit counts; the first pass's counted here, each later
	// one's by the pass before it.
	hist := make([][radixSize]int, len(passes))
	{
		h, shift := &hist[0], uint(passes[0]*radixBits)
		for _, blk := range blocks {
			for _, d := range blk {
				h[radixKey(d)>>shift&(radixSize-1)]++
			}
		}
	}
	// The first pass reads the blocks, the last writes ms into out; any
	// between go back and forth through two key buffers.
	var src, dst []uint64
	if len(passes) > 1 {
		if sc == nil {
			sc = new(radixScratch)
		}
		src, dst = sc.bufs(n)
	}
	off := new([radixSize]int)
	for p, j := range passes {
		sum := 0
		for i, c := range &hist[p] {
			off[i] = sum
			sum += c
		}
		shift := uint(j * radixBits)
		last := p == len(passes)-1
		var next *[radixSize]int // the next pass's counts
		var nshift uint
		if !last {
			next, nshift = &hist[p+1], uint(passes[p+1]*radixBits)
		}
		switch {
		case p == 0 && last:
			for _, blk := range blocks {
				for _, d := range blk {
					x := radixKey(d) >> shift & (radixSize - 1)
					out[off[x]] = ms(d)
					off[x]++
				}
			}
		case p == 0:
			for _, blk := range blocks {
				for _, d := range blk {
					k := radixKey(d)
					x := k >> shift & (radixSize - 1)
					dst[off[x]] = k
					off[x]++
					next[k>>nshift&(radixSize-1)]++
				}
			}
		case last:
			for _, k := range src {
				x := k >> shift & (radixSize - 1)
				out[off[x]] = ms(time.Duration(k ^ 1<<63))
				off[x]++
			}
		default:
			for _, k := range src {
				x := k >> shift & (radixSize - 1)
				dst[off[x]] = k
				off[x]++
				next[k>>nshift&(radixSize-1)]++
			}
		}
		src, dst = dst, src
	}
	return out
}

// radixScratch holds the key buffers of sortedMS, so that one goroutine
// sorting several groups allocates (and zeroes) them once.
type radixScratch struct{ a, b []uint64 }

// bufs returns two buffers of n keys.
func (sc *radixScratch) bufs(n int) (a, b []uint64) {
	if cap(sc.a) < n {
		sc.a, sc.b = make([]uint64, n), make([]uint64, n)
	}
	return sc.a[:n], sc.b[:n]
}
