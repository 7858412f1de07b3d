package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"flperf/internal/runner"
	"flperf/internal/suite"
)

// Bounds of a context sweep (--context-sweep): input lengths in tokens.
const (
	MinSweepTokens = 32                   // room for the chat template, the cache-busting nonce and some text
	MaxSweepTokens = suite.MaxInputTokens // 1 Mi tokens, beyond any engine's context window
)

// ContextSweepSuite is the name of the suite a context sweep runs in place
// of the chosen one.
const ContextSweepSuite = "context-sweep"

// ParseContextSweep reads --context-sweep: input lengths in tokens,
// comma-separated, each a whole number with an optional k (× 1024):
// "128,512,2k,8k,32k". It returns them sorted, each once.
func ParseContextSweep(spec string) ([]int, error) {
	var out []int
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		digits, mul := item, 1
		if d, ok := strings.CutSuffix(strings.ToLower(item), "k"); ok {
			digits, mul = d, 1024
		}
		n, err := strconv.Atoi(digits)
		if err != nil || strings.HasPrefix(digits, "+") {
			return nil, fmt.Errorf("want input lengths in tokens like 128,512,2k,8k (k = 1024), got %q", spec)
		}
		if n < 1 || n > MaxSweepTokens/mul || n*mul < MinSweepTokens {
			return nil, fmt.Errorf("each length must be between %d and %d tokens, got %s", MinSweepTokens, MaxSweepTokens, item)
		}
		n *= mul
		out = append(out, n)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxLevels {
		return nil, fmt.Errorf("at most %d lengths, got %d", MaxLevels, len(out))
	}
	return out, nil
}

// contextSweep replaces the suite with one scenario per input length of
// the Spec's context sweep: the same max_tokens at each (the run's
// --max-tokens, else runner.DefaultMaxTokens), and input_tokens of that
// length, so that Prepare resolves for each model a prompt of exactly
// that many tokens as the engine counts them (internal/inputlen).
func (r *Resolved) contextSweep(bad func(field, format string, a ...any)) {
	s, cfg, n := &r.Spec, &r.Config, r.check.name
	lengths, err := ParseContextSweep(s.ContextSweep)
	if err != nil {
		bad("context_sweep", "%v", err)
		return
	}
	switch {
	case s.Dataset != "":
		bad("context_sweep", "replaces the suite: give no %s with it", n("dataset"))
		return
	case s.Suite != "" || len(s.Scenarios) > 0:
		bad("context_sweep", "replaces the suite: give no %s or %s with it", n("suite"), n("scenarios"))
		return
	case s.InputTokens != "":
		bad("context_sweep", "sets each stage's input length: give no %s with it", n("input_tokens"))
		return
	case len(cfg.Levels) > 0:
		bad("context_sweep", "sweeps the input length at one load level: give no load sweep with it")
		return
	}
	maxTok := runner.DefaultMaxTokens
	if cfg.MaxTokens > 0 {
		maxTok = cfg.MaxTokens
	}
	scs := make([]suite.Scenario, len(lengths))
	for i, l := range lengths {
		mt := maxTok
		scs[i] = suite.Scenario{
			Name:        runner.SweepScenario(l),
			Description: fmt.Sprintf("context sweep: a prompt of %d input tokens", l),
			InputTokens: &suite.InputLength{Kind: suite.InputFixed, N: l},
			MaxTokens:   &mt,
			Category:    "context-sweep",
		}
	}
	r.Suite = &suite.Suite{Name: ContextSweepSuite, Description: "context sweep (--context-sweep " + s.ContextSweep + ")",
		Source: "--context-sweep " + s.ContextSweep, Scenarios: scs}
	r.Scenarios = slices.Clone(scs)
	cfg.Suite, cfg.ContextSweep = ContextSweepSuite, lengths
	cfg.Scenarios = nil
}

// sweepList writes a context sweep's lengths as --context-sweep reads them.
func sweepList(lengths []int) string {
	parts := make([]string, len(lengths))
	for i, l := range lengths {
		parts[i] = strconv.Itoa(l)
	}
	return strings.Join(parts, ",")
}
