package runner

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/stats"
	"flperf/internal/suite"
)

// quickBackoff keeps the retry tests short: the simulated engine's
// Retry-After of 1 s is honoured up to 20 ms, far above the nominal waits,
// so that every wait before a retry of a 429 or 503 is exactly 20 ms.
var quickBackoff = Backoff{Base: time.Millisecond, Cap: 4 * time.Millisecond, RetryAfterCap: 20 * time.Millisecond}

// retryRun benchmarks model at base (sequential unless cfg says otherwise,
// no warm-up) with backoff b, and returns the result and every record.
func retryRun(t *testing.T, base, model string, cfg Config, b Backoff) (*Result, []record.Record) {
	t.Helper()
	st, err := suite.Parse("accuracy.json", []byte(accuracySuite))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode == "" {
		cfg.Mode, cfg.Concurrency = load.Sequential, 1
	}
	cfg.Models, cfg.Stream, cfg.Endpoint = []string{model}, true, base
	if cfg.Timeout == 0 {
		cfg.Timeout = Duration(10 * time.Second)
	}
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	sink := &collect{}
	r := &Runner{
		Client:    backend.New(base, backend.Options{Timeout: time.Duration(cfg.Timeout)}),
		Engine:    engine.Info{Kind: engine.Sim, Endpoint: base, Simulated: true},
		Suite:     st,
		Scenarios: st.Scenarios,
		Config:    cfg,
		Sinks:     []Sink{sink},
		Backoff:   &b,
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, sink.recs
}

// faultSim serves one model answering each request with the given
// probabilities of injected faults.
func faultSim(t *testing.T, f sim.Faults) *simServer {
	return startSim(t, sim.Profile{Name: "m", TTFT: time.Millisecond, DecodeTPS: 5000, OutputTokens: 4, Seed: 3, Faults: f})
}

// byRequest groups records by request (seq / span), in attempt order,
// checking that each request's attempts are numbered and linked in order.
func byRequest(t *testing.T, recs []record.Record, span int64) map[int64][]record.Record {
	t.Helper()
	reqs := map[int64][]record.Record{}
	for _, r := range recs {
		reqs[r.Seq/span] = append(reqs[r.Seq/span], r)
	}
	for j, as := range reqs {
		for k, a := range as {
			if a.Attempt != k || a.Seq != j*span+int64(k) {
				t.Fatalf("request %d: attempt %d has attempt %d, seq %d", j, k, a.Attempt, a.Seq)
			}
			if k > 0 && (a.RetryOf != as[k-1].Seq || a.RetryWait != a.Sent.Sub(as[0].Sent)) {
				t.Errorf("request %d attempt %d: retry_of %d (want %d), retry wait %v (want %v)", j, k, a.RetryOf, as[k-1].Seq, a.RetryWait, a.Sent.Sub(as[0].Sent))
			}
			if last := k == len(as)-1; a.Retried == last {
				t.Errorf("request %d attempt %d of %d: retried %v", j, k, len(as), a.Retried)
			}
		}
	}
	return reqs
}

// TestRetriesRecoverSimulated429 runs against the simulated engine
// answering half its requests 429 with Retry-After: every 429 is classed
// transient and retried after the honoured (capped) Retry-After; the
// requests that then succeeded are counted recovered with their latency
// from the first attempt; the group states the first-attempt and final
// error rates and goodput, each equal to what the records say.
func TestRetriesRecoverSimulated429(t *testing.T) {
	s := faultSim(t, sim.Faults{Status429: 0.5})
	const n, retries = 40, 4
	slo := stats.SLO{E2E: 10 * time.Second}
	res, recs := retryRun(t, s.base, "m", Config{Requests: n, Retries: retries, SLO: slo, SLOSpec: slo.String()}, quickBackoff)
	reqs := byRequest(t, recs, retries+1)
	if len(reqs) != n {
		t.Fatalf("%d requests, want %d", len(reqs), n)
	}
	var firstFailed, finalFailed, recovered, retried, firstGood int
	var e2e []float64
	for j, as := range reqs {
		for k, a := range as {
			if a.Retried && (a.Status != 429 || a.Class() != record.Transient) {
				t.Errorf("request %d attempt %d retried after status %d (%s)", j, k, a.Status, a.Class())
			}
			if k > 0 {
				retried++
				if gap := a.Sent.Sub(as[k-1].Sent); gap < quickBackoff.RetryAfterCap {
					t.Errorf("request %d attempt %d sent %v after the one it retries: Retry-After (capped at %v) not honoured", j, k, gap, quickBackoff.RetryAfterCap)
				}
			}
		}
		first, last := as[0], as[len(as)-1]
		if first.Outcome != record.OK {
			firstFailed++
		} else {
			firstGood++
		}
		switch {
		case last.Outcome != record.OK:
			finalFailed++
		case last.Attempt > 0:
			recovered++
		}
		if last.Outcome == record.OK {
			e2e = append(e2e, ms(last.RetryWait)+ms(last.End))
		}
	}
	if firstFailed == 0 || recovered == 0 {
		t.Fatalf("first attempts failed %d, recovered %d: the fault rate should give both", firstFailed, recovered)
	}
	g := res.Groups[0]
	f := g.Retries
	if f == nil {
		t.Fatal("no retry figures")
	}
	if g.Requests != n || f.Attempts != len(recs) || f.Retries != retried || f.Recovered != recovered || f.FirstAttemptFailed != firstFailed ||
		f.FailedAfterRetries != finalFailed || f.FirstAttemptClasses[record.Transient] != firstFailed {
		t.Errorf("group requests %d, figures %+v; want %d requests, %d attempts, %d retries, %d recovered, %d first failed, %d failed after retries",
			g.Requests, *f, n, len(recs), retried, recovered, firstFailed, finalFailed)
	}
	if want := float64(firstFailed) / n; f.FirstAttemptErrorRate != want {
		t.Errorf("first-attempt error rate %v, want %v", f.FirstAttemptErrorRate, want)
	}
	if want := float64(finalFailed) / n; g.ErrorRate != want || g.Classes[record.Transient] != finalFailed || g.OK != n-finalFailed {
		t.Errorf("final error rate %v (want %v), transient %d, ok %d", g.ErrorRate, want, g.Classes[record.Transient], g.OK)
	}
	// Latency from the first attempt: E2E samples are RetryWait + End.
	mean := 0.0
	for _, v := range e2e {
		mean += v / float64(len(e2e))
	}
	if g.E2E.N != len(e2e) || math.Abs(g.E2E.Mean-mean) > 1e-9*mean {
		t.Errorf("E2E n %d mean %v, want %d, %v (from each request's first attempt)", g.E2E.N, g.E2E.Mean, len(e2e), mean)
	}
	gp := g.Goodput
	if gp == nil || gp.FirstAttemptGood == nil || *gp.FirstAttemptGood != firstGood || gp.Good != n-finalFailed ||
		*gp.FirstAttemptFraction != float64(firstGood)/n || gp.Fraction != float64(n-finalFailed)/n {
		t.Errorf("goodput %+v: want %d good at the first attempt, %d in the end", gp, firstGood, n-finalFailed)
	}
	if !hasWarning(g.Warnings, "recovered") {
		t.Errorf("no retry warning in %q", g.Warnings)
	}
}

func hasWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// TestPermanentAndOtherFailuresNotRetried checks that a model that does
// not exist (404), a request the engine refuses (400) and an internal
// error (500) are each one record, classed permanent, permanent and other,
// with --retries set.
func TestPermanentAndOtherFailuresNotRetried(t *testing.T) {
	s := faultSim(t, sim.Faults{})
	s500 := faultSim(t, sim.Faults{Status500: 1})
	for _, tc := range []struct {
		name, base, model string
		maxTok            int
		status            int
		class             record.Class
	}{
		{"unknown model", s.base, "no-such-model", 0, 404, record.Permanent},
		{"bad request", s.base, "m", sim.MaxOutputTokens + 1, 400, record.Permanent},
		{"internal error", s500.base, "m", 0, 500, record.OtherFailure},
	} {
		res, recs := retryRun(t, tc.base, tc.model, Config{Requests: 5, Retries: 3, MaxTokens: tc.maxTok}, quickBackoff)
		if len(recs) != 5 {
			t.Errorf("%s: %d records for 5 requests: retried", tc.name, len(recs))
		}
		for _, r := range recs {
			if r.Status != tc.status || r.Class() != tc.class || r.Attempt != 0 || r.Retried {
				t.Errorf("%s: record status %d class %q attempt %d retried %v", tc.name, r.Status, r.Class(), r.Attempt, r.Retried)
			}
		}
		g := res.Groups[0]
		if g.Classes[tc.class] != 5 || g.Retries != nil || g.ErrorRate != 1 {
			t.Errorf("%s: classes %v, retries %+v, error rate %v", tc.name, g.Classes, g.Retries, g.ErrorRate)
		}
	}
}

// TestConnectionFailuresRetried checks that a refused connection and one
// closed before any response byte are transient and retried until the
// retries are spent, each attempt a record.
func TestConnectionFailuresRetried(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + refused.Addr().String() + "/v1"
	refused.Close()
	closing, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closing.Close() })
	go func() {
		for {
			c, err := closing.Accept()
			if err != nil {
				return
			}
			c.Close() // no response byte
		}
	}()
	for _, base := range []string{refusedURL, "http://" + closing.Addr().String() + "/v1"} {
		const n, retries = 3, 2
		res, recs := retryRun(t, base, "m", Config{Requests: n, Retries: retries}, quickBackoff)
		reqs := byRequest(t, recs, retries+1)
		for j, as := range reqs {
			if len(as) != retries+1 {
				t.Errorf("%s request %d: %d attempts, want %d", base, j, len(as), retries+1)
			}
			for _, a := range as {
				if a.Outcome != record.ConnectError || a.Class() != record.Transient {
					t.Errorf("%s request %d: outcome %s class %s (%s)", base, j, a.Outcome, a.Class(), a.Error)
				}
			}
		}
		f := res.Groups[0].Retries
		if f == nil || f.FailedAfterRetries != n || f.Recovered != 0 || f.FirstAttemptErrorRate != 1 || res.Groups[0].ErrorRate != 1 || res.Groups[0].Requests != n {
			t.Errorf("%s: group %+v, retries %+v", base, res.Groups[0], f)
		}
	}
}

// TestRetriesZeroUnchanged checks that without --retries a run's records
// are what they were before retries existed: one per request, seqs 0…n−1,
// none of the retry fields in their JSON, and no retry figures, even when
// the engine answers 429.
func TestRetriesZeroUnchanged(t *testing.T) {
	s := faultSim(t, sim.Faults{Status429: 0.5})
	res, recs := retryRun(t, s.base, "m", Config{Requests: 20, Warmup: 1}, quickBackoff)
	if len(recs) != 21 {
		t.Fatalf("%d records, want 21", len(recs))
	}
	seen := make([]bool, len(recs))
	failed := 0
	for _, r := range recs {
		if r.Seq < 0 || r.Seq >= int64(len(recs)) || seen[r.Seq] {
			t.Fatalf("seq %d out of 0…%d or repeated", r.Seq, len(recs)-1)
		}
		seen[r.Seq] = true
		if !r.Warmup && r.Outcome != record.OK {
			failed++
		}
		b, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		for _, k := range []string{"attempt", "retry_of", "retried", "retry_wait_ns", "RetryAfter"} {
			if _, ok := m[k]; ok {
				t.Errorf("record %d has %q in its JSON", r.Seq, k)
			}
		}
	}
	g := res.Groups[0]
	if failed == 0 || g.Retries != nil || g.Classes[record.Transient] != failed || g.ErrorRate != float64(failed)/20 {
		t.Errorf("%d failed: retries %+v, classes %v, error rate %v", failed, g.Retries, g.Classes, g.ErrorRate)
	}
}

// TestOpenLoopRetriesKeepSchedule checks that in the open loop a request's
// retries never shift later arrivals: with every answer a 429 and each
// request held for its retries, the first attempts are still scheduled at
// exactly n/rate.
func TestOpenLoopRetriesKeepSchedule(t *testing.T) {
	s := faultSim(t, sim.Faults{Status429: 1})
	const n, rate = 10, 100.0
	res, recs := retryRun(t, s.base, "m", Config{Mode: load.Rate, Rate: rate, Arrival: load.Constant, Requests: n, Retries: 2,
		Oversaturation: load.Oversaturation{Off: true}}, quickBackoff)
	reqs := byRequest(t, recs, 3)
	if len(reqs) != n || len(recs) != 3*n {
		t.Fatalf("%d requests, %d records; want %d, %d", len(reqs), len(recs), n, 3*n)
	}
	t0 := reqs[0][0].Scheduled
	for j := range int64(n) {
		want := time.Duration(math.Round(float64(j) * float64(time.Second) / rate))
		if got := reqs[j][0].Scheduled.Sub(t0); got != want {
			t.Errorf("arrival %d scheduled at +%v, want +%v", j, got, want)
		}
	}
	if f := res.Groups[0].Retries; f == nil || f.Retries != 2*n || f.FailedAfterRetries != n {
		t.Errorf("retry figures %+v", f)
	}
}

// TestBackoffDelay checks the computed waits: equal jitter on a doubling
// nominal wait, capped, never below a (capped) Retry-After.
func TestBackoffDelay(t *testing.T) {
	b := DefaultBackoff
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		k          int
		u          float64
		retryAfter string
		want       time.Duration
	}{
		{1, 0, "", 125 * time.Millisecond},
		{1, 0.5, "", 187500 * time.Microsecond},
		{2, 0, "", 250 * time.Millisecond},
		{3, 0.25, "", 625 * time.Millisecond}, // nominal 1 s
		{6, 0, "", 4 * time.Second},           // nominal 8 s, the cap
		{10, 0.5, "", 6 * time.Second},        // still the cap
		{1, 0, "2", 2 * time.Second},          // Retry-After beats the backoff
		{6, 0.5, "1", 6 * time.Second},        // the backoff beats Retry-After
		{1, 0, "120", 30 * time.Second},       // Retry-After capped
		{1, 0, now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
		{1, 0, now.Add(-time.Hour).Format(http.TimeFormat), 125 * time.Millisecond}, // a date past
		{1, 0, "soon", 125 * time.Millisecond},                                      // unreadable: ignored
		{1, 0, "99999999999999999999999", 30 * time.Second},
	} {
		if got := b.Delay(tc.k, tc.u, tc.retryAfter, now); got != tc.want {
			t.Errorf("Delay(%d, %v, %q) = %v, want %v", tc.k, tc.u, tc.retryAfter, got, tc.want)
		}
	}
}

// TestJitterSeeded checks that the jitter draws repeat with the seed and
// the request, and differ otherwise.
func TestJitterSeeded(t *testing.T) {
	a := jitter(42, "m", "s", "", 7, 1)
	if a < 0 || a >= 1 || a != jitter(42, "m", "s", "", 7, 1) {
		t.Fatalf("draw %v: not in [0, 1) or not repeated", a)
	}
	for _, other := range []float64{jitter(43, "m", "s", "", 7, 1), jitter(42, "m", "s", "", 8, 1), jitter(42, "m", "s", "", 7, 2),
		jitter(42, "m2", "s", "", 7, 1), jitter(42, "m", "s", "c=2", 7, 1)} {
		if other == a {
			t.Errorf("draw %v repeated for another seed or request", a)
		}
	}
	if got, want := DefaultBackoff.Delay(1, a, "", time.Time{}), 125*time.Millisecond+time.Duration(a*float64(125*time.Millisecond)); got != want {
		t.Errorf("delay %v, want %v", got, want)
	}
}

// TestRetriesAndConnectionRetriesApart runs against the simulated
// llama.cpp, which closes the connection after each streamed answer (so
// the client resends on a new connection: a connection retry, inside one
// attempt) and here also answers 429 to a third of requests (user
// retries): each is counted once, in its own figure.
func TestRetriesAndConnectionRetriesApart(t *testing.T) {
	l, err := dialect.NewLlamaCpp(sim.Profile{Name: "m.gguf", TTFT: time.Millisecond, DecodeTPS: 20000, OutputTokens: 4, Slots: 2, Seed: 5,
		Faults: sim.Faults{Status429: 0.3}}, dialect.LlamaCppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l)
	t.Cleanup(s.Close)
	const n, retries = 40, 3
	res, recs := retryRun(t, s.URL+"/v1", "m.gguf", Config{Mode: load.Concurrency, Concurrency: 2, Requests: n, Retries: retries}, quickBackoff)
	reqs := byRequest(t, recs, retries+1)
	conn, again := 0, 0
	for _, r := range recs {
		conn += r.ConnRetries
		if r.Attempt > 0 {
			again++
		}
		if r.ConnRetries > 1 {
			t.Errorf("record %d: %d connection retries in one attempt", r.Seq, r.ConnRetries)
		}
	}
	g := res.Groups[0]
	if len(reqs) != n || g.Requests != n || g.Retries == nil || g.Retries.Retries != again || g.Retries.Attempts != len(recs) || g.ConnRetries != conn {
		t.Fatalf("requests %d (group %d), retries %+v (want %d of %d attempts), connection retries %d (want %d)", len(reqs), g.Requests, g.Retries, again, len(recs), g.ConnRetries, conn)
	}
	if again == 0 || conn == 0 {
		t.Errorf("%d user retries, %d connection retries: the test needs both", again, conn)
	}
}
