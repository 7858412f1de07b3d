package runner

import (
	"context"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"flperf/internal/load"
	"flperf/internal/record"
)

// MaxRetries is the largest Config.Retries accepted.
const MaxRetries = 10

// Backoff says how long the runner waits before retrying a transient
// failure (Config.Retries; docs/metrics.md §4). Retry k (1, 2, …) waits a
// nominal min(Cap, Base·2^(k−1)), of which the second half is jittered
// ("equal jitter": nominal/2 + u·nominal/2, u in [0, 1) drawn from the
// run's seed, the request and k, so that a run repeated with the same seed
// waits the same), and never less than the server's Retry-After (seconds
// or an HTTP date), itself capped at RetryAfterCap.
type Backoff struct {
	Base          time.Duration // the first retry's nominal wait
	Cap           time.Duration // the longest nominal wait
	RetryAfterCap time.Duration // the longest Retry-After honoured
}

// DefaultBackoff is the backoff of every run: 250 ms, 500 ms, 1 s, … up to
// 8 s (before jitter), and Retry-After up to 30 s.
var DefaultBackoff = Backoff{Base: 250 * time.Millisecond, Cap: 8 * time.Second, RetryAfterCap: 30 * time.Second}

// Delay is the wait before retry k (k ≥ 1) given the jitter draw u in
// [0, 1), the failed attempt's Retry-After header (may be empty) and the
// time now (for an HTTP date).
func (b Backoff) Delay(k int, u float64, retryAfter string, now time.Time) time.Duration {
	nominal := b.Base
	for i := 1; i < k && nominal < b.Cap; i++ {
		nominal *= 2
	}
	nominal = min(nominal, b.Cap)
	d := nominal/2 + time.Duration(u*float64(nominal-nominal/2))
	if ra, ok := ParseRetryAfter(retryAfter, now); ok {
		d = max(d, min(ra, b.RetryAfterCap))
	}
	return d
}

// ParseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date (a date in the past is 0). ok is false for an empty or
// unreadable value.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(24*time.Hour/time.Second) {
			return 24 * time.Hour, true // any cap is below a day
		}
		return time.Duration(n) * time.Second, true
	} else if strings.Trim(v, "0123456789") == "" {
		return 24 * time.Hour, true // digits beyond uint64
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// jitter is the draw in [0, 1) for retry k of the request seq (its
// stage-local job seq) of model × scenario × stage in a run seeded seed.
func jitter(seed int64, model, scenario, stage string, seq int64, k int) float64 {
	h := fnv.New64a()
	for _, s := range []string{model, scenario, stage} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(strconv.AppendInt(strconv.AppendInt(nil, seq, 10), int64(k), 36))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64())).Float64()
}

// retrier repeats a request's transient failures (Config.Retries > 0).
type retrier struct {
	retries  int
	backoff  Backoff
	seed     int64
	model    string
	scenario string
	stage    string
	emit     func(record.Record) // hands on an attempt that a retry follows
}

// run sends the request of job through send until it ends other than by a
// transient failure or the retries are spent, and returns the last
// attempt. The attempts of job j have seqs j·(retries+1) + attempt, so that
// they never meet another job's. Every earlier attempt is marked Retried
// and handed to emit (after the wait, so that a run stopped meanwhile
// keeps it as the request's final outcome) before the next is sent.
// Retries are not started once scheduling has stopped.
func (t *retrier) run(ctx context.Context, job load.Job, send func(rec *record.Record)) record.Record {
	span := int64(t.retries) + 1
	rec := record.Record{Seq: job.Seq * span, Worker: job.Worker, Warmup: job.Warmup, Scheduled: job.Scheduled}
	send(&rec)
	first := rec.Sent
	stopped := load.Stopped(ctx)
	for k := 1; k <= t.retries && rec.Class() == record.Transient; k++ {
		d := t.backoff.Delay(k, jitter(t.seed, t.model, t.scenario, t.stage, job.Seq, k), rec.RetryAfter, time.Now())
		if !wait(ctx, stopped, d) {
			break
		}
		rec.Retried = true
		t.emit(rec)
		next := record.Record{Seq: job.Seq*span + int64(k), Worker: job.Worker, Warmup: job.Warmup,
			Scheduled: time.Now(), Attempt: k, RetryOf: rec.Seq}
		send(&next)
		if !first.IsZero() && !next.Sent.IsZero() {
			next.RetryWait = next.Sent.Sub(first)
		}
		rec = next
	}
	return rec
}

// wait sleeps d, and reports false if ctx was cancelled or scheduling
// stopped first.
func wait(ctx context.Context, stopped <-chan struct{}, d time.Duration) bool {
	if ctx.Err() != nil || isClosed(stopped) {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stopped:
		return false
	}
}
