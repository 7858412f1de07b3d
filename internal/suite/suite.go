package suite

import "strings"

// Limits and defaults of the suite format.
const (
	// DefaultMaxTokens is the original's max_tokens when a scenario has none.
	DefaultMaxTokens = 100
	// MaxMaxTokens is the largest max_tokens (and min_tokens) accepted.
	MaxMaxTokens = 131072
	// MaxTemperature is the largest temperature accepted (the smallest is 0).
	MaxTemperature = 2.0
	// MaxStop is the most stop sequences a scenario may have (the OpenAI limit).
	MaxStop = 4
	// MaxNameLen is the longest suite, scenario or category name, in characters.
	MaxNameLen = 200
	// MaxFileSize is the largest suite document Parse and Load accept, in bytes.
	MaxFileSize = 4 << 20
	// MaxScenarios is the most scenarios a suite may hold.
	MaxScenarios = 10000
)

// Expected output lengths (display only).
const (
	LengthShort  = "short"
	LengthMedium = "medium"
	LengthLong   = "long"
)

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Suite is a named set of scenarios.
type Suite struct {
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Version     string     `json:"version,omitempty"`
	Scenarios   []Scenario `json:"scenarios"`
	// DefaultConfig is the original's default_config block: accepted and
	// exposed (e.g. iterations as the default request count), nil if absent.
	DefaultConfig *DefaultConfig `json:"default_config,omitempty"`
	// Source says where the suite came from: "builtin:<name>" or the file
	// path it was loaded from.
	Source string `json:"-"`
}

// DefaultConfig is the original's per-suite run defaults. Every field is a
// pointer: nil means the file did not set it.
type DefaultConfig struct {
	Iterations  *int     `json:"iterations,omitempty"`  // requests per model × scenario
	Concurrency *int     `json:"concurrency,omitempty"` // parallel requests
	Timeout     *int     `json:"timeout,omitempty"`     // per-request timeout, milliseconds
	Temperature *float64 `json:"temperature,omitempty"` // sampling temperature; 0 stays 0
	Streaming   *bool    `json:"streaming,omitempty"`   // stream responses
}

// Scenario is one prompt with its generation settings.
type Scenario struct {
	// Name identifies the scenario in selections and results.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Prompt is sent as the last user message.
	Prompt string `json:"prompt,omitempty"`
	// System is a system prompt sent first (extension).
	System string `json:"system,omitempty"`
	// Messages is a multi-turn conversation sent before the prompt
	// (extension).
	Messages []Message `json:"messages,omitempty"`
	// MaxTokens is max_tokens; nil when the file did not set it (see
	// MaxTokensOr and DefaultMaxTokens).
	MaxTokens *int `json:"max_tokens,omitempty"`
	// ExpectedOutputLength is "short", "medium", "long" or "" (display only).
	ExpectedOutputLength string `json:"expected_output_length,omitempty"`
	// Temperature is the scenario's sampling temperature, nil if unset; 0
	// stays 0 (extension).
	Temperature *float64 `json:"temperature,omitempty"`
	// Stop lists up to MaxStop stop sequences.
	Stop []string `json:"stop,omitempty"`
	// IgnoreEOS asks the engine to keep generating past end-of-sequence, for
	// fixed-length output where the engine supports it.
	IgnoreEOS bool `json:"ignore_eos,omitempty"`
	// MinTokens asks the engine for at least this many tokens (0: not sent).
	MinTokens int `json:"min_tokens,omitempty"`
	// FixedOutput asks for exactly max_tokens output tokens the way the
	// engine allows (ignore_eos, with min_tokens where it has one); on an
	// engine that cannot, the run warns before it starts (extension).
	FixedOutput bool `json:"fixed_output,omitempty"`
	// Category groups scenarios in reports. Parse fills it from the name
	// (see Category) when the file leaves it empty.
	Category string `json:"category,omitempty"`
	// Language is the BCP 47 tag of the language the scenario is written
	// in and asks the answer in, e.g. "en", "zh-Hans", "pt-BR" (extension;
	// empty: not said). Reports give per-language figures for scenarios
	// that carry one (docs/metrics.md §5).
	Language string `json:"language,omitempty"`
	// Turns makes the scenario a conversation of these user turns, each
	// sent with the whole history before it (extension; see BuildTurn).
	Turns []string `json:"turns,omitempty"`
	// Conversation makes the scenario a conversation of generated user
	// turns (extension); at most one of Turns and Conversation is set.
	Conversation *Conversation `json:"conversation,omitempty"`
	// InputTokens asks for a prompt of this length in the target model's
	// own tokens, chat template and system prompt included: the prompt is
	// a seeded filler text resolved per model before the run
	// (internal/inputlen; extension). nil: the scenario's own prompt.
	InputTokens *InputLength `json:"input_tokens,omitempty"`
	// Entries, when set, are a dataset's requests (see At); never part of
	// a suite file.
	Entries []Entry `json:"-"`
}

// Message is one chat message of a scenario.
type Message struct {
	Role    string `json:"role"`    // "system", "user" or "assistant"
	Content string `json:"content"` // the text
}

// MaxTokensOr returns the scenario's max_tokens, or def when it has none.
func (sc *Scenario) MaxTokensOr(def int) int {
	if sc.MaxTokens != nil {
		return *sc.MaxTokens
	}
	return def
}

// Category derives a category from a scenario name as the original does:
// the part before the first " - ", or the whole name when there is none.
func Category(name string) string {
	before, _, _ := strings.Cut(name, " - ")
	return strings.TrimSpace(before)
}

// Clone returns a deep copy of s.
func (s *Suite) Clone() *Suite {
	if s == nil {
		return nil
	}
	c := *s
	if s.DefaultConfig != nil {
		dc := *s.DefaultConfig
		dc.Iterations = clonePtr(dc.Iterations)
		dc.Concurrency = clonePtr(dc.Concurrency)
		dc.Timeout = clonePtr(dc.Timeout)
		dc.Temperature = clonePtr(dc.Temperature)
		dc.Streaming = clonePtr(dc.Streaming)
		c.DefaultConfig = &dc
	}
	if s.Scenarios != nil {
		c.Scenarios = make([]Scenario, len(s.Scenarios))
		for i := range s.Scenarios {
			c.Scenarios[i] = s.Scenarios[i].clone()
		}
	}
	return &c
}

// clone returns a deep copy of sc.
func (sc *Scenario) clone() Scenario {
	c := *sc
	c.MaxTokens = clonePtr(sc.MaxTokens)
	c.Temperature = clonePtr(sc.Temperature)
	c.InputTokens = clonePtr(sc.InputTokens)
	if sc.Messages != nil {
		c.Messages = append([]Message(nil), sc.Messages...)
	}
	if sc.Stop != nil {
		c.Stop = append([]string(nil), sc.Stop...)
	}
	if sc.Turns != nil {
		c.Turns = append([]string(nil), sc.Turns...)
	}
	c.Conversation = clonePtr(sc.Conversation)
	if sc.Entries != nil {
		c.Entries = append([]Entry(nil), sc.Entries...)
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
