package suite

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestParseInputLength(t *testing.T) {
	for in, want := range map[string]InputLength{
		"512":              {Kind: InputFixed, N: 512},
		" 512:64 ":         {Kind: InputNormal, N: 512, StdDev: 64},
		"512:0":            {Kind: InputNormal, N: 512},
		"uniform:256-2048": {Kind: InputUniform, Min: 256, Max: 2048},
		"uniform:7-7":      {Kind: InputUniform, Min: 7, Max: 7},
	} {
		got, err := ParseInputLength(in)
		if err != nil || got != want {
			t.Errorf("ParseInputLength(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if back, err := ParseInputLength(got.String()); err != nil || back != got {
			t.Errorf("%q does not read back: %+v %v", got.String(), back, err)
		}
	}
	for in, msg := range map[string]string{
		"":              "want a whole number",
		"0":             "between 1 and",
		"abc":           "want N, MEAN:STDDEV or uniform:A-B",
		"2000000":       "between 1 and 1048576",
		"512:-1":        "standard deviation",
		"512:x":         "standard deviation",
		"uniform:5":     "want uniform:A-B",
		"uniform:9-3":   "lower bound is above",
		"uniform:0-3":   "the lower bound must be between",
		"uniform:3-x":   "the upper bound",
		"0:10":          "the mean must be between",
		"-5":            "between 1 and",
		"uniform:-3-10": "the lower bound",
	} {
		if _, err := ParseInputLength(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseInputLength(%q): %v, want %q", in, err, msg)
		}
	}
}

// TestInputLengths: draws are seeded (same seed and scenario, same
// lengths; another scenario, others), within bounds, clamped to ≥ 1.
func TestInputLengths(t *testing.T) {
	n := InputLength{Kind: InputNormal, N: 10, StdDev: 50}
	a, b := n.Lengths(1, "s", 200), n.Lengths(1, "s", 200)
	if !slices.Equal(a, b) || slices.Equal(a, n.Lengths(1, "t", 200)) || slices.Equal(a, n.Lengths(2, "s", 200)) {
		t.Fatal("draws not seeded per seed and scenario")
	}
	if slices.Min(a) != 1 {
		t.Errorf("normal 10:50 never clamped to 1: min %d", slices.Min(a))
	}
	u := InputLength{Kind: InputUniform, Min: 3, Max: 5}.Lengths(7, "s", 300)
	if slices.Min(u) != 3 || slices.Max(u) != 5 {
		t.Errorf("uniform 3-5 drew %d..%d", slices.Min(u), slices.Max(u))
	}
	if got := (InputLength{Kind: InputFixed, N: 9}).Lengths(1, "s", 50); !slices.Equal(got, []int{9}) {
		t.Errorf("fixed: %v", got)
	}
}

// TestInputTokensField: the scenario field reads a number or a spec,
// round-trips through JSON, replaces the prompt, and bad values are named.
func TestInputTokensField(t *testing.T) {
	s, err := Parse("t.json", []byte(`{"name":"x","scenarios":[
		{"name":"a","input_tokens":512,"system":"Be terse.","max_tokens":8},
		{"name":"b","input_tokens":"256:32"},
		{"name":"c","prompt":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if l := s.Scenarios[0].InputTokens; l == nil || *l != (InputLength{Kind: InputFixed, N: 512}) {
		t.Errorf("a: %+v", l)
	}
	if l := s.Scenarios[1].InputTokens; l == nil || l.String() != "256:32" {
		t.Errorf("b: %+v", l)
	}
	if s.Scenarios[2].InputTokens != nil {
		t.Error("c has an input length")
	}
	b, _ := json.Marshal(s.Scenarios[:2])
	if !strings.Contains(string(b), `"input_tokens":512`) || !strings.Contains(string(b), `"input_tokens":"256:32"`) {
		t.Errorf("JSON: %s", b)
	}
	var back []Scenario
	if err := json.Unmarshal(b, &back); err != nil || back[1].InputTokens.String() != "256:32" {
		t.Errorf("JSON back: %v %+v", err, back)
	}
	if c := s.Clone(); c.Scenarios[0].InputTokens == s.Scenarios[0].InputTokens {
		t.Error("Clone shares input_tokens")
	}

	_, err = Parse("t.json", []byte(`{"name":"x","scenarios":[
		{"name":"a","input_tokens":0},
		{"name":"b","input_tokens":"lots"},
		{"name":"c","input_tokens":true},
		{"name":"d","input_tokens":100,"prompt":"hi"}]}`))
	if err == nil {
		t.Fatal("bad input_tokens accepted")
	}
	for _, want := range []string{
		`scenario 1 ("a"): input_tokens: the length must be between 1`,
		`scenario 2 ("b"): input_tokens: the length: want a whole number`,
		`scenario 3 ("c"): input_tokens: must be a number or a string`,
		`scenario 4 ("d"): input_tokens: replaces the prompt`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// FuzzParseInputLength: any spec is a length within bounds that reads
// back from its String, or an error; never a panic.
func FuzzParseInputLength(f *testing.F) {
	for _, s := range []string{"512", "512:64", "uniform:256-2048", "uniform:-", ":", "9999999999999999999", "1:1:1", "uniform:3-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseInputLength(s)
		if err != nil {
			return
		}
		back, err := ParseInputLength(l.String())
		if err != nil || back != l {
			t.Fatalf("%q → %+v → %q → %+v %v", s, l, l.String(), back, err)
		}
		for _, n := range l.Lengths(1, "s", 20) {
			if n < 1 || n > MaxInputTokens {
				t.Fatalf("%q drew %d", s, n)
			}
		}
	})
}
