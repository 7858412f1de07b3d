package sim

import (
	"container/list"
	"hash/fnv"
	"sync"

	"flperf/internal/tokens"
)

// prefixCache is one model's prefix cache: a bounded LRU set of prompt
// prefixes, each a whole number of messages, keyed by a hash chained over
// the messages' roles and texts and holding the prefix's token count. A
// request whose first messages form a cached prefix skips their prefill; a
// finished request caches every message prefix of its prompt and its prompt
// followed by its answer, as engines keep the KV of the generated tokens
// too (vLLM, SGLang, llama.cpp's slot, Ollama's runner). Granularity is the
// message, not the KV block: a nonce at the start of the first message
// (suite.BuildMessages) therefore defeats it entirely, as it does a real
// engine's cache.
type prefixCache struct {
	mu    sync.Mutex
	limit int                      // most prefixes kept
	order *list.List               // of *prefixEntry, most recently used first
	byKey map[uint64]*list.Element // the same entries by key
}

// prefixEntry is one cached prefix.
type prefixEntry struct {
	key    uint64
	tokens int
}

// newPrefixCache returns a cache of at most limit prefixes, or nil for 0.
func newPrefixCache(limit int) *prefixCache {
	if limit <= 0 {
		return nil
	}
	return &prefixCache{limit: limit, order: list.New(), byKey: make(map[uint64]*list.Element)}
}

// chainKey extends the hash chain prev by one message.
func chainKey(prev uint64, role, text string) uint64 {
	h := fnv.New64a()
	var b [9]byte
	for i := range 8 {
		b[i] = byte(prev >> (8 * i))
	}
	h.Write(b[:8])
	h.Write([]byte(role))
	h.Write([]byte{0})
	h.Write([]byte(text))
	return h.Sum64()
}

// lookup returns the tokens of the longest cached prefix of a prompt whose
// message keys are keys, and marks it used. At least one prompt token is
// always prefilled (an engine needs the last position's logits), so the
// result is at most prompt − 1.
func (c *prefixCache) lookup(keys []uint64, prompt int) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(keys) - 1; i >= 0; i-- {
		if e, ok := c.byKey[keys[i]]; ok {
			c.order.MoveToFront(e)
			return max(min(e.Value.(*prefixEntry).tokens, prompt-1), 0)
		}
	}
	return 0
}

// add caches the prefix key of n tokens, evicting the least recently used
// prefix beyond the limit.
func (c *prefixCache) add(key uint64, n int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*prefixEntry).tokens = n
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&prefixEntry{key: key, tokens: n})
	for c.order.Len() > c.limit {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*prefixEntry).key)
	}
}

// len is the number of cached prefixes.
func (c *prefixCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// maxAnswerKeep bounds the answer text a request keeps to cache its prompt
// followed by its answer; a longer answer is not cached.
const maxAnswerKeep = 1 << 20

// remember caches a finished request's prefixes: every message prefix of
// its prompt and, when its answer text was kept whole, the prompt followed
// by the answer as an assistant message.
func (g *gen) remember() {
	c := g.m.cache
	if c == nil {
		return
	}
	par := &g.par
	for i, k := range par.keys {
		c.add(k, par.cum[i])
	}
	if g.answerLost || len(par.keys) == 0 || g.sent < g.n {
		return
	}
	ans := string(g.answer)
	c.add(chainKey(par.keys[len(par.keys)-1], "assistant", ans), par.promptTokens+tokens.Estimate(ans))
}

// keepAnswer appends generated content text to the answer kept for remember.
func (g *gen) keepAnswer(text []byte) {
	if g.m.cache == nil || g.answerLost {
		return
	}
	if len(g.answer)+len(text) > maxAnswerKeep {
		g.answerLost, g.answer = true, nil
		return
	}
	g.answer = append(g.answer, text...)
}
