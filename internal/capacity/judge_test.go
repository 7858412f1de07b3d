package capacity

import (
	"math"
	"strings"
	"testing"
	"time"

	mstats "github.com/aclements/go-moremath/stats"

	"flperf/internal/stats"
)

func TestMinSamples(t *testing.T) {
	for p, want := range map[float64]int{99: 441, 95: 90, 90: 39, 50: 6} {
		n := MinSamples(p)
		if n != want {
			t.Errorf("MinSamples(%v) = %d, want %d", p, n, want)
		}
		// Below it the interval has no upper end inside the sample (for
		// n-1), and from it on it always has one.
		ci := mstats.QuantileCI(n-1, p/100, stats.Confidence)
		if ci.HiOrder <= n-1 && ci.LoOrder >= 1 {
			t.Errorf("p%v: n=%d already has a bound", p, n-1)
		}
		for m := n; m < 20000; m++ {
			ci := mstats.QuantileCI(m, p/100, stats.Confidence)
			if ci.LoOrder < 1 || ci.HiOrder > m {
				t.Fatalf("p%v: n=%d ≥ MinSamples %d has no upper bound", p, m, n)
			}
		}
	}
	if got := Needed(SLO{{Metric: TTFT, Percentile: 95}, {Metric: TPOT, Percentile: 99}}); got != 441 {
		t.Errorf("Needed = %d, want the p99's 441", got)
	}
}

// samplesTTFT makes samples whose TTFTs are xs.
func samplesTTFT(xs []float64) []Sample {
	out := make([]Sample, len(xs))
	for i, x := range xs {
		out[i] = Sample{TTFT: x, TPOT: math.NaN(), E2E: x}
	}
	return out
}

func TestJudgeUpperBoundNotPointEstimate(t *testing.T) {
	// 1000 samples: 1..1000 ms. p99 is 990.01 ms; its 95 % CI from order
	// statistics is [x(984), x(997)] = [984, 997].
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	o := Objective{Metric: TTFT, Percentile: 99, Target: 995 * time.Millisecond}
	m := judge(o, samplesTTFT(xs))
	if m.Value == nil || math.Abs(*m.Value-990.01) > 1e-9 || m.CI == nil || m.CI[0] != 984 || m.CI[1] != 997 {
		t.Fatalf("value %v, CI %v", m.Value, m.CI)
	}
	if m.Pass || !strings.Contains(m.Why, "upper confidence bound 997 ms > 995 ms") {
		t.Fatalf("a p99 of 990 ms within 995 ms but bounded by 997 ms passed: %+v", m)
	}
	o.Target = 997 * time.Millisecond
	if m := judge(o, samplesTTFT(xs)); !m.Pass || m.Why != "" {
		t.Fatalf("bound 997 ≤ 997 failed: %+v", m)
	}
	// Too few samples: never a pass, however fast.
	if m := judge(o, samplesTTFT(xs[:440])); m.Pass || !strings.Contains(m.Why, "440 samples, an upper confidence bound needs 441") {
		t.Fatalf("440 samples: %+v", m)
	}
	// Failed requests count as beyond every target: 5 of 1000 failed,
	// and the bound (the 997th) lies among them.
	ss := samplesTTFT(xs[:995])
	for range 5 {
		ss = append(ss, Sample{Failed: true, TTFT: math.NaN(), TPOT: math.NaN(), E2E: math.NaN()})
	}
	o.Target = time.Hour
	if m := judge(o, ss); m.Pass || m.Failed != 5 || m.N != 1000 || !strings.Contains(m.Why, "5 of 1000 requests failed") {
		t.Fatalf("failures: %+v", m)
	}
	// Requests without the figure (no TPOT) are left out, not failed.
	o = Objective{Metric: TPOT, Percentile: 50, Target: time.Second}
	if m := judge(o, samplesTTFT(xs)); m.N != 0 || m.Pass {
		t.Fatalf("TPOT of samples without one: %+v", m)
	}
}

func TestParseSLO(t *testing.T) {
	s, err := ParseSLO(" TTFT_p99=2s, tpot_p99.9=100ms ,e2e_p50=1m")
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "ttft_p99=2s,tpot_p99.9=100ms,e2e_p50=1m0s" || s[1].Label() != "TPOT p99.9" || s[0].Target != 2*time.Second {
		t.Fatalf("%q %+v", s.String(), s)
	}
	for in, want := range map[string]string{
		"":                        "at least one objective",
		"ttft=2s":                 `"ttft": want ttft_pNN`,
		"ttfb_p99=2s":             `"ttfb_p99": want`,
		"ttft_p100=2s":            "from 50 to 99.9",
		"ttft_p49=2s":             "from 50 to 99.9",
		"ttft_pxx=2s":             "from 50 to 99.9",
		"ttft_p99=2":              "not a duration with a unit",
		"ttft_p99=-2s":            "must be positive",
		"ttft_p99=2s,ttft_p99=1s": "ttft_p99 given twice",
		"ttft_p99":                "is not metric_pNN=duration",
	} {
		if _, err := ParseSLO(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSLO(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestLineAndTable(t *testing.T) {
	ttft := 1620.0
	tpot := 71.0
	r := &Result{By: ByConcurrency, SLO: "ttft_p99=2s,tpot_p99=100ms", Requests: 441, Stop: "6 concurrent streams passes and 8 concurrent streams fails",
		Objectives: fakeSLO,
		Levels: []Level{{Level: 6, Stage: "c=6", Requests: 441, Complete: true, Pass: true, RequestsPerS: 2.1, OutputTokensPerS: 410.4,
			Objectives: []Measured{
				{Objective: Objective{Metric: TTFT, Percentile: 99, Target: 2 * time.Second}, Value: &ttft, CI: &[2]float64{1480, 1800}, Pass: true},
				{Objective: Objective{Metric: TPOT, Percentile: 99, Target: 100 * time.Millisecond}, Value: &tpot, CI: &[2]float64{66.2, 74.4}, Pass: true},
			}},
			{Level: 8, Stage: "c=8", Requests: 441, Complete: true, Why: "TTFT p99 is 2.9 s > 2 s"}},
	}
	r.finish(6, 8)
	want := "sustains 6 concurrent streams (2.10 req/s, 410 tok/s) with TTFT p99 1.62 s [1.48–1.80] ≤ 2 s and TPOT p99 71 ms [66–74] ≤ 100 ms; at 8, TTFT p99 is 2.9 s > 2 s"
	if r.Answer != want {
		t.Fatalf("line\n got %s\nwant %s", r.Answer, want)
	}
	var b strings.Builder
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"c=6", "1.62 s [1.48–1.80]", "pass", "FAIL: TTFT p99 is 2.9 s > 2 s", "441 measured requests (the 95 % confidence interval of every objective's percentile has an upper bound from 441"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
}
