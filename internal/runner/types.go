package runner

import (
	"time"

	"flperf/internal/load"
	"flperf/internal/result"
	"flperf/internal/suite"
)

// The run's result types live in internal/result, a data-only package that
// the store shares without depending on the runner. These aliases keep the
// runner's own names for its callers.
type (
	// Result is result.Result: one run.
	Result = result.Result
	// Status is result.Status: how a run ended.
	Status = result.Status
	// Config is result.Config: everything needed to repeat a run.
	Config = result.Config
	// DatasetInfo is result.DatasetInfo.
	DatasetInfo = result.DatasetInfo
	// Duration is result.Duration.
	Duration = result.Duration
	// Tool is result.Tool.
	Tool = result.Tool
	// SuiteInfo is result.SuiteInfo.
	SuiteInfo = result.SuiteInfo
	// StageServer is result.StageServer.
	StageServer = result.StageServer
	// ContextFit is result.ContextFit.
	ContextFit = result.ContextFit
	// OpenLoop is result.OpenLoop.
	OpenLoop = result.OpenLoop
	// Resources is result.Resources.
	Resources = result.Resources
	// Window is result.Window.
	Window = result.Window
	// Level is result.Level: one load level.
	Level = result.Level
	// Truncation is result.Truncation: a group whose prompts the engine cut.
	Truncation = result.Truncation
	// InputLengths is result.InputLengths: how input-length prompts were
	// resolved, and what that cost.
	InputLengths = result.InputLengths
	// InputLength is result.InputLength.
	InputLength = result.InputLength
)

// Run statuses (result.Completed etc.).
const (
	Completed   = result.Completed
	Interrupted = result.Interrupted
	Canceled    = result.Canceled
)

// What the context window did to a stage, and how its prompt was counted
// (result.FitSkipped etc.).
const (
	FitSkipped  = result.FitSkipped
	FitStopped  = result.FitStopped
	FitWarned   = result.FitWarned
	FitExact    = result.FitExact
	FitEstimate = result.FitEstimate
	FitEngine   = result.FitEngine
)

// NewID returns a new run id (result.NewID).
func NewID(now time.Time) string { return result.NewID(now) }

// CurrentTool describes this binary (result.CurrentTool).
func CurrentTool() Tool { return result.CurrentTool() }

// ConcurrencyLevel is the closed-loop level of n requests in flight.
func ConcurrencyLevel(n int) Level { return result.ConcurrencyLevel(n) }

// RateLevel is the open-loop level of r arrivals per second.
func RateLevel(r float64) Level { return result.RateLevel(r) }

// ParseLevel reads a stage label written by Level.Label (result.ParseLevel).
func ParseLevel(stage string) (Level, bool) { return result.ParseLevel(stage) }

// NewSuiteInfo describes suite s run with scenarios scs.
func NewSuiteInfo(s *suite.Suite, scs []suite.Scenario) SuiteInfo {
	si := SuiteInfo{Name: s.Name, Version: s.Version, Source: s.Source}
	for _, sc := range scs {
		si.Scenarios = append(si.Scenarios, sc.Name)
		if sc.Language != "" {
			if si.Languages == nil {
				si.Languages = map[string]string{}
			}
			si.Languages[sc.Name] = sc.Language
		}
	}
	return si
}

// stagePlans is every (plan, label) a model × scenario runs, in order:
// one unlabelled plan, or one per level of the sweep, ascending, or a
// --prefix-cache warm run's cold and warm stages.
func stagePlans(c *Config) []StagePlan {
	base := c.Plan()
	if c.PrefixCache == PrefixWarm {
		return []StagePlan{{Plan: base, Stage: StagePrefixCold}, {Plan: base, Stage: StagePrefixWarm}}
	}
	levels := c.Sweep()
	if levels == nil {
		return []StagePlan{{Plan: base}}
	}
	out := make([]StagePlan, len(levels))
	for i, l := range levels {
		out[i] = StagePlan{Plan: l.Apply(base), Stage: l.Label()}
	}
	return out
}

// StagePlan is the load of one stage and the label its records carry.
type StagePlan struct {
	Plan  load.Plan
	Stage string // Level.Label(); "" in a run of one level
}
