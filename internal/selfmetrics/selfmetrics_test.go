package selfmetrics

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"flperf/internal/backend"
	"flperf/internal/record"
)

// scrape reads m's Handler as a Prometheus server would and parses it
// with the text parser.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("scrape: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v\n%s", err, w.Body)
	}
	return fams
}

// find returns the metric of family name with labels (name=value pairs),
// or nil.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		ok := len(got) == len(labels)/2
		for i := 0; i+1 < len(labels); i += 2 {
			ok = ok && got[labels[i]] == labels[i+1]
		}
		if ok {
			return m
		}
	}
	return nil
}

// rec is an ok streamed record of 5 output tokens.
func rec(model, scenario string, ttft, last, end time.Duration) record.Record {
	return record.Record{Model: model, Scenario: scenario, Stream: true, Outcome: record.OK, FirstToken: ttft, LastToken: last, End: end,
		OutputTokens: 5, OutputSource: record.SourceUsage, InputTokens: 11, InputSource: record.SourceUsage, EstOutTokens: 5, TextBytes: 40, ChunkCount: 5}
}

// TestAddCountsTheRecords checks each figure against hand-computed values:
// warm-ups only in their own counter, failures counted by outcome but in
// no histogram or token counter, TPOT from the record's definition, and
// every outcome of a pair present from its first record.
func TestAddCountsTheRecords(t *testing.T) {
	m := New()
	warm := rec("m1", "s1", 900*time.Millisecond, 1000*time.Millisecond, 1100*time.Millisecond)
	warm.Warmup = true
	a := rec("m1", "s1", 100*time.Millisecond, 500*time.Millisecond, 600*time.Millisecond)
	b := rec("m1", "s1", 300*time.Millisecond, 700*time.Millisecond, 2*time.Second)
	b.ConnRetries = 1
	bad := record.Record{Model: "m1", Scenario: "s1", Outcome: record.HTTPError, Status: 503, End: 5 * time.Millisecond, InputTokens: 99}
	for _, r := range []record.Record{warm, a, b, bad} {
		if err := m.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	fams := scrape(t, m)
	counter := func(name string, labels ...string) float64 {
		t.Helper()
		mt := find(fams, name, labels...)
		if mt == nil {
			t.Fatalf("no %s%v in the scrape", name, labels)
		}
		return mt.GetCounter().GetValue()
	}
	if v := counter("flperf_requests_total", "model", "m1", "scenario", "s1", "outcome", "ok"); v != 2 {
		t.Errorf("ok requests %v, want 2 (the warm-up excluded)", v)
	}
	if v := counter("flperf_requests_total", "model", "m1", "scenario", "s1", "outcome", "http_error"); v != 1 {
		t.Errorf("http_error requests %v, want 1", v)
	}
	if v := counter("flperf_requests_total", "model", "m1", "scenario", "s1", "outcome", "timeout"); v != 0 {
		t.Errorf("timeout requests %v, want a zero series", v)
	}
	if v := counter("flperf_warmup_requests_total", "model", "m1", "scenario", "s1", "outcome", "ok"); v != 1 {
		t.Errorf("warm-ups %v, want 1", v)
	}
	if v := counter("flperf_output_tokens_total", "model", "m1", "scenario", "s1"); v != 10 {
		t.Errorf("output tokens %v, want 10 (two ok records of 5)", v)
	}
	if v := counter("flperf_input_tokens_total", "model", "m1", "scenario", "s1"); v != 22 {
		t.Errorf("input tokens %v, want 22 (the failure's excluded)", v)
	}
	if v := counter("flperf_connection_retries_total", "model", "m1", "scenario", "s1"); v != 1 {
		t.Errorf("connection retries %v, want 1", v)
	}
	for _, c := range []struct {
		name string
		sum  float64
	}{
		{"flperf_ttft_seconds", 0.1 + 0.3},
		{"flperf_tpot_seconds", 0.1 + 0.1}, // (500−100)/4 and (700−300)/4 ms
		{"flperf_e2e_seconds", 0.6 + 2},
	} {
		mt := find(fams, c.name, "model", "m1", "scenario", "s1")
		if mt == nil {
			t.Fatalf("no %s", c.name)
		}
		h := mt.GetHistogram()
		if h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-c.sum) > 1e-12 {
			t.Errorf("%s: count %d sum %v, want 2 and %v", c.name, h.GetSampleCount(), h.GetSampleSum(), c.sum)
		}
	}
	if e := find(fams, "flperf_e2e_seconds", "model", "m1", "scenario", "s1").GetHistogram(); cumulative(e, 1) != 1 || cumulative(e, 2.5) != 2 {
		t.Errorf("e2e buckets le=1: %d, le=2.5: %d; want 1 and 2", cumulative(e, 1), cumulative(e, 2.5))
	}
	for _, st := range RunStatuses {
		if v := counter("flperf_runs_total", "status", st); v != 0 {
			t.Errorf("runs %s = %v before any run", st, v)
		}
	}
	m.RunStarted()
	if v := find(scrape(t, m), "flperf_runs_running").GetGauge().GetValue(); v != 1 {
		t.Errorf("running %v, want 1", v)
	}
	m.RunEnded("completed")
	fams = scrape(t, m)
	if v := find(fams, "flperf_runs_running").GetGauge().GetValue(); v != 0 {
		t.Errorf("running %v after the end, want 0", v)
	}
	if v := counter("flperf_runs_total", "status", "completed"); v != 1 {
		t.Errorf("completed runs %v, want 1", v)
	}
}

// cumulative is the count of bucket le of h (−1 when absent).
func cumulative(h *dto.Histogram, le float64) int64 {
	for _, b := range h.Bucket {
		if b.GetUpperBound() == le {
			return int64(b.GetCumulativeCount())
		}
	}
	return -1
}

// TestBuckets checks that every bucket list ascends: the registry refuses
// others, and a list out of order is a typo.
func TestBuckets(t *testing.T) {
	for name, bs := range map[string][]float64{"ttft": TTFTBuckets, "tpot": TPOTBuckets, "e2e": E2EBuckets} {
		if !slices.IsSorted(bs) || len(slices.Compact(slices.Clone(bs))) != len(bs) {
			t.Errorf("%s buckets %v are not strictly ascending", name, bs)
		}
	}
}

// TestHostileLabels checks that model ids from an engine cannot break the
// exposition or grow it without bound: invalid UTF-8, control characters,
// quotes and newlines, an overlong id, and more pairs than MaxPairs.
func TestHostileLabels(t *testing.T) {
	m := New()
	long := strings.Repeat("é", 200)
	hostile := []string{"a\"b\\c\nd", "bad\xff\xfeutf8", "tab\there\x00", long, ""}
	for _, name := range hostile {
		r := rec(name, "s", time.Millisecond, 2*time.Millisecond, 3*time.Millisecond)
		m.Add(&r)
	}
	fams := scrape(t, m)
	for _, name := range hostile {
		want := CleanLabel(name)
		if !utf8.ValidString(want) || len(want) > MaxLabelLen || strings.ContainsAny(want, "\n\t\x00") {
			t.Errorf("CleanLabel(%q) = %q", name, want)
		}
		if find(fams, "flperf_requests_total", "model", want, "scenario", "s", "outcome", "ok") == nil {
			t.Errorf("model %q: no series under its cleaned label %q", name, want)
		}
	}
	if got := CleanLabel(long); !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("long label cut to %q", got)
	}
	if CleanLabel("a\"b\\c\nd") != "a\"b\\c\uFFFDd" {
		t.Errorf("quotes and backslashes must stay (the format escapes them), the newline go: %q", CleanLabel("a\"b\\c\nd"))
	}
	// Beyond MaxPairs, every new pair is counted under _other.
	for i := range MaxPairs + 10 {
		r := rec(fmt.Sprintf("flood-%d", i), "s", time.Millisecond, 2*time.Millisecond, 3*time.Millisecond)
		m.Add(&r)
	}
	fams = scrape(t, m)
	models := map[string]bool{}
	for _, mt := range fams["flperf_requests_total"].Metric {
		for _, l := range mt.Label {
			if l.GetName() == "model" {
				models[l.GetValue()] = true
			}
		}
	}
	if len(models) != MaxPairs+1 {
		t.Errorf("%d models labelled, want MaxPairs (%d) and %q", len(models), MaxPairs, Other)
	}
	other := find(fams, "flperf_requests_total", "model", Other, "scenario", Other, "outcome", "ok")
	if want := float64(MaxPairs + 10 - (MaxPairs - len(hostile))); other == nil || other.GetCounter().GetValue() != want {
		t.Errorf("_other counts %v, want %v", other, want)
	}
}

// slowDoer blocks in Do until released, and reports connection reuse.
type slowDoer struct{ entered, release chan struct{} }

func (d slowDoer) Do(ctx context.Context, req backend.Request, rec *record.Record) {
	d.entered <- struct{}{}
	<-d.release
}

func (d slowDoer) ConnectionReuse() string { return "reused 3 of 4" }

// TestDoerInFlight checks the gauge while a request is in the Doer and
// after it returned, and that the wrapper keeps the connection report.
func TestDoerInFlight(t *testing.T) {
	m := New()
	d := slowDoer{entered: make(chan struct{}), release: make(chan struct{})}
	w := m.Doer(d)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Do(context.Background(), backend.Request{Model: "m"}, &record.Record{Model: "m", Scenario: "s"})
	}()
	<-d.entered
	gauge := func() float64 {
		mt := find(scrape(t, m), "flperf_requests_in_flight", "model", "m", "scenario", "s")
		if mt == nil {
			t.Fatal("no in-flight series")
		}
		return mt.GetGauge().GetValue()
	}
	if v := gauge(); v != 1 {
		t.Errorf("in flight %v during the request, want 1", v)
	}
	close(d.release)
	<-done
	if v := gauge(); v != 0 {
		t.Errorf("in flight %v after it, want 0", v)
	}
	if c, ok := w.(interface{ ConnectionReuse() string }); !ok || c.ConnectionReuse() != "reused 3 of 4" {
		t.Error("the wrapped Doer's connection reuse report is lost")
	}
}
