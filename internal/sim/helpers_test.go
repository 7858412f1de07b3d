package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkLeaks fails the test if goroutines started during it are still
// running shortly after it ends. Call it first, so its cleanup runs last.
func checkLeaks(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d running, %d before the test\n%s", n, base, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// start serves profiles on an httptest server (127.0.0.1) and returns the
// simulator, its base URL and a client whose idle connections are closed
// at cleanup.
func start(t *testing.T, profiles ...Profile) (*Server, string, *http.Client) {
	t.Helper()
	s, err := New(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c := ts.Client()
	t.Cleanup(c.CloseIdleConnections)
	return s, ts.URL, c
}

// tracer records every event.
type tracer struct {
	mu sync.Mutex
	ev []Event
}

func trace(s *Server) *tracer {
	tr := &tracer{}
	s.SetTrace(func(e Event) {
		tr.mu.Lock()
		tr.ev = append(tr.ev, e)
		tr.mu.Unlock()
	})
	return tr
}

// of returns the events of request req, of the given kinds (all when none).
func (tr *tracer) of(req int64, kinds ...EventKind) []Event {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []Event
	for _, e := range tr.ev {
		if e.Req == req && (len(kinds) == 0 || slices.Contains(kinds, e.Kind)) {
			out = append(out, e)
		}
	}
	return out
}

// one returns the only event of request req of kind k.
func (tr *tracer) one(t *testing.T, req int64, k EventKind) Event {
	t.Helper()
	ev := tr.of(req, k)
	if len(ev) != 1 {
		t.Fatalf("request %d: %d %v events, want 1", req, len(ev), k)
	}
	return ev[0]
}

// chatBody builds a request body; extra fields are merged in.
func chatBody(model, prompt string, stream bool, extra map[string]any) []byte {
	m := map[string]any{
		"model":    model,
		"messages": []map[string]string{{"role": "user", "content": prompt}},
		"stream":   stream,
	}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

func post(t *testing.T, ctx context.Context, c *http.Client, base string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// sseFrame is one SSE event's data.
type sseFrame struct{ data string }

// readSSE is a small test-local SSE reader: it returns the data of every
// event, and the error that ended the body (nil at a clean EOF).
func readSSE(r io.Reader) ([]sseFrame, error) {
	br := bufio.NewReader(r)
	var frames []sseFrame
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				err = nil
			}
			return frames, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if data != nil {
				frames = append(frames, sseFrame{data: strings.Join(data, "\n")})
				data = nil
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
}

type usageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	Details          *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

type timingsJSON struct {
	CacheN     *int     `json:"cache_n"`
	PromptN    int      `json:"prompt_n"`
	PromptMS   float64  `json:"prompt_ms"`
	PredictedN int      `json:"predicted_n"`
	PredMS     float64  `json:"predicted_ms"`
	PredTokMS  *float64 `json:"predicted_per_token_ms"`
}

type chunkJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role      *string `json:"role"`
			Content   *string `json:"content"`
			Reasoning *string `json:"reasoning_content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage   json.RawMessage `json:"usage"` // absent, null or an object
	Timings *timingsJSON    `json:"timings"`
}

func (c *chunkJSON) usage(t *testing.T) *usageJSON {
	t.Helper()
	if len(c.Usage) == 0 || string(c.Usage) == "null" {
		return nil
	}
	var u usageJSON
	if err := json.Unmarshal(c.Usage, &u); err != nil {
		t.Fatalf("usage %s: %v", c.Usage, err)
	}
	return &u
}

// stream posts a streaming request and returns its decoded chunks (the
// [DONE] sentinel excluded) and whether [DONE] came last.
func stream(t *testing.T, c *http.Client, base string, body []byte) (chunks []chunkJSON, done bool) {
	t.Helper()
	chunks, done, err := streamErr(c, base, body)
	if err != nil {
		t.Fatal(err)
	}
	return chunks, done
}

// streamErr is stream for goroutines other than the test's: it reports
// problems as an error.
func streamErr(c *http.Client, base string, body []byte) (chunks []chunkJSON, done bool, err error) {
	resp, err := c.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, false, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		return nil, false, fmt.Errorf("Content-Type %q", ct)
	}
	if h := resp.Header.Get(EngineHeader); h != "simulated" {
		return nil, false, fmt.Errorf("%s = %q", EngineHeader, h)
	}
	frames, err := readSSE(resp.Body)
	if err != nil {
		return nil, false, fmt.Errorf("reading stream: %w", err)
	}
	for i, f := range frames {
		if f.data == "[DONE]" {
			if i != len(frames)-1 {
				return nil, false, fmt.Errorf("[DONE] is frame %d of %d", i, len(frames))
			}
			done = true
			continue
		}
		var ch chunkJSON
		if err := json.Unmarshal([]byte(f.data), &ch); err != nil {
			return nil, false, fmt.Errorf("frame %d %q: %w", i, f.data, err)
		}
		chunks = append(chunks, ch)
	}
	return chunks, done, nil
}

// fast is a profile that generates without waiting.
func fast(name string) Profile {
	return Profile{Name: name, DecodeTPS: 1e9, Usage: true}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
