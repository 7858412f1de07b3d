package engine

// How an engine is asked to generate exactly max_tokens (docs/engines.md
// §7.3): the values of runner.Config.OutputForcedBy.
const (
	// ForceIgnoreEOS is llama.cpp's way: ignore_eos with max_tokens (it has
	// no min_tokens).
	ForceIgnoreEOS = "ignore_eos"
	// ForceIgnoreEOSMinTokens is vLLM's and SGLang's (and the simulated
	// engine's): ignore_eos, and min_tokens equal to max_tokens.
	ForceIgnoreEOSMinTokens = "ignore_eos+min_tokens"
	// ForceUnsupported is an engine with no way to generate past the
	// model's end of sequence: answers keep their natural length.
	ForceUnsupported = "unsupported"
)

// FixedOutput says how an engine of kind k can be made to write exactly
// max_tokens tokens: ForceIgnoreEOS, ForceIgnoreEOSMinTokens, or
// ForceUnsupported with the reason why not.
func FixedOutput(k Kind) (how, why string) {
	switch k {
	case LlamaCpp:
		return ForceIgnoreEOS, ""
	case VLLM, SGLang, Sim:
		return ForceIgnoreEOSMinTokens, ""
	case Ollama:
		return ForceUnsupported, "Ollama has no ignore_eos or min_tokens; num_predict only caps the answer, which still ends at the model's end-of-sequence token"
	case Foundry:
		return ForceUnsupported, "Foundry Local has no ignore_eos or min_tokens"
	case LMStudio:
		return ForceUnsupported, "LM Studio has no ignore_eos or min_tokens"
	}
	return ForceUnsupported, "a generic OpenAI-compatible server is not known to honour ignore_eos or min_tokens"
}
