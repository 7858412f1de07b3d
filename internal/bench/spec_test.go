package bench

import (
	"errors"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/suite"
)

func intp(n int) *int           { return &n }
func floatp(f float64) *float64 { return &f }

// TestValidateDefaults checks the defaults of an almost empty Spec: the
// default suite, every scenario, 5 requests, one warm-up, 60 s, streamed,
// cache busting, sequential, a random seed.
func TestValidateDefaults(t *testing.T) {
	r, err := (&Spec{Models: []string{"m"}}).Validate(Check{ModelsRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Config
	def, _ := suite.Builtin("default")
	if c.Suite != "default" || len(c.Scenarios) != len(def.Scenarios) || c.Requests != 5 || c.Warmup != 1 ||
		time.Duration(c.Timeout) != time.Minute || !c.Stream || !c.CacheBust || c.Mode != load.Sequential || c.Concurrency != 1 {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Temperature != nil || c.MaxTokens != 0 {
		t.Fatalf("overrides set without being asked: %+v", c)
	}
}

// TestValidateSuiteDefaults checks that a suite's default_config applies
// only where the Spec says nothing.
func TestValidateSuiteDefaults(t *testing.T) {
	st, err := suite.Parse("mine.json", []byte(`{"name":"mine","scenarios":[{"name":"a","prompt":"x"},{"name":"b","prompt":"y","temperature":0.2}],
		"default_config":{"iterations":7,"timeout":5000,"temperature":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	find := func(string) (*suite.Suite, error) { return st.Clone(), nil }
	r, err := (&Spec{Models: []string{"m"}}).Validate(Check{Suite: find})
	if err != nil {
		t.Fatal(err)
	}
	if r.Config.Requests != 7 || time.Duration(r.Config.Timeout) != 5*time.Second {
		t.Fatalf("suite defaults not applied: %+v", r.Config)
	}
	if *r.Scenarios[0].Temperature != 0 || *r.Scenarios[1].Temperature != 0.2 {
		t.Fatalf("temperatures: %v %v", *r.Scenarios[0].Temperature, *r.Scenarios[1].Temperature)
	}
	r, err = (&Spec{Models: []string{"m"}, Duration: "1s", Timeout: "2s"}).Validate(Check{Suite: find})
	if err != nil {
		t.Fatal(err)
	}
	if r.Config.Requests != 0 || time.Duration(r.Config.Duration) != time.Second || time.Duration(r.Config.Timeout) != 2*time.Second {
		t.Fatalf("given values lost to the suite's defaults: %+v", r.Config)
	}
}

// TestValidateModes checks the load mode inferred or given.
func TestValidateModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Spec
		want string
	}{
		{"concurrency inferred", Spec{Concurrency: intp(4)}, "concurrency=4"},
		{"rate inferred", Spec{Rate: floatp(5), Arrival: "poisson", MaxInFlight: intp(3)}, "rate=5/s poisson cap=3"},
		{"explicit concurrency of 1", Spec{Mode: "concurrency"}, "concurrency=1"},
		{"explicit sequential", Spec{Mode: "sequential", Concurrency: intp(1)}, "sequential"},
		{"explicit rate", Spec{Mode: "rate", Rate: floatp(2)}, "rate=2/s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.Models = []string{"m"}
			r, err := s.Validate(Check{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Config.Plan().String(); got != tc.want {
				t.Fatalf("plan %q, want %q", got, tc.want)
			}
		})
	}
}

// TestValidateProblems checks that every problem is reported at once, each
// with its field, named the caller's way.
func TestValidateProblems(t *testing.T) {
	s := Spec{
		Models:      []string{"ok", "a\nb", ""},
		Scenarios:   []string{"Nope"},
		Mode:        "rate",
		Concurrency: intp(2),
		Requests:    intp(-1),
		Warmup:      intp(0),
		Cold:        true,
		Timeout:     "-1s",
		Duration:    "soon",
		MaxTokens:   -3,
		Temperature: floatp(2.5),
		SLO:         "ttft=fast",
	}
	_, err := s.Validate(Check{ModelsRequired: true})
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("error %T %v, want Problems", err, err)
	}
	fields := map[string]bool{}
	for _, e := range p {
		fields[e.Field] = true
		if !strings.HasPrefix(e.Error(), e.Field+": ") {
			t.Errorf("%q does not start with its field %q", e.Error(), e.Field)
		}
	}
	for _, f := range []string{"models", "scenarios", "concurrency", "rate", "requests", "cold", "timeout", "duration", "max_tokens", "temperature", "slo"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s:\n%v", f, err)
		}
	}
	if !strings.Contains(err.Error(), "not used with rate (an open loop); cap requests in flight with max_in_flight") {
		t.Errorf("fields in messages are not named the caller's way:\n%v", err)
	}
	// The command line names them by flag.
	flags := func(f string) string { return "--" + strings.ReplaceAll(f, "_", "-") }
	_, err = s.Validate(Check{Name: flags})
	if !strings.Contains(err.Error(), "--concurrency: not used with --rate") || !strings.Contains(err.Error(), "--max-tokens: must be") {
		t.Errorf("flag names not used:\n%v", err)
	}
}

// TestValidateRefusesAbsurdRuns checks the limits a hostile request hits.
func TestValidateRefusesAbsurdRuns(t *testing.T) {
	many := make([]string, MaxModels+1)
	for i := range many {
		many[i] = "m"
	}
	for _, s := range []Spec{
		{Models: many},
		{Models: []string{strings.Repeat("x", MaxModelLen+1)}},
		{Models: []string{"m"}, Requests: intp(MaxRequests + 1)},
		{Models: []string{"m"}, Warmup: intp(MaxWarmup + 1)},
		{Models: []string{"m"}, Mode: "warp"},
		{Models: []string{"m"}, Concurrency: intp(load.MaxWorkers + 1)},
		{Models: nil},
	} {
		if _, err := s.Validate(Check{ModelsRequired: true}); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

// TestCheckEngine checks the engine-dependent refusals, made without
// contacting the engine.
func TestCheckEngine(t *testing.T) {
	r, err := (&Spec{Models: []string{"m"}, OllamaNative: true, Cold: true}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	err = r.CheckEngine(engine.Info{Kind: engine.VLLM, Endpoint: "http://127.0.0.1:1/v1"})
	var p Problems
	if !errors.As(err, &p) || len(p) != 2 || p[0].Field != "ollama_native" || p[1].Field != "cold" {
		t.Fatalf("vLLM: %v", err)
	}
	err = r.CheckEngine(engine.Info{Kind: engine.Ollama, Endpoint: "http://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatalf("Ollama can do both: %v", err)
	}
}

// TestRepeatCommand checks the command line that repeats a run.
func TestRepeatCommand(t *testing.T) {
	r, err := (&Spec{Models: []string{"a", "b"}, Scenarios: []string{"simple q&a - short"}, Rate: floatp(2.5), MaxInFlight: intp(4),
		Temperature: floatp(0), Seed: new(int64), Cold: true}).Validate(Check{})
	if err != nil {
		t.Fatal(err)
	}
	r.Config.Endpoint = "http://127.0.0.1:9/v1"
	got := strings.Join(repeatCommand(&r.Config, &r.Spec, false), " ")
	want := "flperf run --endpoint http://127.0.0.1:9/v1 --model a --model b --suite default --scenario Simple Q&A - Short --requests 5 " +
		"--rate 2.5 --arrival constant --max-in-flight 4 --warmup 1 --timeout 1m0s --temperature 0 --cold --seed 0"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestSpecDatasetRefusedByApp checks that a Spec naming a dataset is
// refused where the caller reads none (the app), and that the dataset
// flags without a dataset are refused too.
func TestSpecDatasetRefusedByApp(t *testing.T) {
	seed := int64(1)
	s := Spec{Models: []string{"m"}, Dataset: "/etc/passwd", Seed: &seed}
	if _, err := s.Validate(Check{}); err == nil || !strings.Contains(err.Error(), "dataset: datasets are read by the command line only") {
		t.Errorf("app dataset: %v", err)
	}
	s = Spec{Models: []string{"m"}, DatasetSample: 3, Seed: &seed}
	if _, err := s.Validate(Check{}); err == nil || !strings.Contains(err.Error(), "dataset_sample and dataset_filter need dataset") {
		t.Errorf("sample without dataset: %v", err)
	}
}
