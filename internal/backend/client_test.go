package backend

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/tokens"
)

func TestStreamRoleChunkFirst(t *testing.T) {
	ts := streamServer(t, roleFrame, 50*time.Millisecond, contentFrame("Hello"), contentFrame(" world"),
		finishFrame("stop"), usageFrame(18, 2), doneFrame)
	rec := run(t, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.OK, "")

	if rec.Status != 200 || !rec.Stream || rec.MaxTok != 64 || rec.Endpoint != ts.base() {
		t.Errorf("status %d stream %v max_tokens %d endpoint %q", rec.Status, rec.Stream, rec.MaxTok, rec.Endpoint)
	}
	if !rec.Scheduled.Equal(rec.Sent) {
		t.Errorf("Scheduled %v, want Sent %v when the caller left it zero", rec.Scheduled, rec.Sent)
	}
	// TTFT starts at the first content, not at the role chunk sent 50 ms earlier.
	if gap := rec.FirstToken - rec.FirstByte; rec.FirstByte <= 0 || gap < 45*time.Millisecond {
		t.Errorf("FirstByte %v, FirstToken %v: TTFT started at the role chunk", rec.FirstByte, rec.FirstToken)
	}
	if rec.FirstAnswer != rec.FirstToken || rec.LastToken < rec.FirstToken || rec.End < rec.LastToken {
		t.Errorf("times out of order: first %v answer %v last %v end %v", rec.FirstToken, rec.FirstAnswer, rec.LastToken, rec.End)
	}
	if rec.ChunkCount != 2 || rec.Chunks[0].Est != 1 || rec.Chunks[1].Est != 1 || rec.Chunks[0].Tokens != 0 {
		t.Errorf("chunks %+v", rec.Chunks)
	}
	if rec.Text != "Hello world" || rec.TextBytes != 11 || rec.FinishReason != "stop" {
		t.Errorf("text %q (%d bytes), finish %q", rec.Text, rec.TextBytes, rec.FinishReason)
	}
	if rec.OutputTokens != 2 || rec.OutputSource != record.SourceUsage || rec.InputTokens != 18 || rec.InputSource != record.SourceUsage {
		t.Errorf("tokens out %d (%s) in %d (%s)", rec.OutputTokens, rec.OutputSource, rec.InputTokens, rec.InputSource)
	}
	if rec.EstOutTokens != tokens.Estimate("Hello world") || rec.EngineOutTokens != 0 {
		t.Errorf("estimated %d, engine %d", rec.EstOutTokens, rec.EngineOutTokens)
	}
	body, h := ts.body(0), ts.header(0)
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options = %v, want include_usage true", body["stream_options"])
	}
	if body["stream"] != true || body["model"] != "m" || body["max_tokens"] != 64.0 {
		t.Errorf("body %v", body)
	}
	if h.Get("Accept") != "text/event-stream" || h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "" {
		t.Errorf("headers %v", h)
	}
}

func TestStreamMultiTokenChunksNoUsage(t *testing.T) {
	parts := []string{"The quick brown fox", " jumps over the lazy", " dog, twice."}
	ts := streamServer(t, roleFrame, contentFrame(parts[0]), contentFrame(parts[1]), contentFrame(parts[2]),
		finishFrame("length"), doneFrame)
	rec := run(t, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.OK, "")
	text := strings.Join(parts, "")
	want := tokens.Estimate(text)
	if rec.OutputTokens != want || rec.OutputSource != record.SourceEstimate || rec.EstOutTokens != want {
		t.Errorf("output %d (%s), estimate %d; want %d (estimate)", rec.OutputTokens, rec.OutputSource, rec.EstOutTokens, want)
	}
	if rec.ChunkCount != 3 {
		t.Fatalf("ChunkCount %d, want 3 (a chunk is not a token)", rec.ChunkCount)
	}
	for i, c := range rec.Chunks {
		if c.Est != tokens.Estimate(parts[i]) || c.Tokens != 0 {
			t.Errorf("chunk %d: %+v, want Est %d", i, c, tokens.Estimate(parts[i]))
		}
	}
	if in := tokens.Estimate("Say hello"); rec.InputTokens != in || rec.InputSource != record.SourceEstimate {
		t.Errorf("input %d (%s), want %d (estimate)", rec.InputTokens, rec.InputSource, in)
	}
	if rec.FinishReason != "length" {
		t.Errorf("finish %q", rec.FinishReason)
	}
}

func TestStreamReasoningThenContent(t *testing.T) {
	for _, key := range []string{"reasoning_content", "reasoning"} {
		t.Run(key, func(t *testing.T) {
			ts := streamServer(t, roleFrame, reasoningFrame(key, "Let me"), reasoningFrame(key, " think."),
				20*time.Millisecond, contentFrame("Answer"), finishFrame("stop"), doneFrame)
			rec := run(t, New(ts.base(), Options{}), chatReq())
			expect(t, rec, record.OK, "")
			if rec.ChunkCount != 3 || rec.ReasonChunk != 2 {
				t.Errorf("ChunkCount %d ReasonChunk %d, want 3 and 2", rec.ChunkCount, rec.ReasonChunk)
			}
			if rec.FirstToken >= rec.FirstAnswer || rec.FirstToken != rec.Chunks[0].At || rec.FirstAnswer != rec.Chunks[2].At {
				t.Errorf("FirstToken %v FirstAnswer %v chunks %+v", rec.FirstToken, rec.FirstAnswer, rec.Chunks)
			}
			if rec.Text != "Let me think.Answer" {
				t.Errorf("text %q", rec.Text)
			}
		})
	}
}

func TestStreamLlamaCppTimings(t *testing.T) {
	timings := `"timings":{"cache_n":3,"prompt_n":5,"prompt_ms":8.5,"predicted_n":7,"predicted_ms":100.5}`
	t.Run("engine counts only", func(t *testing.T) {
		ts := streamServer(t,
			`data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}`+"\n\n",
			contentFrame("one two"), contentFrame(" three"),
			`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],`+timings+`}`+"\n\n", doneFrame)
		rec := run(t, New(ts.base(), Options{}), chatReq())
		expect(t, rec, record.OK, "")
		if rec.OutputTokens != 7 || rec.OutputSource != record.SourceEngine || rec.EngineOutTokens != 7 {
			t.Errorf("output %d (%s) engine %d, want 7 (engine)", rec.OutputTokens, rec.OutputSource, rec.EngineOutTokens)
		}
		if rec.InputTokens != 8 || rec.InputSource != record.SourceEngine || rec.CachedTokens != 3 {
			t.Errorf("input %d (%s) cached %d, want 5+3 (engine), 3", rec.InputTokens, rec.InputSource, rec.CachedTokens)
		}
	})
	t.Run("usage beside timings", func(t *testing.T) {
		ts := streamServer(t, contentFrame("one two"), finishFrame("stop"),
			`data: {"choices":[],"usage":{"completion_tokens":6,"prompt_tokens":8,"prompt_tokens_details":{"cached_tokens":2}},`+timings+`}`+"\n\n",
			doneFrame)
		rec := run(t, New(ts.base(), Options{}), chatReq())
		expect(t, rec, record.OK, "")
		if rec.OutputTokens != 6 || rec.OutputSource != record.SourceUsage || rec.EngineOutTokens != 7 {
			t.Errorf("output %d (%s) engine %d, want 6 (usage) and 7", rec.OutputTokens, rec.OutputSource, rec.EngineOutTokens)
		}
		if rec.InputTokens != 8 || rec.InputSource != record.SourceUsage || rec.CachedTokens != 2 {
			t.Errorf("input %d (%s) cached %d", rec.InputTokens, rec.InputSource, rec.CachedTokens)
		}
	})
}

func TestStreamContinuousUsage(t *testing.T) {
	frame := func(delta string, completion int) string {
		return `data: {"choices":[{"index":0,"delta":` + delta + `}],"usage":{"prompt_tokens":10,"completion_tokens":` +
			jsonNumber(completion) + `,"total_tokens":0}}` + "\n\n"
	}
	ts := streamServer(t,
		frame(`{"role":"assistant","content":""}`, 0),
		frame(`{"content":"a"}`, 1),
		frame(`{"content":" b c"}`, 3),
		frame(`{}`, 4), // a token that produced no text yet
		frame(`{"content":"d"}`, 5),
		`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5}}`+"\n\n",
		doneFrame)
	rec := run(t, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.OK, "")
	var got []int
	for _, c := range rec.Chunks {
		got = append(got, c.Tokens)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 2 {
		t.Errorf("per-chunk tokens %v, want [1 2 2]", got)
	}
	if rec.OutputTokens != 5 || rec.OutputSource != record.SourceUsage || rec.InputTokens != 10 {
		t.Errorf("output %d (%s) input %d", rec.OutputTokens, rec.OutputSource, rec.InputTokens)
	}
	if itl := rec.ITL(nil); len(itl) != 4 {
		t.Errorf("ITL has %d samples, want 4 (exact per-chunk counts after the first)", len(itl))
	}
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestStreamOptionsRejected(t *testing.T) {
	const reject = `{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error"}}`
	ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		if _, ok := ts.body(ts.requests() - 1)["stream_options"]; ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(reject))
			return
		}
		ts.play(w, r, contentFrame("Hi"), finishFrame("stop"), doneFrame)
	})
	c := New(ts.base(), Options{})
	rec := run(t, c, chatReq())
	expect(t, rec, record.OK, "")
	if n := ts.requests(); n != 2 {
		t.Fatalf("server saw %d requests, want 2 (one retry without stream_options)", n)
	}
	if _, ok := ts.body(1)["stream_options"]; ok {
		t.Errorf("retry still sent stream_options")
	}
	if !c.UsageOptionRejected() {
		t.Errorf("UsageOptionRejected() = false after a rejection")
	}
	ts.mu.Lock()
	first := ts.arrivals[0]
	ts.mu.Unlock()
	if !rec.Sent.After(first) || rec.Status != 200 || rec.Text != "Hi" || rec.OutputSource != record.SourceEstimate {
		t.Errorf("record does not describe the retried attempt: sent %v (first arrival %v) status %d text %q source %s",
			rec.Sent, first, rec.Status, rec.Text, rec.OutputSource)
	}

	rec = run(t, c, chatReq())
	expect(t, rec, record.OK, "")
	if n := ts.requests(); n != 3 {
		t.Fatalf("server saw %d requests after a third Do, want 3", n)
	}
	if _, ok := ts.body(2)["stream_options"]; ok {
		t.Errorf("the Client sent stream_options again after it was rejected")
	}
}

func TestStreamOptionsRetriedOnlyOnce(t *testing.T) {
	ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "stream_options: unsupported", http.StatusBadRequest)
	})
	rec := run(t, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.HTTPError, record.PhaseHeaders)
	if n := ts.requests(); n != 2 || rec.Status != 400 {
		t.Errorf("server saw %d requests, status %d; want 2 and 400", n, rec.Status)
	}
}

func TestBadRequestNotRetried(t *testing.T) {
	ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"Model not loaded"}}`, http.StatusBadRequest)
	})
	c := New(ts.base(), Options{})
	rec := run(t, c, chatReq())
	expect(t, rec, record.HTTPError, record.PhaseHeaders)
	if n := ts.requests(); n != 1 || c.UsageOptionRejected() {
		t.Errorf("server saw %d requests, rejected %v; want 1 and false (no hidden retries)", n, c.UsageOptionRejected())
	}
	if !strings.Contains(rec.Error, "Model not loaded") {
		t.Errorf("error %q", rec.Error)
	}
}

func TestStreamLongLine(t *testing.T) {
	big := strings.Repeat("abcdefgh ", (9<<20)/9+1) // > 9 MiB in one data line
	ts := streamServer(t, roleFrame, contentFrame(big), finishFrame("stop"), doneFrame)
	rec := run(t, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.OK, "")
	if rec.TextBytes != len(big) || rec.Text != big[:record.TextLimit] || rec.ChunkCount != 1 {
		t.Errorf("TextBytes %d (want %d), Text %d bytes, %d chunks", rec.TextBytes, len(big), len(rec.Text), rec.ChunkCount)
	}
	if rec.EstOutTokens != tokens.Estimate(big) || rec.Chunks[0].Est != rec.EstOutTokens {
		t.Errorf("estimate %d, chunk %+v", rec.EstOutTokens, rec.Chunks[0])
	}
}

func TestStreamLineOverLimit(t *testing.T) {
	ts := streamServer(t, contentFrame("first"), contentFrame(strings.Repeat("x", 100<<10)), doneFrame)
	c := New(ts.base(), Options{})
	c.maxLine = 64 << 10
	rec := run(t, c, chatReq())
	expect(t, rec, record.StreamError, record.PhaseStream)
	if !strings.Contains(rec.Error, "longer than 64 KiB") || rec.Text != "first" {
		t.Errorf("error %q, text %q", rec.Error, rec.Text)
	}
}

func TestStreamWireVariants(t *testing.T) {
	// One stream written a few bytes at a time with \r\n line ends, "data:"
	// without a space, comments and keep-alives, ending at EOF without [DONE].
	stream := ": connected\r\n\r\n" +
		"data:" + strings.TrimPrefix(roleFrame, "data: ") +
		"\r\n" + // a blank keep-alive
		strings.ReplaceAll(contentFrame("Hel"), "\n", "\r\n") +
		": ping\n\n" +
		"data:" + strings.TrimPrefix(contentFrame("lo"), "data: ") +
		"event: message\ndata: {\"choices\":[{\"delta\":\ndata: {\"content\":\"!\"}}]}\n\n" +
		finishFrame("stop")
	var steps []any
	for i := 0; i < len(stream); i += 7 {
		steps = append(steps, stream[i:min(i+7, len(stream))])
	}
	ts := streamServer(t, steps...)
	rec := run(t, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.OK, "")
	if rec.Text != "Hello!" || rec.ChunkCount != 3 || rec.FinishReason != "stop" {
		t.Errorf("text %q, %d chunks, finish %q", rec.Text, rec.ChunkCount, rec.FinishReason)
	}
}

func TestStreamAnsweredWithJSON(t *testing.T) {
	ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write([]byte(`{"choices":[{"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1}}`))
	})
	rec := run(t, New(ts.base(), Options{}), chatReq())
	expect(t, rec, record.OK, "")
	if rec.Text != "whole" || rec.OutputTokens != 1 || rec.FirstToken != 0 || rec.End <= 0 {
		t.Errorf("record %+v", rec)
	}
}

func TestNonStreaming(t *testing.T) {
	const ok = `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there","reasoning_content":"hmm. "},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":0}},"error":null}`
	cases := []struct {
		name, body string
		outcome    record.Outcome
		phase      record.Phase
		errPart    string
	}{
		{"ok", ok, record.OK, "", ""},
		{"not json", "<html>oops</html>", record.StreamError, record.PhaseFirstToken, "malformed response"},
		{"empty", "", record.StreamError, record.PhaseFirstToken, "malformed response"},
		{"error object", `{"error":{"message":"generation failed","type":"server_error"}}`, record.StreamError, record.PhaseFirstToken, "generation failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(c.body))
			})
			req := chatReq()
			req.Stream = false
			req.Extra = map[string]any{"stream_options": map[string]any{"include_usage": true}}
			rec := run(t, New(ts.base(), Options{}), req)
			expect(t, rec, c.outcome, c.phase)
			if !strings.Contains(rec.Error, c.errPart) || rec.Status != 200 || rec.Stream || rec.End <= 0 {
				t.Errorf("error %q status %d stream %v end %v", rec.Error, rec.Status, rec.Stream, rec.End)
			}
			if _, sent := ts.body(0)["stream_options"]; sent || ts.body(0)["stream"] != false {
				t.Errorf("non-streaming body %v: must say stream false and carry no stream_options", ts.body(0))
			}
			if c.outcome != record.OK {
				return
			}
			if rec.Text != "hmm. Hi there" || rec.OutputTokens != 4 || rec.OutputSource != record.SourceUsage ||
				rec.InputTokens != 9 || rec.FinishReason != "stop" || rec.FirstToken != 0 || rec.ChunkCount != 0 {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

func TestRequestBody(t *testing.T) {
	ts := streamServer(t, contentFrame("x"), finishFrame("stop"), doneFrame)
	c := New(ts.base()+"/", Options{APIKey: "sk-secret-123"})
	zero := 0.0
	req := chatReq()
	req.Temperature = &zero
	req.Stop = []string{"\n\n"}
	req.IgnoreEOS = true
	req.MinTokens = 32
	req.Extra = map[string]any{"top_k": 5, "max_tokens": 99}
	rec := run(t, c, req)
	expect(t, rec, record.OK, "")

	body, h := ts.body(0), ts.header(0)
	if v, ok := body["temperature"]; !ok || v != 0.0 {
		t.Errorf("temperature %v (present %v), want 0 sent as 0", v, ok)
	}
	if body["ignore_eos"] != true || body["min_tokens"] != 32.0 || body["top_k"] != 5.0 || body["max_tokens"] != 99.0 {
		t.Errorf("body %v: want ignore_eos, min_tokens, and Extra merged last", body)
	}
	if stop, _ := body["stop"].([]any); len(stop) != 1 || stop[0] != "\n\n" {
		t.Errorf("stop %v", body["stop"])
	}
	if got := h.Get("Authorization"); got != "Bearer sk-secret-123" {
		t.Errorf("Authorization %q", got)
	}
	if j, _ := json.Marshal(rec); strings.Contains(string(j), "sk-secret") {
		t.Errorf("the API key leaked into the record: %s", j)
	}

	req = Request{Model: "m", Stream: true} // nothing optional set
	run(t, c, req)
	body = ts.body(1)
	for _, k := range []string{"temperature", "max_tokens", "stop", "ignore_eos", "min_tokens"} {
		if _, ok := body[k]; ok {
			t.Errorf("%s sent although not set: %v", k, body)
		}
	}
	if m, ok := body["messages"].([]any); !ok || len(m) != 0 {
		t.Errorf("messages %v, want []", body["messages"])
	}
}

func TestInvalidRequest(t *testing.T) {
	nan := math.NaN()
	req := chatReq()
	req.Temperature = &nan
	rec := run(t, New("http://127.0.0.1:1/v1", Options{}), req)
	expect(t, rec, record.ConnectError, record.PhaseConnect)
	if !strings.Contains(rec.Error, "invalid request") {
		t.Errorf("error %q", rec.Error)
	}
}

func TestScheduledKept(t *testing.T) {
	ts := streamServer(t, contentFrame("x"), doneFrame)
	sched := time.Now().Add(-time.Second)
	rec := &record.Record{Scheduled: sched}
	New(ts.base(), Options{}).Do(t.Context(), chatReq(), rec)
	expect(t, rec, record.OK, "")
	if !rec.Scheduled.Equal(sched) || rec.QueueWait() < time.Second {
		t.Errorf("Scheduled %v (want %v), queue wait %v", rec.Scheduled, sched, rec.QueueWait())
	}
}

func TestConnectionReused(t *testing.T) {
	// The end of the body follows [DONE] a little later, as it may on a
	// busy server: Do must wait for it so that the connection is reused.
	ts := streamServer(t, roleFrame, contentFrame("x"), finishFrame("stop"), usageFrame(1, 1), doneFrame, 10*time.Millisecond)
	c := New(ts.base(), Options{})
	for range 3 {
		expect(t, run(t, c, chatReq()), record.OK, "")
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.conns != 1 {
		t.Errorf("%d connections for 3 sequential streams, want 1 (keep-alive after [DONE])", ts.conns)
	}
}

func TestModels(t *testing.T) {
	ts := startServer(t, func(ts *testServer, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"object":"list","data":[{"id":"zeta","object":"model"},{"id":"alpha","meta":null},{"id":"mid"}]}`))
	})
	ids, err := New(ts.base()+"/", Options{APIKey: "k"}).Models(t.Context())
	if err != nil || strings.Join(ids, ",") != "zeta,alpha,mid" {
		t.Errorf("Models() = %v, %v; want server order", ids, err)
	}
	_, err = New(ts.base(), Options{}).Models(t.Context())
	se, ok := err.(*StatusError)
	if !ok || se.StatusCode != 401 || !strings.Contains(se.Body, "unauthorized") {
		t.Errorf("Models() error %v (%T), want *StatusError 401", err, err)
	}
}
