package runner

import (
	"flperf/internal/result"
	"fmt"
	"math"

	"flperf/internal/engine"
)

// TruncationTolerance is how much fewer input tokens than a prompt was
// built to the engine may count before the truncation check warns (a real
// engine's chat template and tokenizer count a text a little differently).
const TruncationTolerance = 0.01

// truncation finds the groups whose prompts the engine cut, and puts a
// warning on each and on the run: an engine that counted fewer input
// tokens than the prompts asked for (input_tokens, by more than
// TruncationTolerance on average), or an engine that cuts overlong
// prompts without an error (Ollama; its prompt_eval_count is then exactly
// the loaded num_ctx, or its default when the window is unknown) that
// counted the whole context window. The figures
// of such a group describe a shorter prompt than the one sent. It guards
// every scenario, not only sweeps.
func truncation(res *Result) {
	silent := res.Engine.Kind == engine.Ollama
	for i := range res.Groups {
		g := &res.Groups[i]
		if g.InputTokens.N == 0 {
			continue
		}
		t := Truncation{Model: g.Model, Scenario: g.Scenario, Stage: g.Stage,
			Window: res.Suite.ContextWindows[g.Model], Counted: int(math.Round(g.InputTokens.Min)), CountedMax: int(math.Round(g.InputTokens.Max))}
		il := g.InputLength
		fewer := il != nil && il.Diff != nil && *il.Diff < -TruncationTolerance
		if il != nil && il.RequestedMean != nil {
			t.Requested = int(math.Round(*il.RequestedMean))
		}
		var msg string
		switch {
		case fewer:
			msg = fmt.Sprintf("prompts cut: they asked for %d input tokens, but the engine counted %.0f on average, as few as %d", t.Requested, *il.MeasuredMean, t.Counted)
			if t.Window > 0 {
				msg += fmt.Sprintf(" (context window %d)", t.Window)
			}
		case silent && t.Window > 0 && t.CountedMax >= t.Window:
			msg = fmt.Sprintf("prompts cut: the engine counted %d input tokens, its whole context window (num_ctx %d)", t.CountedMax, t.Window)
		case silent && t.Window == 0 && t.CountedMax == engine.OllamaDefaultNumCtx:
			// Ollama 0.6 does not say the loaded num_ctx (CI's real-engine
			// test): a count of exactly its default is a cut prompt.
			msg = fmt.Sprintf("prompts cut: the engine counted %d input tokens, exactly Ollama's default context (num_ctx %d; the loaded context is not reported)", t.CountedMax, engine.OllamaDefaultNumCtx)
		default:
			continue
		}
		if silent {
			msg += ": the engine kept only part of the prompt without an error, so TTFT, prefill and every figure of this group describe a shorter prompt than the one sent." +
				" Ollama cuts a prompt longer than num_ctx: load the model with a larger num_ctx (OLLAMA_CONTEXT_LENGTH, or a Modelfile's PARAMETER num_ctx) or send shorter prompts."
		} else {
			msg += ": the engine kept only part of the prompt, or counts it otherwise than the method that sized it (input_length_method); either way the figures of this group describe a shorter prompt than the one asked for."
		}
		t.Message = msg
		res.Suite.Truncated = append(res.Suite.Truncated, t)
	}
	MarkTruncated(res)
}

// MarkTruncated is result.MarkTruncated.
func MarkTruncated(res *Result) { result.MarkTruncated(res) }
