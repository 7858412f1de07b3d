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

// TestConnRetriesShown checks that connection retries reach every report:
// a CSV column per group, the JSON groups, the table's notes, and the
// engine block's account of connections under the table's engine line.
func TestConnRetriesShown(t *testing.T) {
	r := result(t)
	var agg stats.Aggregator
	t0 := r.Started
	for i := range 3 {
		sent := t0.Add(time.Duration(i) * time.Second)
		agg.Add(&record.Record{Seq: int64(i), Model: "fast", Scenario: "s", Stream: true, Scheduled: sent, Sent: sent,
			FirstToken: 40 * time.Millisecond, End: 50 * time.Millisecond, Outcome: record.OK, Status: 200, ConnRetries: i % 2})
	}
	r.Summary = agg.Summary(stats.Options{})
	r.Engine.ConnectionReuse = "new connection per request: a test note"

	var b bytes.Buffer
	if err := CSV(&b, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "connection_retries" {
			col = i
		}
	}
	if col < 0 || rows[1][col] != "1" {
		t.Fatalf("CSV connection_retries column %d, group row %q", col, rows[1])
	}

	b.Reset()
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Engine map[string]any   `json:"engine"`
		Groups []map[string]any `json:"groups"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Groups[0]["connection_retries"] != 1.0 || doc.Engine["connection_reuse"] != r.Engine.ConnectionReuse {
		t.Errorf("JSON group %v, engine %v", doc.Groups[0]["connection_retries"], doc.Engine["connection_reuse"])
	}

	b.Reset()
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "\n         new connection per request: a test note\n") || !strings.Contains(out, "] 1 connection retry: the server had closed") {
		t.Errorf("table lacks the connection note or the retry warning:\n%s", out)
	}
}
