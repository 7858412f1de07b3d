package bench

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"flperf/internal/load"
)

// TestSweepSpecs checks every way to ask for a sweep: the levels, sorted,
// in the configuration, with the mode they sweep and the first level as
// the run's concurrency or rate.
func TestSweepSpecs(t *testing.T) {
	for _, c := range []struct {
		name   string
		spec   Spec
		mode   load.Mode
		levels []float64
	}{
		{"concurrency list", Spec{ConcurrencyList: []int{8, 1, 4, 2}}, load.Concurrency, []float64{1, 2, 4, 8}},
		{"rate list", Spec{RateList: []float64{2, 0.5, 1}, Arrival: "poisson", MaxInFlight: intp(8)}, load.Rate, []float64{0.5, 1, 2}},
		{"concurrency range", Spec{Sweep: "concurrency=1..64"}, load.Concurrency, []float64{1, 2, 4, 8, 16, 32, 64}},
		{"uneven range", Spec{Sweep: "concurrency=1..48"}, load.Concurrency, []float64{1, 2, 4, 8, 16, 32, 48}},
		{"rate range", Spec{Sweep: "rate=0.5..8"}, load.Rate, []float64{0.5, 1, 2, 4, 8}},
		{"mode said", Spec{Mode: "concurrency", ConcurrencyList: []int{2, 3}}, load.Concurrency, []float64{2, 3}},
	} {
		c.spec.Models = []string{"m"}
		r, err := c.spec.Validate(Check{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		cfg := r.Config
		if cfg.Mode != c.mode || !slices.Equal(cfg.Levels, c.levels) {
			t.Fatalf("%s: mode %s levels %v, want %s %v", c.name, cfg.Mode, cfg.Levels, c.mode, c.levels)
		}
		if c.mode == load.Concurrency && cfg.Concurrency != int(c.levels[0]) || c.mode == load.Rate && cfg.Rate != c.levels[0] {
			t.Fatalf("%s: concurrency %d rate %g, want the first level %g", c.name, cfg.Concurrency, cfg.Rate, c.levels[0])
		}
		if got := len(cfg.Sweep()); got != len(c.levels) {
			t.Fatalf("%s: %d levels run, want %d", c.name, got, len(c.levels))
		}
	}
	// A list of one is that one value: the run of today, no sweep.
	r, err := (&Spec{Models: []string{"m"}, ConcurrencyList: nil, Concurrency: intp(4)}).Validate(Check{})
	if err != nil || r.Config.Levels != nil || r.Config.Concurrency != 4 || r.Config.Mode != load.Concurrency {
		t.Fatalf("one level: %+v, %v", r.Config, err)
	}
}

// TestSweepProblems checks that each bad sweep is refused with its field
// named, on the command line's terms or the API's.
func TestSweepProblems(t *testing.T) {
	flag := func(f string) string { return "--" + strings.ReplaceAll(f, "_", "-") }
	for _, c := range []struct {
		spec  Spec
		field string
		says  string
	}{
		{Spec{ConcurrencyList: []int{1, 0, 4}}, "concurrency", "between 1 and"},
		{Spec{ConcurrencyList: []int{1, 2, 2}}, "concurrency", "given twice"},
		{Spec{RateList: []float64{1, -2}}, "rate", "> 0"},
		{Spec{ConcurrencyList: []int{1, 2}, Concurrency: intp(3)}, "concurrency", "not both"},
		{Spec{ConcurrencyList: []int{1, 2}, Rate: floatp(3)}, "rate", "concurrency sweep"},
		{Spec{RateList: []float64{1, 2}, Concurrency: intp(3)}, "concurrency", "open loop"},
		{Spec{ConcurrencyList: []int{1, 2}, RateList: []float64{1, 2}}, "rate", "one of concurrency and rate"},
		{Spec{ConcurrencyList: []int{1, 2}, Sweep: "concurrency=1..4"}, "sweep", "one of concurrency and rate"},
		{Spec{ConcurrencyList: []int{1, 2}, Mode: "rate"}, "mode", "runs in concurrency mode"},
		{Spec{ConcurrencyList: []int{1, 2}, MaxInFlight: intp(2)}, "max_in_flight", "only used with"},
		{Spec{Sweep: "concurrency=4..1"}, "sweep", "LOW < HIGH"},
		{Spec{Sweep: "concurrency=1.5..4"}, "sweep", "whole numbers"},
		{Spec{Sweep: "tokens=1..4"}, "sweep", "concurrency or rate"},
		{Spec{Sweep: "concurrency=1-64"}, "sweep", "LOW..HIGH"},
		{Spec{Sweep: "rate=0.00001..1000000"}, "sweep", "doublings"},
		{Spec{Sweep: "concurrency=1..64", Concurrency: intp(2)}, "concurrency", "the sweep sets each level"},
		{Spec{ConcurrencyList: make([]int, 40)}, "concurrency", "at most 32 levels"},
	} {
		c.spec.Models = []string{"m"}
		for _, check := range []Check{{}, {Name: flag}} {
			_, err := c.spec.Validate(check)
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("%+v: error %v, want Problems", c.spec, err)
			}
			found := false
			for _, p := range probs {
				if p.Field == c.field && strings.Contains(p.Problem, c.says) && strings.HasPrefix(p.Error(), check.name(c.field)+": ") {
					found = true
				}
			}
			if !found {
				t.Fatalf("%+v: problems %q, want one on %s saying %q", c.spec, err, check.name(c.field), c.says)
			}
		}
	}
}

// TestSpecJSONLevels checks the API's form: "concurrency" and "rate" are
// one number or a list; anything else is refused naming the field.
func TestSpecJSONLevels(t *testing.T) {
	var s Spec
	if err := json.Unmarshal([]byte(`{"models":["m"],"concurrency":[1,2,4]}`), &s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.ConcurrencyList, []int{1, 2, 4}) || s.Concurrency != nil {
		t.Fatalf("list: %+v", s)
	}
	s = Spec{}
	if err := json.Unmarshal([]byte(`{"models":["m"],"rate":2.5,"sweep":""}`), &s); err != nil || s.Rate == nil || *s.Rate != 2.5 || s.RateList != nil {
		t.Fatalf("one rate: %+v, %v", s, err)
	}
	s = Spec{}
	if err := json.Unmarshal([]byte(`{"models":["m"],"rate":[0.5, 1]}`), &s); err != nil || !slices.Equal(s.RateList, []float64{0.5, 1}) {
		t.Fatalf("rate list: %+v, %v", s, err)
	}
	for _, c := range []struct{ body, field string }{
		{`{"concurrency":"4"}`, "concurrency"},
		{`{"concurrency":[1,"2"]}`, "concurrency"},
		{`{"concurrency":[1.5,2]}`, "concurrency"},
		{`{"rate":{"a":1}}`, "rate"},
		{`{"models":"m"}`, "models"},
	} {
		var s Spec
		err := json.Unmarshal([]byte(c.body), &s)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || te.Field != c.field {
			t.Fatalf("%s: error %v, want a type error on %s", c.body, err, c.field)
		}
	}
	if err := json.Unmarshal([]byte(`{"models":["m"],"concurency":[1,2]}`), &s); err == nil || !strings.Contains(err.Error(), `unknown field "concurency"`) {
		t.Fatalf("a misspelt field: %v", err)
	}
	// Written back, a list stays a list.
	b, err := json.Marshal(Spec{Models: []string{"m"}, ConcurrencyList: []int{1, 2}})
	if err != nil || !strings.Contains(string(b), `"concurrency":[1,2]`) {
		t.Fatalf("marshal: %s, %v", b, err)
	}
}
