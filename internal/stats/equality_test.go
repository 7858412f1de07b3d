package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"flperf/internal/record"
)

// sameBits reports the first difference between a and b, comparing floats
// by their bits (so NaN equals NaN, and 0 differs from -0); "" if none.
func sameBits(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return path + ": kinds differ"
	}
	switch a.Kind() {
	case reflect.Float64:
		if math.Float64bits(a.Float()) != math.Float64bits(b.Float()) {
			return fmt.Sprintf("%s: %v (%#x) != %v (%#x)", path, a.Float(), math.Float64bits(a.Float()), b.Float(), math.Float64bits(b.Float()))
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if d := sameBits(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && (a.IsNil() != b.IsNil()) {
			return path + ": nil and non-nil"
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: len %d != %d", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := sameBits(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil and non-nil"
			}
			return ""
		}
		return sameBits(a.Elem(), b.Elem(), path)
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return path + ": maps differ in size"
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := sameBits(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k)); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Sprintf("%s: %v != %v", path, a.Interface(), b.Interface())
		}
	}
	return ""
}

// randomRecords returns n records over the given numbers of models,
// scenarios and stages: mostly ok streams with exact or estimated per-chunk
// token counts, quantized or arbitrary gaps, some failures, warm-ups,
// cancellations and hostile values.
func randomRecords(rng *rand.Rand, n, models, scenarios, stages int) []*record.Record {
	recs := make([]*record.Record, n)
	outcomes := []record.Outcome{record.Timeout, record.HTTPError, record.StreamError, record.ConnectError, record.Canceled, "bogus"}
	sources := []record.TokenSource{record.SourceUsage, record.SourceUsage, record.SourceEngine, record.SourceEstimate, record.SourceChunks, record.SourceNone, "nonsense"}
	for i := range recs {
		r := &record.Record{
			Model:    fmt.Sprintf("m%d", rng.IntN(models)),
			Scenario: fmt.Sprintf("s%d", rng.IntN(scenarios)),
			Stream:   true, MaxTok: 64 + rng.IntN(64),
			Scheduled: t0.Add(time.Duration(i) * msec), Sent: t0.Add(time.Duration(i)*msec + time.Duration(rng.IntN(3))*msec),
			InputTokens: rng.IntN(200) - 5, InputSource: sources[rng.IntN(len(sources))],
			Status: 200,
		}
		recs[i] = r
		if stages > 1 {
			r.Stage = fmt.Sprintf("c=%d", rng.IntN(stages))
		}
		switch x := rng.IntN(20); {
		case x == 0:
			r.Warmup = true
		case x < 4:
			r.Outcome = outcomes[rng.IntN(len(outcomes))]
			r.Status = []int{0, 429, 503}[rng.IntN(3)]
			r.Phase = []record.Phase{"", record.PhaseHeaders, record.PhaseStream}[rng.IntN(3)]
			r.End = time.Duration(rng.IntN(1000)) * msec
			appendChunks(rng, r)
			continue
		}
		r.Outcome = record.OK
		appendChunks(rng, r)
		if len(r.Chunks) > 0 {
			r.FirstToken, r.LastToken = r.Chunks[0].At, r.Chunks[len(r.Chunks)-1].At
			r.FirstAnswer = r.FirstToken + time.Duration(rng.IntN(2))*msec
		} else if rng.IntN(2) == 0 {
			r.FirstToken = time.Duration(1+rng.IntN(500)) * msec
			r.LastToken = r.FirstToken
		}
		r.End = max(r.LastToken, r.FirstToken) + time.Duration(rng.IntN(5))*msec
		r.OutputTokens = len(r.Chunks) + rng.IntN(40) - 10
		r.OutputSource = sources[rng.IntN(len(sources))]
		if rng.IntN(10) == 0 {
			r.EngineOutTokens = r.OutputTokens + rng.IntN(5)
		}
		r.FinishReason = []string{"stop", "length"}[rng.IntN(2)]
		// Characters, without a draw of rng (the sequences stay as they were).
		r.TextChars, r.PromptChars = (len(r.Chunks)*7+i)%500, i%3*50
	}
	return recs
}

// appendChunks gives r 0–150 chunks: exact or estimated token counts, gaps
// quantized to whole ms or arbitrary ns, sometimes out of order.
func appendChunks(rng *rand.Rand, r *record.Record) {
	n := rng.IntN(151)
	exact, quantized, hostile := rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(30) == 0
	at := time.Duration(20+rng.IntN(300)) * msec
	for range n {
		c := record.Chunk{At: at, Est: rng.IntN(4)}
		if exact {
			c.Tokens = 1 + rng.IntN(3)
		}
		r.Chunks = append(r.Chunks, c)
		gap := time.Duration(5+rng.IntN(20)) * msec
		if !quantized {
			gap = time.Duration(rng.Int64N(int64(40 * msec)))
		}
		if hostile && rng.IntN(5) == 0 {
			gap = -gap
		}
		at += gap
	}
}

func TestAddITLMatchesRecordITL(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := randomRecords(rng, 2000, 1, 1, 1)
	recs = append(recs,
		&record.Record{Chunks: []record.Chunk{{At: 5}, {At: 3, Tokens: 2}, {At: 9, Tokens: -1, Est: -4}}, OutputTokens: 9, OutputSource: record.SourceUsage},
		&record.Record{Chunks: []record.Chunk{{At: 1, Tokens: 1}, {At: 1, Tokens: 1}, {At: math.MaxInt64, Tokens: 3}}},
		&record.Record{Chunks: []record.Chunk{{At: 1}, {At: 2}}, OutputTokens: 1, OutputSource: record.SourceChunks},
	)
	for i, r := range recs {
		var b sampleBuf
		b.addITL(r)
		var got []time.Duration
		for _, blk := range append(b.full, b.cur) {
			got = append(got, blk...)
		}
		want := r.ITL(nil)
		if d := sameBits(reflect.ValueOf(got), reflect.ValueOf(want), "itl"); d != "" || b.len() != len(want) {
			t.Fatalf("record %d: addITL differs from Record.ITL: %s (len %d, want %d)", i, d, b.len(), len(want))
		}
	}
}

func TestSampleBufBlocksAndReuse(t *testing.T) {
	var b sampleBuf
	var want []float64
	add := func(d time.Duration, k int) {
		b.repeat(d, k)
		for range k {
			want = append(want, ms(d))
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 3000 {
		d := time.Duration(rng.Int64N(1e9))
		if i%3 == 0 {
			d = time.Duration(i%97) * msec // repeats
		}
		add(d, i%300)
	}
	if b.len() != len(want) {
		t.Fatalf("len %d, want %d", b.len(), len(want))
	}
	for _, blk := range b.full {
		if cap(blk) > maxBlock || len(blk) != cap(blk) {
			t.Fatalf("a full block holds %d of %d (max %d)", len(blk), cap(blk), maxBlock)
		}
	}
	slices.Sort(want)
	s := b.ascending(nil)
	if d := sameBits(reflect.ValueOf(s), reflect.ValueOf(want), "ascending"); d != "" {
		t.Fatal(d)
	}
	if again := b.ascending(nil); &again[0] != &s[0] {
		t.Error("a second call with nothing added sorted again")
	}
	add(-1, 2)
	add(math.MaxInt64, 1)
	add(math.MinInt64, 1)
	slices.Sort(want)
	s2 := b.ascending(nil)
	if d := sameBits(reflect.ValueOf(s2), reflect.ValueOf(want), "after adding"); d != "" {
		t.Fatal(d)
	}
	if s[0] != want[3] {
		t.Errorf("the first result changed: starts %v", s[0])
	}
}

func TestSortedMS(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"equal", func() time.Duration { return 7 * msec }},
		{"quantized", func() time.Duration { return time.Duration(5+rng.IntN(20)) * msec / time.Duration(1+rng.IntN(3)) }},
		{"ns", func() time.Duration { return time.Duration(rng.Int64N(int64(time.Second))) }},
		{"signed", func() time.Duration { return time.Duration(rng.Int64N(int64(time.Second)) - int64(time.Second/2)) }},
		{"any", func() time.Duration { return time.Duration(rng.Uint64()) }},
	} {
		for _, n := range []int{1, 5, radixMin - 1, radixMin, 5000, 70000} {
			var blocks [][]time.Duration
			var want []float64
			left := n
			for left > 0 {
				blk := make([]time.Duration, min(left, 1+rng.IntN(3000)))
				for i := range blk {
					blk[i] = tc.gen()
					want = append(want, ms(blk[i]))
				}
				blocks = append(blocks, blk)
				left -= len(blk)
			}
			slices.Sort(want)
			var or, nand uint64
			for _, blk := range blocks {
				for _, d := range blk {
					or, nand = or|radixKey(d), nand|^radixKey(d)
				}
			}
			got := sortedMS(blocks, n, or&nand, nil)
			if d := sameBits(reflect.ValueOf(got), reflect.ValueOf(want), "sorted"); d != "" {
				t.Fatalf("%s, %d samples: %s", tc.name, n, d)
			}
		}
	}
}

func TestMergeSortedKWays(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range 60 {
		var parts [][]float64
		var all []float64
		for range k % 12 {
			p := make([]float64, rng.IntN([]int{50, 5000}[k/12%2]))
			for i := range p {
				p[i] = float64(rng.IntN(20)) // repeats: long runs
				if k/24%2 == 0 && rng.IntN(2) == 0 {
					p[i] = rng.NormFloat64()
				}
			}
			slicesSort(p)
			parts = append(parts, p)
			all = append(all, p...)
		}
		slicesSort(all)
		got := mergeSorted(parts)
		if len(all) == 0 && len(got) == 0 {
			continue
		}
		if d := sameBits(reflect.ValueOf(got), reflect.ValueOf(all), "merged"); d != "" {
			t.Fatalf("%d parts: %s", k, d)
		}
	}
}

// TestSummaryMatchesReference holds the Aggregator to the original
// algorithms (refAggregator), bit for bit, over runs of many shapes, with a
// Summary part way through and records added after it.
func TestSummaryMatchesReference(t *testing.T) {
	shapes := []struct{ n, models, scenarios, stages int }{
		{0, 1, 1, 1}, {1, 1, 1, 1}, {300, 1, 1, 1}, {500, 1, 3, 1}, {800, 2, 3, 1},
		{900, 3, 7, 2}, {1500, 2, 11, 3}, {400, 6, 1, 1},
	}
	opts := []Options{{}, {SLO: SLO{TTFT: 200 * msec, TPOT: 15 * msec, E2E: 2 * time.Second}, ShortFraction: 0.5}}
	for i, sh := range shapes {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		recs := randomRecords(rng, sh.n, sh.models, sh.scenarios, sh.stages)
		var a Aggregator
		var ref refAggregator
		half := len(recs) / 2
		check := func(when string) {
			for _, o := range opts {
				got, want := a.Summary(o), ref.Summary(o)
				if d := sameBits(reflect.ValueOf(got), reflect.ValueOf(want), "summary"); d != "" {
					t.Fatalf("shape %+v, %s, options %+v: %s", sh, when, o, d)
				}
			}
		}
		for _, r := range recs[:half] {
			a.Add(r)
			ref.Add(r)
		}
		check("half way")
		for _, r := range recs[half:] {
			a.Add(r)
			ref.Add(r)
		}
		check("at the end")
	}
}

// slicesSort sorts ascending (test helper).
func slicesSort(x []float64) { slices.Sort(x) }

func TestDistSorted2MatchesDistSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	gen := func(n int, huge bool) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = rng.NormFloat64() * 100
			if huge {
				xs[i] = math.MaxFloat64 / 3 * rng.Float64() // the plain sum overflows: Welford
			}
		}
		slices.Sort(xs)
		return xs
	}
	sizes := []int{0, 1, 2, 3, 17, 1000, 1001}
	for _, na := range sizes {
		for _, nb := range sizes {
			for _, huge := range []bool{false, true} {
				a, b := gen(na, huge), gen(nb, !huge && nb%2 == 1)
				da, db := distSorted2(a, b)
				if d := sameBits(reflect.ValueOf([]Dist{da, db}), reflect.ValueOf([]Dist{distSorted(a), distSorted(b)}), "dists"); d != "" {
					t.Fatalf("%d and %d samples (huge %v): %s", na, nb, huge, d)
				}
				xss := [][]float64{a, b, a}
				out := make([]Dist, 3)
				distsSorted(xss, out)
				if d := sameBits(reflect.ValueOf(out[2]), reflect.ValueOf(distSorted(a)), "third"); d != "" {
					t.Fatal(d)
				}
			}
		}
	}
}
