package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"flperf/internal/runner"
	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// Bounds of a context sweep (--context-sweep): input lengths in tokens.
const (
	MinSweepTokens = 32      // room for the instruction and the cache-busting nonce
	MaxSweepTokens = 1 << 21 // 2 Mi tokens, beyond any engine's context window
)

// ContextSweepSuite is the name of the suite a context sweep runs in place
// of the chosen one.
const ContextSweepSuite = "context-sweep"

// nonceTokens is what the cache-busting prefix "[xxxxxxxx] " costs by
// tokens.Estimate: "[", two tokens for eight hex digits, "]".
const nonceTokens = 4

// sweepInstruction opens every sweep prompt: the answer's length is set by
// max_tokens, its content does not matter.
const sweepInstruction = "Read the notes below, then write a long summary of them."

// sweepWords are the filler of sweep prompts: common English words of one
// to six letters, each one token for tokens.Estimate (and for the BPE
// tokenizers of real models, which read " word" as one token).
var sweepWords = strings.Fields(`the of and to in is was he for it with as his on be at by had are but from or have an they which one you were
her all she there would their we him been has when who will more no if out so said what up its about into than
them can only other new some could time these two may then do first any my now such like our over man me even
most made after also did many before must back years where much your way well down should each just those
people how too little state good very make world still own see men work long get here both life being under
never day same know while last might us great old year off come since go came right used take three house
place part small found number`)

// ParseContextSweep reads --context-sweep: input lengths in tokens,
// comma-separated, each a whole number with an optional k (× 1024):
// "128,512,2k,8k,32k". It returns them sorted, each once.
func ParseContextSweep(spec string) ([]int, error) {
	var out []int
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		mul := 1
		if s, ok := strings.CutSuffix(strings.ToLower(item), "k"); ok {
			item, mul = s, 1024
		}
		n, err := strconv.Atoi(item)
		if err != nil || item == "" || strings.HasPrefix(item, "+") {
			return nil, fmt.Errorf("want input lengths in tokens like 128,512,2k,8k (k = 1024), got %q", spec)
		}
		if n < 1 || n > MaxSweepTokens/mul {
			return nil, fmt.Errorf("each length must be between %d and %d tokens, got %s", MinSweepTokens, MaxSweepTokens, strings.TrimSpace(item)+map[int]string{1: "", 1024: "k"}[mul])
		}
		n *= mul
		if n < MinSweepTokens {
			return nil, fmt.Errorf("each length must be between %d and %d tokens, got %d", MinSweepTokens, MaxSweepTokens, n)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxLevels {
		return nil, fmt.Errorf("at most %d lengths, got %d", MaxLevels, len(out))
	}
	return out, nil
}

// sweepPrompt is a prompt of exactly n tokens as tokens.Estimate counts
// them, the cache-busting nonce included when cacheBust (the built-in
// simulated engine counts the same way, so its usage reads n; a real
// engine's tokenizer and chat template give another count, which its
// usage reports and the sweep shows beside n).
func sweepPrompt(n int, cacheBust bool) string {
	budget := n - tokens.Estimate(sweepInstruction)
	if cacheBust {
		budget -= nonceTokens
	}
	var b strings.Builder
	b.WriteString(sweepInstruction)
	b.WriteString("\n\n")
	for i := range max(budget, 0) {
		if i > 0 {
			b.WriteByte(' ')
		}
		// A stride co-prime with the list's length walks every word
		// before repeating one, so the text is not one word over again.
		b.WriteString(sweepWords[(i*7)%len(sweepWords)])
	}
	return b.String()
}

// contextSweep replaces the suite with one scenario per input length of
// the Spec's context sweep: the same max_tokens at each (the run's
// --max-tokens, else runner.DefaultMaxTokens), a prompt of that many
// tokens.
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
			Prompt:      sweepPrompt(l, cfg.CacheBust),
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

// requestedInput maps each scenario of a context sweep to the input tokens
// its prompt was built to (nil for other runs): what the truncation check
// holds the engine's counts against.
func requestedInput(cfg *runner.Config) map[string]int {
	if len(cfg.ContextSweep) == 0 {
		return nil
	}
	m := make(map[string]int, len(cfg.ContextSweep))
	for _, l := range cfg.ContextSweep {
		m[runner.SweepScenario(l)] = l
	}
	return m
}

// sweepList writes a context sweep's lengths as --context-sweep reads them.
func sweepList(lengths []int) string {
	parts := make([]string, len(lengths))
	for i, l := range lengths {
		parts[i] = strconv.Itoa(l)
	}
	return strings.Join(parts, ",")
}
