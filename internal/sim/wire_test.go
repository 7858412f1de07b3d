package sim

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"flperf/internal/tokens"
)

// streamResult is a decoded stream, split the way a client sees it.
type streamResult struct {
	chunks    []chunkJSON
	done      bool
	role      bool   // first chunk was role-only
	content   string // concatenated delta.content
	reasoning string // concatenated delta.reasoning_content
	finish    string
	usage     *usageJSON // from the usage-only chunk (choices: [])
	usageN    int        // usage-only chunks seen
	textKinds []string   // "r" or "c" per text chunk, in order
}

func decodeStream(t *testing.T, chunks []chunkJSON, done bool) streamResult {
	t.Helper()
	r := streamResult{chunks: chunks, done: done}
	for i, ch := range chunks {
		if ch.Object != "chat.completion.chunk" || ch.ID != chunks[0].ID || ch.ID == "" || ch.Created == 0 {
			t.Errorf("chunk %d: object %q id %q created %d", i, ch.Object, ch.ID, ch.Created)
		}
		if len(ch.Choices) == 0 {
			if r.usage = ch.usage(t); r.usage == nil {
				t.Errorf("chunk %d: no choices and no usage", i)
			}
			r.usageN++
			if i != len(chunks)-1 {
				t.Errorf("usage chunk is chunk %d of %d", i, len(chunks))
			}
			continue
		}
		c := ch.Choices[0]
		d := c.Delta
		if d.Role != nil {
			if i != 0 || *d.Role != "assistant" || d.Content == nil || *d.Content != "" {
				t.Errorf("chunk %d: unexpected role delta %+v", i, d)
			}
			r.role = true
		}
		if d.Content != nil && *d.Content != "" {
			r.content += *d.Content
			r.textKinds = append(r.textKinds, "c")
		}
		if d.Reasoning != nil && *d.Reasoning != "" {
			r.reasoning += *d.Reasoning
			r.textKinds = append(r.textKinds, "r")
		}
		if c.FinishReason != nil {
			if r.finish != "" {
				t.Errorf("second finish_reason in chunk %d", i)
			}
			r.finish = *c.FinishReason
			if d.Role != nil || d.Content != nil || d.Reasoning != nil {
				t.Errorf("finish chunk has a non-empty delta")
			}
		}
	}
	return r
}

func TestStreamWire(t *testing.T) {
	checkLeaks(t)
	type want struct {
		role, done, usage bool
		reasoning, tokens int
		finish            string
		chunkTokens       int
	}
	cases := []struct {
		name  string
		p     Profile
		extra map[string]any
		want  want
	}{
		{
			name:  "role+usage+stop",
			p:     Profile{RoleChunk: true, Usage: true, OutputTokens: 7, TokensPerChunk: 1},
			extra: map[string]any{"max_tokens": 20, "stream_options": map[string]any{"include_usage": true}},
			want:  want{role: true, done: true, usage: true, tokens: 7, finish: "stop", chunkTokens: 1},
		},
		{
			name:  "no-usage-asked+length",
			p:     Profile{Usage: true, TokensPerChunk: 3},
			extra: map[string]any{"max_tokens": 9},
			want:  want{done: true, tokens: 9, finish: "length", chunkTokens: 3},
		},
		{
			name:  "usage-unsupported",
			p:     Profile{TokensPerChunk: 2},
			extra: map[string]any{"max_tokens": 6, "stream_options": map[string]any{"include_usage": true}},
			want:  want{done: true, tokens: 6, finish: "length", chunkTokens: 2},
		},
		{
			name:  "no-done",
			p:     Profile{NoDone: true, Usage: true, OutputTokens: 5},
			extra: map[string]any{"max_tokens": 50, "stream_options": map[string]any{"include_usage": true}},
			want:  want{usage: true, tokens: 5, finish: "stop", chunkTokens: 1},
		},
		{
			name: "default-max-tokens",
			p:    Profile{DefaultMaxTokens: 11, TokensPerChunk: 4},
			want: want{done: true, tokens: 11, finish: "length", chunkTokens: 4},
		},
		{
			name:  "reasoning",
			p:     Profile{Reasoning: 3, OutputTokens: 10, TokensPerChunk: 2, Usage: true},
			extra: map[string]any{"max_tokens": 64, "stream_options": map[string]any{"include_usage": true}},
			want:  want{done: true, usage: true, reasoning: 3, tokens: 10, finish: "stop", chunkTokens: 2},
		},
		{
			name:  "reasoning-cut-by-max-tokens",
			p:     Profile{Reasoning: 8, OutputTokens: 20, Usage: true},
			extra: map[string]any{"max_tokens": 5, "stream_options": map[string]any{"include_usage": true}},
			want:  want{done: true, usage: true, reasoning: 5, tokens: 5, finish: "length", chunkTokens: 1},
		},
		{
			name:  "ignore-eos",
			p:     Profile{OutputTokens: 5, Usage: true},
			extra: map[string]any{"max_tokens": 12, "ignore_eos": true, "stream_options": map[string]any{"include_usage": true}},
			want:  want{done: true, usage: true, tokens: 12, finish: "length", chunkTokens: 1},
		},
		{
			name:  "min-tokens",
			p:     Profile{OutputTokens: 5, Usage: true},
			extra: map[string]any{"max_tokens": 12, "min_tokens": 8, "stream_options": map[string]any{"include_usage": true}},
			want:  want{done: true, usage: true, tokens: 8, finish: "stop", chunkTokens: 1},
		},
		{
			name:  "max-completion-tokens-wins",
			p:     Profile{Usage: true},
			extra: map[string]any{"max_tokens": 12, "max_completion_tokens": 4, "stream_options": map[string]any{"include_usage": true}},
			want:  want{done: true, usage: true, tokens: 4, finish: "length", chunkTokens: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Name, tc.p.DecodeTPS = "m", 1e6
			s, base, c := start(t, tc.p)
			tr := trace(s)
			prompt := "Say something, anything."
			r := streamDecoded(t, c, base, chatBody("m", prompt, true, tc.extra))
			w := tc.want
			if r.role != w.role {
				t.Errorf("role chunk %v, want %v", r.role, w.role)
			}
			if r.done != w.done {
				t.Errorf("[DONE] %v, want %v", r.done, w.done)
			}
			if r.finish != w.finish {
				t.Errorf("finish_reason %q, want %q", r.finish, w.finish)
			}
			if got := tokens.Estimate(r.reasoning); got != w.reasoning {
				t.Errorf("reasoning tokens %d, want %d", got, w.reasoning)
			}
			if got := tokens.Estimate(r.content) + tokens.Estimate(r.reasoning); got != w.tokens {
				t.Errorf("text tokens %d, want %d", got, w.tokens)
			}
			// Reasoning first, never after content.
			seenC := false
			for _, k := range r.textKinds {
				if k == "c" {
					seenC = true
				} else if seenC {
					t.Errorf("reasoning after content: %v", r.textKinds)
					break
				}
			}
			// Chunk sizes: every text chunk holds chunkTokens tokens, except the
			// last of each kind; the trace agrees with the wire.
			evs := tr.of(1, Chunk)
			var text []string
			for _, ch := range r.chunks {
				if len(ch.Choices) > 0 {
					d := ch.Choices[0].Delta
					for _, p := range []*string{d.Content, d.Reasoning} {
						if p != nil && *p != "" {
							text = append(text, *p)
						}
					}
				}
			}
			if len(text) != len(evs) {
				t.Fatalf("%d text chunks on the wire, %d Chunk events", len(text), len(evs))
			}
			for i, s := range text {
				if n := tokens.Estimate(s); n != evs[i].Tokens || n > w.chunkTokens || n < 1 {
					t.Errorf("text chunk %d %q: %d tokens, event says %d, at most %d", i, s, n, evs[i].Tokens, w.chunkTokens)
				}
			}
			if (r.usage != nil) != w.usage || r.usageN > 1 {
				t.Fatalf("usage chunks %d, want %v", r.usageN, w.usage)
			}
			// "usage":null on the other chunks exactly when a usage chunk follows.
			for i, ch := range r.chunks {
				if len(ch.Choices) == 0 {
					continue
				}
				if isNull := string(ch.Usage) == "null"; isNull != w.usage {
					t.Errorf("chunk %d: usage field %q, want null: %v", i, ch.Usage, w.usage)
				}
			}
			if r.usage != nil {
				u := r.usage
				if u.CompletionTokens != w.tokens || u.PromptTokens != tokens.Estimate(prompt) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
					t.Errorf("usage %+v, want completion %d prompt %d", u, w.tokens, tokens.Estimate(prompt))
				}
				if w.reasoning > 0 && (u.Details == nil || u.Details.ReasoningTokens != w.reasoning) {
					t.Errorf("usage reasoning details %+v, want %d", u.Details, w.reasoning)
				}
			}
			if end := tr.one(t, 1, End); end.Tokens != w.tokens {
				t.Errorf("End.Tokens %d, want %d", end.Tokens, w.tokens)
			}
		})
	}
}

// streamDecoded posts a streaming request and decodes the answer.
func streamDecoded(t *testing.T, c *http.Client, base string, body []byte) streamResult {
	t.Helper()
	chunks, done := stream(t, c, base, body)
	return decodeStream(t, chunks, done)
}

// TestContinuousUsage checks vLLM-style cumulative usage on every chunk.
func TestContinuousUsage(t *testing.T) {
	checkLeaks(t)
	_, base, c := start(t, Profile{Name: "m", DecodeTPS: 1e6, Usage: true, ContinuousUsage: true, RoleChunk: true, TokensPerChunk: 3})
	chunks, _ := stream(t, c, base, chatBody("m", "count", true, map[string]any{
		"max_tokens": 10, "stream_options": map[string]any{"include_usage": true, "continuous_usage_stats": true}}))
	sum := 0
	for i, ch := range chunks {
		u := ch.usage(t)
		if u == nil {
			t.Fatalf("chunk %d has no usage", i)
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != nil {
			sum += tokens.Estimate(*ch.Choices[0].Delta.Content)
		}
		if u.CompletionTokens != sum || u.PromptTokens != 1 || u.TotalTokens != sum+1 {
			t.Errorf("chunk %d: usage %+v, want completion %d (cumulative)", i, u, sum)
		}
	}
	if sum != 10 {
		t.Errorf("%d tokens, want 10", sum)
	}
	// Without continuous_usage_stats the same profile sends usage:null.
	chunks, _ = stream(t, c, base, chatBody("m", "count", true, map[string]any{
		"max_tokens": 4, "stream_options": map[string]any{"include_usage": true}}))
	if string(chunks[1].Usage) != "null" {
		t.Errorf("without continuous_usage_stats: usage %s, want null", chunks[1].Usage)
	}
}

// TestTimings checks the llama.cpp-style timings object: on the last chunk
// only, and with the schedule's numbers.
func TestTimings(t *testing.T) {
	checkLeaks(t)
	const (
		ttft = 3 * time.Millisecond
		tps  = 2000.0
		n    = 9
	)
	_, base, c := start(t, Profile{Name: "m", TTFT: ttft, DecodeTPS: tps, Usage: true, Timings: true})
	check := func(tm *timingsJSON, prompt string) {
		t.Helper()
		if tm == nil {
			t.Fatal("no timings")
		}
		if tm.CacheN == nil || *tm.CacheN != 0 || tm.PromptN != tokens.Estimate(prompt) || tm.PredictedN != n {
			t.Errorf("timings %+v: want cache_n 0, prompt_n %d, predicted_n %d", tm, tokens.Estimate(prompt), n)
		}
		if math.Abs(tm.PromptMS-3) > 0.002 {
			t.Errorf("prompt_ms %v, want 3", tm.PromptMS)
		}
		if want := (n - 1) / tps * 1000; math.Abs(tm.PredMS-want) > 0.002 {
			t.Errorf("predicted_ms %v, want %v", tm.PredMS, want)
		}
		if tm.PredTokMS == nil {
			t.Error("no predicted_per_token_ms")
		}
	}
	for _, withUsage := range []bool{true, false} {
		extra := map[string]any{"max_tokens": n}
		if withUsage {
			extra["stream_options"] = map[string]any{"include_usage": true}
		}
		chunks, _ := stream(t, c, base, chatBody("m", "time me", true, extra))
		last := chunks[len(chunks)-1]
		if withUsage != (len(last.Choices) == 0) {
			t.Fatalf("include_usage %v: last chunk has %d choices", withUsage, len(last.Choices))
		}
		check(last.Timings, "time me")
		for i, ch := range chunks[:len(chunks)-1] {
			if ch.Timings != nil {
				t.Errorf("chunk %d of %d carries timings", i, len(chunks))
			}
		}
	}
	resp := post(t, context.Background(), c, base, chatBody("m", "time me", false, map[string]any{"max_tokens": n}))
	defer resp.Body.Close()
	var body struct {
		Timings *timingsJSON `json:"timings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	check(body.Timings, "time me")
}

// TestRejectStreamOptions checks the 400 some servers give for stream_options.
func TestRejectStreamOptions(t *testing.T) {
	checkLeaks(t)
	_, base, c := start(t, Profile{Name: "m", DecodeTPS: 1e6, RejectStreamOptions: true})
	resp := post(t, context.Background(), c, base, chatBody("m", "x", true, map[string]any{
		"max_tokens": 2, "stream_options": map[string]any{"include_usage": true}}))
	e := decodeError(t, resp, http.StatusBadRequest)
	if !strings.Contains(e.Message, "stream_options") || e.Param == nil || *e.Param != "stream_options" {
		t.Errorf("error %+v does not name stream_options", e)
	}
	chunks, done := stream(t, c, base, chatBody("m", "x", true, map[string]any{"max_tokens": 2}))
	if !done || len(chunks) != 3 {
		t.Errorf("without stream_options: %d chunks, done %v", len(chunks), done)
	}
}

type errorJSON struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// decodeError reads an OpenAI-style error answer with the given status.
func decodeError(t *testing.T, resp *http.Response, status int) errorJSON {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	if h := resp.Header.Get(EngineHeader); h != "simulated" {
		t.Errorf("%s = %q", EngineHeader, h)
	}
	var e struct {
		Error *errorJSON `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Message == "" {
		t.Fatalf("error body %s: %v", b, err)
	}
	return *e.Error
}

// TestNonStream checks the non-streaming body.
func TestNonStream(t *testing.T) {
	checkLeaks(t)
	s, base, c := start(t, Profile{Name: "m", DecodeTPS: 1e6, Usage: true, Reasoning: 4, OutputTokens: 12})
	tr := trace(s)
	resp := post(t, context.Background(), c, base, chatBody("m", "one two three", false, map[string]any{
		"max_tokens": 100, "stream_options": map[string]any{"include_usage": true}}))
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get(EngineHeader) != "simulated" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	var body struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Role      string  `json:"role"`
				Content   string  `json:"content"`
				Reasoning *string `json:"reasoning_content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage   *usageJSON   `json:"usage"`
		Timings *timingsJSON `json:"timings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Object != "chat.completion" || body.Model != "m" || body.ID == "" || len(body.Choices) != 1 {
		t.Fatalf("body %+v", body)
	}
	msg := body.Choices[0].Message
	if msg.Role != "assistant" || tokens.Estimate(msg.Content) != 8 || msg.Reasoning == nil || tokens.Estimate(*msg.Reasoning) != 4 {
		t.Errorf("message %+v: want 8 content and 4 reasoning tokens", msg)
	}
	if body.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason %q", body.Choices[0].FinishReason)
	}
	if u := body.Usage; u == nil || u.CompletionTokens != 12 || u.PromptTokens != 3 || u.TotalTokens != 15 {
		t.Errorf("usage %+v", body.Usage)
	}
	if body.Timings != nil {
		t.Error("timings without Profile.Timings")
	}
	if len(tr.of(1, Chunk)) != 0 || len(tr.of(1, Headers)) != 1 || tr.one(t, 1, End).Tokens != 12 {
		t.Errorf("trace %+v", tr.of(1))
	}
}

// TestTextDeterministic checks that the words depend only on the seed and
// the request's number, and that streamed and non-streamed text agree.
func TestTextDeterministic(t *testing.T) {
	checkLeaks(t)
	texts := func(seed int64) []string {
		_, base, c := start(t, Profile{Name: "m", DecodeTPS: 1e6, Reasoning: 2, OutputTokens: 10, TokensPerChunk: 3, Seed: seed})
		var out []string
		for range 2 {
			r := streamDecoded(t, c, base, chatBody("m", "x", true, nil))
			out = append(out, r.reasoning+"|"+r.content)
		}
		resp := post(t, context.Background(), c, base, chatBody("m", "x", false, nil))
		defer resp.Body.Close()
		var body struct {
			Choices []struct {
				Message struct {
					Content   string `json:"content"`
					Reasoning string `json:"reasoning_content"`
				} `json:"message"`
			} `json:"choices"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		out = append(out, body.Choices[0].Message.Reasoning+"|"+body.Choices[0].Message.Content)
		return out
	}
	a, b := texts(3), texts(3)
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("request %d: same seed, different text: %q vs %q", i, a[i], b[i])
		}
	}
	if a[0] == a[1] || a[1] == a[2] {
		t.Errorf("consecutive requests got the same text: %q", a)
	}
	if c := texts(4); c[0] == a[0] {
		t.Errorf("different seeds gave the same text %q", a[0])
	}
}

// TestWords checks the vocabulary promise: every token is one token for
// tokens.Estimate, whatever the words drawn.
func TestWords(t *testing.T) {
	for _, w := range vocab {
		if len(w) < 1 || len(w) > 6 || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Errorf("vocabulary word %q is not 1–6 lowercase letters", w)
		}
	}
	r := newRNG(1, 0, streamWords)
	for n := range 200 {
		b := appendWords(nil, &r, n)
		if got := tokens.Estimate(string(b)); got != n {
			t.Fatalf("%d words estimate as %d tokens: %q", n, got, b)
		}
	}
}
