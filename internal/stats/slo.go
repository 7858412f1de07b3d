package stats

import (
	"fmt"
	"strings"
	"time"
)

// SLO holds per-request service-level objectives used for goodput
// (docs/metrics.md §5). A zero field is not set.
type SLO struct {
	TTFT time.Duration // time to first token must be ≤ TTFT
	TPOT time.Duration // time per output token must be ≤ TPOT
	E2E  time.Duration // end-to-end latency must be ≤ E2E
}

// sloKeys lists the SLO keys in the order String writes them.
var sloKeys = []string{"ttft", "tpot", "e2e"}

// field returns the SLO field that key names, or nil for an unknown key.
func (s *SLO) field(key string) *time.Duration {
	switch key {
	case "ttft":
		return &s.TTFT
	case "tpot":
		return &s.TPOT
	case "e2e":
		return &s.E2E
	}
	return nil
}

// ParseSLO parses a comma-separated list of key=duration items such as
// "ttft=500ms,tpot=50ms,e2e=10s". Keys are ttft, tpot and e2e (case does not
// matter), each at most once; durations use Go syntax with a unit and must be
// positive. The empty string is the zero SLO. Errors name the bad item.
func ParseSLO(s string) (SLO, error) {
	var slo SLO
	if strings.TrimSpace(s) == "" {
		return slo, nil
	}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return SLO{}, fmt.Errorf("slo: %q is not key=duration (e.g. ttft=500ms)", strings.TrimSpace(item))
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		dst := slo.field(key)
		if dst == nil {
			return SLO{}, fmt.Errorf("slo: unknown key %q (want ttft, tpot or e2e)", key)
		}
		if seen[key] {
			return SLO{}, fmt.Errorf("slo: %s given twice", key)
		}
		seen[key] = true
		d, err := time.ParseDuration(val)
		if err != nil {
			return SLO{}, fmt.Errorf("slo: %s=%q: not a duration with a unit (e.g. 500ms, 10s)", key, val)
		}
		if d <= 0 {
			return SLO{}, fmt.Errorf("slo: %s=%q: must be positive", key, val)
		}
		*dst = d
	}
	return slo, nil
}

// String formats the set objectives in the syntax ParseSLO reads, e.g.
// "ttft=500ms,e2e=10s"; the zero SLO is "".
func (s SLO) String() string {
	var parts []string
	for _, k := range sloKeys {
		if d := *s.field(k); d > 0 {
			parts = append(parts, k+"="+d.String())
		}
	}
	return strings.Join(parts, ",")
}

// IsZero reports whether no objective is set.
func (s SLO) IsZero() bool { return s.TTFT <= 0 && s.TPOT <= 0 && s.E2E <= 0 }
