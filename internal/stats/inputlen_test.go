package stats

import (
	"testing"
	"time"

	"flperf/internal/record"
)

// TestInputLengthFigures: requested vs measured input tokens per group,
// pooled per model by their sums; no warning when they agree, one beyond
// 1 %; a group whose engine reports no input count says so; groups that
// asked for no length have no figures.
func TestInputLengthFigures(t *testing.T) {
	rec := func(scenario string, i, requested, measured int, src record.TokenSource) *record.Record {
		r := okRec("m", scenario, msec*100*time.Duration(i), 20*msec, 80*msec, 8)
		r.RequestedInputTokens, r.InputTokens, r.InputSource, r.InputLengthMethod = requested, measured, src, "tokenizer"
		return r
	}
	var recs []*record.Record
	for i := range 4 {
		recs = append(recs, rec("exact", i, 500+100*i, 500+100*i, record.SourceUsage)) // 500..800, all hit
		recs = append(recs, rec("off", i, 1000, 1000+20*(i%2), record.SourceUsage))    // 1000, 1020, 1000, 1020
		recs = append(recs, rec("none", i, 300, 0, record.SourceNone))
	}
	recs = append(recs, okRec("m", "plain", 0, 20*msec, 80*msec, 8))
	s := summarize(Options{}, recs...)
	g := map[string]Group{}
	for _, x := range s.Groups {
		g[x.Scenario] = x
	}
	ex := g["exact"].InputLength
	if ex == nil || ex.N != 4 || ex.Requested != 2600 || ex.Measured != 2600 || ex.Off != 0 || *ex.Diff != 0 || *ex.RequestedMean != 650 {
		t.Fatalf("exact: %+v", ex)
	}
	if hasWarning(g["exact"], "input length") {
		t.Errorf("exact warns: %q", g["exact"].Warnings)
	}
	off := g["off"].InputLength
	if off == nil || off.N != 4 || off.Requested != 4000 || off.Measured != 4040 || off.Off != 2 || *off.Diff != 0.01 {
		t.Fatalf("off: %+v", off)
	}
	if hasWarning(g["off"], "input length") { // exactly 1 %: not beyond
		t.Errorf("1 %% off warns: %q", g["off"].Warnings)
	}
	recs = append(recs, rec("off", 9, 1000, 1100, record.SourceUsage))
	s = summarize(Options{}, recs...)
	for _, x := range s.Groups {
		if x.Scenario == "off" && (x.InputLength.Off != 3 || !hasWarning(x, "where 1000.0 were asked for (+2.8 %; 3 of 5 requests more than 1 % off)")) {
			t.Errorf("off beyond 1 %%: %+v %q", x.InputLength, x.Warnings)
		}
		if x.Scenario == "none" && (x.InputLength.N != 0 || x.InputLength.Unmeasured != 4 || x.InputLength.Diff != nil || !hasWarning(x, "reported no input token count for the 4 requests")) {
			t.Errorf("none: %+v %q", x.InputLength, x.Warnings)
		}
		if x.Scenario == "plain" && x.InputLength != nil {
			t.Errorf("plain: %+v", x.InputLength)
		}
	}
	m := s.Models[0].InputLength
	if m == nil || m.N != 9 || m.Requested != 2600+5000 || m.Measured != 2600+5140 || m.Unmeasured != 4 {
		t.Errorf("pooled per model: %+v", m)
	}
}
