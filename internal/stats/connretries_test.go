package stats

import (
	"testing"
	"time"

	"flperf/internal/record"
)

// TestConnRetries checks that connection retries (Record.ConnRetries) are
// counted per group, pooled per model and run by addition, left out for
// warm-ups, never counted as failures, and explained in a warning only
// where there were some.
func TestConnRetries(t *testing.T) {
	retried := func(scenario string, sent time.Duration, n int) *record.Record {
		r := okRec("m", scenario, sent, 50*msec, time.Second, 20)
		r.ConnRetries = n
		return r
	}
	warm := retried("a", 0, 1)
	warm.Warmup = true
	failed := failRec("m", "b", 0, time.Second, record.ConnectError)
	failed.ConnRetries = 1
	s := summarize(Options{}, warm, retried("a", 0, 1), retried("a", time.Second, 0), retried("a", 2*time.Second, 1),
		retried("b", 0, 0), failed, okRec("n", "a", 0, 50*msec, time.Second, 20))

	want := map[string]int{"m/a": 2, "m/b": 1, "n/a": 0}
	for _, g := range s.Groups {
		if g.ConnRetries != want[g.Model+"/"+g.Scenario] {
			t.Errorf("%s/%s: %d connection retries, want %d", g.Model, g.Scenario, g.ConnRetries, want[g.Model+"/"+g.Scenario])
		}
	}
	a := s.Groups[0]
	if a.OK != 3 || a.ErrorRate != 0 {
		t.Errorf("m/a: ok %d error rate %v: retried requests are successes", a.OK, a.ErrorRate)
	}
	wantWarning(t, a, "2 connection retries: the server had closed a reused connection")
	wantWarning(t, s.Groups[1], "1 connection retry: ")
	noWarning(t, s.Groups[2], "connection retr")
	if s.Models[0].ConnRetries != 3 || s.Models[1].ConnRetries != 0 || s.Total.ConnRetries != 3 {
		t.Errorf("pooled: model m %d, model n %d, run %d; want 3, 0, 3", s.Models[0].ConnRetries, s.Models[1].ConnRetries, s.Total.ConnRetries)
	}
	m := decodeMap(t, s.Total)
	if m["connection_retries"] != float64(3) {
		t.Errorf("JSON connection_retries = %v, want 3", m["connection_retries"])
	}
}
