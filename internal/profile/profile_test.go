package profile

import (
	"testing"

	"flperf/internal/tokens"
)

func TestPromptOfTokensIsExactlyThatLong(t *testing.T) {
	for _, n := range []int{Prompt4kTokens, Prompt32kTokens, 100} {
		if got := tokens.Estimate(PromptOfTokens(n)); got != n {
			t.Errorf("PromptOfTokens(%d) holds %d tokens", n, got)
		}
	}
}

func TestStandardSuiteIsValid(t *testing.T) {
	s := StandardDefinition(DefaultSustain).Suite()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Name != "profile:standard/1" {
		t.Errorf("suite name %q", s.Name)
	}
}
