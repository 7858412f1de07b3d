package stats

import (
	"math"
	"testing"
	"time"

	"flperf/internal/record"
)

// TestRunningEqualsSummary feeds the same records to a Running and an
// Aggregator: each group's running figures equal its Summary group's, with
// warm-ups, failures, canceled requests and a failure that outlasts every ok
// request (it widens the window) among them, and a sweep's stages kept apart.
func TestRunningEqualsSummary(t *testing.T) {
	var recs []*record.Record
	w := okRec("m", "a", 0, 500*msec, 900*msec, 40)
	w.Warmup = true
	recs = append(recs, w)
	for i := range 9 {
		r := okRec("m", "a", time.Duration(i)*100*msec, time.Duration(20+7*i)*msec, time.Duration(200+13*i)*msec, 30+i)
		recs = append(recs, r)
	}
	recs = append(recs, failRec("m", "a", 50*msec, 3*time.Second, record.Timeout), failRec("m", "a", 70*msec, 10*msec, record.Canceled))
	for i := range 4 {
		r := okRec("m", "b", time.Duration(i)*10*msec, time.Duration(100+i)*msec, time.Duration(400+i)*msec, 8)
		r.Stage = "c=2"
		recs = append(recs, r)
	}
	var run Running
	var agg Aggregator
	for _, r := range recs {
		run.Add(r)
		agg.Add(r)
	}
	sum := agg.Summary(Options{})
	if len(sum.Groups) != 2 {
		t.Fatalf("%d groups", len(sum.Groups))
	}
	for _, g := range sum.Groups {
		f := run.Snapshot(g.Model, g.Scenario, g.Stage).Figures()
		if f.Requests != g.Requests || f.OK != g.OK || f.Warmup != g.Warmup || f.ErrorRate != g.ErrorRate {
			t.Errorf("%s/%s counts %+v, summary requests %d ok %d warmup %d error rate %v", g.Model, g.Scenario, f, g.Requests, g.OK, g.Warmup, g.ErrorRate)
		}
		for name, pair := range map[string][2]Dist{"ttft": {f.TTFT, g.TTFT}, "tpot": {f.TPOT, g.TPOT}, "e2e": {f.E2E, g.E2E}, "decode": {f.DecodeTPS, g.DecodeTPS}} {
			a, b := pair[0], pair[1]
			if a.N != b.N || a.P50 != b.P50 || a.P95 != b.P95 || a.Mean != b.Mean {
				t.Errorf("%s/%s %s: running n %d p50 %v p95 %v mean %v, summary n %d p50 %v p95 %v mean %v",
					g.Model, g.Scenario, name, a.N, a.P50, a.P95, a.Mean, b.N, b.P50, b.P95, b.Mean)
			}
		}
		if f.Window != g.Window || f.OutputTokensPerS != g.OutputTokensPerS {
			t.Errorf("%s/%s window %v out %v, summary %v %v", g.Model, g.Scenario, f.Window, f.OutputTokensPerS, g.Window, g.OutputTokensPerS)
		}
	}
	a := run.Snapshot("m", "a", "").Figures()
	if a.Errors != 1 || a.Requests != 11 || a.Window != 3.05 {
		t.Errorf("group a: errors %d requests %d window %v, want 1, 11 and 3.05 s (the timeout's end)", a.Errors, a.Requests, a.Window)
	}
}

// TestRunningSnapshotFrozen checks that a snapshot keeps its figures while
// records go on arriving, and that an unknown group is empty.
func TestRunningSnapshotFrozen(t *testing.T) {
	var run Running
	for i := range 3 {
		run.Add(okRec("m", "a", 0, time.Duration(10*(i+1))*msec, 100*msec, 5))
	}
	snap := run.Snapshot("m", "a", "")
	for range 50 {
		run.Add(okRec("m", "a", 0, 999*msec, 1500*msec, 5))
	}
	if f := snap.Figures(); f.TTFT.N != 3 || f.TTFT.P50 != 20 || f.OK != 3 {
		t.Errorf("snapshot changed: n %d p50 %v ok %d", f.TTFT.N, f.TTFT.P50, f.OK)
	}
	if f := run.Snapshot("m", "a", "").Figures(); f.TTFT.N != 53 || f.TTFT.P50 != 999 {
		t.Errorf("new snapshot: n %d p50 %v", f.TTFT.N, f.TTFT.P50)
	}
	if f := run.Snapshot("x", "a", "").Figures(); f.Requests != 0 || !math.IsNaN(f.TTFT.P50) || f.OutputTokensPerS != 0 {
		t.Errorf("unknown group: %+v", f)
	}
}
