// Package inputlen builds prompts of an exact length in the target model's
// own tokens, its chat template included (README: Input lengths): a seeded
// filler text, written for this project, whose length is searched until
// the engine counts exactly the tokens asked for.
//
// A Resolver counts candidate prompts the best way the engine allows, and
// says which it used (Method, the records' input_length_method):
//
//   - MethodTokenizer: the engine's own chat template and tokenizer
//     (engine.PromptCounter: llama.cpp /apply-template and /tokenize,
//     vLLM and SGLang /tokenize with messages);
//   - MethodCalibration: requests with max_tokens 1 sent to the engine
//     itself, whose usage.prompt_tokens (Ollama native: prompt_eval_count)
//     is read; they are counted (Stats) and never recorded or summarised;
//   - MethodGGUF: the model's tokenizer read from its local GGUF file
//     (internal/inputlen/gguf), its chat template overhead measured once;
//   - MethodEstimate: tokens.Estimate, labelled as approximate.
//
// The text is cached per model, system prompt and length, so a length asked
// for again costs nothing. The run's cache-busting nonce (suite.Nonce,
// prepended to the first message) is part of what is counted: the prompt
// is searched with a nonce of the same form in place (suite.DigitNonce,
// which the runner uses for these scenarios: decimal digits cost the same
// tokens whatever their values, where hexadecimal ones do not), so that
// the request the runner sends, with its own nonce, is the length asked
// for.
package inputlen
