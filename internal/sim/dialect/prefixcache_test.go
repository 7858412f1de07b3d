package dialect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"flperf/internal/sim"
	"flperf/internal/tokens"
)

// cacheTestProfile has a prefix cache and no jitter.
func cacheTestProfile(name string) sim.Profile {
	p := ollamaProfile(name)
	p.PrefixCache = 16
	return p
}

// templateOverhead is the chat-template tokens the dialect counts with
// every prompt under cacheTestProfile: the profile's own, else the
// dialect's default. A cache hit covers the earlier turn's prompt with its
// overhead, so the new tokens of turn 2 are its message's alone.
func templateOverhead(dialect string) int {
	n := cacheTestProfile("m").TemplateTokens
	if n != 0 {
		return n
	}
	switch dialect {
	case "ollama":
		return OllamaTemplateTokens
	case "vllm", "sglang":
		return VLLMTemplateTokens
	}
	return 0
}

// openAIAnswer is what the cache regression tests read of an OpenAI answer.
type openAIAnswer struct {
	Choices []struct {
		Message struct{ Content string } `json:"message"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
	Timings *struct {
		CacheN  *int `json:"cache_n"`
		PromptN *int `json:"prompt_n"`
	} `json:"timings"`
}

// twoTurns sends turn 1 of a conversation and turn 2 with turn 1's answer
// through post, which returns the answer text and the body; it returns
// both bodies and turn 1's prompt and answer tokens.
func twoTurns(t *testing.T, post func(msgs string) (answer string, body []byte)) (first, second []byte, prompt1, answer1 int) {
	t.Helper()
	sys, q1, q2 := words(60), "first question", "second question"
	m1 := fmt.Sprintf(`[{"role":"system","content":%q},{"role":"user","content":%q}]`, sys, q1)
	a1, first := post(m1)
	m2 := fmt.Sprintf(`[{"role":"system","content":%q},{"role":"user","content":%q},{"role":"assistant","content":%q},{"role":"user","content":%q}]`, sys, q1, a1, q2)
	_, second = post(m2)
	return first, second, tokens.Estimate(sys) + tokens.Estimate(q1), tokens.Estimate(a1)
}

// TestPrefixCacheOpenAIDialects checks the second turn of a conversation on
// the vLLM, SGLang, llama.cpp and LM Studio dialects: usage carries
// prompt_tokens_details.cached_tokens = turn 1's prompt + answer, and
// llama.cpp's timings carry cache_n the same and prompt_n the rest.
func TestPrefixCacheOpenAIDialects(t *testing.T) {
	vllm, err := NewVLLM(cacheTestProfile("m"))
	if err != nil {
		t.Fatal(err)
	}
	sglang, err := NewSGLang(cacheTestProfile("m"))
	if err != nil {
		t.Fatal(err)
	}
	llama, err := NewLlamaCpp(cacheTestProfile("m"), LlamaCppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lms, err := NewLMStudio(cacheTestProfile("m"))
	if err != nil {
		t.Fatal(err)
	}
	for name, srv := range map[string]http.Handler{"vllm": vllm, "sglang": sglang, "llama.cpp": llama, "lmstudio": lms} {
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		post := func(msgs string) (string, []byte) {
			resp, body := ollamaDo(t, "POST", ts.URL+"/v1/chat/completions", `{"model":"m","max_tokens":6,"messages":`+msgs+`}`)
			var a openAIAnswer
			if resp.StatusCode != 200 || json.Unmarshal(body, &a) != nil || len(a.Choices) != 1 {
				t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
			}
			return a.Choices[0].Message.Content, body
		}
		b1, b2, prompt1, answer1 := twoTurns(t, post)
		prompt1 += templateOverhead(name) // the dialect's chat template, counted with the prompt
		var a1, a2 openAIAnswer
		json.Unmarshal(b1, &a1)
		json.Unmarshal(b2, &a2)
		if d := a1.Usage.PromptTokensDetails; d == nil || d.CachedTokens != 0 || a1.Usage.PromptTokens != prompt1 {
			t.Fatalf("%s turn 1: %s", name, b1)
		}
		want := prompt1 + answer1
		if d := a2.Usage.PromptTokensDetails; d == nil || d.CachedTokens != want {
			t.Fatalf("%s turn 2: cached %+v, want %d: %s", name, d, want, b2)
		}
		if name == "llama.cpp" {
			tm := a2.Timings
			if tm == nil || *tm.CacheN != want || *tm.PromptN != a2.Usage.PromptTokens-want {
				t.Fatalf("llama.cpp turn 2 timings: %s", b2)
			}
		}
		// vLLM and SGLang count the hits in their metrics too.
		var series map[string]float64
		if name == "vllm" || name == "sglang" {
			_, page := ollamaDo(t, "GET", ts.URL+"/metrics", "")
			series = promSamples(t, page)
		}
		queried := float64(prompt1 + a2.Usage.PromptTokens)
		switch name {
		case "vllm":
			l := `{engine="0",model_name="m"}`
			if series["vllm:prefix_cache_hits_total"+l] != float64(want) || series["vllm:prefix_cache_queries_total"+l] != queried {
				t.Errorf("vLLM metrics: hits %v queries %v, want %d and %v", series["vllm:prefix_cache_hits_total"+l], series["vllm:prefix_cache_queries_total"+l], want, queried)
			}
		case "sglang":
			l := `{model_name="m"}`
			if series["sglang:cached_tokens_total"+l] != float64(want) || series["sglang:cache_hit_rate"+l] != float64(want)/queried {
				t.Errorf("SGLang metrics: cached %v hit rate %v, want %d and %v", series["sglang:cached_tokens_total"+l], series["sglang:cache_hit_rate"+l], want, float64(want)/queried)
			}
		}
	}
}

// TestPrefixCacheOllamaNative checks Ollama's /api/chat on turn 2 of a
// conversation whose prefix it has cached: by default prompt_eval_count
// counts the whole prompt, history included, as the real Ollama 0.6.5 does
// (CI's TestRealEngines/ollama-ci/conversation-and-num-ctx); a profile with
// CacheAsEvaluated counts only the tokens after the cached prefix.
func TestPrefixCacheOllamaNative(t *testing.T) {
	for _, evaluated := range []bool{false, true} {
		p := cacheTestProfile("m:1b")
		p.CacheAsEvaluated = evaluated
		_, url := newOllamaFake(t, p)
		post := func(msgs string) (string, []byte) {
			resp, body := ollamaDo(t, "POST", url+"/api/chat", `{"model":"m:1b","stream":false,"options":{"num_predict":6},"messages":`+msgs+`}`)
			var one map[string]any
			if resp.StatusCode != 200 || json.Unmarshal(body, &one) != nil {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			return ollamaMsg(one, "content"), body
		}
		b1, b2, prompt1, answer1 := twoTurns(t, post)
		prompt1 += templateOverhead("ollama")
		var one, two map[string]any
		json.Unmarshal(b1, &one)
		json.Unmarshal(b2, &two)
		if got := ollamaNum(one, "prompt_eval_count"); got != float64(prompt1) {
			t.Fatalf("evaluated only %v: turn 1 prompt_eval_count %v, want %d: %s", evaluated, got, prompt1, b1)
		}
		want := prompt1 + answer1 + tokens.Estimate("second question")
		if evaluated {
			want = tokens.Estimate("second question")
		}
		if got := ollamaNum(two, "prompt_eval_count"); got != float64(want) {
			t.Fatalf("evaluated only %v: turn 2 prompt_eval_count %v, want %d: %s", evaluated, got, want, b2)
		}
		if !strings.Contains(string(b2), `"eval_count":6`) {
			t.Fatalf("turn 2: %s", b2)
		}
	}
}

// TestPrefixCacheOllamaOpenAI checks Ollama's OpenAI route the same way:
// never prompt_tokens_details; the whole prompt in prompt_tokens by
// default, only the new tokens with CacheAsEvaluated.
func TestPrefixCacheOllamaOpenAI(t *testing.T) {
	for _, evaluated := range []bool{false, true} {
		p := cacheTestProfile("m:1b")
		p.CacheAsEvaluated = evaluated
		_, url := newOllamaFake(t, p)
		post := func(msgs string) (string, []byte) {
			resp, body := ollamaDo(t, "POST", url+"/v1/chat/completions", `{"model":"m:1b","max_tokens":6,"messages":`+msgs+`}`)
			var a openAIAnswer
			if resp.StatusCode != 200 || json.Unmarshal(body, &a) != nil || len(a.Choices) != 1 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			return a.Choices[0].Message.Content, body
		}
		b1, b2, prompt1, answer1 := twoTurns(t, post)
		prompt1 += templateOverhead("ollama")
		var a1, a2 openAIAnswer
		json.Unmarshal(b1, &a1)
		json.Unmarshal(b2, &a2)
		want := prompt1 + answer1 + tokens.Estimate("second question")
		if evaluated {
			want = tokens.Estimate("second question")
		}
		if a1.Usage.PromptTokens != prompt1 || a2.Usage.PromptTokens != want ||
			a1.Usage.PromptTokensDetails != nil || a2.Usage.PromptTokensDetails != nil {
			t.Fatalf("evaluated only %v: turn 1 %s\nturn 2 %s\nwant prompt_tokens %d then %d, no details", evaluated, b1, b2, prompt1, want)
		}
	}
}
