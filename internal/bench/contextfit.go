package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"flperf/internal/engine"
	"flperf/internal/inputlen"
	"flperf/internal/runner"
	"flperf/internal/suite"
	"flperf/internal/tokens"
)

// Margins of the context check when a prompt's tokens are estimated
// (tokens.Estimate), not counted by the engine's own tokenizer. A real
// tokenizer may count a text quite differently (numbers, runs of symbols,
// other scripts), so an estimate skips a stage only when even a quarter of
// it would not fit, and warns that it might not fit from half the window on.
const (
	estimateSkipFactor = 4
	estimateWarnFactor = 2
)

// fitEngine is what the context check knows of one engine kind.
type fitEngine struct {
	refuses  bool   // refuses a prompt that does not fit (a 400), rather than cutting it
	window   string // what its context window is, for messages
	over     string // what it does when prompt plus max_tokens is beyond the window (engines that refuse)
	truncate string // what it does with an overlong prompt (engines that do not refuse)
}

// fitEngines are the engines whose context windows flperf can read.
var fitEngines = map[engine.Kind]fitEngine{
	engine.LlamaCpp: {refuses: true, window: "a slot's n_ctx: --ctx-size divided by --parallel",
		over: "llama.cpp stops generating at the window's end, before max_tokens"},
	engine.VLLM:   {refuses: true, window: "max_model_len", over: "vLLM refuses such requests (the run stops the stage at the first refusal)"},
	engine.SGLang: {refuses: true, window: "the context length", over: "SGLang refuses such requests (the run stops the stage at the first refusal)"},
	engine.Ollama: {window: "the loaded num_ctx",
		truncate: "Ollama does not refuse an overlong prompt: it cuts it to num_ctx without saying so, and the figures then describe a shorter prompt"},
	engine.LMStudio: {window: "the model's maximum context; the loaded one may be smaller",
		truncate: "LM Studio may cut an overlong prompt rather than refuse it"},
	engine.Foundry: {window: "the model's context length",
		truncate: "what Foundry Local does with an overlong prompt is not known"},
}

// contextWindows reads each model's context window before the run, where
// the engine tells it (model → tokens; nil when none is known), and says
// which it could not read.
func contextWindows(ctx context.Context, logf Logf, info engine.Info, cfg *runner.Config, hc *http.Client) map[string]int {
	if _, ok := fitEngines[info.Kind]; !ok {
		if info.Kind != engine.Sim { // the built-in simulator has no window
			logf.log("info", "%s does not report its models' context windows: prompts are not checked against them", info.Label())
		}
		return nil
	}
	mgr := engine.NewManager(info, hc)
	windows := map[string]int{}
	for _, model := range cfg.Models {
		window, err := contextWindow(ctx, info, mgr, model)
		if err != nil || window <= 0 {
			why := "the engine does not say"
			if err != nil {
				why = err.Error()
			}
			logf.log("info", "model %s: context window unknown (%s): prompts are not checked against it", model, why)
			continue
		}
		windows[model] = window
		ollamaTrained(ctx, logf, mgr, model, window)
	}
	if len(windows) == 0 {
		return nil
	}
	return windows
}

// ollamaTrained says when Ollama loaded model with a num_ctx (window, from
// /api/ps) below the context it was trained for (/api/show's
// <arch>.context_length): the prompts beyond num_ctx are cut, not refused,
// and a larger num_ctx would take them.
func ollamaTrained(ctx context.Context, logf Logf, mgr engine.Manager, model string, window int) {
	o, ok := mgr.(*engine.OllamaManager)
	if !ok {
		return
	}
	m, err := o.Show(ctx, model)
	if err != nil || m.ContextLength <= window {
		return
	}
	logf.log("info", "model %s: Ollama loaded it with num_ctx %d of the %d tokens it was trained for: longer prompts are cut to %d without an error (a larger num_ctx, OLLAMA_CONTEXT_LENGTH or a Modelfile's PARAMETER num_ctx, takes them)",
		model, window, m.ContextLength, window)
}

// sweepMaxTokens is the max_tokens of a scenario's requests.
func sweepMaxTokens(cfg *runner.Config, sc *suite.Scenario) int {
	if cfg.MaxTokens > 0 {
		return cfg.MaxTokens
	}
	return sc.MaxTokensOr(runner.DefaultMaxTokens)
}

// sweepSkip names the stages built to a length (builtLength: a context
// sweep's points, a profile's long prompts) that the context check will
// skip (judgeSweep: the length plus max_tokens beyond the model's window),
// so that their prompts are not resolved either: calibrating them would
// send the very prompts the check keeps from the engine. nil without such
// stages, or with cfg.Force.
func sweepSkip(info engine.Info, cfg *runner.Config, scs []suite.Scenario, windows map[string]int) func(model, scenario string) bool {
	fe, ok := fitEngines[info.Kind]
	if !ok || cfg.Force || len(windows) == 0 {
		return nil
	}
	type built struct{ n, maxTok int }
	lengths := map[string]built{}
	for i := range scs {
		if n, _ := builtLength(cfg, &scs[i]); n > 0 {
			lengths[scs[i].Name] = built{n, sweepMaxTokens(cfg, &scs[i])}
		}
	}
	if len(lengths) == 0 {
		return nil
	}
	return func(model, scenario string) bool {
		l, ok := lengths[scenario]
		w := windows[model]
		return ok && w > 0 && judgeSweep(fe, l.n, l.maxTok, w, runner.FitExact, "") != nil
	}
}

// builtLength is the length a scenario's prompt is built to, where the
// context check judges it by that length alone (judgeSweep), and what to
// call it in messages: a context sweep's point, or a profiled run's fixed
// input length (standard/2's long prompts: a profile takes no --force, and
// a prompt an engine would cut would make its figure describe a shorter
// one). 0 for any other scenario.
func builtLength(cfg *runner.Config, sc *suite.Scenario) (n int, label string) {
	if l := runner.SweepLength(sc.Name); l > 0 && len(cfg.ContextSweep) > 0 {
		return l, "context sweep"
	}
	if cfg.Profile != nil && sc.InputTokens != nil && sc.InputTokens.Kind == suite.InputFixed {
		return sc.InputTokens.N, "profile " + cfg.Profile.ID
	}
	return 0, ""
}

// checkContextFit compares each model × scenario prompt with the model's
// context window (windows, as contextWindows read them) before the run,
// and returns what it found: a stage whose prompt cannot fit an engine
// that refuses such prompts is skipped (the exact count, from the engine's
// own chat template and tokenizer where it has one, reaches the window; or
// the estimate reaches estimateSkipFactor times it); a stage that might
// not fit, or whose prompt plus max_tokens goes beyond the window, or that
// an engine would silently cut, gets a warning. A context sweep's stage,
// and a profile's long prompt, is judged on its length (its prompt is
// resolved to exactly that many tokens; builtLength) and skipped whenever
// the length plus max_tokens is beyond the window, whatever the engine
// (judgeSweep). With cfg.Force a stage that
// would be skipped runs with a warning instead. Each finding is logged
// before any request.
func checkContextFit(ctx context.Context, logf Logf, info engine.Info, cfg *runner.Config, scs []suite.Scenario, hc *http.Client, inputs *inputlen.Set, windows map[string]int) []runner.ContextFit {
	fe, ok := fitEngines[info.Kind]
	if !ok {
		return nil
	}
	mgr := engine.NewManager(info, hc)
	var fits []runner.ContextFit
	for _, model := range cfg.Models {
		window := windows[model]
		if window <= 0 {
			continue
		}
		counter, _ := mgr.(engine.PromptCounter)
		for i := range scs {
			sc := &scs[i]
			maxTok := sweepMaxTokens(cfg, sc)
			var f *runner.ContextFit
			if l, label := builtLength(cfg, sc); l > 0 {
				f = judgeSweep(fe, l, maxTok, window, runner.FitExact, label)
			} else {
				n, method := 0, runner.FitExact
				if in, how, ok := inputPrompt(inputs, model, sc); ok {
					n, method = in, how // the longest input length asked for, as resolved
				} else if counter != nil {
					var err error
					if n, err = counter.CountPrompt(ctx, model, promptOf(cfg, model, sc)); err != nil {
						logf.log("info", "model %s: counting prompts with the engine's tokenizer failed (%v): they are estimated", model, err)
						counter = nil
					}
				}
				if counter == nil && sc.InputTokens == nil {
					n, method = estimatePrompt(promptOf(cfg, model, sc)), runner.FitEstimate
				}
				f = judgeFit(fe, n, maxTok, window, method)
			}
			if f == nil {
				continue
			}
			if f.Action == runner.FitSkipped && cfg.Force {
				f.Action = runner.FitWarned
				f.Message += "; sent anyway (--force)"
			}
			f.Model, f.Scenario = model, sc.Name
			logf.log("warn", "%s", f.String())
			fits = append(fits, *f)
		}
	}
	return fits
}

// judgeSweep decides what a prompt built to n tokens (a context sweep's
// point, a profile's long prompt; counted by method: such prompts are built
// to their length, so the estimate is the length asked) does on a window
// of window tokens: skipped when n plus maxTok is beyond it, since an
// engine would refuse it (llama.cpp, vLLM, SGLang), stop before
// max_tokens, or cut the prompt (Ollama) and the point would describe a
// shorter prompt; nil when it fits. label begins the message.
func judgeSweep(fe fitEngine, n, maxTok, window int, method, label string) *runner.ContextFit {
	if n+maxTok <= window {
		return nil
	}
	what := fe.over
	if !fe.refuses {
		what = fe.truncate
	}
	return &runner.ContextFit{PromptTokens: n, MaxTokens: maxTok, ContextLength: window, Method: method, Action: runner.FitSkipped,
		Message: fmt.Sprintf("%s: %d input tokens + max_tokens %d = %d, beyond the context window of %d tokens (%s): not sent (%s)",
			label, n, maxTok, n+maxTok, window, fe.window, what)}
}

// judgeFit decides what a prompt of n tokens (counted by method), asking
// for maxTok more, does on a context window of window tokens; nil: it fits.
func judgeFit(fe fitEngine, n, maxTok, window int, method string) *runner.ContextFit {
	f := &runner.ContextFit{PromptTokens: n, MaxTokens: maxTok, ContextLength: window, Method: method, Action: runner.FitWarned}
	count := fmt.Sprintf("%d tokens (counted by the engine's tokenizer)", n)
	sure, might := n >= window, false // cannot fit; might not fit
	if method == runner.FitEstimate {
		count = fmt.Sprintf("about %d tokens (estimated)", n)
		sure, might = n >= estimateSkipFactor*window, estimateWarnFactor*n >= window
	}
	over := n+maxTok > window
	win := fmt.Sprintf("the context window of %d tokens (%s)", window, fe.window)
	switch {
	case sure && fe.refuses:
		f.Action = runner.FitSkipped
		f.Message = fmt.Sprintf("its prompt is %s, %s: the engine would refuse every request", count, tooBig(method, win))
	case !fe.refuses && (sure || might):
		f.Message = fmt.Sprintf("its prompt is %s for %s: it might not fit. %s", count, win, fe.truncate)
	case !fe.refuses:
		return nil
	case might && n >= window:
		f.Message = fmt.Sprintf("its prompt is %s, beyond %s: the engine will probably refuse its requests (the run stops the stage at the first refusal)", count, win)
	case might:
		f.Message = fmt.Sprintf("its prompt is %s, at least half %s: it might not fit (the run stops the stage at the first refusal)", count, win)
	case over:
		f.Message = fmt.Sprintf("its prompt is %s and max_tokens %d: together beyond %s; %s", count, maxTok, win, fe.over)
	default:
		return nil
	}
	return f
}

// tooBig says how far beyond the window a prompt that cannot fit is.
func tooBig(method, win string) string {
	if method == runner.FitEstimate {
		return fmt.Sprintf("at least %d times %s", estimateSkipFactor, win)
	}
	return "not below " + win
}

// contextWindow is the context window one request to model gets, as the
// engine reports it.
func contextWindow(ctx context.Context, info engine.Info, mgr engine.Manager, model string) (int, error) {
	if l, ok := mgr.(*engine.LlamaCppManager); ok {
		p, err := l.Props(ctx)
		return p.ContextLen, err
	}
	for _, m := range info.Models { // Foundry Local: as resolved before the run
		if m.ID == model && m.ContextLength > 0 {
			return m.ContextLength, nil
		}
	}
	if info.Kind == engine.Foundry {
		return 0, nil
	}
	models, err := mgr.Models(ctx, engine.LoadedSet)
	if err != nil {
		return 0, err
	}
	for _, m := range models {
		if m.ID == model || (info.Kind == engine.Ollama && !strings.Contains(model, ":") && m.ID == model+":latest") {
			return m.ContextLength, nil
		}
	}
	return 0, nil
}

// promptOf is the prompt of a stage's first measured request (a
// conversation's first turn), nonce and shared prefix included as the run
// sends them. A conversation's later turns are longer: one that outgrows
// the context window is refused by the engine, which stops its stage.
func promptOf(cfg *runner.Config, model string, sc *suite.Scenario) []engine.PromptMessage {
	nonce := ""
	if cfg.CacheBust {
		nonce = suite.Nonce(cfg.Seed, model, sc.Name, 0)
	}
	var msgs []suite.Message
	if cfg.PrefixTokens > 0 {
		msgs = suite.WithPrefix(sc.At(0).FirstMessages(""), suite.SharedPrefix(cfg.PrefixTokens))
		if nonce != "" {
			msgs[0].Content = "[" + nonce + "] " + msgs[0].Content
		}
	} else {
		msgs = sc.At(0).FirstMessages(nonce)
	}
	out := make([]engine.PromptMessage, len(msgs))
	for i, m := range msgs {
		out[i] = engine.PromptMessage{Role: m.Role, Content: m.Content}
	}
	return out
}

// estimatePrompt is tokens.Estimate over the messages' text (no chat
// template).
func estimatePrompt(msgs []engine.PromptMessage) int {
	n := 0
	for _, m := range msgs {
		n += tokens.Estimate(m.Content)
	}
	return n
}

// allSkipped is an error when the context check skipped every stage: there
// is nothing to run.
func allSkipped(fits []runner.ContextFit, cfg *runner.Config, scs []suite.Scenario) error {
	n := 0
	for _, f := range fits {
		if f.Action == runner.FitSkipped {
			n++
		}
	}
	if n == 0 || n < len(cfg.Models)*len(scs) {
		return nil
	}
	return fmt.Errorf("no scenario fits the context window of %s: every stage would be refused (see above); start the engine with a larger context or choose shorter scenarios", strings.Join(cfg.Models, ", "))
}
