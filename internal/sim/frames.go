package sim

import (
	"strconv"
	"time"
)

// Frames are built by appending to a reused buffer; the only text that
// varies is numbers and vocabulary words, which need no JSON escaping (the
// model name is escaped once, in New).

// appendHead appends `data: {"id":…,"object":…,"created":…,"model":…,`.
func (g *gen) appendHead(b []byte, object string) []byte {
	b = append(b, `data: {"id":"chatcmpl-sim-`...)
	b = strconv.AppendInt(b, g.id, 10)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, g.created, 10)
	b = append(b, `,"model":`...)
	b = append(b, g.m.nameJSON...)
	return append(b, ',')
}

// endFrame closes a streamed chunk whose generation has reached completed
// tokens: cumulative usage when asked for (vLLM continuous_usage_stats),
// "usage":null when a final usage chunk will follow (as OpenAI does).
func (g *gen) endFrame(b []byte, completed int) []byte {
	switch {
	case g.cumUsage:
		b = append(b, `,"usage":`...)
		b = g.appendUsage(b, completed, false)
	case g.usage:
		b = append(b, `,"usage":null`...)
	}
	return append(b, "}\n\n"...)
}

// appendUsage appends a usage object for completed completion tokens.
func (g *gen) appendUsage(b []byte, completed int, details bool) []byte {
	prompt := g.par.promptTokens
	cached := g.m.cache != nil && !g.p.CacheUnreported
	if g.m.cache != nil && g.p.CacheAsEvaluated {
		prompt = prompt - g.par.cachedTokens
	}
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completed), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completed), 10)
	if cached {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, int64(g.par.cachedTokens), 10)
		b = append(b, '}')
	}
	if details && g.reasoning > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, int64(g.reasoning), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendTimings appends a llama.cpp-style `,"timings":{…}` object. As in
// llama.cpp, prompt_ms runs from the slot to the first token and
// predicted_ms from the first token to the last, and predicted_n counts
// every generated token; the times are the schedule's due times.
func (g *gen) appendTimings(b []byte) []byte {
	promptMS := ms(g.firstDue.Sub(g.origin))
	predMS := ms(g.lastDue.Sub(g.firstDue))
	n := g.n
	prefilled := g.par.promptTokens - g.par.cachedTokens
	b = append(b, `,"timings":{"cache_n":`...)
	b = strconv.AppendInt(b, int64(g.par.cachedTokens), 10)
	b = append(b, `,"prompt_n":`...)
	b = strconv.AppendInt(b, int64(prefilled), 10)
	b = append(b, `,"prompt_ms":`...)
	b = appendFloat(b, promptMS)
	b = append(b, `,"prompt_per_second":`...)
	b = appendFloat(b, rate(float64(prefilled), promptMS))
	b = append(b, `,"predicted_n":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"predicted_ms":`...)
	b = appendFloat(b, predMS)
	b = append(b, `,"predicted_per_token_ms":`...)
	b = appendFloat(b, predMS/float64(max(n, 1)))
	b = append(b, `,"predicted_per_second":`...)
	b = appendFloat(b, rate(float64(n), predMS))
	return append(b, '}')
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// rate is n per second over ms milliseconds, 0 when ms is 0.
func rate(n, ms float64) float64 {
	if ms <= 0 {
		return 0
	}
	return n / ms * 1000
}

func appendFloat(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', 3, 64) }
