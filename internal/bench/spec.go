// Package bench is the one place that turns a run request into a ready
// runner.Runner, for `flperf run` and for the web app's POST /api/v1/runs
// alike: a Spec (the request, with the same defaults and validation for
// both), the engine it measures (Choose, Find, StartSim), and Prepare, which
// builds the client, picks default models, loads and resolves models, and
// wires the cold-start step, the metrics scraper and the command line that
// repeats the run. It also holds the stored-run operations that the command
// line and the app must answer identically: Compare and Export.
//
// Nothing here writes to the terminal: messages go through a Logf callback.
package bench

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"flperf/internal/dataset"
	"flperf/internal/load"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/suite"
	"flperf/internal/telemetry"
)

// Logf receives a message for the user: level is "info", "warn" or "error".
type Logf func(level, msg string)

// log calls l when it is set.
func (l Logf) log(level, format string, a ...any) {
	if l != nil {
		l(level, fmt.Sprintf(format, a...))
	}
}

// Limits beyond those of load.Plan and suite, so that a hostile request
// cannot ask for an absurd run.
const (
	MaxModels    = 100         // models in one run
	MaxModelLen  = 512         // bytes of one model id
	MaxRequests  = 100_000_000 // measured requests per model × scenario
	MaxWarmup    = 100_000     // warm-up requests per model
	MaxMaxTokens = 1 << 20     // max_tokens override
)

// Spec is a run request: the RunSpec of the app's API, which `flperf run`
// fills from its flags. A nil pointer (or an empty string) is "not given",
// so that the defaults apply exactly where nothing was said, and 0 stays a
// value (temperature 0 is sent as 0).
type Spec struct {
	Engine      string   `json:"engine,omitempty"` // app: the engine's id (the command line chooses with Choice instead)
	Models      []string `json:"models"`
	Suite       string   `json:"suite,omitempty"`       // default "default"
	Scenarios   []string `json:"scenarios,omitempty"`   // names or unique prefixes; empty: all
	Mode        string   `json:"mode,omitempty"`        // sequential, concurrency or rate; empty: rate when Rate is set, concurrency when Concurrency > 1, else sequential
	Concurrency *int     `json:"concurrency,omitempty"` // JSON: one number, or a list (ConcurrencyList)
	Rate        *float64 `json:"rate,omitempty"`        // JSON: one number, or a list (RateList)
	// ConcurrencyList and RateList are a sweep given as a list of load
	// levels (JSON "concurrency": [1, 2, 4]; --concurrency 1,2,4), and
	// Sweep one given as a range, "concurrency=1..64" or "rate=0.5..8"
	// (doubling): each level runs as a stage of every model × scenario
	// (docs/metrics.md §7).
	ConcurrencyList []int     `json:"-"`
	RateList        []float64 `json:"-"`
	Sweep           string    `json:"sweep,omitempty"`
	Arrival         string    `json:"arrival,omitempty"` // rate mode: constant (default) or poisson
	MaxInFlight     *int      `json:"max_in_flight,omitempty"`
	Requests        *int      `json:"requests,omitempty"`   // default: the suite's default_config.iterations, else 5
	Duration        string    `json:"duration,omitempty"`   // per model × scenario, a Go duration ("30s")
	Warmup          *int      `json:"warmup,omitempty"`     // default 1
	Timeout         string    `json:"timeout,omitempty"`    // per request ("60s"); default: the suite's default_config.timeout, else 60s
	MaxTokens       int       `json:"max_tokens,omitempty"` // 0: each scenario's own
	Temperature     *float64  `json:"temperature"`          // null: each scenario's own
	Stream          *bool     `json:"stream,omitempty"`     // default true
	SLO             string    `json:"slo,omitempty"`        // e.g. "ttft=500ms,tpot=50ms"
	Seed            *int64    `json:"seed"`                 // null: random
	CacheBust       *bool     `json:"cache_bust,omitempty"` // default true
	// PrefixTokens puts a shared prefix of this many tokens before every
	// prompt; PrefixCache "cold" (default) keeps the nonce before it,
	// "warm" runs a cold and a warm stage side by side (docs/metrics.md §12).
	PrefixTokens int    `json:"prefix_tokens,omitempty"`
	PrefixCache  string `json:"prefix_cache,omitempty"`
	Cold         bool   `json:"cold,omitempty"`
	OllamaNative bool   `json:"ollama_native,omitempty"`
	// FixedOutput asks the engine for exactly max_tokens output tokens on
	// every scenario, so decode rates compare at equal lengths: ignore_eos
	// (llama.cpp), with min_tokens (vLLM, SGLang); an engine that cannot is
	// warned about before the run (engine.FixedOutput).
	FixedOutput bool `json:"fixed_output,omitempty"`
	// Retries is how many times a transient failure (HTTP 429, 503, a
	// refused or reset connection, a timeout before the first byte) is
	// retried, with backoff; 0, the default: never (docs/metrics.md §4).
	Retries *int `json:"retries,omitempty"`

	// SampleInterval is how often the machine's resources are sampled
	// during the run, a Go duration ("250ms", the default); "off" or "0"
	// samples nothing.
	SampleInterval string `json:"sample_interval,omitempty"`
	// EnginePID is the serving process whose CPU and memory are sampled;
	// default: the process listening on a loopback endpoint's port (this
	// process for the built-in simulated engine), when it can be found.
	EnginePID *int `json:"engine_pid,omitempty"`

	// OnFull is what an open-loop arrival does when max_in_flight requests
	// are in flight: queue (the default) or drop (not sent, counted).
	OnFull string `json:"on_full,omitempty"`
	// Oversaturation sets the open loop's over-saturation detector: "off",
	// "on" (the default) or options like "window=30s,growth=0.2"
	// (load.ParseOversaturation).
	Oversaturation string `json:"oversaturation,omitempty"`

	// Dataset is a JSONL or ShareGPT dataset file (internal/dataset) that
	// replaces the suite: its entries become one scenario whose requests
	// take them in turn. Only the command line reads one (Check.Dataset).
	Dataset string `json:"dataset,omitempty"`
	// DatasetSample draws this many entries (without replacement, with
	// the run's seed); 0: every entry the filter keeps, in file order.
	DatasetSample int `json:"dataset_sample,omitempty"`
	// DatasetFilter keeps the entries of a length, in estimated tokens:
	// "input=..512,output=16.." (dataset.ParseFilter).
	DatasetFilter string `json:"dataset_filter,omitempty"`

	// ContextSweep is a context sweep, "128,512,2k,8k,32k" (k = 1024;
	// ParseContextSweep): it replaces the suite with one scenario per
	// input length, each a prompt of that many tokens with the same
	// max_tokens, and lengths that cannot fit a model's context window
	// are skipped before any request (docs/metrics.md §13).
	ContextSweep string `json:"context_sweep,omitempty"`
	// Force sends the stages that the context check would skip (a prompt
	// that cannot fit the model's context window); they run with a warning.
	Force bool `json:"force,omitempty"`
	// InputTokens asks for prompts of this length in the model's own
	// tokens, chat template included: "N", "MEAN:STDDEV" or
	// "uniform:A-B" (suite.ParseInputLength; README: Input lengths).
	// Without a suite or scenarios it is one generated scenario; with
	// them, it replaces each selected scenario's prompt (system kept).
	InputTokens string `json:"input_tokens,omitempty"`
}

// FieldError is one problem with one field of a Spec.
type FieldError struct {
	Field   string // the Spec field's JSON name: "max_in_flight", "models", …
	Problem string // what is wrong, with the offending value
	label   string // how the caller names the field; "" when Problem names it itself
}

// Error returns "label: problem", the label being what Check.Name gives
// for the field ("--max-in-flight" on the command line, the JSON name in
// the app).
func (e *FieldError) Error() string {
	if e.label == "" {
		return e.Problem
	}
	return e.label + ": " + e.Problem
}

// Problems is every problem found with a Spec, in the order found.
type Problems []*FieldError

// Error lists the problems, one per line.
func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, e := range p {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Check tunes Validate to its caller.
type Check struct {
	// Name names a field in messages (nil: the JSON name itself). The
	// command line gives flag names ("--max-in-flight").
	Name func(field string) string
	// Suite finds a suite by name (nil: suite.Resolve, which also loads
	// .json paths, so only for the command line).
	Suite func(name string) (*suite.Suite, error)
	// Dataset reads a dataset file (nil: datasets are refused; the command
	// line passes dataset.Load).
	Dataset func(path string) (*dataset.Dataset, error)
	// ModelsRequired refuses a Spec without models (the app); the command
	// line lets Prepare pick the engine's models instead.
	ModelsRequired bool
}

// name returns the caller's name for field.
func (c *Check) name(field string) string {
	if c.Name == nil {
		return field
	}
	return c.Name(field)
}

// problem builds a FieldError labelled the caller's way.
func (c *Check) problem(field, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, a...), label: c.name(field)}
}

// Resolved is a valid Spec: its suite, the scenarios to run (with the
// suite's default temperature applied) and the run's configuration
// (Endpoint and Command are filled by Prepare).
type Resolved struct {
	Spec      Spec
	Suite     *suite.Suite
	Scenarios []suite.Scenario
	Config    runner.Config
	// Sampling is the resource sampler's options (PID filled by Prepare);
	// nil: not sampled.
	Sampling *telemetry.Options
	check    Check
}

// Validate checks every field, applies the defaults and reports every
// problem at once as Problems.
func (s *Spec) Validate(c Check) (*Resolved, error) {
	var errs Problems
	bad := func(field, format string, a ...any) { errs = append(errs, c.problem(field, format, a...)) }
	n := c.name
	r := &Resolved{Spec: *s, check: c}
	r.Spec.Models, r.Spec.Scenarios = slices.Clone(s.Models), slices.Clone(s.Scenarios)
	r.Spec.ConcurrencyList, r.Spec.RateList = slices.Clone(s.ConcurrencyList), slices.Clone(s.RateList)

	suiteName := s.Suite
	if suiteName == "" {
		suiteName = "default"
	}
	resolve := c.Suite
	if resolve == nil {
		resolve = suite.Resolve
	}
	if s.Dataset != "" {
		if s.Suite != "" || len(s.Scenarios) > 0 {
			bad("dataset", "replaces the suite: give no %s or %s with it", n("suite"), n("scenarios"))
		}
		suiteName = "dataset:" + filepath.Base(s.Dataset)
		resolve = func(string) (*suite.Suite, error) {
			return &suite.Suite{Name: suiteName, Source: s.Dataset}, nil
		}
	} else if s.DatasetSample != 0 || s.DatasetFilter != "" {
		bad("dataset", "%s and %s need %s", n("dataset_sample"), n("dataset_filter"), n("dataset"))
	}
	if st, err := resolve(suiteName); err != nil {
		bad("suite", "%v", err)
	} else {
		r.Suite = st
		if r.Scenarios, err = st.Select(s.Scenarios); err != nil {
			bad("scenarios", "%v", err)
		}
	}
	if s.InputTokens != "" {
		suiteName = r.inputTokens(bad, suiteName)
	}
	cfg := &r.Config
	*cfg = runner.Config{
		Models:      slices.Clone(s.Models),
		Suite:       suiteName,
		Stream:      s.Stream == nil || *s.Stream,
		CacheBust:   s.CacheBust == nil || *s.CacheBust,
		Warmup:      1,
		MaxTokens:   s.MaxTokens,
		FixedOutput: s.FixedOutput,

		PrefixTokens: s.PrefixTokens,
		PrefixCache:  s.PrefixCache,
	}
	if s.Warmup != nil {
		cfg.Warmup = *s.Warmup
	}
	if s.Requests != nil {
		cfg.Requests = *s.Requests
	}
	if s.Duration != "" {
		d, err := time.ParseDuration(s.Duration)
		if err != nil {
			bad("duration", "want a duration like 30s or 5m, got %q", s.Duration)
		}
		cfg.Duration = runner.Duration(d)
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil {
			bad("timeout", "want a duration like 60s, got %q", s.Timeout)
		}
		cfg.Timeout = runner.Duration(d)
	}
	if c.ModelsRequired && len(s.Models) == 0 {
		bad("models", "give at least one model to benchmark")
	}
	if len(s.Models) > MaxModels {
		bad("models", "at most %d models per run, got %d", MaxModels, len(s.Models))
	}
	for _, m := range cfg.Models {
		switch {
		case strings.ContainsAny(m, "\x00\r\n"):
			bad("models", "%q contains control characters", m)
		case strings.TrimSpace(m) == "":
			bad("models", "empty model id")
		case len(m) > MaxModelLen:
			bad("models", "model id of %d bytes is longer than %d", len(m), MaxModelLen)
		}
	}
	requestsGiven := s.Requests != nil || s.Duration != ""
	if r.Suite != nil && r.Suite.DefaultConfig != nil {
		dc := r.Suite.DefaultConfig
		if !requestsGiven && dc.Iterations != nil {
			cfg.Requests = *dc.Iterations
		}
		if s.Timeout == "" && dc.Timeout != nil {
			cfg.Timeout = runner.Duration(time.Duration(*dc.Timeout) * time.Millisecond)
		}
		if dc.Temperature != nil {
			for i := range r.Scenarios {
				if r.Scenarios[i].Temperature == nil {
					t := *dc.Temperature
					r.Scenarios[i].Temperature = &t
				}
			}
		}
	}
	if !requestsGiven && cfg.Requests == 0 {
		cfg.Requests = 5
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = runner.Duration(60 * time.Second)
	}
	if cfg.Timeout < 0 {
		bad("timeout", "must be positive, got %s", time.Duration(cfg.Timeout))
	}
	if cfg.Requests > MaxRequests {
		bad("requests", "must be at most %d, got %d", MaxRequests, cfg.Requests)
	}
	if s.MaxTokens < 0 || s.MaxTokens > MaxMaxTokens {
		bad("max_tokens", "must be between 1 and %d, got %d", MaxMaxTokens, s.MaxTokens)
	}
	if s.Temperature != nil {
		if t := *s.Temperature; !(t >= 0 && t <= 2) {
			bad("temperature", "must be between 0 and 2, got %g", t)
		}
		t := *s.Temperature
		cfg.Temperature = &t
	}
	if cfg.Warmup < 0 {
		bad("warmup", "must be 0 or more, got %d", cfg.Warmup)
	}
	if cfg.Warmup > MaxWarmup {
		bad("warmup", "must be at most %d, got %d", MaxWarmup, cfg.Warmup)
	}
	if s.Retries != nil {
		if n := *s.Retries; n < 0 || n > runner.MaxRetries {
			bad("retries", "must be between 0 and %d, got %d", runner.MaxRetries, n)
		} else {
			cfg.Retries = n
		}
	}
	if s.Cold && cfg.Warmup < 1 {
		bad("cold", "needs %s 1 or more (the first warm-up request measures the cold TTFT)", n("warmup"))
	}
	r.loadMode(bad)
	r.sampling(bad)
	if s.SLO != "" {
		slo, err := stats.ParseSLO(s.SLO)
		if err != nil {
			bad("slo", "%v", err)
		}
		cfg.SLO, cfg.SLOSpec = slo, s.SLO
	}
	if s.Seed == nil {
		cfg.Seed = rand.Int64N(1 << 31)
	} else {
		cfg.Seed = *s.Seed
	}
	if s.Dataset != "" {
		r.dataset(bad, requestsGiven)
	}
	cfg.Force = s.Force
	if s.ContextSweep != "" {
		r.contextSweep(bad)
	}
	for _, sc := range r.Scenarios {
		cfg.Scenarios = append(cfg.Scenarios, sc.Name)
	}
	if err := cfg.CheckPrefix(); err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		bad(field, "%s", msg)
	}
	for _, e := range cfg.Plan().Validate() {
		if fe, ok := e.(*load.FieldError); ok {
			bad(fe.Field, "%s", fe.Problem)
		} else {
			bad("", "%v", e)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

// MaxSampleInterval bounds SampleInterval: slower sampling would describe a
// stage with a handful of samples.
const MaxSampleInterval = time.Minute

// sampling sets the resource sampler's options from the Spec.
func (r *Resolved) sampling(bad func(field, format string, a ...any)) {
	s := &r.Spec
	iv := telemetry.DefaultInterval
	switch s.SampleInterval {
	case "":
	case "off", "0":
		iv = 0
	default:
		d, err := time.ParseDuration(s.SampleInterval)
		switch {
		case err != nil:
			bad("sample_interval", "want a duration like 250ms, or off, got %q", s.SampleInterval)
		case d < telemetry.MinInterval || d > MaxSampleInterval:
			bad("sample_interval", "must be between %s and %s (or off), got %s", telemetry.MinInterval, MaxSampleInterval, d)
		default:
			iv = d
		}
	}
	if s.EnginePID != nil && (*s.EnginePID <= 0 || *s.EnginePID > 1<<31-1) {
		bad("engine_pid", "must be a process id (a positive integer), got %d", *s.EnginePID)
	}
	if iv > 0 {
		r.Sampling = &telemetry.Options{Interval: iv}
		if s.EnginePID != nil {
			r.Sampling.PID = int32(*s.EnginePID)
		}
	}
}

// loadMode sets the configuration's load model from the Spec.
func (r *Resolved) loadMode(bad func(field, format string, a ...any)) {
	s, cfg, n := &r.Spec, &r.Config, r.check.name
	conc := 1
	if s.Concurrency != nil {
		conc = *s.Concurrency
	}
	rate := s.Rate
	mode := load.Mode(s.Mode)
	switch sweep, levels := r.sweepLevels(bad); sweep {
	case load.Concurrency:
		mode, conc, cfg.Levels = load.Concurrency, int(levels[0]), levels
	case load.Rate:
		mode, rate, cfg.Levels = load.Rate, &levels[0], levels
	}
	if mode == "" {
		switch {
		case rate != nil:
			mode = load.Rate
		case conc > 1:
			mode = load.Concurrency
		default:
			mode = load.Sequential
		}
	}
	switch mode {
	case load.Rate:
		cfg.Mode, cfg.Arrival = load.Rate, load.Constant
		if rate != nil {
			cfg.Rate = *rate
		}
		if s.MaxInFlight != nil {
			cfg.MaxInFlight = *s.MaxInFlight
		}
		r.openLoop(bad)
		if s.Arrival != "" {
			cfg.Arrival = load.Arrival(s.Arrival)
		}
		if s.Concurrency != nil {
			bad("concurrency", "not used with %s (an open loop); cap requests in flight with %s", n("rate"), n("max_in_flight"))
		}
	case load.Concurrency:
		cfg.Mode, cfg.Concurrency = load.Concurrency, conc
	case load.Sequential:
		cfg.Mode, cfg.Concurrency = load.Sequential, max(conc, 1)
		if conc < 1 {
			bad("concurrency", "must be 1 or more, got %d", conc)
		}
	default:
		cfg.Mode, cfg.Concurrency = mode, conc // Plan.Validate names the mode
	}
	if mode != load.Rate {
		if s.MaxInFlight != nil {
			bad("max_in_flight", "only used with %s", n("rate"))
		}
		if s.OnFull != "" {
			bad("on_full", "only used with %s", n("rate"))
		}
		if s.Oversaturation != "" {
			bad("oversaturation", "only used with %s (an open loop)", n("rate"))
		}
		if s.Arrival != "" {
			bad("arrival", "only used with %s", n("rate"))
		}
		if (rate != nil || len(s.RateList) > 0) && s.Mode != "" && len(cfg.Levels) == 0 {
			bad("rate", "only used with %s %s", n("mode"), load.Rate)
		}
	}
}

// openLoop sets the open loop's on-full choice and over-saturation
// detector from the Spec (docs/metrics.md §7).
func (r *Resolved) openLoop(bad func(field, format string, a ...any)) {
	s, cfg, n := &r.Spec, &r.Config, r.check.name
	switch s.OnFull {
	case "", string(load.Queue):
	case string(load.Drop):
		if cfg.MaxInFlight == 0 {
			bad("on_full", "drop needs %s (arrivals are dropped when that many requests are in flight)", n("max_in_flight"))
		} else {
			cfg.OnFull = load.Drop
		}
	default:
		bad("on_full", "must be queue or drop, got %q", s.OnFull)
	}
	o, err := load.ParseOversaturation(s.Oversaturation)
	if err != nil {
		bad("oversaturation", "%v", err)
		return
	}
	cfg.Oversaturation = o
}

// dataset reads the Spec's dataset, filters and samples it with the run's
// seed, and makes it the run's one scenario; unless the request count was
// given, each used entry is sent once.
func (r *Resolved) dataset(bad func(field, format string, a ...any), requestsGiven bool) {
	s, cfg := &r.Spec, &r.Config
	filter, err := dataset.ParseFilter(s.DatasetFilter)
	if err != nil {
		bad("dataset_filter", "%v", err)
	}
	if s.DatasetSample < 0 || s.DatasetSample > dataset.MaxEntries {
		bad("dataset_sample", "must be between 0 and %d, got %d", dataset.MaxEntries, s.DatasetSample)
		return
	}
	if r.check.Dataset == nil {
		bad("dataset", "datasets are read by the command line only (flperf run --dataset FILE)")
		return
	}
	d, err := r.check.Dataset(s.Dataset)
	if err != nil {
		bad("dataset", "%v", err)
		return
	}
	kept := filter.Keep(d.Entries)
	used, err := dataset.Sample(kept, s.DatasetSample, cfg.Seed)
	if err != nil {
		bad("dataset_sample", "%v", err)
		return
	}
	if len(used) == 0 {
		bad("dataset_filter", "keeps none of the %d entries", len(d.Entries))
		return
	}
	sc := dataset.Scenario(d, used)
	if r.Suite != nil {
		r.Suite.Scenarios = []suite.Scenario{sc}
	}
	r.Scenarios = []suite.Scenario{sc}
	cfg.Scenarios = nil
	cfg.Dataset = &runner.DatasetInfo{File: d.Name(), SHA256: d.SHA256, Format: d.Format, Entries: len(d.Entries),
		Filter: s.DatasetFilter, Filtered: len(kept), Sample: s.DatasetSample, Used: len(used)}
	if !requestsGiven {
		cfg.Requests = len(used)
	}
}
