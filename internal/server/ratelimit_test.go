package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/store"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestLimiter checks the token bucket's arithmetic: a burst, then one
// request per 1/rate, with the exact wait until the next token.
func TestLimiter(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)}
	l := newLimiter(2, 3, c.now)
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if ok, wait := l.allow("a"); ok || wait != 500*time.Millisecond {
		t.Errorf("fourth: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another key shares a's bucket")
	}
	c.add(250 * time.Millisecond)
	if ok, wait := l.allow("a"); ok || wait != 250*time.Millisecond {
		t.Errorf("after 250ms: %v, wait %v; want refused, 250ms", ok, wait)
	}
	c.add(250 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Error("a token after 500ms refused")
	}
	// An hour idle refills to the burst, not beyond.
	c.add(time.Hour)
	n := 0
	for ok, _ := l.allow("a"); ok; ok, _ = l.allow("a") {
		n++
	}
	if n != 3 {
		t.Errorf("after an hour, %d requests at once; want the burst of 3", n)
	}
	for _, c := range []struct {
		wait time.Duration
		want int
	}{{time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {0, 1}} {
		if got := retryAfter(c.wait); got != c.want {
			t.Errorf("Retry-After for %v: %d, want %d", c.wait, got, c.want)
		}
	}
	if newLimiter(0, 10, nil) != nil || newLimiter(-1, 10, nil) != nil {
		t.Error("a rate of 0 or less limits")
	}
	var none *limiter
	if ok, _ := none.allow("a"); !ok {
		t.Error("no limiter refused")
	}
}

// TestLimiterBounded checks that the limiter's memory stays bounded with
// more keys than maxBuckets: buckets that have refilled are forgotten.
func TestLimiterBounded(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)}
	l := newLimiter(10, 5, c.now)
	for i := range maxBuckets + 500 {
		l.allow(fmt.Sprint("k", i))
		if i%1000 == 999 {
			c.add(time.Second) // the buckets of 1000 keys ago have refilled
		}
	}
	if n := len(l.buckets); n > maxBuckets {
		t.Errorf("%d buckets, more than %d", n, maxBuckets)
	}
}

// TestRateLimitAPI checks the limit on the API: per token (a user's
// burst does not spend another's), 429 with Retry-After and a JSON error,
// the single access token limited too, open loopback never.
func TestRateLimitAPI(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)}
	a := newApp(t, Options{RateLimit: 0.5, RateBurst: 2})
	a.s.limiter.now = c.now
	alice, bob := addUser(t, a.db, "alice", store.RoleAdmin), addUser(t, a.db, "bob", store.RoleViewer)
	for range 2 {
		a.data(http.MethodGet, "/api/v1/health?token="+alice, nil, http.StatusOK, nil)
	}
	r := a.do(http.MethodGet, "/api/v1/health", nil, "Authorization", "Bearer "+alice)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" ||
		!strings.Contains(string(r.body), `"kind":"too_many_requests","message":"too many requests for this token: at most 0.5 a second (bursts of 2); retry in 2 s"`) {
		t.Errorf("third request: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	a.data(http.MethodGet, "/api/v1/health?token="+bob, nil, http.StatusOK, nil)
	c.add(2 * time.Second)
	a.data(http.MethodGet, "/api/v1/health?token="+alice, nil, http.StatusOK, nil)
	// A 429 is not audited: a flood cannot grow the log.
	a.fail(http.MethodPut, "/api/v1/settings", map[string]any{}, http.StatusTooManyRequests, "Authorization", "Bearer "+alice)
	if es, _ := a.db.Audit(t.Context(), 10, time.Time{}); len(es) != 0 {
		t.Errorf("audited: %+v", es)
	}

	const tok = "s3cret-token-0123"
	b := newApp(t, Options{Listen: "0.0.0.0:8765", Token: tok, RateLimit: 0.5, RateBurst: 1})
	b.s.limiter.now = c.now
	b.data(http.MethodGet, "/api/v1/health?token="+tok, nil, http.StatusOK, nil)
	b.fail(http.MethodGet, "/api/v1/health?token="+tok, nil, http.StatusTooManyRequests)

	o := newApp(t, Options{RateLimit: 0.5, RateBurst: 1})
	for range 5 {
		o.data(http.MethodGet, "/api/v1/health", nil, http.StatusOK, nil)
	}
}
