package suite

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// MaxInputTokens is the largest input length a scenario or --input-tokens
// may ask for, in tokens.
const MaxInputTokens = 1 << 20

// Kinds of InputLength.
const (
	InputFixed   = "fixed"   // every request N tokens
	InputNormal  = "normal"  // normal(mean, stddev), rounded, clamped to ≥ 1
	InputUniform = "uniform" // uniform over [Min, Max], integers
)

// InputLength is a requested prompt length in the target model's own
// tokens, chat template included (README: Input lengths): a fixed N, a
// normal distribution "MEAN:STDDEV" or "uniform:A-B". Its JSON form is
// the number N or the string spec.
type InputLength struct {
	Kind     string // InputFixed, InputNormal or InputUniform
	N        int    // fixed length; the mean of a normal
	StdDev   int    // normal: the standard deviation
	Min, Max int    // uniform: the bounds, inclusive
}

// ParseInputLength reads "N", "MEAN:STDDEV" or "uniform:A-B"; every
// length must be between 1 and MaxInputTokens.
func ParseInputLength(s string) (InputLength, error) {
	s = strings.TrimSpace(s)
	num := func(what, v string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("%s: want a whole number of tokens, got %q", what, v)
		}
		if n < 1 || n > MaxInputTokens {
			return 0, fmt.Errorf("%s must be between 1 and %d tokens, got %d", what, MaxInputTokens, n)
		}
		return n, nil
	}
	if rest, ok := strings.CutPrefix(s, "uniform:"); ok {
		a, b, ok := strings.Cut(rest, "-")
		if !ok {
			return InputLength{}, fmt.Errorf("want uniform:A-B (e.g. uniform:256-2048), got %q", s)
		}
		lo, err := num("the lower bound", a)
		if err != nil {
			return InputLength{}, err
		}
		hi, err := num("the upper bound", b)
		if err != nil {
			return InputLength{}, err
		}
		if lo > hi {
			return InputLength{}, fmt.Errorf("uniform:%d-%d: the lower bound is above the upper one", lo, hi)
		}
		return InputLength{Kind: InputUniform, Min: lo, Max: hi}, nil
	}
	if m, sd, ok := strings.Cut(s, ":"); ok {
		mean, err := num("the mean", m)
		if err != nil {
			return InputLength{}, err
		}
		d, err := strconv.Atoi(strings.TrimSpace(sd))
		if err != nil || d < 0 || d > MaxInputTokens {
			return InputLength{}, fmt.Errorf("the standard deviation: want a whole number of tokens between 0 and %d, got %q", MaxInputTokens, sd)
		}
		return InputLength{Kind: InputNormal, N: mean, StdDev: d}, nil
	}
	n, err := num("the length", s)
	if err != nil {
		return InputLength{}, fmt.Errorf("%v (want N, MEAN:STDDEV or uniform:A-B)", err)
	}
	return InputLength{Kind: InputFixed, N: n}, nil
}

// String is the spec ParseInputLength reads back.
func (l InputLength) String() string {
	switch l.Kind {
	case InputNormal:
		return fmt.Sprintf("%d:%d", l.N, l.StdDev)
	case InputUniform:
		return fmt.Sprintf("uniform:%d-%d", l.Min, l.Max)
	}
	return strconv.Itoa(l.N)
}

// MarshalJSON writes a fixed length as a number, else the string spec.
func (l InputLength) MarshalJSON() ([]byte, error) {
	if l.Kind == InputFixed || l.Kind == "" {
		return []byte(strconv.Itoa(l.N)), nil
	}
	return json.Marshal(l.String())
}

// UnmarshalJSON reads a number or a string spec.
func (l *InputLength) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("input_tokens: want a number or a string like \"512:64\", got %s", b)
		}
		s = n.String()
	}
	v, err := ParseInputLength(s)
	if err != nil {
		return fmt.Errorf("input_tokens: %v", err)
	}
	*l = v
	return nil
}

// Fixed reports whether every request gets the same length.
func (l InputLength) Fixed() bool {
	return l.Kind == InputFixed || l.Kind == "" || (l.Kind == InputNormal && l.StdDev == 0) || (l.Kind == InputUniform && l.Min == l.Max)
}

// Lengths draws count request lengths with the run's seed; key (the
// scenario's name) gives each scenario its own draws. A fixed length
// returns one element: every request takes it.
func (l InputLength) Lengths(seed int64, key string, count int) []int {
	if l.Fixed() {
		switch l.Kind {
		case InputUniform:
			return []int{l.Min}
		}
		return []int{l.N}
	}
	count = max(count, 1)
	h := uint64(14695981039346656037) // FNV-1a of key
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	r := rand.New(rand.NewPCG(uint64(seed), h))
	out := make([]int, count)
	for i := range out {
		switch l.Kind {
		case InputNormal:
			v := math.Round(float64(l.N) + r.NormFloat64()*float64(l.StdDev))
			out[i] = int(max(1, min(v, MaxInputTokens)))
		default:
			out[i] = l.Min + r.IntN(l.Max-l.Min+1)
		}
	}
	return out
}
