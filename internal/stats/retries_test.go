package stats

import (
	"math"
	"testing"
	"time"

	"flperf/internal/record"
)

// TestRetryFigures checks the summary of a group whose requests were
// retried: requests counted once by their last attempt, failures by class,
// recovered requests with their latency from the first attempt (and their
// rates without the wait), the first-attempt error rate and goodput beside
// the final ones, pooling by addition, and the JSON.
func TestRetryFigures(t *testing.T) {
	attempt := func(r *record.Record, k int, retried bool, wait time.Duration) *record.Record {
		r.Attempt, r.Retried, r.RetryWait = k, retried, wait
		return r
	}
	http := func(status int) *record.Record {
		r := failRec("m", "a", 0, 10*msec, record.HTTPError)
		r.Status, r.Phase = status, record.PhaseHeaders
		return r
	}
	ok := func(sent time.Duration) *record.Record { return okRec("m", "a", sent, 50*msec, time.Second, 20) }
	connect := failRec("m", "a", 0, msec, record.ConnectError)
	connect.Phase = record.PhaseConnect
	warm := attempt(http(429), 0, true, 0)
	warm.Warmup = true
	warmOK := attempt(ok(0), 1, false, time.Second)
	warmOK.Warmup = true
	recs := []*record.Record{
		warm, warmOK,
		attempt(http(429), 0, true, 0), attempt(ok(time.Second), 1, false, time.Second), // A: recovered, E2E 2 s
		ok(0),                                                                                                       // B: ok at once
		attempt(http(503), 0, true, 0), attempt(http(429), 1, true, 30*msec), attempt(http(429), 2, false, 90*msec), // C: failed after retrying
		http(404),                                                               // D: permanent, not retried
		attempt(connect, 0, true, 0), attempt(ok(100*msec), 1, false, 100*msec), // E: recovered, E2E 1.1 s
		okRec("n", "a", 0, 50*msec, time.Second, 20),
	}
	s := summarize(Options{SLO: SLO{E2E: 1500 * time.Millisecond}}, recs...)
	g := s.Groups[0]
	if g.Requests != 5 || g.OK != 3 || g.Warmup != 1 || g.ErrorRate != 0.4 || g.Failures[record.HTTPError] != 2 {
		t.Errorf("final: requests %d ok %d warm-up %d error rate %v failures %v; want 5, 3, 1, 0.4, 2 http_error", g.Requests, g.OK, g.Warmup, g.ErrorRate, g.Failures)
	}
	if c := g.Classes; c[record.Transient] != 1 || c[record.Permanent] != 1 || c[record.OtherFailure] != 0 {
		t.Errorf("classes %v, want 1 transient, 1 permanent", c)
	}
	f := g.Retries
	if f == nil || f.Attempts != 9 || f.Retries != 4 || f.Recovered != 2 || f.FailedAfterRetries != 1 || f.FirstAttemptFailed != 4 ||
		f.FirstAttemptErrorRate != 0.8 || f.FirstAttemptClasses[record.Transient] != 3 || f.FirstAttemptClasses[record.Permanent] != 1 {
		t.Fatalf("retry figures %+v", f)
	}
	// A waited 1 s + 50 ms for its first token and 2 s in all; E 150 ms and 1.1 s.
	if g.TTFT.N != 3 || g.TTFT.Min != 50 || g.TTFT.Max != 1050 || g.E2E.Max != 2000 || g.E2E.Min != 1000 || g.E2E.P50 != 1100 {
		t.Errorf("TTFT %+v E2E %+v: a recovered request's latency counts from its first attempt", g.TTFT, g.E2E)
	}
	if g.PrefillTPS.N != 3 || g.PrefillTPS.Min != g.PrefillTPS.Max || math.Abs(g.PrefillTPS.Max-200) > 1e-9 {
		t.Errorf("prefill %+v: the rates are each attempt's own", g.PrefillTPS)
	}
	gp := g.Goodput
	if gp.Good != 2 || gp.Fraction != 0.4 || gp.FirstAttemptGood == nil || *gp.FirstAttemptGood != 1 || *gp.FirstAttemptFraction != 0.2 {
		t.Errorf("goodput %+v: want 2 good (B, E), 1 at the first attempt (B)", gp)
	}
	wantWarning(t, g, "4 retries repeated transient failures: 2 of 5 requests recovered (first-attempt error rate 80.0 %, final 40.0 %)")
	wantWarning(t, g, "1 still failed after retrying")

	tot := s.Total
	if tf := tot.Retries; tf == nil || tf.Retries != 4 || tf.Recovered != 2 || tf.FirstAttemptErrorRate != 4.0/6 || tot.Requests != 6 || tot.ErrorRate != 2.0/6 ||
		*tot.Goodput.FirstAttemptGood != 2 {
		t.Errorf("run: requests %d error rate %v retries %+v", tot.Requests, tot.ErrorRate, tf)
	}
	if n := s.Groups[1]; n.Retries != nil || n.Goodput.FirstAttemptGood != nil {
		t.Errorf("model n had no retries: %+v, %+v", n.Retries, n.Goodput)
	}
	m := decodeMap(t, g)
	classes, _ := m["failure_classes"].(map[string]any)
	retries, _ := m["retries"].(map[string]any)
	if len(classes) != 3 || classes["permanent"] != 1.0 || retries["recovered"] != 2.0 || retries["first_attempt_error_rate"] != 0.8 {
		t.Errorf("JSON failure_classes %v retries %v", classes, retries)
	}
	if _, ok := decodeMap(t, s.Groups[1])["retries"]; ok {
		t.Error("JSON retries present without retries")
	}
}
