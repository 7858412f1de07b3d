package profile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// Standard is the name of the standard profile.
const Standard = "standard"

// StandardVersion is the standard profile's newest version, the one
// "standard" names. Any change to its scenarios, stages or reference makes
// a new version: runs of another version are another column, never ranked
// against this one. Version 1 (long prompts sized by the token estimate)
// stays runnable as "standard/1", so that a machine can be measured again
// in the column of its older runs.
const StandardVersion = 2

// OldestStandardVersion is the oldest version of the standard profile this
// flperf still runs.
const OldestStandardVersion = 1

// DefaultSustain is how long the standard profile generates without pause
// before it measures the sustained decode rate again.
const DefaultSustain = 5 * time.Minute

// Sustained durations a variant may ask for (`standard@sustain=10m`).
const (
	MinSustain = time.Minute
	MaxSustain = time.Hour
)

// Scenario names of the standard profile.
const (
	ScenarioChat     = "chat"
	ScenarioPrompt4k = "prompt-4k"
	ScenarioPrompt32 = "prompt-32k"
	ScenarioDecode   = "decode"
)

// Stage labels of the standard profile (the label every record of the
// stage carries, beside its scenario).
const (
	StageC1         = "c=1"
	StageC4         = "c=4"
	StageSustain    = "sustain"
	StageSustainEnd = "sustain-end"
)

// Input lengths of the long-prompt stages, in the model's tokens. Version
// 2 asks for them as the scenarios' input_tokens, made exact in the
// engine's own count, chat template included (internal/inputlen); version
// 1 built its prompts to this length by the estimate (PromptOfTokens).
const (
	Prompt4kTokens  = 4096
	Prompt32kTokens = 32768
)

// DecodeTokens is the fixed output length of the decode stages.
const DecodeTokens = 256

// Stage is one step of a profile: one scenario at one load.
type Stage struct {
	Scenario    string        // the profile's scenario the stage sends
	Label       string        // the stage label its records carry
	Concurrency int           // requests in flight
	Requests    int           // measured requests (0: Duration bounds the stage)
	Duration    time.Duration // how long the stage generates (0: Requests bounds it)
}

// Definition is one version (and variant) of a profile.
type Definition struct {
	Name    string        // "standard"
	Version int           // StandardVersion, or an older version still run
	Sustain time.Duration // continuous generation before the sustained measurement
	// Scenarios are the profile's prompts; Stages what it runs, in order,
	// for every model.
	Scenarios []suite.Scenario
	Stages    []Stage
	Reference Reference
}

// ID names the definition's workload: "standard/2", or
// "standard/2@sustain=10m" for a variant with another sustained duration.
// Runs are ranked together only when their IDs are equal.
func (d *Definition) ID() string {
	id := fmt.Sprintf("%s/%d", d.Name, d.Version)
	if d.Sustain != DefaultSustain {
		id += "@sustain=" + formatDuration(d.Sustain)
	}
	return id
}

// Suite is the definition's scenarios as a suite named after its ID.
func (d *Definition) Suite() *suite.Suite {
	scs := make([]suite.Scenario, len(d.Scenarios))
	copy(scs, d.Scenarios)
	return &suite.Suite{Name: "profile:" + d.ID(), Version: fmt.Sprint(d.Version), Source: "profile:" + d.Name,
		Description: "flperf's " + d.Name + " profile, version " + fmt.Sprint(d.Version) + " (docs/metrics.md §11)", Scenarios: scs}
}

// Parse reads a --profile value: "standard" (the newest version),
// "standard/2" or "standard/1", optionally followed by
// "@sustain=DURATION" (a variant: ranked apart from the default's runs).
func Parse(s string) (*Definition, error) {
	name, variant, hasVariant := strings.Cut(s, "@")
	name, version, hasVersion := strings.Cut(name, "/")
	if name != Standard {
		return nil, fmt.Errorf("unknown profile %q: the one profile is %q", s, Standard)
	}
	v := StandardVersion
	if hasVersion {
		n, err := strconv.Atoi(version)
		if err != nil || fmt.Sprint(n) != version || n < OldestStandardVersion || n > StandardVersion {
			return nil, fmt.Errorf("profile %q: this flperf runs versions %d to %d of the standard profile (%q is version %d)", s, OldestStandardVersion, StandardVersion, Standard, StandardVersion)
		}
		v = n
	}
	sustain := DefaultSustain
	if hasVariant {
		v, ok := strings.CutPrefix(variant, "sustain=")
		d, err := time.ParseDuration(v)
		switch {
		case !ok || err != nil:
			return nil, fmt.Errorf("profile %q: the one variant is @sustain=DURATION (e.g. @sustain=10m)", s)
		case d < MinSustain || d > MaxSustain:
			return nil, fmt.Errorf("profile %q: sustain must be from %s to %s, got %s", s, formatDuration(MinSustain), formatDuration(MaxSustain), formatDuration(d))
		case d%time.Second != 0:
			return nil, fmt.Errorf("profile %q: sustain must be whole seconds, got %s", s, d)
		}
		sustain = d
	}
	return StandardOf(v, sustain), nil
}

// StandardDefinition is the newest version (StandardVersion) of the
// standard profile with the given sustained duration.
func StandardDefinition(sustain time.Duration) *Definition {
	return StandardOf(StandardVersion, sustain)
}

// StandardOf is the given version of the standard profile with the given
// sustained duration; version must be from OldestStandardVersion to
// StandardVersion (it panics otherwise: Parse checks what users give).
// The versions differ in their long prompts only: version 1 sends
// documents of Prompt4kTokens and Prompt32kTokens tokens as the estimate
// counts them (PromptOfTokens), version 2 asks for those lengths as
// input_tokens, exact in the model's own tokens with its chat template
// (docs/metrics.md §11); each has its own reference.
func StandardOf(version int, sustain time.Duration) *Definition {
	ref, ok := StandardReferences[version]
	if !ok {
		panic(fmt.Sprintf("profile: no version %d of the standard profile", version))
	}
	zero := 0.0
	short, decode, ingest := 128, DecodeTokens, 16
	chat := suite.Scenario{Name: ScenarioChat, Category: "profile", Description: "a short chat turn: time to first token and whole answer",
		System: "You are a helpful assistant.", Prompt: "In three sentences, explain why the sky is blue.", MaxTokens: &short, Temperature: &zero}
	p4 := suite.Scenario{Name: ScenarioPrompt4k, Category: "profile", MaxTokens: &ingest, Temperature: &zero}
	p32 := suite.Scenario{Name: ScenarioPrompt32, Category: "profile", MaxTokens: &ingest, Temperature: &zero}
	if version == 1 {
		p4.Description, p4.Prompt = "long-prompt ingestion: a 4,096-token document (by the estimate), a short answer", PromptOfTokens(Prompt4kTokens)
		p32.Description, p32.Prompt = "long-prompt ingestion: a 32,768-token document (by the estimate), a short answer", PromptOfTokens(Prompt32kTokens)
	} else {
		l4, l32 := suite.InputLength{Kind: suite.InputFixed, N: Prompt4kTokens}, suite.InputLength{Kind: suite.InputFixed, N: Prompt32kTokens}
		p4.Description, p4.InputTokens = "long-prompt ingestion: exactly 4,096 input tokens in the model's own count, chat template included; a short answer", &l4
		p32.Description, p32.InputTokens = "long-prompt ingestion: exactly 32,768 input tokens in the model's own count, chat template included; a short answer", &l32
	}
	dec := suite.Scenario{Name: ScenarioDecode, Category: "profile", Description: "sustained decode: exactly 256 output tokens where the engine allows",
		Prompt: "Write a long story about a lighthouse keeper.", MaxTokens: &decode, Temperature: &zero, FixedOutput: true}
	return &Definition{
		Name: Standard, Version: version, Sustain: sustain,
		Scenarios: []suite.Scenario{chat, p4, p32, dec},
		Stages: []Stage{
			{Scenario: ScenarioChat, Label: StageC1, Concurrency: 1, Requests: 10},
			{Scenario: ScenarioPrompt4k, Label: StageC1, Concurrency: 1, Requests: 3},
			{Scenario: ScenarioPrompt32, Label: StageC1, Concurrency: 1, Requests: 3},
			{Scenario: ScenarioDecode, Label: StageC1, Concurrency: 1, Requests: 5},
			{Scenario: ScenarioDecode, Label: StageC4, Concurrency: 4, Requests: 16},
			{Scenario: ScenarioDecode, Label: StageSustain, Concurrency: 1, Duration: sustain},
			{Scenario: ScenarioDecode, Label: StageSustainEnd, Concurrency: 1, Requests: 5},
		},
		Reference: ref,
	}
}

// promptWords is the text the long prompts repeat: plain English words
// that a BPE tokenizer and the estimate (package tokens) both count as one
// token each.
var promptWords = strings.Fields("the keeper of the light walked up the stairs at dusk and looked out over the grey water where ships passed in the night")

// PromptOfTokens is a document of n tokens as the estimate counts them
// (docs/metrics.md §2), ending with the question the model answers: the
// long prompts of version 1, kept so that its runs stay reproducible
// (version 2 asks for exact input lengths instead).
func PromptOfTokens(n int) string {
	const question = "\nSummarise the text above in one sentence."
	q := tokens.Estimate(question)
	var b strings.Builder
	for i := range max(n-q, 0) { // every word is one token
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(promptWords[i%len(promptWords)])
	}
	b.WriteString(question)
	return b.String()
}

// formatDuration writes d as "5m", "90s", "1h30m" (no zero units).
func formatDuration(d time.Duration) string {
	h, m, sec := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if sec > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", sec)
	}
	return b.String()
}
