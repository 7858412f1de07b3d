package sim

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode"
)

// Profile describes one simulated model: its name, its timing and the wire
// dialect it speaks. The zero value of every field but Name and DecodeTPS is
// a usable default.
type Profile struct {
	Name                string        // model id served, e.g. "sim-fast"
	TTFT                time.Duration // base time to first token once a slot is free (excluding prefill)
	PrefillTPS          float64       // input tokens per second; TTFT grows by N_in/PrefillTPS (0: no prefill cost)
	DecodeTPS           float64       // output tokens per second after the first token (> 0)
	Jitter              float64       // relative jitter in [0,1): each TTFT and each token gap is multiplied by (1+U(-J,J)), seeded
	TokensPerChunk      int           // tokens per SSE chunk (0 means 1)
	RoleChunk           bool          // send a role-only chunk (delta.role, content "") at headers time, before prefill ends
	Usage               bool          // report usage (stream: final usage chunk only when the request asked stream_options.include_usage; non-stream: always)
	RejectStreamOptions bool          // answer 400 "Unrecognized request argument supplied: stream_options" when stream_options is present
	ContinuousUsage     bool          // vLLM-style: with stream_options.continuous_usage_stats, every chunk carries cumulative usage (needs Usage)
	Timings             bool          // llama.cpp-style "timings" object on the last chunk and on non-stream bodies
	NoDone              bool          // end the stream without "data: [DONE]" (Foundry 1.x style)
	Reasoning           int           // reasoning tokens (delta.reasoning_content) before the content tokens; they count in completion_tokens
	OutputTokens        int           // natural length in completion tokens, reasoning included: finish "stop" after this many if < max_tokens; 0: always run to max_tokens ("length")
	DefaultMaxTokens    int           // used when the request has no max_tokens (0 means 256)
	Slots               int           // parallel generation slots (0: unlimited); extra requests queue FIFO, queue time adds to TTFT
	Seed                int64         // seeds faults, jitter and words
	// PrefixCache is the size of the model's prefix cache in prompt
	// prefixes (0: no cache). A request whose leading messages were seen
	// before prefills only the rest: TTFT grows by
	// (N_in − cached)/PrefillTPS, usage carries
	// prompt_tokens_details.cached_tokens and timings carry cache_n and
	// prompt_n = N_in − cached. Least recently used prefixes go first.
	PrefixCache int
	// CacheAsEvaluated counts in usage prompt_tokens (and Ollama's
	// prompt_eval_count) only the prompt tokens prefilled, so a cache hit
	// shows as a drop: an engine that counts what it evaluated. The real
	// Ollama 0.6.5 does not (it counts the whole prompt); newer builds may.
	CacheAsEvaluated bool
	// CacheUnreported leaves prompt_tokens_details out of usage: the engine
	// never says what its cache served (Ollama's /v1), whichever way it
	// counts the prompt.
	CacheUnreported bool
	// TemplateTokens is the chat template's overhead: tokens every chat
	// request's prompt counts beyond its messages' text (the roles and
	// markers a real template adds), in usage, Ollama's prompt_eval_count,
	// the prefill time and the dialects' /tokenize of messages alike.
	TemplateTokens int
	Faults         Faults // injected failures
}

// Faults are failures injected with a given probability per request. Each
// request draws its faults from its own seeded generator (see the package
// documentation), so the same seed gives the same faults in the same order.
type Faults struct {
	Status429, Status500, Status503 float64       // probability per request of answering that status (JSON error body) instead of generating; their sum is at most 1
	Stall                           float64       // probability per request of stalling for StallFor ...
	StallFor                        time.Duration // ... (the rest of the schedule shifts by StallFor) ...
	StallAt                         int           // ... before headers (-1), before the first token (0), or after this many tokens (>0; at or past the end: before the finish chunk)
	Cut                             float64       // probability of cutting the connection mid-stream (after about half the tokens), no [DONE]
	Malformed                       float64       // probability of sending one malformed frame (`data: {"choices":[{"delta":`) mid-stream
}

// Limits on requests.
const (
	// MaxBodyBytes is the largest request body accepted (413 beyond).
	MaxBodyBytes = 16 << 20
	// MaxOutputTokens is the largest max_tokens accepted (400 beyond).
	MaxOutputTokens = 1 << 20
	// MaxPrefixCache is the largest Profile.PrefixCache accepted.
	MaxPrefixCache = 1 << 20
	// MaxTemplateTokens is the largest chat-template overhead a profile
	// may have.
	MaxTemplateTokens = 4096
	// DefaultTemplateTokens is the chat-template overhead of the default
	// profiles (the OpenAI-generic simulator): small, but enough that a
	// prompt length that forgets the template misses.
	DefaultTemplateTokens = 3
	// defaultMaxTokens applies when neither the request nor the profile sets a limit.
	defaultMaxTokens = 256
)

// DefaultProfiles returns the models `flperf run` benchmarks when no real
// engine is found: "sim-fast", an unqueued server that sends two tokens per
// chunk, and "sim-slow", a four-slot server that sends a role chunk first and
// one token per chunk. Both keep a prefix cache of 1024 prompt prefixes,
// which the default cache-busting nonce defeats and a conversation's later
// turns hit. Together they take about 40 seconds over the default suite.
func DefaultProfiles() []Profile {
	return []Profile{
		{
			Name:           "sim-fast",
			TTFT:           25 * time.Millisecond,
			PrefillTPS:     8000,
			DecodeTPS:      900,
			Jitter:         0.05,
			TokensPerChunk: 2,
			Usage:          true,
			PrefixCache:    1024,
			Seed:           1,
			TemplateTokens: DefaultTemplateTokens,
		},
		{
			Name:           "sim-slow",
			TTFT:           60 * time.Millisecond,
			PrefillTPS:     2000,
			DecodeTPS:      350,
			Jitter:         0.08,
			TokensPerChunk: 1,
			RoleChunk:      true,
			Usage:          true,
			Slots:          4,
			PrefixCache:    1024,
			Seed:           2,
			TemplateTokens: DefaultTemplateTokens,
		},
	}
}

// validate reports every problem with p, each naming the profile and field.
func (p *Profile) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sim: profile %q: %s %s", p.Name, field, fmt.Sprintf(format, args...)))
	}
	switch {
	case p.Name == "":
		bad("Name", "must not be empty")
	case len(p.Name) > 256:
		bad("Name", "is longer than 256 bytes")
	default:
		for _, r := range p.Name {
			if unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' || r == '\\' {
				bad("Name", "must not contain spaces, quotes, backslashes or control characters")
				break
			}
		}
	}
	if p.TTFT < 0 {
		bad("TTFT", "must not be negative (got %v)", p.TTFT)
	}
	if !(p.PrefillTPS >= 0) || math.IsInf(p.PrefillTPS, 0) {
		bad("PrefillTPS", "must be a finite number ≥ 0 (got %v)", p.PrefillTPS)
	}
	if !(p.DecodeTPS > 0) || math.IsInf(p.DecodeTPS, 0) {
		bad("DecodeTPS", "must be a finite number > 0 (got %v)", p.DecodeTPS)
	}
	if !(p.Jitter >= 0 && p.Jitter < 1) {
		bad("Jitter", "must be in [0,1) (got %v)", p.Jitter)
	}
	if p.TemplateTokens < 0 || p.TemplateTokens > MaxTemplateTokens {
		bad("TemplateTokens", "must be in [0,%d] (got %d)", MaxTemplateTokens, p.TemplateTokens)
	}
	if p.TokensPerChunk < 0 {
		bad("TokensPerChunk", "must be ≥ 1, or 0 for 1 (got %d)", p.TokensPerChunk)
	}
	if p.ContinuousUsage && !p.Usage {
		bad("ContinuousUsage", "needs Usage")
	}
	if p.Reasoning < 0 {
		bad("Reasoning", "must not be negative (got %d)", p.Reasoning)
	}
	if p.OutputTokens < 0 {
		bad("OutputTokens", "must not be negative (got %d)", p.OutputTokens)
	} else if p.OutputTokens > 0 && p.Reasoning >= p.OutputTokens {
		bad("Reasoning", "(%d) must be less than OutputTokens (%d), which counts reasoning tokens too", p.Reasoning, p.OutputTokens)
	}
	if p.DefaultMaxTokens < 0 || p.DefaultMaxTokens > MaxOutputTokens {
		bad("DefaultMaxTokens", "must be in [0,%d] (got %d)", MaxOutputTokens, p.DefaultMaxTokens)
	}
	if p.PrefixCache < 0 || p.PrefixCache > MaxPrefixCache {
		bad("PrefixCache", "must be in [0,%d] (got %d)", MaxPrefixCache, p.PrefixCache)
	}
	if p.Slots < 0 {
		bad("Slots", "must not be negative (got %d)", p.Slots)
	}
	f := &p.Faults
	for _, pr := range []struct {
		name string
		v    float64
	}{
		{"Faults.Status429", f.Status429}, {"Faults.Status500", f.Status500}, {"Faults.Status503", f.Status503},
		{"Faults.Stall", f.Stall}, {"Faults.Cut", f.Cut}, {"Faults.Malformed", f.Malformed},
	} {
		if !(pr.v >= 0 && pr.v <= 1) {
			bad(pr.name, "must be a probability in [0,1] (got %v)", pr.v)
		}
	}
	if sum := f.Status429 + f.Status500 + f.Status503; sum > 1+1e-9 {
		bad("Faults.Status429+Status500+Status503", "must not exceed 1 (got %v)", sum)
	}
	if f.StallFor < 0 {
		bad("Faults.StallFor", "must not be negative (got %v)", f.StallFor)
	}
	if f.StallAt < -1 {
		bad("Faults.StallAt", "must be -1 (before headers), 0 (before the first token) or a token count (got %d)", f.StallAt)
	}
	return errors.Join(errs...)
}

// chunkTokens is TokensPerChunk with its default applied.
func (p *Profile) chunkTokens() int { return max(p.TokensPerChunk, 1) }

// maxTokens is the limit used when the request sets none.
func (p *Profile) maxTokens() int {
	if p.DefaultMaxTokens > 0 {
		return p.DefaultMaxTokens
	}
	return defaultMaxTokens
}
