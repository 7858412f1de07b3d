package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// TestRetriesShown checks that failure classes and user retries reach
// every report: the table's ERR cell (first attempt → final) and its
// Failures by class block, the CSV's class and retry columns, and the
// JSON groups; and that a run with neither shows no block and empty retry
// cells.
func TestRetriesShown(t *testing.T) {
	r := result(t)
	r.Config.Retries = 2
	var agg stats.Aggregator
	t0 := r.Started
	add := func(i int, status, attempt int, retried bool) {
		sent := t0.Add(time.Duration(i) * time.Second)
		rec := &record.Record{Seq: int64(i), Model: "fast", Scenario: "s", Stream: true, Scheduled: sent, Sent: sent,
			FirstToken: 40 * time.Millisecond, End: 50 * time.Millisecond, Outcome: record.OK, Status: status,
			Attempt: attempt, Retried: retried, RetryWait: time.Duration(attempt) * 100 * time.Millisecond}
		if status != 200 {
			rec.Outcome, rec.Phase, rec.FirstToken = record.HTTPError, record.PhaseHeaders, 0
		}
		agg.Add(rec)
	}
	add(0, 429, 0, true)
	add(1, 200, 1, false) // recovered
	add(2, 200, 0, false)
	add(3, 404, 0, false) // permanent
	add(4, 503, 0, true)
	add(5, 503, 1, false) // failed after retrying (retries spent)
	r.Summary = agg.Summary(stats.Options{})

	var b bytes.Buffer
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"75.0%→50.0%",
		"Failures by class (",
		"fast / s: first attempt 75.0% failed (2 transient, 1 permanent, 0 other), final 50.0% failed (1 transient, 1 permanent, 0 other); 2 retries, 1 of 4 requests recovered, 1 failed after retrying",
		"retries 2 (transient failures)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	b.Reset()
	if err := CSV(&b, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head, row := rows[0], rows[1]
	cells := map[string]string{}
	for i, h := range head {
		cells[h] = row[i]
	}
	tail := retryCSVHeader
	want := map[string]string{"transient": "1", "permanent": "1", "other_failures": "0", "attempts": "6", "retries": "2", "recovered": "1",
		"failed_after_retries": "1", "first_attempt_error_rate": "0.75", "first_attempt_good_fraction": ""}
	for k, v := range want {
		if cells[k] != v {
			t.Errorf("CSV %s = %q, want %q (header tail %q)", k, cells[k], v, tail)
		}
	}

	b.Reset()
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Classes map[string]int      `json:"failure_classes"`
			Retries *stats.RetryFigures `json:"retries"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if g := doc.Groups[0]; g.Classes["transient"] != 1 || g.Retries == nil || g.Retries.Recovered != 1 || g.Retries.FirstAttemptErrorRate != 0.75 {
		t.Errorf("JSON group classes %v retries %+v", g.Classes, g.Retries)
	}

	// A run without retries: the plain error rate, its failures by class.
	plain := result(t)
	b.Reset()
	if err := Table(&b, plain); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "→") || !strings.Contains(out, "4 transient, 0 permanent, 0 other\n") {
		t.Errorf("table of a run without retries:\n%s", out)
	}
}
