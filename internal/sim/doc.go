// Package sim is FLPerformance's built-in SIMULATED LLM engine: an
// OpenAI-compatible HTTP server (POST /v1/chat/completions, streaming and
// not, GET /v1/models) whose timing is known exactly, so that every metric
// can be tested against it and `flperf run` has something to measure when
// no real engine is found. It generates no language: its "tokens" are
// lorem-ipsum words. Every response carries the header
// "X-FLPerf-Engine: simulated" and GET /flperf/sim identifies it, so a
// simulated run can never pass for a real one.
//
// # Schedule
//
// Each model is described by a Profile. A request first waits for a free
// generation slot (FIFO, Profile.Slots; 0 means unlimited). The moment it
// gets one is the origin of its schedule, and every later moment is an
// absolute deadline from that origin, reached with one reusable timer, so
// errors never accumulate:
//
//	first token   origin + (TTFT + (N_in − cached)/PrefillTPS) × (1+j₀)
//	token i       first + Σ_{g=1..i} (1/DecodeTPS) × (1+j_g)
//
// where N_in is tokens.Estimate summed over the message contents, cached
// the part of it the model's prefix cache served (0 without one), and each
// j is drawn uniformly from [−Jitter, +Jitter] by a seeded generator (with
// Jitter 0, token i is due at exactly first + i/DecodeTPS). A chunk of
// TokensPerChunk tokens is written and flushed at the due time of its last
// token. Reasoning tokens (delta.reasoning_content) come first, in their own
// chunks, then content tokens (delta.content).
//
// The deadlines are exact; the flushes are not quite: Go's timers on Linux
// wake with millisecond granularity, so a chunk goes out at its due time or
// up to about a millisecond later (never earlier; about 0.7 ms median when
// measured). Trace events carry both the due time and the real flush time.
//
// Streaming response headers (200, text/event-stream) are flushed when the
// request gets its slot, not when it arrives: a queued request therefore
// shows as a wait for the first response byte, as it does with Ollama and
// Foundry Local, which also hold queued requests before answering.
// Non-streaming responses are written whole once the last token is due.
//
// # Prefix cache
//
// A model with Profile.PrefixCache > 0 keeps that many prompt prefixes, a
// whole number of messages each, least recently used first out. A request
// whose leading messages form a cached prefix (an earlier request's, or an
// earlier request's prompt followed by its answer, as a conversation sends
// it back) prefills only the rest: N_in above becomes N_in − cached, where
// cached is at most N_in − 1. It reports the hit as usage
// prompt_tokens_details.cached_tokens and, with Timings, as cache_n with
// prompt_n the uncached part; with CacheAsEvaluated (Ollama) usage
// prompt_tokens counts only the uncached tokens instead. A nonce at the
// start of the first message makes every prefix new.
//
// # Tokens
//
// Each token is a space followed by a 1–6 letter lowercase word from a fixed
// vocabulary, so tokens.Estimate of any chunk's text equals the number of
// tokens in it, and usage.completion_tokens equals the estimate of the whole
// text. The words of request k of a model depend only on Profile.Seed and k.
//
// # Determinism and faults
//
// Requests to a model are numbered k = 0, 1, 2, … in the order their bodies
// are read. Faults, jitter and words of request k are drawn from independent
// generators seeded by (Profile.Seed, k), so two servers with the same
// profiles that receive requests in the same order show the same faults, the
// same jitter and the same text. Injected faults: an HTTP 429/500/503 answer
// with an OpenAI-style JSON error instead of generating; a stall; a
// connection cut after about half the tokens (no [DONE]); one malformed
// frame. A cut aborts the handler with http.ErrAbortHandler, which needs a
// net/http server (httptest.Server, Serve, a MemListener).
//
// # Scale
//
// A request costs one goroutine (the handler's own), one timer and one frame
// buffer that every frame is appended into (no encoding/json per chunk), so a
// process can hold 10,000 concurrent streams; MemListener carries them
// without file descriptors.
package sim
