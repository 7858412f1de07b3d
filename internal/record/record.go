// Package record defines the Record: one per request attempted, whatever
// happened to it. It is the leaf type that travels through the whole pipeline
// (load → backend → stats → store → reports) and imports nothing of ours.
//
// All times come from one monotonic clock. A Record keeps two absolute
// wall-clock stamps (Scheduled and Sent, with their monotonic readings while
// in memory) and expresses every later moment as an offset from Sent, so that
// records survive encoding without losing precision. An offset of zero means
// "did not happen" (a stream never produces a token at the very instant the
// request was written); the backend clamps real events to at least 1 ns.
// See docs/metrics.md §1–§4 for the meaning of each field.
package record

import (
	"time"
)

// Outcome classifies how a request ended (docs/metrics.md §4).
type Outcome string

// The closed set of outcomes.
const (
	OK           Outcome = "ok"
	Timeout      Outcome = "timeout"
	HTTPError    Outcome = "http_error"
	StreamError  Outcome = "stream_error"
	ConnectError Outcome = "connect_error"
	Canceled     Outcome = "canceled"
)

// Outcomes lists every outcome in report order.
var Outcomes = []Outcome{OK, Timeout, HTTPError, StreamError, ConnectError, Canceled}

// Failed reports whether the outcome counts against the error rate.
// Canceled requests are neither successes nor failures.
func (o Outcome) Failed() bool { return o != OK && o != Canceled }

// Phase names where a request was when it timed out or failed.
type Phase string

// Request phases, in order.
const (
	PhaseConnect    Phase = "connect"     // before the connection was made
	PhaseHeaders    Phase = "headers"     // request written, waiting for response headers
	PhaseFirstToken Phase = "first_token" // headers received, no generated text yet
	PhaseStream     Phase = "stream"      // generating: at least one token received
)

// TokenSource says where a token count came from (docs/metrics.md §2), best first.
type TokenSource string

// Token sources, best first.
const (
	SourceUsage    TokenSource = "usage"    // usage object reported by the server
	SourceEngine   TokenSource = "engine"   // engine-native counter (llama.cpp timings, Ollama eval_count)
	SourceEstimate TokenSource = "estimate" // tokenizer estimate of the text
	SourceChunks   TokenSource = "chunks"   // number of text-bearing chunks: last resort, approximate
	SourceNone     TokenSource = ""         // no count
)

// Rank orders sources: lower is better; SourceNone ranks last.
func (s TokenSource) Rank() int {
	switch s {
	case SourceUsage:
		return 0
	case SourceEngine:
		return 1
	case SourceEstimate:
		return 2
	case SourceChunks:
		return 3
	}
	return 4
}

// Record is everything measured about one request.
type Record struct {
	// Identity and grouping.
	Seq      int64  `json:"seq"`                // order of scheduling within the run, from 0
	Model    string `json:"model"`              // model id as sent to the engine
	Scenario string `json:"scenario"`           // suite scenario name
	Stage    string `json:"stage,omitempty"`    // load stage label, e.g. "c=8" (empty for a single stage)
	Worker   int    `json:"worker"`             // closed-loop worker or open-loop slot that sent it
	Warmup   bool   `json:"warmup,omitempty"`   // warm-up request: recorded, never summarised
	Turn     int    `json:"turn,omitempty"`     // a conversation's turn, from 1 (0: not a conversation)
	Stream   bool   `json:"stream"`             // streaming request
	MaxTok   int    `json:"max_tokens"`         // max_tokens requested (0: not set)
	Attempt  int    `json:"attempt,omitempty"`  // attempt number: 0 the first, n the n-th retry (flperf run --retries; off by default)
	Endpoint string `json:"endpoint,omitempty"` // base URL the request went to
	// RetryOf is the seq of the attempt this one repeats (Attempt > 0);
	// Retried marks an attempt that a later one repeated, so that its
	// failure is not the request's final outcome; RetryWait is t_send of
	// this attempt − t_send of the request's first attempt (0 for a first
	// attempt), so that a recovered request's latency counts from its
	// first attempt, what its user waited (docs/metrics.md §4).
	RetryOf   int64         `json:"retry_of,omitempty"`
	Retried   bool          `json:"retried,omitempty"`
	RetryWait time.Duration `json:"retry_wait_ns,omitempty"`
	// RetryAfter is the Retry-After header of an HTTP error answer, as the
	// server sent it; only the retry loop reads it, and it is not stored.
	RetryAfter string `json:"-"`
	// ConnRetries counts the times the request was sent once more on a new
	// connection because the server had closed the reused one it went out on
	// before any response byte (it never reached the engine): 0 or 1. Sent
	// and every offset describe the sending that got through.
	ConnRetries int `json:"connection_retries,omitempty"`

	// Times. Scheduled and Sent are absolute; the rest are offsets from Sent.
	Scheduled   time.Time     `json:"scheduled"`          // t_sched: when the load generator meant to send it
	Sent        time.Time     `json:"sent"`               // t_send: just before the request was written
	FirstByte   time.Duration `json:"first_byte_ns"`      // t_fb − t_send
	FirstToken  time.Duration `json:"first_token_ns"`     // t_first − t_send (content or reasoning)
	FirstAnswer time.Duration `json:"first_answer_ns"`    // t_first_answer − t_send (content only)
	LastToken   time.Duration `json:"last_token_ns"`      // t_last − t_send
	End         time.Duration `json:"end_ns"`             // t_end − t_send
	Chunks      []Chunk       `json:"chunks,omitempty"`   // every text-bearing event, in arrival order
	ChunkCount  int           `json:"chunk_count"`        // number of text-bearing events
	ReasonChunk int           `json:"reason_chunk_count"` // of which carried reasoning text only

	// Token counts and where they came from.
	InputTokens     int         `json:"input_tokens"`
	InputSource     TokenSource `json:"input_source"`
	OutputTokens    int         `json:"output_tokens"`
	OutputSource    TokenSource `json:"output_source"`
	EngineOutTokens int         `json:"engine_output_tokens,omitempty"` // engine-native count when the server sent one beside usage
	EstOutTokens    int         `json:"estimated_output_tokens"`        // tokenizer estimate of the generated text (second source)
	CachedTokens    int         `json:"cached_tokens,omitempty"`        // prompt tokens served from a prefix cache, when reported

	// Result.
	Status       int     `json:"status"`                  // HTTP status code (0: no response)
	FinishReason string  `json:"finish_reason,omitempty"` // stop, length, …
	Outcome      Outcome `json:"outcome"`
	Phase        Phase   `json:"phase,omitempty"` // where a failed request was
	Error        string  `json:"error,omitempty"` // error text (HTTP error bodies: first 1 KiB)
	Text         string  `json:"text,omitempty"`  // generated text, untrusted, first TextLimit bytes
	// Answer is the answer's content (reasoning excluded), kept only when
	// the request asked for it (a conversation sends it back in the next
	// turn) and never stored; AnswerCut says it outgrew that bound.
	Answer    string `json:"-"`
	AnswerCut bool   `json:"-"`
	TextBytes int    `json:"text_bytes"` // full length of the generated text in bytes
	// TextChars is the full length of the generated text in characters
	// (Unicode code points, an invalid byte counting as one, as
	// utf8.RuneCount counts), and PromptChars that of every message sent
	// (system, conversation and prompt): the denominators of tokens per
	// character and characters per second (docs/metrics.md §3). 0 in
	// records stored before schema 12, which did not count them.
	TextChars   int `json:"text_chars,omitempty"`
	PromptChars int `json:"prompt_chars,omitempty"`
	// RequestedInputTokens is the input length the scenario asked for, in
	// the model's own tokens with its chat template (suite input_tokens;
	// 0: none asked for), and InputLengthMethod how the prompt was made
	// that long: "tokenizer", "calibration", "gguf" or "estimate"
	// (internal/inputlen). InputTokens stays the engine's own count.
	RequestedInputTokens int    `json:"requested_input_tokens,omitempty"`
	InputLengthMethod    string `json:"input_length_method,omitempty"`

	// Server is the engine's own account of this response, when it sent
	// one (llama.cpp "timings", Ollama's native durations, LM Studio's
	// "stats"); nil when it sent none. It sits beside the client's figures
	// and never replaces them.
	Server *ServerTimings `json:"server,omitempty"`
}

// ServerTimings is what an engine reported about one response, in its own
// clock. A nil field was not reported; a reported zero stays zero.
type ServerTimings struct {
	PromptMS     *float64 `json:"prompt_ms,omitempty"`     // prefill time (llama.cpp prompt_ms, Ollama prompt_eval_duration)
	DecodeMS     *float64 `json:"decode_ms,omitempty"`     // time generating DecodeTokens (llama.cpp predicted_ms, Ollama eval_duration, LM Studio generation_time)
	LoadMS       *float64 `json:"load_ms,omitempty"`       // model load time this request waited for (Ollama load_duration)
	TotalMS      *float64 `json:"total_ms,omitempty"`      // the whole request inside the engine (Ollama total_duration)
	TTFTMS       *float64 `json:"ttft_ms,omitempty"`       // the engine's own time to first token (LM Studio time_to_first_token)
	PromptTokens *int     `json:"prompt_tokens,omitempty"` // prompt tokens it processed (llama.cpp prompt_n: the uncached part; Ollama prompt_eval_count)
	DecodeTokens *int     `json:"decode_tokens,omitempty"` // tokens it generated (llama.cpp predicted_n, Ollama eval_count)
	DecodeTPS    *float64 `json:"decode_tps,omitempty"`    // decode rate it reported itself (LM Studio tokens_per_second)
}

// EngineTTFT is the engine's own time to first token in milliseconds: its
// reported TTFT, else its load wait plus prefill time. ok is false when it
// reported neither.
func (s *ServerTimings) EngineTTFT() (ms float64, ok bool) {
	switch {
	case s == nil:
		return 0, false
	case s.TTFTMS != nil:
		return *s.TTFTMS, true
	case s.PromptMS != nil:
		v := *s.PromptMS
		if s.LoadMS != nil {
			v += *s.LoadMS
		}
		return v, true
	}
	return 0, false
}

// DecodeRate is the engine's decode rate in tokens per second: its decode
// tokens over its decode time, else the rate it reported. ok is false when
// neither is known.
func (s *ServerTimings) DecodeRate() (tps float64, ok bool) {
	switch {
	case s == nil:
		return 0, false
	case s.DecodeTokens != nil && s.DecodeMS != nil && *s.DecodeTokens > 0 && *s.DecodeMS > 0:
		return float64(*s.DecodeTokens) / (*s.DecodeMS / 1000), true
	case s.DecodeTPS != nil:
		return *s.DecodeTPS, true
	}
	return 0, false
}

// TextLimit is how many bytes of generated text a Record keeps.
const TextLimit = 2048

// Chunk is one text-bearing stream event.
type Chunk struct {
	At     time.Duration `json:"at"`               // arrival, offset from Sent
	Tokens int           `json:"tokens,omitempty"` // tokens it carried per server usage (0: unknown)
	Est    int           `json:"est"`              // tokenizer estimate of its text (≥ 1)
}

// TTFT is the time to first token, t_first − t_send; ok=false when no token arrived.
func (r *Record) TTFT() (time.Duration, bool) { return r.FirstToken, r.FirstToken > 0 }

// TTFO is the time to first answer (non-reasoning) token.
func (r *Record) TTFO() (time.Duration, bool) { return r.FirstAnswer, r.FirstAnswer > 0 }

// QueueWait is t_send − t_sched: how long the request waited in the client.
func (r *Record) QueueWait() time.Duration {
	if r.Scheduled.IsZero() || r.Sent.IsZero() {
		return 0
	}
	if d := r.Sent.Sub(r.Scheduled); d > 0 {
		return d
	}
	return 0
}

// E2E is t_end − t_send; ok=false when the stream never ended.
func (r *Record) E2E() (time.Duration, bool) { return r.End, r.End > 0 }

// TPOT is (t_last − t_first)/(N_out − 1), with N_out from Output; ok=false
// unless N_out ≥ 2 and both moments are known.
func (r *Record) TPOT() (time.Duration, bool) {
	out, _, _ := r.Output()
	if out < 2 || r.FirstToken <= 0 || r.LastToken < r.FirstToken {
		return 0, false
	}
	return (r.LastToken - r.FirstToken) / time.Duration(out-1), true
}

// ChunkGaps appends the raw gaps between consecutive text-bearing events.
func (r *Record) ChunkGaps(dst []time.Duration) []time.Duration {
	for i := 1; i < len(r.Chunks); i++ {
		dst = append(dst, r.Chunks[i].At-r.Chunks[i-1].At)
	}
	return dst
}
