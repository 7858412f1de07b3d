package dataset

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"

	"flperf/internal/suite"
)

// Range is an inclusive range of estimated tokens; Max < 0 is unbounded.
type Range struct {
	Min, Max int
}

// contains reports whether n lies in r.
func (r Range) contains(n int) bool {
	return n >= r.Min && (r.Max < 0 || n <= r.Max)
}

// Filter keeps the entries whose estimated lengths lie in its ranges; a nil
// range does not filter.
type Filter struct {
	Input  *Range // estimated input tokens (Entry.InputTokens)
	Output *Range // expected output tokens (Entry.OutputTokens); an unknown one fails
}

// ParseFilter reads "input=A..B,output=C..D": each key at most once, each
// range "A..B", "A..", "..B" or "N" (exactly N), inclusive, in estimated
// tokens. "" is no filter.
func ParseFilter(s string) (Filter, error) {
	var f Filter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return f, fmt.Errorf("want key=range like input=..512, got %q", part)
		}
		r, err := parseRange(val)
		if err != nil {
			return f, fmt.Errorf("%s: %v", key, err)
		}
		var dst **Range
		switch key {
		case "input":
			dst = &f.Input
		case "output":
			dst = &f.Output
		default:
			return f, fmt.Errorf("unknown key %q (want input or output)", key)
		}
		if *dst != nil {
			return f, fmt.Errorf("%s given twice", key)
		}
		*dst = &r
	}
	return f, nil
}

// parseRange reads "A..B", "A..", "..B" or "N".
func parseRange(s string) (Range, error) {
	num := func(t string, def int) (int, error) {
		if t == "" {
			return def, nil
		}
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a token count (0 or more), got %q", t)
		}
		return n, nil
	}
	lo, hi, isRange := strings.Cut(s, "..")
	if !isRange {
		n, err := num(s, -1)
		if err != nil || n < 0 {
			return Range{}, fmt.Errorf("want a range like 16..512, 16.., ..512 or 128, got %q", s)
		}
		return Range{n, n}, nil
	}
	if lo == "" && hi == "" {
		return Range{}, fmt.Errorf("want a range like 16..512, 16.. or ..512, got %q", s)
	}
	a, err := num(lo, 0)
	if err != nil {
		return Range{}, err
	}
	b, err := num(hi, -1)
	if err != nil {
		return Range{}, err
	}
	if b >= 0 && b < a {
		return Range{}, fmt.Errorf("empty range %q", s)
	}
	return Range{a, b}, nil
}

// Keep returns the entries f lets through, in order.
func (f Filter) Keep(entries []Entry) []Entry {
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if f.Input != nil && !f.Input.contains(e.InputTokens()) {
			continue
		}
		if f.Output != nil {
			if o := e.OutputTokens(); o < 0 || !f.Output.contains(o) {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// Sample draws n of entries without replacement, in the seeded order of the
// draw: the same seed gives the same entries in the same order. n == 0
// keeps every entry in file order; n larger than len(entries) is an error.
func Sample(entries []Entry, n int, seed int64) ([]Entry, error) {
	switch {
	case n < 0:
		return nil, fmt.Errorf("must be 0 or more, got %d", n)
	case n == 0:
		return entries, nil
	case n > len(entries):
		return nil, fmt.Errorf("asks for %d entries, the dataset has %d (after filtering)", n, len(entries))
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x64617461736574)) // "dataset"
	perm := rng.Perm(len(entries))
	out := make([]Entry, n)
	for i := range out {
		out[i] = entries[perm[i]]
	}
	return out, nil
}

// Scenario turns entries of d into one scenario, "dataset - <file name>"
// in category "dataset", whose requests take the entries in turn.
func Scenario(d *Dataset, entries []Entry) suite.Scenario {
	name := d.Name()
	if utf8.RuneCountInString(name) > suite.MaxNameLen-len("dataset - ") {
		name = string([]rune(name)[:suite.MaxNameLen-len("dataset - ")])
	}
	sc := suite.Scenario{
		Name:        "dataset - " + name,
		Description: fmt.Sprintf("%d entries of %s (%s)", len(entries), d.Name(), d.Format),
		Category:    "dataset",
		Entries:     make([]suite.Entry, len(entries)),
	}
	for i, e := range entries {
		sc.Entries[i] = suite.Entry{ID: e.ID, Messages: e.Messages, MaxTokens: e.MaxTokens}
	}
	return sc
}
