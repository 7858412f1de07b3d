package suite

import (
	"fmt"
	"strings"
	"unicode"
)

// Select returns copies of the scenarios named in names, in suite order and
// without repeats; an empty list selects them all. A name matches a
// scenario exactly, or else ignoring case, or else as the unique scenario it
// starts (ignoring case), so "reasoning - m" selects "Reasoning - Math
// Problem". Unknown or ambiguous names are all reported in one error that
// lists the available scenarios.
func (s *Suite) Select(names []string) ([]Scenario, error) {
	if len(names) == 0 {
		out := make([]Scenario, len(s.Scenarios))
		for i := range s.Scenarios {
			out[i] = s.Scenarios[i].clone()
		}
		return out, nil
	}
	picked := make([]bool, len(s.Scenarios))
	var problems []string
	for _, raw := range names {
		i, err := s.find(strings.TrimSpace(raw))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		picked[i] = true
	}
	if len(problems) > 0 {
		avail := make([]string, len(s.Scenarios))
		for i := range s.Scenarios {
			avail[i] = fmt.Sprintf("%q", s.Scenarios[i].Name)
		}
		return nil, fmt.Errorf("suite %q: %s; available scenarios: %s",
			s.Name, strings.Join(problems, "; "), strings.Join(avail, ", "))
	}
	var out []Scenario
	for i, ok := range picked {
		if ok {
			out = append(out, s.Scenarios[i].clone())
		}
	}
	return out, nil
}

// find returns the index of the scenario that name designates.
func (s *Suite) find(name string) (int, error) {
	if name == "" {
		return -1, fmt.Errorf("empty scenario name")
	}
	for i := range s.Scenarios {
		if s.Scenarios[i].Name == name {
			return i, nil
		}
	}
	key := fold(name)
	var prefixed []int
	for i := range s.Scenarios {
		f := fold(s.Scenarios[i].Name)
		if f == key {
			return i, nil
		}
		if strings.HasPrefix(f, key) {
			prefixed = append(prefixed, i)
		}
	}
	switch len(prefixed) {
	case 0:
		return -1, fmt.Errorf("no scenario %q", name)
	case 1:
		return prefixed[0], nil
	}
	matches := make([]string, len(prefixed))
	for j, i := range prefixed {
		matches[j] = fmt.Sprintf("%q", s.Scenarios[i].Name)
	}
	return -1, fmt.Errorf("%q is ambiguous: it could be %s", name, strings.Join(matches, " or "))
}

// fold maps s to a case-folded key: two strings have the same key exactly
// when strings.EqualFold says they are equal, and folding is rune by rune so
// prefixes are preserved.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune returns the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
