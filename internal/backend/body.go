package backend

import (
	"bytes"
	"encoding/json"
)

// buildBody encodes the JSON body of a chat completion. Fields left at their
// zero value are not sent, except temperature, which is sent whenever set
// (0 as 0). Extra is merged last and wins, but stream_options is only ever
// sent on a streaming request to an endpoint that accepts it.
func buildBody(req *Request, streamOptions bool) ([]byte, error) {
	m := make(map[string]any, 10+len(req.Extra))
	msgs := req.Messages
	if msgs == nil {
		msgs = []Message{}
	}
	m["model"] = req.Model
	m["messages"] = msgs
	m["stream"] = req.Stream
	if req.MaxTokens > 0 {
		m["max_tokens"] = req.MaxTokens
	}
	if req.Temperature != nil {
		m["temperature"] = *req.Temperature
	}
	if len(req.Stop) > 0 {
		m["stop"] = req.Stop
	}
	if req.IgnoreEOS {
		m["ignore_eos"] = true
	}
	if req.MinTokens > 0 {
		m["min_tokens"] = req.MinTokens
	}
	if req.Stream && streamOptions {
		m["stream_options"] = map[string]any{"include_usage": true}
	}
	for k, v := range req.Extra {
		m[k] = v
	}
	if !req.Stream || !streamOptions {
		delete(m, "stream_options")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
