package suite

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestBuiltinDefault(t *testing.T) {
	s, ok := Builtin("default")
	if !ok {
		t.Fatal(`Builtin("default") not found`)
	}
	if s.Source != "builtin:default" || s.Version != "1.0.0" || s.Name == "" {
		t.Errorf("source %q, version %q, name %q", s.Source, s.Version, s.Name)
	}
	want := []struct {
		name, category, length string
		maxTokens              int
	}{
		{"Simple Q&A - Short", "Simple Q&A", "short", 50},
		{"Simple Q&A - Medium", "Simple Q&A", "medium", 150},
		{"Reasoning - Logic Puzzle", "Reasoning", "medium", 200},
		{"Reasoning - Math Problem", "Reasoning", "medium", 150},
		{"Summarization - Short Text", "Summarization", "short", 100},
		{"Summarization - Technical Content", "Summarization", "medium", 150},
		{"Creative Writing", "Creative Writing", "short", 100},
		{"Code Generation", "Code Generation", "medium", 150},
		{"Long-form Response", "Long-form Response", "long", 300},
		{"Long Input - Prefill", "Long Input", "short", 100},
	}
	if len(s.Scenarios) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(s.Scenarios), len(want))
	}
	for i, w := range want {
		sc := s.Scenarios[i]
		if sc.Name != w.name || sc.Category != w.category || sc.ExpectedOutputLength != w.length ||
			sc.MaxTokens == nil || *sc.MaxTokens != w.maxTokens {
			t.Errorf("scenario %d = %q cat %q len %q max %v, want %+v",
				i+1, sc.Name, sc.Category, sc.ExpectedOutputLength, sc.MaxTokens, w)
		}
		if sc.Prompt == "" || sc.Description == "" {
			t.Errorf("scenario %q: empty prompt or description", sc.Name)
		}
		if sc.Temperature != nil || sc.System != "" || len(sc.Messages) != 0 {
			t.Errorf("scenario %q: sets extensions; the default suite should use the original's fields", sc.Name)
		}
	}
	long := s.Scenarios[9]
	if n := long.InputTokensEstimate(); n < 1800 || n > 2300 {
		t.Errorf("long-input estimate %d tokens, want 1800..2300", n)
	}
	for _, sc := range s.Scenarios[:9] {
		if n := sc.InputTokensEstimate(); n >= 300 {
			t.Errorf("scenario %q: %d input tokens; only the long-input scenario should be long", sc.Name, n)
		}
	}
	dc := s.DefaultConfig
	if dc == nil || *dc.Iterations != 5 || *dc.Concurrency != 1 || *dc.Timeout != 60000 ||
		*dc.Temperature != 0.7 || !*dc.Streaming {
		t.Errorf("default_config = %+v", dc)
	}
}

func TestBuiltinNamesAllParse(t *testing.T) {
	names := BuiltinNames()
	if len(names) == 0 || names[0] != "default" {
		t.Fatalf("BuiltinNames() = %v", names)
	}
	for _, n := range names {
		s, ok := Builtin(n)
		if !ok {
			t.Fatalf("Builtin(%q) missing", n)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("Builtin(%q).Validate(): %v", n, err)
		}
	}
	if _, ok := Builtin("nope"); ok {
		t.Error(`Builtin("nope") found`)
	}
}

func TestBuiltinReturnsCopies(t *testing.T) {
	a, _ := Builtin("default")
	*a.Scenarios[0].MaxTokens = 7
	a.Scenarios[0].Name = "changed"
	*a.DefaultConfig.Iterations = 99
	a.Scenarios = a.Scenarios[:1]
	b, _ := Builtin("default")
	if b.Scenarios[0].Name != "Simple Q&A - Short" || *b.Scenarios[0].MaxTokens != 50 ||
		*b.DefaultConfig.Iterations != 5 || len(b.Scenarios) != 10 {
		t.Error("mutating a returned builtin changed the next one")
	}
}

func TestBuiltinRoundTrip(t *testing.T) {
	s, _ := Builtin("default")
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("builtin:default", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, back) {
		t.Error("builtin suite changed in a Marshal → Parse round trip")
	}
}
