package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// t0 is the start of the synthetic runs.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// synthRecord is request seq of a synthetic run: two models, three
// scenarios, every 25th a warm-up, every 10th failed, chunks tokens each,
// about textBytes of text.
func synthRecord(seq int64, chunks, textBytes int) record.Record {
	const msec = time.Millisecond
	models, scenarios := []string{"alpha", "beta"}, []string{"one", "two", "three"}
	sent := t0.Add(time.Duration(seq) * 10 * msec)
	r := record.Record{Seq: seq, Model: models[seq%2], Scenario: scenarios[seq%3], Stream: true, MaxTok: 128,
		Scheduled: sent, Sent: sent, InputTokens: 40, InputSource: record.SourceUsage, Status: 200, Warmup: seq%25 == 0}
	if seq%10 == 9 {
		r.Outcome, r.Status, r.FirstByte, r.End, r.Error = record.HTTPError, 503, 3*msec, 3*msec, "busy"
		return r
	}
	ttft := 50*msec + time.Duration(seq%50)*msec
	at := ttft
	for i := range chunks {
		r.Chunks = append(r.Chunks, record.Chunk{At: at, Tokens: 1, Est: 1})
		at += 7*msec + time.Duration((int(seq)+i)%5)*msec
	}
	r.Outcome, r.FirstByte, r.FirstToken, r.FirstAnswer = record.OK, ttft-msec, ttft, ttft
	r.LastToken, r.End = at, at+2*msec
	r.ChunkCount, r.OutputTokens, r.OutputSource, r.EstOutTokens = chunks, chunks, record.SourceUsage, chunks
	r.FinishReason = "length"
	r.Text = fmt.Sprintf("answer %d <img src=x onerror=alert(1)> ", seq) + strings.Repeat("é token ", textBytes/9)
	r.TextBytes = len(r.Text)
	return r
}

// storeRun writes a finished synthetic run of n records through the
// store's writer, as a run would.
func storeRun(t testing.TB, db *store.DB, id string, n, chunks, textBytes int) *runner.Result {
	t.Helper()
	ctx := context.Background()
	res := &runner.Result{ID: id, Tool: runner.CurrentTool(), Status: store.Running, Started: t0,
		Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true},
		Config: runner.Config{Models: []string{"alpha", "beta"}, Suite: "default", Scenarios: []string{"one", "two", "three"},
			Mode: load.Sequential, Concurrency: 1, Requests: n / 6, Warmup: 1, Stream: true, CacheBust: true},
		Suite: runner.SuiteInfo{Name: "default", Source: "builtin:default", Scenarios: []string{"one", "two", "three"}}}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(id, store.WriterOptions{})
	var agg stats.Aggregator
	for i := range n {
		r := synthRecord(int64(i), chunks, textBytes)
		agg.Add(&r)
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res.Status, res.Ended, res.Records = runner.Completed, t0.Add(time.Hour), n
	res.Summary = agg.Summary(stats.Options{})
	res.Warnings = []string{}
	if err := db.FinishRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestDistribution checks the histogram and CDF against the summary of the
// same records: same sample counts, same extremes; and the parameter
// checks.
func TestDistribution(t *testing.T) {
	a := newApp(t, Options{})
	res := storeRun(t, a.db, "20261127-120000-aaaaaa", 3000, 5, 100)
	for _, tc := range []struct {
		metric string
		dist   func(g *stats.Group) stats.Dist
	}{
		{"e2e_ms", func(g *stats.Group) stats.Dist { return g.E2E }},
		{"ttft_ms", func(g *stats.Group) stats.Dist { return g.TTFT }},
		{"itl_ms", func(g *stats.Group) stats.Dist { return g.ITL }},
		{"decode_tps", func(g *stats.Group) stats.Dist { return g.DecodeTPS }},
	} {
		var v distView
		a.data(http.MethodGet, "/api/v1/runs/20261127-120000/distribution?metric="+tc.metric+"&bins=17", nil, http.StatusOK, &v)
		if v.Metric != tc.metric || len(v.Models) != 2 || v.Models[0].Model != "alpha" {
			t.Fatalf("%s: %+v", tc.metric, v)
		}
		for i, m := range v.Models {
			want := tc.dist(&res.Models[i])
			total := 0
			for _, b := range m.Bins {
				total += b.Count
			}
			bins := 17
			if want.Min == want.Max {
				bins = 1 // every sample equal: one bin
			}
			if m.N != want.N || total != want.N || len(m.Bins) != bins {
				t.Fatalf("%s %s: n %d, binned %d, want %d", tc.metric, m.Model, m.N, total, want.N)
			}
			if m.Bins[0].Lo != want.Min || m.Bins[bins-1].Hi != want.Max {
				t.Fatalf("%s %s: range [%v, %v], want [%v, %v]", tc.metric, m.Model, m.Bins[0].Lo, m.Bins[bins-1].Hi, want.Min, want.Max)
			}
			last := m.CDF[len(m.CDF)-1]
			if len(m.CDF) > maxCDF || last[0] != want.Max || last[1] != 1 || m.CDF[0][0] != want.Min {
				t.Fatalf("%s %s: cdf %d points, last %v", tc.metric, m.Model, len(m.CDF), last)
			}
			for j := 1; j < len(m.CDF); j++ {
				if m.CDF[j][0] < m.CDF[j-1][0] || m.CDF[j][1] <= m.CDF[j-1][1] {
					t.Fatalf("cdf not increasing at %d", j)
				}
			}
		}
	}
	for _, q := range []string{"metric=cost", "bins=0", "bins=201", "bins=x"} {
		e := a.fail(http.MethodGet, "/api/v1/runs/20261127-120000-aaaaaa/distribution?"+q, nil, http.StatusBadRequest)
		if e.Field != strings.Split(q, "=")[0] {
			t.Errorf("%s: field %q", q, e.Field)
		}
	}
	// Deleting the run drops what was cached from it.
	a.data(http.MethodDelete, "/api/v1/runs/20261127-120000-aaaaaa", nil, http.StatusOK, nil)
	a.fail(http.MethodGet, "/api/v1/runs/20261127-120000-aaaaaa/distribution?metric=e2e_ms&bins=17", nil, http.StatusNotFound)
}

// TestHistogramEdges checks one sample, equal samples and no samples.
func TestHistogramEdges(t *testing.T) {
	if d := histogram("m", nil, 10); d.N != 0 || len(d.Bins) != 0 || len(d.CDF) != 0 {
		t.Fatalf("empty: %+v", d)
	}
	d := histogram("m", []float64{5, 5, 5}, 10)
	if len(d.Bins) != 1 || d.Bins[0].Count != 3 || d.Bins[0].Lo != 5 || d.Bins[0].Hi != 5 || d.CDF[2] != [2]float64{5, 1} {
		t.Fatalf("equal: %+v", d)
	}
}

// TestSamples checks the samples: measured requests only, spread over the
// run, text cut at 2 KiB on a character boundary, a model filter.
func TestSamples(t *testing.T) {
	a := newApp(t, Options{})
	storeRun(t, a.db, "20261127-120000-bbbbbb", 600, 3, 4500)
	var out []sampleView
	a.data(http.MethodGet, "/api/v1/runs/20261127-120000-bbbbbb/samples?n=5", nil, http.StatusOK, &out)
	if len(out) != 5 {
		t.Fatalf("%d samples", len(out))
	}
	scenarios := map[string]bool{}
	for _, s := range out {
		scenarios[s.Scenario] = true
		if s.Outcome == "ok" && (len(s.Text) > maxSampleText+len("…") || !utf8.ValidString(s.Text) || !strings.HasSuffix(s.Text, "…") ||
			!strings.Contains(s.Text, "<img src=x onerror=alert(1)>")) {
			t.Fatalf("text %q", s.Text)
		}
	}
	if len(scenarios) < 2 {
		t.Fatalf("samples not spread: %+v", out)
	}
	a.data(http.MethodGet, "/api/v1/runs/20261127-120000-bbbbbb/samples?n=4&model=beta", nil, http.StatusOK, &out)
	if len(out) != 4 || out[0].Model != "beta" || out[3].Model != "beta" {
		t.Fatalf("model filter: %+v", out)
	}
	a.fail(http.MethodGet, "/api/v1/runs/20261127-120000-bbbbbb/samples?model=gamma", nil, http.StatusNotFound)
	a.fail(http.MethodGet, "/api/v1/runs/20261127-120000-bbbbbb/samples?n=0", nil, http.StatusBadRequest)
	a.fail(http.MethodGet, "/api/v1/runs/20261127-120000-bbbbbb/samples?n=1000", nil, http.StatusBadRequest)
}

// TestCompareErrors checks the compare parameters.
func TestCompareErrors(t *testing.T) {
	a := newApp(t, Options{})
	storeRun(t, a.db, "20261127-120000-cccccc", 120, 3, 100)
	base := "/api/v1/compare?base=20261127-120000-cccccc&candidate=20261127-120000-cccccc"
	a.data(http.MethodGet, base, nil, http.StatusOK, nil)
	for q, status := range map[string]int{
		"/api/v1/compare?candidate=20261127-120000-cccccc": http.StatusBadRequest,
		"/api/v1/compare?base=x!&candidate=y":              http.StatusBadRequest,
		base + "&metric=cost":                              http.StatusBadRequest,
		base + "&alpha=2":                                  http.StatusBadRequest,
		"/api/v1/compare?base=2099&candidate=20261127":     http.StatusNotFound,
		base + "@gamma":                                    http.StatusNotFound,
	} {
		a.fail(http.MethodGet, q, nil, status)
	}
}
