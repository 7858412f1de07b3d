package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"flperf/internal/load"
)

// MaxLevels bounds the load levels of one sweep: each is a stage of every
// model × scenario.
const MaxLevels = 32

// UnmarshalJSON reads a run request: "concurrency" and "rate" are each one
// number or a list of numbers (a sweep: [1, 2, 4]). Unknown fields are
// refused, as the app's API refuses them everywhere.
func (s *Spec) UnmarshalJSON(b []byte) error {
	type plain Spec
	var w struct {
		*plain
		Concurrency json.RawMessage `json:"concurrency"`
		Rate        json.RawMessage `json:"rate"`
	}
	*s = Spec{}
	w.plain = (*plain)(s)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			te.Field = strings.TrimPrefix(te.Field, "plain.")
		}
		return err
	}
	if err := numberOrList(w.Concurrency, "concurrency", &s.Concurrency, &s.ConcurrencyList); err != nil {
		return err
	}
	return numberOrList(w.Rate, "rate", &s.Rate, &s.RateList)
}

// MarshalJSON writes a run request as UnmarshalJSON reads it.
func (s Spec) MarshalJSON() ([]byte, error) {
	type plain Spec
	w := struct {
		plain
		Concurrency any `json:"concurrency,omitempty"`
		Rate        any `json:"rate,omitempty"`
	}{plain: plain(s)}
	switch {
	case len(s.ConcurrencyList) > 0:
		w.Concurrency = s.ConcurrencyList
	case s.Concurrency != nil:
		w.Concurrency = *s.Concurrency
	}
	switch {
	case len(s.RateList) > 0:
		w.Rate = s.RateList
	case s.Rate != nil:
		w.Rate = *s.Rate
	}
	return json.Marshal(w)
}

// numberOrList decodes raw (absent or null: nothing) into one value or a
// list of two or more; a list of one is that one value.
func numberOrList[T int | float64](raw json.RawMessage, field string, one **T, list *[]T) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var t T
	typeErr := func(what string) error {
		return &json.UnmarshalTypeError{Value: what, Type: reflect.TypeOf(t), Field: field}
	}
	if raw[0] == '[' {
		var vs []T
		if err := json.Unmarshal(raw, &vs); err != nil {
			return typeErr("a list holding " + jsonKind(raw))
		}
		if len(vs) == 1 {
			*one = &vs[0]
			return nil
		}
		*list = vs
		return nil
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return typeErr(jsonKind(raw))
	}
	*one = &t
	return nil
}

// jsonKind names the kind of the JSON value raw, for a message.
func jsonKind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case 't', 'f':
		return "bool"
	case '[':
		return "array"
	}
	return "number " + string(raw)
}

// ParseSweep reads a sweep given as a range, "concurrency=1..64" or
// "rate=0.5..8": the levels double from the first until the last, which is
// always a level ("concurrency=1..48": 1, 2, 4, 8, 16, 32, 48).
func ParseSweep(spec string) (load.Mode, []float64, error) {
	dim, rng, ok := strings.Cut(strings.TrimSpace(spec), "=")
	lo, hi, ok2 := strings.Cut(rng, "..")
	if !ok || !ok2 {
		return "", nil, fmt.Errorf("want concurrency=LOW..HIGH or rate=LOW..HIGH (levels double from LOW to HIGH), got %q", spec)
	}
	mode := load.Mode(strings.TrimSpace(dim))
	if mode != load.Concurrency && mode != load.Rate {
		return "", nil, fmt.Errorf("sweeps concurrency or rate, got %q", dim)
	}
	a, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	b, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
	switch {
	case err1 != nil || err2 != nil || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(b, 0):
		return "", nil, fmt.Errorf("want two numbers LOW..HIGH, got %q", rng)
	case a <= 0 || b <= a:
		return "", nil, fmt.Errorf("want 0 < LOW < HIGH, got %q", rng)
	case mode == load.Concurrency && (a != math.Trunc(a) || b != math.Trunc(b)):
		return "", nil, fmt.Errorf("concurrency levels are whole numbers, got %q", rng)
	}
	var levels []float64
	for v := a; v < b && len(levels) <= MaxLevels; v *= 2 {
		levels = append(levels, v)
	}
	levels = append(levels, b)
	if len(levels) > MaxLevels {
		return "", nil, fmt.Errorf("%s..%s is more than %d doublings", lo, hi, MaxLevels)
	}
	return mode, levels, nil
}

// sweepLevels works out the sweep of a Spec: its mode and its levels,
// ascending (nil: a run of one level). It reports the problems it finds
// through bad, each naming its field.
func (r *Resolved) sweepLevels(bad func(field, format string, a ...any)) (load.Mode, []float64) {
	s, n := &r.Spec, r.check.name
	var mode load.Mode
	var levels []float64
	given := 0
	if len(s.ConcurrencyList) > 0 {
		given++
		mode = load.Concurrency
		for _, c := range s.ConcurrencyList {
			levels = append(levels, float64(c))
		}
		if s.Concurrency != nil {
			bad("concurrency", "give one value or a list, not both")
		}
	}
	if len(s.RateList) > 0 {
		given++
		mode, levels = load.Rate, slices.Clone(s.RateList)
		if s.Rate != nil {
			bad("rate", "give one value or a list, not both")
		}
	}
	if s.Sweep != "" {
		given++
		m, ls, err := ParseSweep(s.Sweep)
		if err != nil {
			bad("sweep", "%v", err)
			return "", nil
		}
		mode, levels = m, ls
		if m == load.Concurrency && s.Concurrency != nil {
			bad("concurrency", "not used with %s (the sweep sets each level)", n("sweep"))
		}
		if m == load.Rate && s.Rate != nil {
			bad("rate", "not used with %s (the sweep sets each level)", n("sweep"))
		}
	}
	if given == 0 {
		return "", nil
	}
	field := string(mode)
	if s.Sweep != "" {
		field = "sweep"
	}
	if given > 1 {
		bad(field, "sweep one of concurrency and rate, one way: a list or %s", n("sweep"))
		return "", nil
	}
	if mode == load.Concurrency && s.Rate != nil {
		bad("rate", "not used with a concurrency sweep (%s)", n("concurrency"))
	}
	if s.Mode != "" && load.Mode(s.Mode) != mode {
		bad("mode", "a %s sweep runs in %s mode, got %q", mode, mode, s.Mode)
	}
	if len(levels) > MaxLevels {
		bad(field, "at most %d levels, got %d", MaxLevels, len(levels))
		return "", nil
	}
	seen := map[float64]bool{}
	for _, v := range levels {
		switch {
		case mode == load.Concurrency && (v < 1 || v > load.MaxWorkers):
			bad(field, "each level must be between 1 and %d, got %g", load.MaxWorkers, v)
			return "", nil
		case mode == load.Rate && (math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v > load.MaxRate):
			bad(field, "each level must be a number > 0 and <= %g requests per second, got %g", load.MaxRate, v)
			return "", nil
		case seen[v]:
			bad(field, "level %g is given twice", v)
			return "", nil
		}
		seen[v] = true
	}
	slices.Sort(levels)
	return mode, levels
}

// levelList is a sweep's levels as the command line takes them ("1,2,4"),
// or one when there is no sweep.
func levelList(levels []float64, one string) string {
	if len(levels) == 0 {
		return one
	}
	parts := make([]string, len(levels))
	for i, v := range levels {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}
