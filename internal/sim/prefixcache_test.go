package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"flperf/internal/tokens"
)

// cachedAnswer is the part of a non-streaming answer the cache tests read.
type cachedAnswer struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
	Timings *struct {
		CacheN   int     `json:"cache_n"`
		PromptN  int     `json:"prompt_n"`
		PromptMS float64 `json:"prompt_ms"`
	} `json:"timings"`
}

// msg is one chat message of a test request.
type msg = map[string]string

// ask sends a non-streaming chat of msgs and decodes the answer.
func ask(t *testing.T, cl *http.Client, base, model string, msgs []msg) cachedAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "messages": msgs, "max_tokens": 8})
	resp := post(t, context.Background(), cl, base, body)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var a cachedAnswer
	if resp.StatusCode != 200 || json.Unmarshal(data, &a) != nil || len(a.Choices) != 1 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	return a
}

// cacheProfile prefills 1000 tokens/s after a 1 ms base TTFT, reports usage
// and llama.cpp timings, and caches 8 prefixes.
func cacheProfile() Profile {
	return Profile{Name: "m", TTFT: time.Millisecond, PrefillTPS: 1000, DecodeTPS: 1e5, Usage: true, Timings: true, PrefixCache: 8}
}

// TestPrefixCacheConversation sends a three-turn conversation: each turn
// is served from the cache up to the end of the previous answer, prefills
// only the rest (prompt_ms = 1 + uncached/1000·1000), and reports the hit
// in usage and timings; a nonce on the first message defeats the cache.
func TestPrefixCacheConversation(t *testing.T) {
	_, base, cl := start(t, cacheProfile())
	sys := strings.Repeat("word ", 100)
	hist := []msg{{"role": "system", "content": sys}, {"role": "user", "content": "first question here"}}
	wantCached := 0
	for turn := 1; turn <= 3; turn++ {
		a := ask(t, cl, base, "m", hist)
		u := a.Usage
		prompt := 0
		for _, m := range hist {
			prompt += tokens.Estimate(m["content"])
		}
		if u.PromptTokens != prompt || u.PromptTokensDetails == nil || u.PromptTokensDetails.CachedTokens != wantCached {
			t.Fatalf("turn %d: usage %+v details %+v, want prompt %d cached %d", turn, u, u.PromptTokensDetails, prompt, wantCached)
		}
		tm := a.Timings
		if tm.CacheN != wantCached || tm.PromptN != prompt-wantCached {
			t.Fatalf("turn %d: timings %+v, want cache_n %d prompt_n %d", turn, *tm, wantCached, prompt-wantCached)
		}
		if want := 1 + float64(prompt-wantCached); tm.PromptMS < want-1e-6 || tm.PromptMS > want+1e-6 {
			t.Fatalf("turn %d: prompt_ms %v, want %v", turn, tm.PromptMS, want)
		}
		ans := a.Choices[0].Message.Content
		if tokens.Estimate(ans) != u.CompletionTokens {
			t.Fatalf("answer %q is not %d tokens", ans, u.CompletionTokens)
		}
		wantCached = prompt + u.CompletionTokens
		hist = append(hist, msg{"role": "assistant", "content": ans}, msg{"role": "user", "content": "and then what"})
	}
	// The first turn again, with a nonce before the system prompt: no hit.
	a := ask(t, cl, base, "m", []msg{{"role": "system", "content": "[0badc0de] " + sys}, {"role": "user", "content": "first question here"}})
	if a.Usage.PromptTokensDetails.CachedTokens != 0 || a.Timings.CacheN != 0 {
		t.Fatalf("nonce: cached %d, cache_n %d, want 0", a.Usage.PromptTokensDetails.CachedTokens, a.Timings.CacheN)
	}
	// The same prompt twice: everything but the last token is cached.
	a = ask(t, cl, base, "m", []msg{{"role": "user", "content": "one two three"}})
	b := ask(t, cl, base, "m", []msg{{"role": "user", "content": "one two three"}})
	if a.Timings.CacheN != 0 || b.Timings.CacheN != 2 || b.Timings.PromptN != 1 {
		t.Fatalf("repeat: %+v then %+v, want cache_n 0 then 2 (prompt_n 1)", *a.Timings, *b.Timings)
	}
}

// TestPrefixCacheLRU checks the bound: the least recently used prefix is
// evicted first, and a used one is kept.
func TestPrefixCacheLRU(t *testing.T) {
	c := newPrefixCache(2)
	c.add(1, 10)
	c.add(2, 20)
	if got := c.lookup([]uint64{1}, 100); got != 10 { // 1 is now the most recent
		t.Fatalf("lookup 1: %d", got)
	}
	c.add(3, 30) // evicts 2
	if c.len() != 2 || c.lookup([]uint64{2}, 100) != 0 || c.lookup([]uint64{1}, 100) != 10 || c.lookup([]uint64{3}, 100) != 30 {
		t.Fatalf("after eviction: len %d", c.len())
	}
	if c.lookup([]uint64{1, 3}, 100) != 30 || c.lookup([]uint64{3}, 5) != 4 {
		t.Fatal("longest prefix first, at most prompt−1")
	}
	if newPrefixCache(0) != nil || (*prefixCache)(nil).lookup([]uint64{1}, 9) != 0 {
		t.Fatal("a zero-size cache is none")
	}
}

// TestPrefixCacheOff checks that a profile without a cache reports no
// prompt_tokens_details and cache_n 0 on a repeat.
func TestPrefixCacheOff(t *testing.T) {
	p := cacheProfile()
	p.PrefixCache = 0
	_, base, cl := start(t, p)
	ask(t, cl, base, "m", []msg{{"role": "user", "content": "one two three"}})
	a := ask(t, cl, base, "m", []msg{{"role": "user", "content": "one two three"}})
	if a.Usage.PromptTokensDetails != nil || a.Timings.CacheN != 0 || a.Timings.PromptN != 3 {
		t.Fatalf("no cache: %+v %+v", a.Usage, *a.Timings)
	}
}

// BenchmarkPrefixCacheConversation measures what the cache adds to a
// request of a 40-message conversation (about 8,000 tokens): parsing with
// the message keys, the lookup, and caching its prefixes.
func BenchmarkPrefixCacheConversation(b *testing.B) {
	msgs := make([]msg, 0, 40)
	for i := range 40 {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, msg{"role": role, "content": strings.Repeat("lorem ipsum dolor ", 70)})
	}
	body, _ := json.Marshal(map[string]any{"model": "m", "messages": msgs})
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseChat(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+cache", func(b *testing.B) {
		c := newPrefixCache(1024)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			par, err := parseChat(body)
			if err != nil {
				b.Fatal(err)
			}
			c.lookup(par.keys, par.promptTokens)
			for i, k := range par.keys {
				c.add(k, par.cum[i])
			}
		}
	})
}
