package stats

import (
	"fmt"

	"flperf/internal/record"
)

// RetryFigures are a group's user retries (flperf run --retries;
// docs/metrics.md §4, §5): present only when a record of the group is a
// retry or was retried. The Group's own counts, error rate and goodput are
// the final figures (each request once, by its last attempt); these are
// the first-attempt ones beside them.
type RetryFigures struct {
	Attempts  int `json:"attempts"`  // records: every attempt of every request
	Retries   int `json:"retries"`   // attempts that repeated a transient failure
	Recovered int `json:"recovered"` // requests ok after at least one retry; their latency counts from the first attempt
	// FailedAfterRetries counts the requests retried whose last attempt
	// still failed (the retries were spent, the run stopped, or a retry
	// failed permanently).
	FailedAfterRetries int `json:"failed_after_retries"`
	// FirstAttemptFailed counts the requests whose first attempt failed,
	// by class in FirstAttemptClasses.
	FirstAttemptFailed  int                  `json:"first_attempt_failed"`
	FirstAttemptClasses map[record.Class]int `json:"first_attempt_classes"`
	// FirstAttemptErrorRate is FirstAttemptFailed / first attempts not
	// canceled: the error rate the run would have had without retries.
	FirstAttemptErrorRate float64 `json:"first_attempt_error_rate"`
}

// retryTally counts a group's retries as records arrive.
type retryTally struct {
	attempts, retries, recovered, exhausted int
	first, firstCanceled                    int    // first attempts; of which canceled
	firstClasses                            [3]int // failed first attempts by record.Classes
	any                                     bool   // a record is a retry or was retried
}

// note counts a measured record.
func (t *retryTally) note(r *record.Record) {
	t.attempts++
	if r.Attempt > 0 || r.Retried {
		t.any = true
	}
	if r.Attempt > 0 {
		t.retries++
		if !r.Retried && r.Outcome == record.OK {
			t.recovered++
		}
	} else {
		t.first++
		switch {
		case r.Outcome == record.Canceled:
			t.firstCanceled++
		case r.Outcome.Failed():
			t.firstClasses[classIndex(r.Class())]++
		}
	}
	if r.Attempt > 0 && !r.Retried && r.Outcome.Failed() {
		t.exhausted++
	}
}

// add pools o into t.
func (t *retryTally) add(o retryTally) {
	t.attempts += o.attempts
	t.retries += o.retries
	t.recovered += o.recovered
	t.exhausted += o.exhausted
	t.first += o.first
	t.firstCanceled += o.firstCanceled
	for i := range t.firstClasses {
		t.firstClasses[i] += o.firstClasses[i]
	}
	t.any = t.any || o.any
}

// figures returns the group's RetryFigures, nil without retries.
func (t *retryTally) figures() *RetryFigures {
	if !t.any {
		return nil
	}
	f := &RetryFigures{Attempts: t.attempts, Retries: t.retries, Recovered: t.recovered, FailedAfterRetries: t.exhausted,
		FirstAttemptClasses: classMap(t.firstClasses)}
	for _, n := range t.firstClasses {
		f.FirstAttemptFailed += n
	}
	if m := t.first - t.firstCanceled; m > 0 {
		f.FirstAttemptErrorRate = float64(f.FirstAttemptFailed) / float64(m)
	}
	return f
}

// classIndex returns the index of c in record.Classes ("" and unknown
// classes count as other).
func classIndex(c record.Class) int {
	switch c {
	case record.Transient:
		return 0
	case record.Permanent:
		return 1
	}
	return 2
}

// classMap returns counts in record.Classes order as a map, zeros included.
func classMap(n [3]int) map[record.Class]int {
	m := make(map[record.Class]int, len(record.Classes))
	for i, c := range record.Classes {
		m[c] = n[i]
	}
	return m
}

// retryWarning describes a group's retries, or "" when it has none.
func retryWarning(t *tally, g *Group) string {
	f := g.Retries
	if f == nil || f.Retries == 0 {
		return ""
	}
	retries := "1 retry"
	if f.Retries != 1 {
		retries = fmt.Sprintf("%d retries", f.Retries)
	}
	s := fmt.Sprintf("%s repeated transient failures: %d of %d requests recovered (first-attempt error rate %s, final %s)",
		retries, f.Recovered, t.requests, percent(f.FirstAttemptErrorRate), percent(g.ErrorRate))
	if f.Recovered > 0 {
		s += "; a recovered request's TTFT and E2E count from its first attempt, backoff included, so they are what its user waited"
	}
	if f.FailedAfterRetries > 0 {
		s += fmt.Sprintf("; %d still failed after retrying", f.FailedAfterRetries)
	}
	return s + "; the engine refused or dropped these requests at first: lower the load or raise its capacity rather than rely on retries"
}

// percent formats a fraction as a percentage with one decimal.
func percent(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) }
