package backend

import (
	"encoding/json"
	"errors"
)

// frame is what one response object (a streamed chunk, or a whole
// non-streaming response) tells us. Only the fields a measurement needs are
// read; everything else is skipped. Strings are byte slices that stay valid
// until the next parse; a count of -1 means "absent" (missing, null, not an
// integer, or negative).
type frame struct {
	content          []byte // choices[0].delta.content (message.content when not streaming)
	reasoningContent []byte // choices[0].delta.reasoning_content
	reasoning        []byte // choices[0].delta.reasoning
	finish           []byte // choices[0].finish_reason

	promptTokens     int64 // usage.prompt_tokens
	completionTokens int64 // usage.completion_tokens
	cachedTokens     int64 // usage.prompt_tokens_details.cached_tokens

	promptN    int64 // timings.prompt_n (llama.cpp)
	predictedN int64 // timings.predicted_n
	cacheN     int64 // timings.cache_n

	promptMS    float64 // timings.prompt_ms (llama.cpp); -1: absent
	predictedMS float64 // timings.predicted_ms

	statsTPS  float64 // stats.tokens_per_second (LM Studio /api/v0, seconds-based); -1: absent
	statsTTFT float64 // stats.time_to_first_token, s
	statsGen  float64 // stats.generation_time, s

	errVal []byte // raw top-level "error" value when it signals an error (nil: none)
}

func (f *frame) reset() {
	*f = frame{
		promptTokens: -1, completionTokens: -1, cachedTokens: -1,
		promptN: -1, predictedN: -1, cacheN: -1,
		promptMS: -1, predictedMS: -1,
		statsTPS: -1, statsTTFT: -1, statsGen: -1,
	}
}

// errNotObject reports a frame that is valid JSON but not an object.
var errNotObject = errors.New("frame is not a JSON object")

// refParse is the reference parser: encoding/json, one level at a time, with
// exact (case-sensitive) keys, the last of duplicate keys winning, and values
// of an unexpected type treated as absent. It defines what the fast parser in
// chunk.go must produce, and is its fallback. choiceKey is "delta" for stream
// chunks and "message" for complete responses. A non-nil error means the
// input is malformed (not a single valid JSON object).
func refParse(data []byte, choiceKey string, f *frame) error {
	f.reset()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return err
	}
	if top == nil {
		return errNotObject // the literal null
	}
	if raw, ok := top["error"]; ok && isErrValue(raw) {
		f.errVal = raw
	}
	if choice := refFirst(top["choices"]); choice != nil {
		f.finish = refString(choice["finish_reason"])
		if d := refObject(choice[choiceKey]); d != nil {
			f.content = refString(d["content"])
			f.reasoningContent = refString(d["reasoning_content"])
			f.reasoning = refString(d["reasoning"])
		}
	}
	if u := refObject(top["usage"]); u != nil {
		f.promptTokens = refInt(u["prompt_tokens"])
		f.completionTokens = refInt(u["completion_tokens"])
		if d := refObject(u["prompt_tokens_details"]); d != nil {
			f.cachedTokens = refInt(d["cached_tokens"])
		}
	}
	if t := refObject(top["timings"]); t != nil {
		f.promptN = refInt(t["prompt_n"])
		f.predictedN = refInt(t["predicted_n"])
		f.cacheN = refInt(t["cache_n"])
		f.promptMS = refFloat(t["prompt_ms"])
		f.predictedMS = refFloat(t["predicted_ms"])
	}
	if st := refObject(top["stats"]); st != nil {
		f.statsTPS = refFloat(st["tokens_per_second"])
		f.statsTTFT = refFloat(st["time_to_first_token"])
		f.statsGen = refFloat(st["generation_time"])
	}
	return nil
}

// isErrValue reports whether a raw top-level "error" value signals an error:
// anything but null, false or the empty string ("error": null is not one).
func isErrValue(raw []byte) bool {
	s := string(raw)
	return s != "null" && s != "false" && s != `""`
}

// refObject decodes raw as an object; nil when absent or not an object.
func refObject(raw json.RawMessage) map[string]json.RawMessage {
	if raw == nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// refFirst returns the first element of the array raw as an object.
func refFirst(raw json.RawMessage) map[string]json.RawMessage {
	if raw == nil {
		return nil
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil || len(a) == 0 {
		return nil
	}
	return refObject(a[0])
}

// refString decodes raw as a string; nil when absent, null or not a string.
func refString(raw json.RawMessage) []byte {
	if raw == nil {
		return nil
	}
	var s *string
	if json.Unmarshal(raw, &s) != nil || s == nil {
		return nil
	}
	return []byte(*s)
}

// refInt decodes raw as a non-negative integer; -1 when absent, null, not an
// integer literal, out of range or negative.
func refInt(raw json.RawMessage) int64 {
	if raw == nil || string(raw) == "null" {
		return -1
	}
	var n int64
	if json.Unmarshal(raw, &n) != nil || n < 0 {
		return -1
	}
	return n
}

// refFloat decodes raw as a finite non-negative number; -1 when absent,
// null, not a number, out of range or negative.
func refFloat(raw json.RawMessage) float64 {
	if raw == nil || string(raw) == "null" {
		return -1
	}
	var x float64
	if json.Unmarshal(raw, &x) != nil || x < 0 {
		return -1
	}
	return x
}
