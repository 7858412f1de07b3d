// Package selfmetricstest holds what the tests of /metrics share: a
// scrape parsed with the Prometheus text parser, and its figures checked
// against the records they came from, with the summaries' definitions.
package selfmetricstest

import (
	"bytes"
	"math"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// Parse parses a /metrics answer with the Prometheus text parser.
func Parse(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return fams
}

// Series indexes a family's metrics by their label values joined with "|"
// in the order of names.
func Series(f *dto.MetricFamily, names ...string) map[string]*dto.Metric {
	out := map[string]*dto.Metric{}
	if f == nil {
		return out
	}
	for _, m := range f.Metric {
		vals := make([]string, len(names))
		for _, l := range m.Label {
			for i, n := range names {
				if l.GetName() == n {
					vals[i] = l.GetValue()
				}
			}
		}
		out[strings.Join(vals, "|")] = m
	}
	return out
}

// Expected are a run's figures computed from its stored records, with the
// summaries' definitions: what /metrics must show.
type Expected struct {
	Requests, Warmups map[string]float64 // model|scenario|outcome
	In, Out, Retries  map[string]float64 // model|scenario
	Count             map[string]uint64  // metric|model|scenario (metric: ttft, tpot, e2e)
	Sum               map[string]float64 // the same, in seconds
}

// Expect computes the figures of recs.
func Expect(recs []record.Record) Expected {
	e := Expected{Requests: map[string]float64{}, Warmups: map[string]float64{}, In: map[string]float64{}, Out: map[string]float64{},
		Retries: map[string]float64{}, Count: map[string]uint64{}, Sum: map[string]float64{}}
	for i := range recs {
		r := &recs[i]
		pair := r.Model + "|" + r.Scenario
		if r.Warmup {
			e.Warmups[pair+"|"+string(r.Outcome)]++
			continue
		}
		e.Requests[pair+"|"+string(r.Outcome)]++
		e.Retries[pair] += float64(r.ConnRetries)
		if r.Outcome != record.OK {
			continue
		}
		out, _, _ := r.Output()
		e.Out[pair] += float64(out)
		e.In[pair] += float64(r.InputTokens)
		for _, key := range []string{"ttft", "tpot", "e2e"} {
			m, _ := stats.MetricByKey(key + "_ms")
			for _, v := range m.Samples(r, nil) {
				e.Count[key+"|"+pair]++
				e.Sum[key+"|"+pair] += v / 1000
			}
		}
	}
	return e
}

// Check compares a parsed scrape with the records' figures.
func Check(t *testing.T, fams map[string]*dto.MetricFamily, e Expected) {
	t.Helper()
	counters := func(name string, want map[string]float64, labels ...string) {
		t.Helper()
		got := Series(fams[name], labels...)
		for k, w := range want {
			if m := got[k]; m == nil || m.GetCounter().GetValue() != w {
				t.Errorf("%s{%s} = %v, want %v (the records')", name, k, m.GetCounter().GetValue(), w)
			}
		}
		for k, m := range got {
			if _, ok := want[k]; !ok && m.GetCounter().GetValue() != 0 {
				t.Errorf("%s{%s} = %v, no record has it", name, k, m.GetCounter().GetValue())
			}
		}
	}
	counters("flperf_requests_total", e.Requests, "model", "scenario", "outcome")
	counters("flperf_warmup_requests_total", e.Warmups, "model", "scenario", "outcome")
	counters("flperf_output_tokens_total", e.Out, "model", "scenario")
	counters("flperf_input_tokens_total", e.In, "model", "scenario")
	counters("flperf_connection_retries_total", e.Retries, "model", "scenario")
	for _, key := range []string{"ttft", "tpot", "e2e"} {
		got := Series(fams["flperf_"+key+"_seconds"], "model", "scenario")
		for k, n := range e.Count {
			metric, pair, _ := strings.Cut(k, "|")
			if metric != key {
				continue
			}
			h := got[pair].GetHistogram()
			if h == nil {
				t.Errorf("no flperf_%s_seconds{%s}", key, pair)
				continue
			}
			want := e.Sum[k]
			if h.GetSampleCount() != n || math.Abs(h.GetSampleSum()-want) > 1e-9*want {
				t.Errorf("flperf_%s_seconds{%s}: count %d sum %v, want the records' %d and %v", key, pair, h.GetSampleCount(), h.GetSampleSum(), n, want)
			}
			if b := h.Bucket[len(h.Bucket)-1]; b.GetCumulativeCount() > n {
				t.Errorf("flperf_%s_seconds{%s}: last bucket %d > count %d", key, pair, b.GetCumulativeCount(), n)
			}
		}
		if len(got) == 0 {
			t.Errorf("no flperf_%s_seconds series", key)
		}
	}
}
