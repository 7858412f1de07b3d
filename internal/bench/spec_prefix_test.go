package bench

import (
	"strings"
	"testing"

	"flperf/internal/runner"
)

// TestSpecPrefix checks that the prefix-cache fields reach the run's
// configuration and that bad ones are reported naming their field.
func TestSpecPrefix(t *testing.T) {
	rs, err := (&Spec{Models: []string{"m"}, PrefixTokens: 300, PrefixCache: "warm"}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Config.PrefixTokens != 300 || rs.Config.PrefixCache != runner.PrefixWarm {
		t.Fatalf("config %+v", rs.Config)
	}
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Models: []string{"m"}, PrefixCache: "hot"}, `prefix_cache: must be "cold" or "warm", got "hot"`},
		{Spec{Models: []string{"m"}, PrefixTokens: -2}, "prefix_tokens: must be between 0 and"},
		{Spec{Models: []string{"m"}, PrefixCache: "warm"}, `prefix_cache: "warm" needs prefix_tokens`},
		{Spec{Models: []string{"m"}, PrefixCache: "warm", PrefixTokens: 10, ConcurrencyList: []int{1, 2}}, "cannot be combined with a load sweep"},
	} {
		if _, err := c.spec.Validate(Check{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.spec, err, c.want)
		}
	}
}
