package sim

// vocab is the fixed vocabulary of simulated tokens: harmless lorem-ipsum
// words of 1 to 6 lowercase letters, each one token for tokens.Estimate.
var vocab = [...]string{
	"lorem", "ipsum", "dolor", "sit", "amet", "elit", "sed", "do",
	"tempor", "ut", "labore", "et", "magna", "aliqua", "enim", "ad",
	"minim", "veniam", "quis", "nisi", "ex", "ea", "duis", "aute",
	"irure", "in", "velit", "esse", "cillum", "dolore", "eu", "fugiat",
	"nulla", "sint", "culpa", "qui", "mollit", "anim", "id", "est",
	"non", "sunt", "vitae", "nunc", "purus", "risus", "felis", "justo",
	"massa", "metus", "nibh", "odio", "orci", "quam", "urna", "eget",
	"arcu", "ante", "diam", "erat", "lacus", "leo", "nec", "a",
}

// appendWords appends n tokens (" word" each) drawn from r to b.
func appendWords(b []byte, r *rng, n int) []byte {
	for range n {
		b = append(b, ' ')
		b = append(b, vocab[r.next()%uint64(len(vocab))]...)
	}
	return b
}

// rng is a splitmix64 generator: tiny, allocation-free and good enough for
// jitter, faults and word choice.
type rng struct{ s uint64 }

// Independent generator streams of one request.
const (
	streamFaults uint64 = iota + 1
	streamJitter
	streamWords
)

// newRNG returns the generator for one stream of request k of a model
// seeded with seed.
func newRNG(seed int64, k uint64, stream uint64) rng {
	r := rng{s: uint64(seed) ^ stream*0xd1b54a32d192ed03}
	r.s = r.next() + k*0x9e3779b97f4a7c15
	r.s = r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a uniform number in [0,1).
func (r *rng) float() float64 { return float64(r.next()>>11) * 0x1p-53 }
