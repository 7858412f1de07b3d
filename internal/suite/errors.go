package suite

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxProblems caps how many problems one ValidationError keeps; the rest
// are only counted.
const maxProblems = 100

// Problem is one thing wrong with a suite document.
type Problem struct {
	// Scenario is the 1-based position of the scenario in "scenarios", or 0
	// for a problem with the suite itself.
	Scenario int
	// ScenarioName is that scenario's name, when it has one.
	ScenarioName string
	// Field is the JSON path of the offending value below the suite or the
	// scenario, e.g. "max_tokens", "messages[1].role" (array indexes are
	// 0-based) or the unknown key itself; "" for the document as a whole.
	Field string
	// Message says what is wrong.
	Message string
}

// String formats the problem as `scenario 3 ("Code"): max_tokens: message`.
func (p Problem) String() string {
	var b strings.Builder
	if p.Scenario > 0 {
		fmt.Fprintf(&b, "scenario %d", p.Scenario)
		if p.ScenarioName != "" {
			fmt.Fprintf(&b, " (%q)", shorten(p.ScenarioName, 60))
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError reports every problem found in one suite document.
type ValidationError struct {
	Source   string    // where the document came from, as given to Parse
	Problems []Problem // in document order: the suite's first, then each scenario's
	Omitted  int       // further problems not kept (beyond the first 100)
}

// Error lists the problems one per line, each prefixed with the source:
// `suite "x.json": scenario 3 ("Code"): max_tokens: must be between 1 and 131072, got 0`.
func (e *ValidationError) Error() string {
	prefix := fmt.Sprintf("suite %q: ", e.Source)
	lines := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		lines = append(lines, prefix+p.String())
	}
	if e.Omitted > 0 {
		lines = append(lines, fmt.Sprintf("%s… and %d more problems", prefix, e.Omitted))
	}
	if len(lines) == 0 {
		return prefix + "invalid"
	}
	return strings.Join(lines, "\n")
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
