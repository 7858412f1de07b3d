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
	for v := OldestStandardVersion; v <= StandardVersion; v++ {
		s := StandardOf(v, DefaultSustain).Suite()
		if err := s.Validate(); err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		if want := "profile:standard/" + string(rune('0'+v)); s.Name != want {
			t.Errorf("suite name %q, want %q", s.Name, want)
		}
	}
	if d := StandardDefinition(DefaultSustain); d.Version != StandardVersion || d.Reference.Name != StandardReference.Name {
		t.Errorf("the newest definition is version %d against %s", d.Version, d.Reference.Name)
	}
}

func TestEveryVersionHasItsReference(t *testing.T) {
	for v := OldestStandardVersion; v <= StandardVersion; v++ {
		ref, ok := StandardReferences[v]
		if !ok || ref.Name != "reference-laptop/"+string(rune('0'+v)) {
			t.Errorf("version %d: reference %q", v, ref.Name)
		}
		for _, f := range Figures {
			if _, has := ref.Figures[f.Key]; has != f.Scored {
				t.Errorf("version %d: figure %s scored %v, in the reference %v", v, f.Key, f.Scored, has)
			}
		}
	}
}
