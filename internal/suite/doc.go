// Package suite defines benchmark suites: named sets of scenarios (prompts
// with their generation settings) that a run sends to each model.
//
// A suite is read from JSON in the original FLPerformance format (name,
// description, version, scenarios[{name, description, prompt, max_tokens,
// expected_output_length}], default_config), which loads unchanged, plus a
// few extensions: a system prompt, multi-turn messages, per-scenario
// temperature, stop sequences, fixed-length output (ignore_eos, min_tokens),
// an explicit category and a language (a BCP 47 tag, CheckLanguage).
//
// Parsing is strict and complete: every problem in a file (syntax error with
// its line and column, unknown or misspelt field, wrong type, value out of
// range, duplicate scenario name) is reported at once in one
// *ValidationError, and nothing runs on a bad suite. Unset values stay
// distinguishable from zero (temperature 0 stays 0, a missing max_tokens is
// nil), so that what is sent is exactly what was configured.
//
// Suites come from the embedded builtins (Builtin, "default") or from a .json
// file (Load). Resolve accepts either, and never turns a bare name into a
// filesystem path. BuildMessages turns a scenario into the chat messages to
// send, optionally prefixed with a deterministic Nonce that defeats prefix
// caches so that every request pays its full prefill.
package suite
