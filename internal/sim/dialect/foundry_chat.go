package dialect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"flperf/internal/sim"
)

// chat serves POST /v1/chat/completions (docs/engines.md §1.7): a model that is
// not downloaded is refused with 400 "No OpenAIService provider found for
// modelName"; a cached, unloaded one is loaded implicitly (LoadDelay, the
// default TTL); then the simulator generates the answer and streams are
// rewritten into the legacy chunk shape.
func (f *Foundry) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, sim.MaxBodyBytes+1))
	if err != nil {
		foundryText(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	var top map[string]json.RawMessage
	var model string
	if json.Unmarshal(body, &top) == nil && json.Unmarshal(top["model"], &model) == nil && model != "" {
		e, ok := f.lookup(model)
		f.mu.Lock()
		cached := ok && f.cached[e.Name]
		_, loaded := f.loaded[e.Name]
		f.mu.Unlock()
		if !cached {
			foundryText(w, http.StatusBadRequest, "No OpenAIService provider found for modelName "+model)
			return
		}
		if !loaded {
			if !foundrySleep(r.Context(), f.opts.LoadDelay) {
				return
			}
			f.mu.Lock()
			if _, was := f.loaded[e.Name]; !was {
				f.loaded[e.Name] = foundryModel{expires: f.now().Add(f.ttl)}
				f.stats.ImplicitLoads++
			}
			f.mu.Unlock()
		}
		// The simulator serves the canonical name.
		top["model"], _ = json.Marshal(e.Name)
		if b, err := json.Marshal(top); err == nil {
			body = b
		}
	}
	f.mu.Lock()
	f.stats.Chats++
	f.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length")
	sw := &foundryStream{w: w, f: f}
	f.sim.ServeHTTP(sw, r)
	sw.finish()
}

// foundryStream rewrites the simulator's SSE frames into the legacy
// Foundry Local shape (Foundry-Local #273, #144, #299, #173): every chunk
// gains CreatedAt, StreamEvent, IsDelta, Successful, HttpStatusCode,
// HeaderValues, "error": null and "usage": null, its id changes per chunk,
// choices[].index counts chunks, choices[].message repeats the delta, and
// finish_reason is always null (the finish chunk, which carries no text,
// is dropped). [DONE] and malformed frames pass unchanged; non-stream
// answers pass unchanged.
type foundryStream struct {
	w     http.ResponseWriter
	f     *Foundry
	sse   bool
	buf   []byte
	index int
}

// Header returns the underlying header map.
func (s *foundryStream) Header() http.Header { return s.w.Header() }

// WriteHeader decides whether the answer is a stream to rewrite.
func (s *foundryStream) WriteHeader(code int) {
	s.sse = code == http.StatusOK && strings.HasPrefix(s.w.Header().Get("Content-Type"), "text/event-stream")
	s.w.WriteHeader(code)
}

// Write rewrites every complete frame in p and keeps the rest for later.
func (s *foundryStream) Write(p []byte) (int, error) {
	if !s.sse {
		return s.w.Write(p)
	}
	s.buf = append(s.buf, p...)
	for {
		i := bytes.Index(s.buf, []byte("\n\n"))
		if i < 0 {
			break
		}
		out := s.rewrite(s.buf[:i+2])
		s.buf = s.buf[:copy(s.buf, s.buf[i+2:])]
		if len(out) > 0 {
			if _, err := s.w.Write(out); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (s *foundryStream) FlushError() error { return http.NewResponseController(s.w).Flush() }

// Unwrap gives http.ResponseController the underlying writer.
func (s *foundryStream) Unwrap() http.ResponseWriter { return s.w }

// finish writes what is left of an incomplete last frame.
func (s *foundryStream) finish() {
	if len(s.buf) > 0 {
		s.w.Write(s.buf)
		s.buf = nil
	}
}

var (
	foundryNull = json.RawMessage("null")
	foundryTrue = json.RawMessage("true")
)

// rewrite returns the legacy form of one frame ("data: …\n\n"), nil to drop it.
func (s *foundryStream) rewrite(frame []byte) []byte {
	data, ok := bytes.CutPrefix(bytes.TrimRight(frame, "\n"), []byte("data: "))
	if !ok || bytes.Equal(data, []byte("[DONE]")) {
		return frame
	}
	var top map[string]json.RawMessage
	var choices []map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || json.Unmarshal(top["choices"], &choices) != nil {
		return frame
	}
	for _, c := range choices {
		fin := bytes.TrimSpace(c["finish_reason"])
		if len(fin) > 0 && !bytes.Equal(fin, foundryNull) && foundryEmptyObject(c["delta"]) {
			return nil
		}
		c["finish_reason"] = foundryNull
		c["index"] = json.RawMessage(fmt.Sprint(s.index))
		if d, ok := c["delta"]; ok {
			c["message"] = d
		}
	}
	s.index++
	n := s.f.chunkSeq.Add(1)
	top["id"] = json.RawMessage(fmt.Sprintf(`"chatcmpl-%012x"`, n))
	top["choices"], _ = json.Marshal(choices)
	top["CreatedAt"], _ = json.Marshal(time.Now().UTC().Format(time.RFC3339Nano))
	top["StreamEvent"] = foundryNull
	top["IsDelta"] = foundryTrue
	top["Successful"] = foundryTrue
	top["HttpStatusCode"] = json.RawMessage("200")
	top["HeaderValues"] = foundryNull
	top["error"] = foundryNull
	top["usage"] = foundryNull
	out, err := json.Marshal(top)
	if err != nil {
		return frame
	}
	b := make([]byte, 0, len(out)+8)
	b = append(b, "data: "...)
	b = append(b, out...)
	return append(b, "\n\n"...)
}

// foundryEmptyObject reports whether raw is `{}` (spaces allowed).
func foundryEmptyObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && len(m) == 0 && m != nil
}
