package suite

import (
	"strings"
	"testing"
)

func names(scs []Scenario) string {
	var n []string
	for _, sc := range scs {
		n = append(n, sc.Name)
	}
	return strings.Join(n, "|")
}

func TestSelect(t *testing.T) {
	s, _ := Builtin("default")
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"Code Generation"}, "Code Generation"},
		{[]string{"code generation"}, "Code Generation"},
		{[]string{" reasoning - l "}, "Reasoning - Logic Puzzle"},
		{[]string{"Long-form Response", "Simple Q&A - Short"}, "Simple Q&A - Short|Long-form Response"},
		{[]string{"long i", "Long Input - Prefill", "LONG INPUT"}, "Long Input - Prefill"},
	}
	for _, tc := range cases {
		got, err := s.Select(tc.in)
		if err != nil || names(got) != tc.want {
			t.Errorf("Select(%q) = %q, %v; want %q", tc.in, names(got), err, tc.want)
		}
	}
	all, err := s.Select(nil)
	if err != nil || len(all) != 10 || all[0].Name != "Simple Q&A - Short" {
		t.Errorf("Select(nil) = %d scenarios, %v", len(all), err)
	}
}

func TestSelectErrors(t *testing.T) {
	s, _ := Builtin("default")
	_, err := s.Select([]string{"Reasoning", "Translation", "Code Generation", ""})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`"Reasoning" is ambiguous: it could be "Reasoning - Logic Puzzle" or "Reasoning - Math Problem"`,
		`no scenario "Translation"`,
		"empty scenario name",
		`available scenarios: "Simple Q&A - Short", "Simple Q&A - Medium"`,
		`"Long Input - Prefill"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestSelectExactBeatsPrefix(t *testing.T) {
	s := &Suite{Name: "t", Scenarios: []Scenario{{Name: "Code Review"}, {Name: "Code"}, {Name: "code golf"}}}
	for in, want := range map[string]string{"Code": "Code", "CODE": "Code", "code g": "code golf"} {
		got, err := s.Select([]string{in})
		if err != nil || names(got) != want {
			t.Errorf("Select(%q) = %q, %v; want %q", in, names(got), err, want)
		}
	}
	if _, err := s.Select([]string{"co"}); err == nil {
		t.Error(`ambiguous "co" accepted`)
	}
}

func TestSelectReturnsCopies(t *testing.T) {
	s, _ := Builtin("default")
	got, _ := s.Select([]string{"Code Generation"})
	*got[0].MaxTokens = 1
	if *s.Scenarios[7].MaxTokens != 150 {
		t.Error("changing a selected scenario changed the suite")
	}
}

func TestFoldMatchesEqualFold(t *testing.T) {
	pairs := [][2]string{{"K", "\u212A"}, {"ß", "ẞ"}, {"Σ", "ς"}, {"ǅ", "ǆ"}, {"a", "b"}, {"İ", "i"}}
	for _, p := range pairs {
		if (fold(p[0]) == fold(p[1])) != strings.EqualFold(p[0], p[1]) {
			t.Errorf("fold disagrees with EqualFold on %q, %q", p[0], p[1])
		}
	}
}
