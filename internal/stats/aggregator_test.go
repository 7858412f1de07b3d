package stats

import (
	"math"
	"slices"
	"testing"
	"time"

	"flperf/internal/record"
)

func TestPerRequestFigures(t *testing.T) {
	r := &record.Record{
		Model: "m", Scenario: "s", Stream: true, MaxTok: 11,
		Scheduled: t0, Sent: t0.Add(300 * msec), // waited 300 ms for a slot
		FirstToken: 200 * msec, FirstAnswer: 250 * msec, LastToken: 1200 * msec, End: 2000 * msec,
		InputTokens: 50, InputSource: record.SourceUsage,
		OutputTokens: 11, OutputSource: record.SourceUsage,
		FinishReason: "length", Outcome: record.OK,
	}
	g := summarize(Options{}, r).Groups[0]
	// TPOT = (1200 − 200) / (11 − 1) = 100 ms → decode 10 tok/s; output rate
	// 11 / 2 s = 5.5 tok/s; prefill 50 / 0.2 s = 250 tok/s; queue-inclusive
	// TTFT 300 + 200 = 500 ms, E2E 300 + 2000 = 2300 ms.
	for _, c := range []struct {
		name string
		d    Dist
		want float64
	}{
		{"ttft", g.TTFT, 200}, {"ttfo", g.TTFO, 250}, {"tpot", g.TPOT, 100}, {"e2e", g.E2E, 2000},
		{"ttft_queue", g.QueueTTFT, 500}, {"e2e_queue", g.QueueE2E, 2300},
		{"decode", g.DecodeTPS, 10}, {"output", g.OutputTPS, 5.5}, {"prefill", g.PrefillTPS, 250},
		{"input_tokens", g.InputTokens, 50}, {"output_tokens", g.OutputTokens, 11},
	} {
		if c.d.N != 1 || !near(c.d.P50, c.want, 1e-9) {
			t.Errorf("%s: n=%d p50=%v, want n=1 p50=%v", c.name, c.d.N, c.d.P50, c.want)
		}
	}
	// Window: t_send → t_end = 2 s (t_sched does not open the window).
	if !near(g.Window, 2, 1e-12) || !near(g.RequestsPerS, 0.5, 1e-12) ||
		!near(g.OutputTokensPerS, 5.5, 1e-12) || !near(g.TotalTokensPerS, 30.5, 1e-12) {
		t.Errorf("window %v req/s %v out tok/s %v total tok/s %v, want 2, 0.5, 5.5, 30.5",
			g.Window, g.RequestsPerS, g.OutputTokensPerS, g.TotalTokensPerS)
	}
}

func TestWindowAndThroughput(t *testing.T) {
	r1 := okRec("m", "s", 0, 100*msec, 2*time.Second, 100) // ends t0+2s
	r1.InputTokens = 10
	r2 := okRec("m", "s", time.Second, 100*msec, 3*time.Second, 300) // ends t0+4s
	r2.InputTokens = 30
	r3 := failRec("m", "s", 500*msec, 5*time.Second, record.Timeout) // ends t0+5.5s
	r3.OutputTokens = 999                                            // partial count of a failure: not throughput
	warm := okRec("m", "s", -10*time.Second, 100*msec, time.Second, 50)
	warm.Warmup = true
	g := summarize(Options{}, warm, r1, r2, r3).Groups[0]
	// First non-warm-up t_send = t0, last t_end = t0+5.5 s (the timeout).
	if g.Window != 5.5 {
		t.Errorf("window = %v s, want 5.5", g.Window)
	}
	if !near(g.RequestsPerS, 2/5.5, 1e-12) || !near(g.OutputTokensPerS, 400/5.5, 1e-12) || !near(g.TotalTokensPerS, 440/5.5, 1e-12) {
		t.Errorf("req/s %v out %v total %v, want %v %v %v", g.RequestsPerS, g.OutputTokensPerS, g.TotalTokensPerS, 2/5.5, 400/5.5, 440/5.5)
	}
}

func TestErrorRateCanceledExcluded(t *testing.T) {
	var recs []*record.Record
	for i := range 6 {
		recs = append(recs, okRec("m", "s", time.Duration(i)*time.Second, 100*msec, time.Second, 20))
	}
	recs = append(recs,
		failRec("m", "s", 0, 30*time.Second, record.Timeout),
		failRec("m", "s", 0, 30*time.Second, record.Timeout),
		&record.Record{Model: "m", Scenario: "s", Sent: t0, End: 5 * msec, Outcome: record.HTTPError, Status: 500},
		failRec("m", "s", 0, time.Second, record.Canceled),
	)
	g := summarize(Options{}, recs...).Groups[0]
	if g.Requests != 10 || g.OK != 6 || g.Canceled != 1 {
		t.Errorf("requests %d ok %d canceled %d, want 10 6 1", g.Requests, g.OK, g.Canceled)
	}
	// 3 failed / (10 − 1 canceled).
	if !near(g.ErrorRate, 3.0/9, 1e-12) {
		t.Errorf("error rate %v, want 3/9", g.ErrorRate)
	}
	want := map[record.Outcome]int{record.Timeout: 2, record.HTTPError: 1, record.StreamError: 0, record.ConnectError: 0}
	if len(g.Failures) != len(want) {
		t.Errorf("failures %v, want %v", g.Failures, want)
	}
	for k, v := range want {
		if got, ok := g.Failures[k]; !ok || got != v {
			t.Errorf("failures[%s] = %d (present %v), want %d", k, got, ok, v)
		}
	}
	wantWarning(t, g, "3 of 9 requests failed: 2 timeout, 1 http_error (HTTP 500);")
	wantWarning(t, g, "1 request was canceled")
	// Failed requests add no latency samples: only the 6 ok ones.
	if g.E2E.N != 6 || g.E2E.Max != 1000 {
		t.Errorf("e2e n=%d max=%v, want 6 and 1000 (timeouts are not latency samples)", g.E2E.N, g.E2E.Max)
	}

	clean := summarize(Options{}, recs[:6]...).Groups[0]
	if clean.ErrorRate != 0 || hasWarning(clean, "failed") || hasWarning(clean, "canceled") {
		t.Errorf("clean group: error rate %v, warnings %q", clean.ErrorRate, clean.Warnings)
	}
	onlyCanceled := summarize(Options{}, failRec("m", "s", 0, 0, record.Canceled)).Groups[0]
	if onlyCanceled.ErrorRate != 0 || math.IsNaN(onlyCanceled.ErrorRate) {
		t.Errorf("canceled-only group: error rate %v, want 0", onlyCanceled.ErrorRate)
	}
}

func TestAllFailedNeverLooksFast(t *testing.T) {
	var recs []*record.Record
	for i := range 4 {
		r := failRec("slow", "s", time.Duration(i)*time.Second, 60*time.Second, record.Timeout)
		r.Phase = record.PhaseFirstToken
		recs = append(recs, r)
	}
	recs = append(recs, failRec("slow", "s", 0, 2*msec, record.ConnectError))
	for i := range 10 {
		recs = append(recs, okRec("fast", "s", time.Duration(i)*time.Second, 50*msec, 500*msec, 20))
	}
	s := summarize(Options{}, recs...)
	slow, fast := s.Groups[0], s.Groups[1]
	if slow.ErrorRate != 1 || slow.OK != 0 {
		t.Errorf("all-failed group: error rate %v ok %d, want 1 and 0", slow.ErrorRate, slow.OK)
	}
	for name, d := range map[string]Dist{"ttft": slow.TTFT, "e2e": slow.E2E, "tpot": slow.TPOT, "itl": slow.ITL, "output_tps": slow.OutputTPS} {
		if d.N != 0 || !math.IsNaN(d.P50) {
			t.Errorf("all-failed group: %s n=%d p50=%v, want empty", name, d.N, d.P50)
		}
	}
	if slow.RequestsPerS != 0 || slow.OutputTokensPerS != 0 {
		t.Errorf("all-failed group: throughput %v req/s, %v tok/s, want 0", slow.RequestsPerS, slow.OutputTokensPerS)
	}
	wantWarning(t, slow, "all 5 requests failed (4 timeout (before the first token), 1 connect_error)")
	if fast.ErrorRate != 0 || fast.E2E.N != 10 {
		t.Errorf("healthy group: error rate %v, e2e n %d", fast.ErrorRate, fast.E2E.N)
	}
	// The run total keeps the failures visible.
	if !near(s.Total.ErrorRate, 5.0/15, 1e-12) || s.Total.E2E.N != 10 {
		t.Errorf("total: error rate %v e2e n %d, want 5/15 and 10", s.Total.ErrorRate, s.Total.E2E.N)
	}
	wantWarning(t, s.Total, "5 of 15 requests failed: 4 timeout (before the first token), 1 connect_error;")
}

func TestWarmupExcluded(t *testing.T) {
	warm := okRec("m", "s", -100*time.Second, 30*time.Second, 60*time.Second, 5)
	warm.Warmup = true
	warmFail := failRec("m", "s", -50*time.Second, time.Second, record.HTTPError)
	warmFail.Warmup = true
	recs := []*record.Record{warm, warmFail}
	for i := range 3 {
		recs = append(recs, okRec("m", "s", time.Duration(i)*time.Second, 100*msec, time.Second, 20))
	}
	g := summarize(Options{}, recs...).Groups[0]
	if g.Warmup != 2 || g.Requests != 3 || g.OK != 3 || g.ErrorRate != 0 {
		t.Errorf("warmup %d requests %d ok %d error rate %v, want 2 3 3 0", g.Warmup, g.Requests, g.OK, g.ErrorRate)
	}
	if g.E2E.N != 3 || g.E2E.Max != 1000 || g.TTFT.Max != 100 || g.OutputTokens.Min != 20 {
		t.Errorf("warm-up leaked into samples: e2e %+v ttft max %v", g.E2E, g.TTFT.Max)
	}
	if g.Window != 3 { // t0 → t0+2s+1s
		t.Errorf("window %v, want 3 (warm-ups do not open it)", g.Window)
	}
	only := summarize(Options{}, warm).Groups[0]
	if only.Requests != 0 || only.Warmup != 1 || only.E2E.N != 0 {
		t.Errorf("warm-up-only group: %+v", only)
	}
	wantWarning(t, only, "only 1 warm-up request, no measured requests")
}

func TestPerModelPoolsRecords(t *testing.T) {
	var recs []*record.Record
	for i := 1; i <= 10; i++ {
		recs = append(recs, okRec("m", "A", 0, msec, time.Duration(i)*msec, 5))     // e2e 1..10 ms
		recs = append(recs, okRec("m", "B", 0, msec, time.Duration(100+i)*msec, 5)) // e2e 101..110 ms
	}
	recs = append(recs, okRec("n", "A", 0, msec, 50*msec, 5))
	s := summarize(Options{}, recs...)
	if len(s.Groups) != 3 || s.Groups[0].Scenario != "A" || s.Groups[1].Scenario != "B" || s.Groups[2].Model != "n" {
		t.Fatalf("groups not in first-seen order: %v", names(s.Groups))
	}
	// Per scenario: p95 of 1..10 is 9.55 (h = 8.55), of 101..110 is 109.55.
	a, b := s.Groups[0].E2E.P95, s.Groups[1].E2E.P95
	if !near(a, 9.55, 1e-9) || !near(b, 109.55, 1e-9) {
		t.Errorf("scenario p95 %v, %v, want 9.55, 109.55", a, b)
	}
	// Pooled: 20 values, h = 19·0.95 = 18.05 → 109 + 0.05 = 109.05; the
	// average of the scenario p95s (59.55) would be wrong.
	if len(s.Models) != 2 {
		t.Fatalf("models: %v", names(s.Models))
	}
	m := s.Models[0]
	if m.Model != "m" || m.Scenario != "" || m.Requests != 20 || m.E2E.N != 20 {
		t.Errorf("model row: %s/%q requests %d n %d", m.Model, m.Scenario, m.Requests, m.E2E.N)
	}
	if !near(m.E2E.P95, 109.05, 1e-9) || near(m.E2E.P95, (a+b)/2, 1) {
		t.Errorf("model p95 = %v, want pooled 109.05 (not the average %v)", m.E2E.P95, (a+b)/2)
	}
	if !near(m.E2E.P50, 55.5, 1e-9) { // h = 9.5 → 10 + 0.5·(101 − 10)
		t.Errorf("model p50 = %v, want 55.5", m.E2E.P50)
	}
	if n := s.Models[1]; n.Model != "n" || n.Scenario != "" || n.E2E.N != 1 || n.E2E.P50 != 50 {
		t.Errorf("single-scenario model row: %+v", n)
	}
	// Total: 21 values; the median is the 11th: 50.
	if s.Total.Model != "" || s.Total.Requests != 21 || s.Total.E2E.N != 21 || s.Total.E2E.P50 != 50 {
		t.Errorf("total: model %q requests %d n %d p50 %v", s.Total.Model, s.Total.Requests, s.Total.E2E.N, s.Total.E2E.P50)
	}
}

func names(gs []Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Model+"/"+g.Scenario+"/"+g.Stage)
	}
	return out
}

func TestStages(t *testing.T) {
	var recs []*record.Record
	for i, stage := range []string{"c=1", "c=4", "c=1"} {
		for _, sc := range []string{"A", "B"} {
			r := okRec("m", sc, 0, msec, time.Duration(10*(i+1))*msec, 5)
			r.Stage = stage
			recs = append(recs, r)
		}
	}
	s := summarize(Options{}, recs...)
	if got := names(s.Groups); !slices.Equal(got, []string{"m/A/c=1", "m/B/c=1", "m/A/c=4", "m/B/c=4"}) {
		t.Errorf("groups %v", got)
	}
	if got := names(s.Models); !slices.Equal(got, []string{"m//c=1", "m//c=4"}) {
		t.Errorf("models %v", got)
	}
	if s.Models[0].Requests != 4 || s.Models[1].Requests != 2 || s.Total.Requests != 6 || s.Total.Stage != "" {
		t.Errorf("requests: models %d %d, total %d (stage %q)", s.Models[0].Requests, s.Models[1].Requests, s.Total.Requests, s.Total.Stage)
	}
}

func TestITLPooledPerToken(t *testing.T) {
	// A: three events of 4 tokens, 20 ms apart → 2 gaps × 4 samples of 5 ms.
	a := okRec("m", "s", 0, 100*msec, 200*msec, 12)
	a.LastToken = 140 * msec
	a.Chunks = []record.Chunk{{At: 100 * msec, Tokens: 4, Est: 4}, {At: 120 * msec, Tokens: 4, Est: 4}, {At: 140 * msec, Tokens: 4, Est: 4}}
	// B: three one-token events, 30 ms apart → 2 samples of 30 ms.
	b := okRec("m", "s", 0, 100*msec, 200*msec, 3)
	b.LastToken = 160 * msec
	b.Chunks = []record.Chunk{{At: 100 * msec, Tokens: 1, Est: 1}, {At: 130 * msec, Tokens: 1, Est: 1}, {At: 160 * msec, Tokens: 1, Est: 1}}
	var agg Aggregator
	agg.Add(a)
	agg.Add(b)
	g := agg.Summary(Options{}).Groups[0]
	// Pooled per token: (8·5 + 2·30) / 10 = 10 ms; a mean of per-request
	// means would say (5 + 30) / 2 = 17.5.
	if g.ITL.N != 10 || !near(g.ITL.Mean, 10, 1e-9) || g.ITL.P50 != 5 || g.ITL.Max != 30 {
		t.Errorf("ITL n=%d mean=%v p50=%v max=%v, want 10, 10, 5, 30", g.ITL.N, g.ITL.Mean, g.ITL.P50, g.ITL.Max)
	}
	// TPOT is per request: A (140−100)/11, B (160−100)/2 = 30.
	if g.TPOT.N != 2 || !near(g.TPOT.Max, 30, 1e-9) {
		t.Errorf("TPOT %+v", g.TPOT)
	}
	// Summary is repeatable and Add still works after it.
	agg.Add(a)
	g = agg.Summary(Options{}).Groups[0]
	if g.ITL.N != 18 || !near(g.ITL.Mean, (16*5+2*30)/18.0, 1e-9) {
		t.Errorf("after a second Add: ITL n=%d mean=%v", g.ITL.N, g.ITL.Mean)
	}
}

func TestOneEventHasNoTPOT(t *testing.T) {
	r := okRec("m", "s", 0, 100*msec, 200*msec, 5)
	r.LastToken = r.FirstToken // all five tokens in one event
	g := summarize(Options{}, r).Groups[0]
	if g.TPOT.N != 0 || g.DecodeTPS.N != 0 {
		t.Errorf("one-event response: TPOT n %d decode n %d, want 0 (not an infinite rate)", g.TPOT.N, g.DecodeTPS.N)
	}
	wantWarning(t, g, "1 ok request delivered all tokens in one stream event")
}

func TestGoodput(t *testing.T) {
	slo, err := ParseSLO("ttft=100ms,e2e=1s")
	if err != nil {
		t.Fatal(err)
	}
	boundary := okRec("m", "s", 0, 100*msec, time.Second, 10) // exactly at both limits: good
	fine := okRec("m", "s", 0, 50*msec, 500*msec, 10)         // good
	slowFirst := okRec("m", "s", 0, 150*msec, 500*msec, 10)   // TTFT over
	nonStream := okRec("m", "s", 0, 0, 300*msec, 10)          // no TTFT: cannot be shown good
	nonStream.FirstToken, nonStream.FirstAnswer, nonStream.LastToken = 0, 0, 0
	failed := failRec("m", "s", 0, 200*msec, record.Timeout) // fast failure
	failed.FirstToken = 10 * msec
	canceled := failRec("m", "s", 0, 0, record.Canceled)
	s := summarize(Options{SLO: slo}, boundary, fine, slowFirst, nonStream, failed, canceled)
	g := s.Groups[0]
	if g.Goodput == nil {
		t.Fatal("no goodput with an SLO set")
	}
	// good = 2; fraction = 2 / (6 − 1 canceled); window = 1 s.
	want := Goodput{SLO: "ttft=100ms,e2e=1s", Good: 2, PerS: 2, Fraction: 0.4}
	if *g.Goodput != want {
		t.Errorf("goodput %+v, want %+v", *g.Goodput, want)
	}
	wantWarning(t, g, "goodput: 1 ok request had no TTFT measurement and was not counted as good")
	if s.Total.Goodput == nil || s.Total.Goodput.Good != 2 {
		t.Errorf("total goodput %+v", s.Total.Goodput)
	}
	if g := summarize(Options{}, boundary).Groups[0]; g.Goodput != nil {
		t.Errorf("goodput %+v without an SLO", g.Goodput)
	}
	// A failure is never good, even when every SLO would be met.
	if g := summarize(Options{SLO: slo}, failed).Groups[0]; g.Goodput.Good != 0 || g.Goodput.Fraction != 0 {
		t.Errorf("failure counted as good: %+v", g.Goodput)
	}
}

func TestShortResponses(t *testing.T) {
	mk := func(out, maxTok int, finish string) *record.Record {
		r := okRec("m", "s", 0, 10*msec, 100*msec, out)
		r.MaxTok, r.FinishReason = maxTok, finish
		return r
	}
	recs := []*record.Record{
		mk(50, 100, "stop"),   // short
		mk(79, 100, "stop"),   // short (79 < 80)
		mk(80, 100, "stop"),   // not short (80 is not < 80)
		mk(30, 100, "length"), // stopped at the limit: not short
		mk(5, 0, "stop"),      // no max_tokens: cannot be short
	}
	for _, tc := range []struct {
		frac float64
		want int
	}{{0, 2}, {0.6, 1}, {1, 3}, {1.5, 2}, {-1, 2}, {math.NaN(), 2}} {
		g := summarize(Options{ShortFraction: tc.frac}, recs...).Groups[0]
		if g.Short != tc.want {
			t.Errorf("ShortFraction %v: short %d, want %d", tc.frac, g.Short, tc.want)
		}
	}
	g := summarize(Options{}, recs...).Groups[0]
	wantWarning(t, g, "2 of 5 ok responses were short (stopped before 80% of max_tokens)")
	if s := summarize(Options{}, recs[2:4]...).Groups[0]; s.Short != 0 {
		t.Errorf("short %d, want 0", s.Short)
	} else {
		noWarning(t, s, "short")
	}
}

func TestTokenSources(t *testing.T) {
	mk := func(src record.TokenSource) *record.Record {
		r := okRec("m", "s", 0, 10*msec, 100*msec, 20)
		r.OutputSource = src
		return r
	}
	g := summarize(Options{}, mk(record.SourceUsage), mk(record.SourceUsage), mk(record.SourceChunks), mk(record.SourceEstimate)).Groups[0]
	if g.TokenSource != "mixed" {
		t.Errorf("token source %q, want mixed", g.TokenSource)
	}
	want := map[record.TokenSource]int{record.SourceUsage: 2, record.SourceEngine: 0, record.SourceEstimate: 1, record.SourceChunks: 1}
	if len(g.TokenSources) != len(want) {
		t.Errorf("token sources %v, want %v", g.TokenSources, want)
	}
	for k, v := range want {
		if g.TokenSources[k] != v {
			t.Errorf("token sources[%s] = %d, want %d", k, g.TokenSources[k], v)
		}
	}
	wantWarning(t, g, "mixed sources (2 usage, 1 estimate, 1 chunks)")
	wantWarning(t, g, "1 of 4 ok requests are approximate: counted chunks, not tokens")
	wantWarning(t, g, "1 of 4 ok requests are approximate: estimated from text")

	one := summarize(Options{}, mk(record.SourceEngine), mk(record.SourceEngine)).Groups[0]
	if one.TokenSource != "engine" {
		t.Errorf("token source %q, want engine", one.TokenSource)
	}
	noWarning(t, one, "mixed")
	noWarning(t, one, "approximate")

	chunks := summarize(Options{}, mk(record.SourceChunks)).Groups[0]
	if chunks.TokenSource != "chunks" {
		t.Errorf("token source %q, want chunks", chunks.TokenSource)
	}
	noWarning(t, chunks, "mixed")
}

func TestTokenCountDisagreement(t *testing.T) {
	mk := func(usage, engine int) *record.Record {
		r := okRec("m", "s", 0, 10*msec, 100*msec, usage)
		r.EngineOutTokens = engine
		return r
	}
	// 1/101 and 2/102 are within 2 %; 10/110 = 9.1 % and 10/200 = 5 % are not.
	g := summarize(Options{}, mk(100, 101), mk(100, 102), mk(100, 110), mk(200, 190), mk(100, 0)).Groups[0]
	wantWarning(t, g, "differ by more than 2% on 2 of 4 requests (largest: usage 100 vs engine 110, 9.1%)")
	ok := summarize(Options{}, mk(100, 101), mk(100, 0)).Groups[0]
	noWarning(t, ok, "differ")
}

func TestSmallSampleWarnings(t *testing.T) {
	mk := func(n int) Group {
		var recs []*record.Record
		for i := range n {
			recs = append(recs, okRec("m", "s", 0, 10*msec, time.Duration(100+i)*msec, 20))
		}
		return summarize(Options{}, recs...).Groups[0]
	}
	g := mk(12)
	wantWarning(t, g, "p95 and p99 from 12 samples are close to the max; run ≥ 20 requests for a stable p95, ≥ 100 for p99")
	if len(g.Warnings) != 1 {
		t.Errorf("12 clean samples: want one warning, got %q", g.Warnings)
	}
	g = mk(50)
	wantWarning(t, g, "p99 from 50 samples is close to the max; run ≥ 100 requests for a stable p99")
	noWarning(t, g, "p95")
	g = mk(100)
	if len(g.Warnings) != 0 {
		t.Errorf("100 clean samples: warnings %q", g.Warnings)
	}
	if g := summarize(Options{}).Total; len(g.Warnings) != 0 || g.Warnings == nil {
		t.Errorf("no records: warnings %#v, want empty and non-nil", g.Warnings)
	}
}

func TestHostileRecords(t *testing.T) {
	var a Aggregator
	a.Add(nil)
	recs := []*record.Record{
		{Model: "m", Outcome: "bogus"},
		{Model: "m", Outcome: record.Timeout, Phase: "weird\nphase", End: -5},
		{Model: "m", Outcome: record.HTTPError, Status: 0},
		{Model: "m", Outcome: record.OK, OutputTokens: -5, InputTokens: -1, MaxTok: -3, End: math.MaxInt64},
		{Model: "m", Outcome: record.OK, Sent: t0, FirstToken: 5, LastToken: 1, OutputTokens: 3, OutputSource: "nonsense",
			Chunks: []record.Chunk{{At: 50}, {At: 10}, {At: 30, Tokens: -2}}},
		{Model: "m", Outcome: record.OK, Sent: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), End: 1},
		{Model: "m", Outcome: record.OK, Sent: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), End: math.MaxInt64, OutputTokens: math.MaxInt32, OutputSource: record.SourceUsage, EngineOutTokens: 1},
	}
	for _, r := range recs {
		a.Add(r)
	}
	s := a.Summary(Options{SLO: SLO{TTFT: time.Second}, ShortFraction: math.Inf(1)})
	if _, err := jsonMarshal(s); err != nil {
		t.Fatalf("summary of hostile records does not marshal: %v", err)
	}
	g := s.Groups[0]
	if g.Failures[otherFailure] != 1 || g.Failures[record.Timeout] != 1 || g.Failures[record.HTTPError] != 1 {
		t.Errorf("failures %v", g.Failures)
	}
	wantWarning(t, g, "1 http_error (no status)")
	wantWarning(t, g, "1 other")
}
