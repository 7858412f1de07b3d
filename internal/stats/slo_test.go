package stats

import (
	"strings"
	"testing"
	"time"
)

func TestParseSLO(t *testing.T) {
	good := []struct {
		in   string
		want SLO
		str  string
	}{
		{"", SLO{}, ""},
		{"  ", SLO{}, ""},
		{"ttft=500ms,tpot=50ms,e2e=10s", SLO{500 * time.Millisecond, 50 * time.Millisecond, 10 * time.Second}, "ttft=500ms,tpot=50ms,e2e=10s"},
		{"e2e=1m30s", SLO{E2E: 90 * time.Second}, "e2e=1m30s"},
		{" TTFT = 1.5s , tpot=20ms", SLO{TTFT: 1500 * time.Millisecond, TPOT: 20 * time.Millisecond}, "ttft=1.5s,tpot=20ms"},
		{"tpot=250us", SLO{TPOT: 250 * time.Microsecond}, "tpot=250µs"},
	}
	for _, tc := range good {
		got, err := ParseSLO(tc.in)
		if err != nil {
			t.Errorf("ParseSLO(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseSLO(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("ParseSLO(%q).String() = %q, want %q", tc.in, s, tc.str)
		}
		if got.IsZero() != (tc.want == SLO{}) {
			t.Errorf("ParseSLO(%q).IsZero() = %v", tc.in, got.IsZero())
		}
	}

	bad := []struct{ in, mention string }{
		{"ttft", `"ttft"`},           // no '='
		{"ttft=500", `ttft="500"`},   // no unit
		{"ttft=fast", `ttft="fast"`}, // not a duration
		{"latency=1s", `unknown key "latency"`},
		{"ttft=0s", `ttft="0s": must be positive`},
		{"e2e=-1s", `e2e="-1s": must be positive`},
		{"ttft=1s,ttft=2s", "ttft given twice"},
		{"ttft=1s,", `"" is not key=duration`},
		{"ttft=1s,,e2e=2s", `"" is not key=duration`},
		{"=1s", `unknown key ""`},
	}
	for _, tc := range bad {
		got, err := ParseSLO(tc.in)
		if err == nil {
			t.Errorf("ParseSLO(%q) = %+v, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseSLO(%q) error %q does not mention %q", tc.in, err, tc.mention)
		}
		if got != (SLO{}) {
			t.Errorf("ParseSLO(%q) returned %+v with its error, want zero", tc.in, got)
		}
	}
}

func FuzzParseSLO(f *testing.F) {
	for _, s := range []string{"", "ttft=500ms,tpot=50ms,e2e=10s", "e2e=1h", "TPOT=1ns", "ttft=1s,ttft=2s", "x=1", "ttft=9223372036854775807ns", "ttft=1e3ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		slo, err := ParseSLO(in)
		if err != nil {
			if slo != (SLO{}) {
				t.Fatalf("error %v with non-zero SLO %+v", err, slo)
			}
			return
		}
		if slo.TTFT < 0 || slo.TPOT < 0 || slo.E2E < 0 {
			t.Fatalf("negative objective from %q: %+v", in, slo)
		}
		back, err := ParseSLO(slo.String())
		if err != nil || back != slo {
			t.Fatalf("%q → %+v → %q → %+v, %v", in, slo, slo.String(), back, err)
		}
	})
}
