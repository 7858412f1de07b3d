package dialect

import (
	"encoding/json"
	"strings"

	"flperf/internal/tokens"
)

// ollamaTruncate is what Ollama does with a prompt longer than the loaded
// num_ctx: it keeps the prompt's last numCtx tokens and drops the rest
// without an error (its runner logs "truncating input prompt"), so the
// answer's prompt_eval_count (usage.prompt_tokens on /v1) is numCtx, not
// what was sent. body is an OpenAI chat body; the messages' string
// contents are cut from the front, the earliest messages first, counted as
// the simulator counts tokens (tokens.Estimate), so that with the chat
// template's template tokens, which the simulator adds to every prompt,
// the prompt holds numCtx. A body whose prompt fits, or that cannot be
// read, is returned unchanged.
func ollamaTruncate(body []byte, numCtx, template int) []byte {
	if numCtx <= 0 {
		return body
	}
	numCtx = max(numCtx-template, 0)
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	var msgs []map[string]json.RawMessage
	if json.Unmarshal(doc["messages"], &msgs) != nil || len(msgs) == 0 {
		return body
	}
	texts := make([]string, len(msgs))
	total := 0
	for i, m := range msgs {
		if json.Unmarshal(m["content"], &texts[i]) != nil {
			return body // content parts: not cut
		}
		total += tokens.Estimate(texts[i])
	}
	if total <= numCtx {
		return body
	}
	budget := numCtx
	keep := len(msgs)
	for i := len(msgs) - 1; i >= 0; i-- {
		n := tokens.Estimate(texts[i])
		if n <= budget {
			budget -= n
			keep = i
			continue
		}
		if budget > 0 {
			p := tokens.Pieces(texts[i])
			texts[i] = strings.TrimLeft(strings.Join(p[len(p)-budget:], ""), " \t\r\n")
			keep = i
		}
		break
	}
	msgs, texts = msgs[keep:], texts[keep:]
	for i := range msgs {
		msgs[i]["content"], _ = json.Marshal(texts[i])
	}
	doc["messages"], _ = json.Marshal(msgs)
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}
