package profile

import (
	"strings"
	"testing"
)

// FuzzParse: any --profile value is either refused with an error or gives
// a definition whose ID parses back to the same ID.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"standard", "standard/1", "standard@sustain=10m", "standard/1@sustain=90s", "standard/2", "standard/3", "standard/02", "fast",
		"standard@sustain=", "standard@sustain=-1m", "standard@sustain=1h0m1s", "standard@@", "/1@", "standard@sustain=1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if d != nil {
				t.Fatalf("Parse(%q) gave a definition and an error", s)
			}
			return
		}
		if d.Sustain < MinSustain && d.Sustain != DefaultSustain || d.Sustain > MaxSustain {
			t.Fatalf("Parse(%q): sustain %s out of bounds", s, d.Sustain)
		}
		d2, err := Parse(d.ID())
		if err != nil || d2.ID() != d.ID() {
			t.Fatalf("Parse(%q).ID() = %q does not parse back: %v", s, d.ID(), err)
		}
		if !strings.HasPrefix(d.ID(), "standard/1") && !strings.HasPrefix(d.ID(), "standard/2") {
			t.Fatalf("ID %q", d.ID())
		}
	})
}
