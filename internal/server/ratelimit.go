package server

import (
	"math"
	"sync"
	"time"
)

// Default per-token rate limit of the API: a token bucket refilled at
// DefaultRateLimit requests per second, holding up to DefaultRateBurst
// (a page of the app sends about ten requests at once; a push sends its
// chunks one after another).
const (
	DefaultRateLimit = 20.0
	DefaultRateBurst = 200
)

// maxBuckets bounds the limiter's memory: past it, full buckets (tokens
// idle long enough to have refilled) are dropped. Keys are authenticated
// identities, so this is only reached by a server with very many users.
const maxBuckets = 10000

// limiter is a token bucket per key.
type limiter struct {
	rate    float64 // tokens added per second
	burst   float64 // bucket size
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket is one key's tokens at time last.
type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter returns a limiter of rate requests per second with bursts of
// burst; nil (no limit) when rate is not positive.
func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket. When the bucket is empty it
// returns false and how long until a token is there.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.dropFull(t)
		}
		b = &bucket{tokens: l.burst, last: t}
		l.buckets[key] = b
	}
	if dt := t.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt*l.rate)
		b.last = t
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// dropFull forgets the buckets that have refilled by t: forgetting one is
// the same as keeping it full.
func (l *limiter) dropFull(t time.Time) {
	for k, b := range l.buckets {
		if b.tokens+t.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// retryAfter is the Retry-After header's value for a wait: whole seconds,
// rounded up, at least 1.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}
