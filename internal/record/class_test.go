package record

import "testing"

// TestClass checks each failure's class (docs/metrics.md §4): what may
// pass on a later attempt is transient, what repeats is permanent, and
// what the engine may have worked on is other.
func TestClass(t *testing.T) {
	for _, tc := range []struct {
		r    Record
		want Class
	}{
		{Record{Outcome: OK, Status: 200}, ""},
		{Record{Outcome: Canceled, Phase: PhaseConnect}, ""},
		{Record{Outcome: HTTPError, Status: 429}, Transient},
		{Record{Outcome: HTTPError, Status: 503}, Transient},
		{Record{Outcome: HTTPError, Status: 502}, Transient},
		{Record{Outcome: HTTPError, Status: 504}, Transient},
		{Record{Outcome: HTTPError, Status: 408}, Transient},
		{Record{Outcome: ConnectError, Phase: PhaseConnect}, Transient}, // refused, reset, closed before a response
		{Record{Outcome: Timeout, Phase: PhaseConnect}, Transient},
		{Record{Outcome: Timeout, Phase: PhaseHeaders}, Transient}, // no response byte yet
		{Record{Outcome: HTTPError, Status: 400}, Permanent},
		{Record{Outcome: HTTPError, Status: 401}, Permanent},
		{Record{Outcome: HTTPError, Status: 403}, Permanent},
		{Record{Outcome: HTTPError, Status: 404}, Permanent}, // a model that does not exist
		{Record{Outcome: HTTPError, Status: 422}, Permanent},
		{Record{Outcome: HTTPError, Status: 500}, OtherFailure},
		{Record{Outcome: HTTPError, Status: 0}, OtherFailure},
		{Record{Outcome: Timeout, Phase: PhaseFirstToken}, OtherFailure},
		{Record{Outcome: Timeout, Phase: PhaseStream}, OtherFailure},
		{Record{Outcome: StreamError, Phase: PhaseStream}, OtherFailure},
		{Record{Outcome: "bogus"}, OtherFailure},
	} {
		if got := tc.r.Class(); got != tc.want {
			t.Errorf("%s %d %s: class %q, want %q", tc.r.Outcome, tc.r.Status, tc.r.Phase, got, tc.want)
		}
	}
}
