// Package backend talks to an OpenAI-compatible chat completions endpoint
// and measures every request exactly (docs/metrics.md §1–§4): one monotonic clock,
// timestamps taken as each event arrives and before any JSON decoding, true
// token counts with their source, and one record.Record per request whatever
// happens. It never retries behind the caller's back.
package backend

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one chat completion to send. Zero values mean "not set": the
// field is left out of the body so the server's default applies, except
// Temperature, which is a pointer so that 0 is sent as 0.
type Request struct {
	Model       string
	Messages    []Message
	MaxTokens   int      // max_tokens; 0: not sent
	Temperature *float64 // nil: not sent; 0 is sent as 0
	Stop        []string
	Stream      bool
	IgnoreEOS   bool           // ignore_eos (vLLM, SGLang, llama.cpp): fixed-length output
	MinTokens   int            // min_tokens (vLLM, SGLang); 0: not sent
	Extra       map[string]any // engine-specific body fields, merged last
	// KeepAnswer, when > 0, keeps up to this many bytes of the answer's
	// content (reasoning excluded) in the record's Answer, for a
	// conversation to send back; 0 keeps none beyond the record's Text.
	KeepAnswer int
}
