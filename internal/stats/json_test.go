package stats

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
)

// groupKeys are the JSON keys of a Group, exactly.
var groupKeys = []string{
	"model", "scenario", "stage", "requests", "ok", "failures", "canceled", "warmup", "error_rate", "short_responses", "connection_retries", "failure_classes",
	"ttft_ms", "ttfo_ms", "tpot_ms", "itl_ms", "e2e_ms", "ttft_queue_ms", "e2e_queue_ms",
	"decode_tps", "output_tps", "prefill_tps", "chars_per_s", "input_tokens", "output_tokens",
	"window_s", "requests_per_s", "output_tokens_per_s", "total_tokens_per_s",
	"goodput", "token_source", "token_sources", "warnings",
}

var distKeys = []string{"ttft_ms", "ttfo_ms", "tpot_ms", "itl_ms", "e2e_ms", "ttft_queue_ms", "e2e_queue_ms",
	"decode_tps", "output_tps", "prefill_tps", "chars_per_s", "input_tokens", "output_tokens"}

func decodeMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return m
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func TestGroupJSONShape(t *testing.T) {
	slo := SLO{TTFT: time.Second}
	failed := failRec("m", "bad", 0, time.Second, record.Timeout)
	failed.Stage = "c=2"
	s := summarize(Options{SLO: slo}, failed)
	m := decodeMap(t, s.Groups[0])
	if got, want := sortedKeys(m), slices.Sorted(slices.Values(groupKeys)); !slices.Equal(got, want) {
		t.Errorf("group keys\n got %v\nwant %v", got, want)
	}
	for _, k := range distKeys {
		d, ok := m[k].(map[string]any)
		if !ok {
			t.Errorf("%s = %v, want an object", k, m[k])
			continue
		}
		for dk, v := range d {
			if dk == "n" {
				if v != 0.0 {
					t.Errorf("%s.n = %v, want 0", k, v)
				}
			} else if v != nil {
				t.Errorf("%s.%s = %v, want null for an empty dist (never 0)", k, dk, v)
			}
		}
	}
	if m["error_rate"] != 1.0 || m["stage"] != "c=2" {
		t.Errorf("error_rate %v stage %v", m["error_rate"], m["stage"])
	}
	if f := m["failures"].(map[string]any); len(f) != 4 || f["timeout"] != 1.0 || f["http_error"] != 0.0 {
		t.Errorf("failures %v, want the four classes with zeros", f)
	}
	if ts := m["token_sources"].(map[string]any); len(ts) != 4 || ts["usage"] != 0.0 {
		t.Errorf("token_sources %v, want the four sources with zeros", ts)
	}
	if gp := m["goodput"].(map[string]any); !slices.Equal(sortedKeys(gp), []string{"fraction", "good", "good_per_s", "slo"}) || gp["slo"] != "ttft=1s" {
		t.Errorf("goodput %v", gp)
	}

	// A clean group: error rate 0 (a number, not null), warnings [], no
	// stage or goodput keys.
	var recs []*record.Record
	for i := range 100 {
		recs = append(recs, okRec("m", "s", time.Duration(i)*time.Second, 50*msec, time.Second, 20))
	}
	m = decodeMap(t, summarize(Options{}, recs...).Groups[0])
	if v, ok := m["error_rate"]; !ok || v != 0.0 {
		t.Errorf("error_rate = %v (present %v), want 0", v, ok)
	}
	if w, ok := m["warnings"].([]any); !ok || len(w) != 0 {
		t.Errorf("warnings = %#v, want []", m["warnings"])
	}
	if _, ok := m["stage"]; ok {
		t.Error("empty stage present")
	}
	if _, ok := m["goodput"]; ok {
		t.Error("goodput present without an SLO")
	}
	if e2e := m["e2e_ms"].(map[string]any); e2e["p50"] != 1000.0 || e2e["n"] != 100.0 {
		t.Errorf("e2e_ms %v", e2e)
	}

	// A zero Group still writes [] and {} rather than null.
	m = decodeMap(t, Group{})
	if w, ok := m["warnings"].([]any); !ok || len(w) != 0 {
		t.Errorf("zero Group warnings %#v", m["warnings"])
	}
	if f, ok := m["failures"].(map[string]any); !ok || len(f) != 4 {
		t.Errorf("zero Group failures %#v", m["failures"])
	}
}

func TestSummaryJSON(t *testing.T) {
	var a Aggregator
	b, err := json.Marshal(a.Summary(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"groups":[],"models":[],"total":{`) {
		t.Errorf("empty summary: %s", b)
	}
	a.Add(okRec("m", "s", 0, 10*msec, 100*msec, 5))
	var back Summary
	b, _ = json.Marshal(a.Summary(Options{}))
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("summary does not decode: %v", err)
	}
	if len(back.Groups) != 1 || back.Groups[0].E2E.P50 != 100 || back.Total.Requests != 1 || back.Groups[0].TTFO.P50 != 10 {
		t.Errorf("decoded summary %+v", back)
	}
	b2, _ := json.Marshal(back)
	if string(b2) != string(b) {
		t.Errorf("summary JSON does not round-trip:\n%s\n%s", b, b2)
	}
}
