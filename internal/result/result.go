package result

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"flperf/internal/capacity"
	"flperf/internal/engine"
	"flperf/internal/engineseries"
	"flperf/internal/legacy"
	"flperf/internal/load"
	"flperf/internal/profile"
	"flperf/internal/stats"
	"flperf/internal/telemetry"
)

// Config is everything needed to repeat a run. It is stored with every run;
// it never holds secrets (the API key is not part of it).
type Config struct {
	Command     []string     `json:"command,omitempty"` // the command line that repeats this run
	Endpoint    string       `json:"endpoint"`
	Models      []string     `json:"models"`
	Suite       string       `json:"suite"`     // builtin name or file path, as given
	Scenarios   []string     `json:"scenarios"` // selected scenario names, in run order
	Mode        load.Mode    `json:"mode"`
	Concurrency int          `json:"concurrency"`
	Rate        float64      `json:"rate,omitempty"`
	Arrival     load.Arrival `json:"arrival,omitempty"`
	MaxInFlight int          `json:"max_in_flight,omitempty"`
	OnFull      load.OnFull  `json:"on_full,omitempty"` // rate mode with max_in_flight: queue (default) or drop
	// Oversaturation is the open loop's over-saturation detector, in
	// load.ParseOversaturation's text form ("off"; omitted: on, defaults).
	Oversaturation load.Oversaturation `json:"oversaturation,omitzero"`
	// Levels are a sweep's load levels (two or more), in Mode's unit:
	// requests in flight (concurrency) or arrivals per second (rate).
	// Each runs as a stage of every model × scenario, ascending
	// (docs/metrics.md §7); Concurrency or Rate is then the first level.
	// Empty: the one level of Concurrency or Rate.
	Levels      []float64 `json:"levels,omitempty"`
	Requests    int       `json:"requests"` // measured requests per model × scenario (0: duration-bound)
	Duration    Duration  `json:"duration"` // per model × scenario (0: count-bound)
	Warmup      int       `json:"warmup"`   // warm-up requests per model, before its first scenario
	Timeout     Duration  `json:"timeout"`  // per-request deadline
	MaxTokens   int       `json:"max_tokens,omitempty"`
	Temperature *float64  `json:"temperature"` // null: each scenario's own (or the server default)
	Stream      bool      `json:"stream"`
	SLO         stats.SLO `json:"-"`
	SLOSpec     string    `json:"slo,omitempty"`
	Seed        int64     `json:"seed"`
	CacheBust   bool      `json:"cache_bust"` // a per-request nonce prefix defeats prefix caches
	// PrefixTokens puts a shared prefix of this many tokens (estimated)
	// before every prompt (0: none); PrefixCache is PrefixCold (""
	// too) or PrefixWarm (docs/metrics.md §12).
	PrefixTokens int    `json:"prefix_tokens,omitempty"`
	PrefixCache  string `json:"prefix_cache,omitempty"`
	// FixedOutput asks every scenario for exactly its max_tokens output
	// tokens (--fixed-output); a scenario's own fixed_output asks for it
	// alone.
	FixedOutput bool `json:"fixed_output,omitempty"`
	// OutputForcedBy is how the engine was asked for a fixed output length
	// when the run or a scenario asked for one: engine.ForceIgnoreEOS,
	// engine.ForceIgnoreEOSMinTokens, or engine.ForceUnsupported (answers
	// kept their natural length). Empty: output length was not forced.
	OutputForcedBy string `json:"output_forced_by,omitempty"`
	// Retries is how many times a request's transient failure is retried
	// (0, the default: never), with Backoff's waits; every attempt is a
	// record (docs/metrics.md §4).
	Retries int `json:"retries,omitempty"`
	// Capacity is the capacity search this run was, and what it found
	// (docs/metrics.md §10); nil for every other run.
	Capacity *capacity.Result `json:"capacity,omitempty"`
	// Profile is the standard profile this run was (`flperf run
	// --profile`), with its figures and composite score (docs/metrics.md
	// §11); nil for every other ("custom") run.
	Profile *profile.Result `json:"profile,omitempty"`
	// Dataset is the dataset file the run's one scenario was drawn from;
	// nil when the run used a suite.
	Dataset *DatasetInfo `json:"dataset,omitempty"`
	// ContextSweep is a context sweep's input lengths in tokens, ascending
	// (--context-sweep): the run's scenarios are one prompt of each length
	// (docs/metrics.md §13); empty for every other run.
	ContextSweep []int `json:"context_sweep,omitempty"`
	// Force sent the stages that the context check would have skipped
	// (--force).
	Force bool `json:"force,omitempty"`
}

// DatasetInfo records the dataset a run read (`flperf run --dataset`).
type DatasetInfo struct {
	File     string `json:"file"`             // the file's name, without its directory
	SHA256   string `json:"sha256"`           // hex sha256 of the file's bytes
	Format   string `json:"format"`           // "jsonl" or "sharegpt"
	Entries  int    `json:"entries"`          // entries in the file
	Filter   string `json:"filter,omitempty"` // --dataset-filter, as given
	Filtered int    `json:"filtered"`         // entries the filter kept (all when none)
	Sample   int    `json:"sample,omitempty"` // --dataset-sample (0: every filtered entry)
	Used     int    `json:"used"`             // entries the requests take in turn
}

// Plan is the load plan of each model × scenario stage.
func (c *Config) Plan() load.Plan {
	return load.Plan{
		Mode:           c.Mode,
		Concurrency:    c.Concurrency,
		Rate:           c.Rate,
		Arrival:        c.Arrival,
		MaxInFlight:    c.MaxInFlight,
		OnFull:         c.OnFull,
		Oversaturation: c.Oversaturation,
		Requests:       c.Requests,
		Duration:       time.Duration(c.Duration),
		Warmup:         c.Warmup,
		Seed:           c.Seed,
	}
}

// Connections is how many connections the load may hold open at once: the
// client's pool must be at least this large, or requests would queue for a
// connection after their send time. An uncapped open loop gets a large pool;
// a concurrency sweep needs its highest level.
func (c *Config) Connections() int {
	switch c.Mode {
	case load.Concurrency:
		n := c.Concurrency
		for _, l := range c.Sweep() {
			n = max(n, l.Concurrency)
		}
		return n
	case load.Rate:
		if c.MaxInFlight > 0 {
			return c.MaxInFlight
		}
		return 1 << 16
	}
	return 1
}

// Duration is a time.Duration that reads and writes JSON as "1.5s".
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want a string like \"30s\", got %s", b)
	}
	*d = Duration(n)
	return nil
}

// Tool identifies the program that produced a result.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// CurrentTool describes this binary.
func CurrentTool() Tool {
	t := Tool{Name: "flperf", Version: "devel", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			t.Version = v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 && t.Version == "devel" {
				t.Version = "devel-" + s.Value[:12]
			}
		}
	}
	return t
}

// SuiteInfo names the suite a run used.
type SuiteInfo struct {
	Name      string   `json:"name"`
	Version   string   `json:"version,omitempty"`
	Source    string   `json:"source"`
	Scenarios []string `json:"scenarios"`
	// Languages maps each selected scenario that carries a language to its
	// BCP 47 tag (suite.Scenario.Language); nil when none does.
	Languages map[string]string `json:"languages,omitempty"`
	// ContextFit lists the model × scenario stages a model's context window
	// skipped, stopped or put a warning on (stored with the suite block).
	ContextFit []ContextFit `json:"context_fit,omitempty"`
	// ContextWindows is each model's context window in tokens as the
	// engine told it before the run (llama.cpp: a slot's n_ctx; vLLM:
	// max_model_len; Ollama: the loaded num_ctx); absent where unknown.
	ContextWindows map[string]int `json:"context_windows,omitempty"`
	// Truncated lists the model × scenario (× stage) groups whose prompts
	// the engine cut (docs/metrics.md §13).
	Truncated []Truncation `json:"truncated,omitempty"`
	// InputLengths is how the prompts of input-length scenarios were
	// resolved and what that cost (nil: no scenario asked for a length).
	InputLengths *InputLengths `json:"input_lengths,omitempty"`
	// OpenLoop lists the open-loop stages that dropped arrivals (on_full
	// drop) or that the over-saturation detector stopped.
	OpenLoop []OpenLoop `json:"open_loop,omitempty"`
}

// Result is one run: what was asked, what answered, and the summaries. Its
// JSON form is the document `flperf run --format json` prints; the per-group
// keys are a stable interface for scripts.
type Result struct {
	ID      string      `json:"id"`
	Tool    Tool        `json:"tool"`
	Status  Status      `json:"status"`
	Started time.Time   `json:"started"`
	Ended   time.Time   `json:"ended"`
	Engine  engine.Info `json:"engine"`
	Config  Config      `json:"config"`
	Suite   SuiteInfo   `json:"suite"`
	Records int         `json:"records"` // records produced, warm-ups included
	stats.Summary
	Server   []StageServer `json:"server,omitempty"` // the engine's own figures per stage, from its /metrics
	Warnings []string      `json:"warnings"`         // run-level warnings; per-group ones are in each group

	Hardware  *telemetry.Hardware `json:"hardware,omitempty"`  // the machine that produced the figures
	Resources *Resources          `json:"resources,omitempty"` // what it did meanwhile (null: not sampled)
	Series    *telemetry.Series   `json:"-"`                   // the sampled time series (stored apart)
	// EngineSeries is the engine's own queue and cache over the run
	// (stored apart; nil: not sampled, or an engine without such figures).
	EngineSeries *engineseries.Series `json:"-"`
	// Legacy holds the figures of a run imported from the original
	// FLPerformance, as it computed them (docs/legacy.md); nil for
	// flperf's own runs. A legacy run has no records and an empty summary.
	Legacy *legacy.Run `json:"legacy,omitempty"`
}

// StageServer is what the engine's own metrics say about one model ×
// scenario stage, beside the client's counts for the same stage.
type StageServer struct {
	Model          string             `json:"model"`
	Scenario       string             `json:"scenario"`
	Stage          string             `json:"stage,omitempty"` // the load level's label in a sweep
	ClientRequests int                `json:"client_requests"` // records flperf produced in the stage, warm-ups included
	ClientWarmups  int                `json:"client_warmups"`
	Stats          engine.ServerStats `json:"stats"`
}
