package bench

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestSpecRetries checks the retries field: 0–10 accepted into the run's
// Config and its repeat command, anything else refused with a problem
// naming the field the caller's way.
func TestSpecRetries(t *testing.T) {
	s := Spec{Models: []string{"m"}, Retries: intp(3)}
	r, err := s.Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Config.Retries != 3 {
		t.Errorf("Config.Retries %d, want 3", r.Config.Retries)
	}
	cmd := repeatCommand(&r.Config, &s, true)
	if i := slices.Index(cmd, "--retries"); i < 0 || i+1 >= len(cmd) || cmd[i+1] != "3" {
		t.Errorf("repeat command %q lacks --retries 3", cmd)
	}
	if r, err := (&Spec{Models: []string{"m"}}).Validate(Check{}); err != nil || r.Config.Retries != 0 || slices.Contains(repeatCommand(&r.Config, &Spec{}, true), "--retries") {
		t.Errorf("default: retries %d (%v): want 0 and no flag", r.Config.Retries, err)
	}
	flag := func(f string) string { return "--" + f }
	for _, n := range []int{-1, 11} {
		for _, check := range []Check{{}, {Name: flag}} {
			_, err := (&Spec{Models: []string{"m"}, Retries: intp(n)}).Validate(check)
			var probs Problems
			if !errors.As(err, &probs) || len(probs) != 1 || probs[0].Field != "retries" ||
				!strings.HasPrefix(probs[0].Error(), check.name("retries")+": must be between 0 and 10") {
				t.Errorf("retries %d: %v", n, err)
			}
		}
	}
}
