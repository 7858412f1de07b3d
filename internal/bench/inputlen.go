package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"flperf/internal/engine"
	"flperf/internal/inputlen"
	"flperf/internal/inputlen/gguf"
	"flperf/internal/runner"
	"flperf/internal/suite"
)

// InputTokensSuite is the name of the suite --input-tokens generates when
// no suite or scenario is given.
const InputTokensSuite = "input-tokens"

// inputTokens applies Spec.InputTokens and returns the run's suite name:
// without a suite or scenarios, one generated scenario of that length
// (suite InputTokensSuite); with them, the length replaces each selected
// scenario's prompt and messages (its system prompt, max_tokens and
// temperature kept).
func (r *Resolved) inputTokens(bad func(field, format string, a ...any), suiteName string) string {
	s, n := &r.Spec, r.check.name
	l, err := suite.ParseInputLength(s.InputTokens)
	switch {
	case err != nil:
		bad("input_tokens", "%v", err)
		return suiteName
	case s.Dataset != "":
		bad("input_tokens", "replaces the prompts with generated ones: not used with %s", n("dataset"))
		return suiteName
	}
	if s.Suite == "" && len(s.Scenarios) == 0 {
		r.Suite = &suite.Suite{Name: InputTokensSuite, Source: "generated: input_tokens " + l.String(),
			Description: "prompts of an exact length in the model's own tokens"}
		r.Scenarios = []suite.Scenario{{Name: "Input tokens " + l.String(), InputTokens: &l, Category: "Input length"}}
		return InputTokensSuite
	}
	for i := range r.Scenarios {
		sc := &r.Scenarios[i]
		v := l
		sc.InputTokens, sc.Prompt, sc.Messages = &v, "", nil
	}
	return suiteName
}

// resolveInputs resolves the prompts of the run's input-length scenarios
// for every model, before any request (internal/inputlen): the engine's
// tokenizer endpoint where it has one, else calibration through sender
// (the run's own client), else the model's local GGUF file, else the
// estimate; the stages skip names (nil: none) are left unresolved. nil,
// nil when no scenario asks for a length.
func resolveInputs(ctx context.Context, logf Logf, info engine.Info, mgr engine.Manager, sender inputlen.Sender, cfg *runner.Config, scs []suite.Scenario, skip func(model, scenario string) bool) (*inputlen.Set, *runner.InputLengths, error) {
	asked := false
	for i := range scs {
		asked = asked || scs[i].InputTokens != nil
	}
	if !asked {
		return nil, nil, nil
	}
	o := inputlen.Options{Sender: sender, Seed: cfg.Seed, CacheBust: cfg.CacheBust, Logf: logf, Skip: skip}
	if cfg.Force {
		o.Force = func(string, string) bool { return true }
	}
	if c, ok := mgr.(engine.PromptCounter); ok {
		o.Counter = c
	}
	if src := ggufSource(logf, info, mgr); src != nil {
		o.GGUF = src
	}
	start := time.Now()
	res := inputlen.New(o)
	set, err := res.Resolve(ctx, cfg.Models, scs, cfg.Requests)
	if err != nil {
		return nil, nil, Problems{{Field: "input_tokens", Problem: err.Error()}}
	}
	st := res.Stats()
	il := &runner.InputLengths{CalibrationRequests: st.CalibrationRequests, CalibrationSeconds: st.CalibrationTime.Seconds(),
		TokenizerCounts: st.CountCalls}
	for _, p := range set.Resolutions() {
		il.Prompts = append(il.Prompts, runner.InputLength(p))
	}
	logf.log("info", "input lengths resolved in %s: %d tokenizer counts, %d calibration requests (%.2f s; not recorded, in no figure)",
		time.Since(start).Round(time.Millisecond), st.CountCalls, st.CalibrationRequests, st.CalibrationTime.Seconds())
	return set, il, nil
}

// inputPrompt is what the context check counts for an input-length
// scenario: its longest resolved length, exact unless it was estimated.
func inputPrompt(set *inputlen.Set, model string, sc *suite.Scenario) (n int, method string, ok bool) {
	if set == nil || sc.InputTokens == nil {
		return 0, "", false
	}
	method = runner.FitExact
	for i := range set.Count(model, sc.Name) {
		_, req, how, _ := set.Input(model, sc.Name, i)
		n = max(n, req)
		if how == inputlen.MethodEstimate {
			method = runner.FitEstimate
		}
	}
	return n, method, n > 0
}

// ggufSource opens a model's tokenizer from its local GGUF file, for the
// gguf method: the file Ollama's Modelfile names, or llama-server's
// model_path (/props); nil for engines that name none, or that are not on
// this machine (their paths would be another machine's). The chat
// template's own tokens are not in its counts (TemplateTokens 0), which
// the log says.
func ggufSource(logf Logf, info engine.Info, mgr engine.Manager) func(context.Context, string) (inputlen.TextCounter, error) {
	if !loopback(info.Endpoint) {
		return nil
	}
	var path func(context.Context, string) (string, error)
	switch m := mgr.(type) {
	case *engine.OllamaManager:
		path = m.ModelFile
	case *engine.LlamaCppManager:
		path = func(ctx context.Context, _ string) (string, error) {
			p, err := m.Props(ctx)
			return p.ModelPath, err
		}
	default:
		return nil
	}
	return func(ctx context.Context, model string) (inputlen.TextCounter, error) {
		p, err := path(ctx, model)
		if err != nil {
			return nil, err
		}
		if p == "" {
			return nil, fmt.Errorf("the engine names no model file")
		}
		tok, err := gguf.Open(p)
		if err != nil {
			return nil, err
		}
		logf.log("warn", "model %s: input lengths counted with the tokenizer of %s; the chat template's own tokens are not counted", model, p)
		return tok, nil
	}
}

// loopback reports whether the endpoint's host is this machine.
func loopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
