package backend

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"flperf/internal/record"
)

// TestKeepAnswer checks Request.KeepAnswer: the answer's content only
// (reasoning left out), streamed or whole, bounded at the asked length
// with AnswerCut set, and nothing kept when it is 0.
func TestKeepAnswer(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("whole") != "" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"choices":[{"message":{"role":"assistant","content":"Hello wörld","reasoning_content":"hmm"},"finish_reason":"stop"}]}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, f := range []string{`{"reasoning_content":"hmm"}`, `{"content":"Hello"}`, `{"content":" wörld"}`} {
			fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":%s}]}\n\n", f)
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(ts.Close)
	for _, c := range []struct {
		path   string
		stream bool
		keep   int
		want   string
		cut    bool
	}{
		{"/v1", true, 100, "Hello wörld", false},
		{"/v1", true, 8, "Hello w", true}, // the cut falls inside "ö": back to a whole character
		{"/v1", true, 0, "", false},
		{"/v1?whole=1", false, 100, "Hello wörld", false},
		{"/v1?whole=1", false, 5, "Hello", true},
	} {
		c := c
		cl := New(ts.URL+c.path, Options{})
		var rec record.Record
		cl.Do(context.Background(), Request{Model: "m", Messages: []Message{{Role: "user", Content: "x"}}, Stream: c.stream, KeepAnswer: c.keep}, &rec)
		if rec.Outcome != record.OK || rec.Answer != c.want || rec.AnswerCut != c.cut {
			t.Errorf("%+v: %s %q, answer %q cut %v", c, rec.Outcome, rec.Error, rec.Answer, rec.AnswerCut)
		}
	}
}

// FuzzKeepAnswer feeds any content, in any pieces, to a response that
// keeps its answer: the answer is a prefix of the content, at most keep
// bytes, cut only where the content outgrew keep, and at a character
// boundary when the content is valid UTF-8.
func FuzzKeepAnswer(f *testing.F) {
	f.Add([]byte("Hello wörld"), []byte{3, 1, 200}, uint16(8))
	f.Add([]byte("日本語のテキスト"), []byte{1}, uint16(4))
	f.Add([]byte{}, []byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, content, sizes []byte, keep uint16) {
		k := int(keep%512) + 1
		var rec record.Record
		st := newStreamState(&rec, time.Now())
		st.keep = k
		rest := content
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(sizes) > 0 {
				n = min(n, int(sizes[i%len(sizes)])+1)
			}
			st.addText([]byte("r"), rest[:n])
			rest = rest[n:]
		}
		st.finish(&Request{})
		a := rec.Answer
		if len(a) > k || !strings.HasPrefix(string(content), a) || rec.AnswerCut != (len(content) > k) {
			t.Fatalf("content %q keep %d: answer %q cut %v", content, k, a, rec.AnswerCut)
		}
		if !rec.AnswerCut && a != string(content) {
			t.Fatalf("content %q keep %d: answer %q though not cut", content, k, a)
		}
		if utf8.Valid(content) && !utf8.ValidString(a) {
			t.Fatalf("content %q keep %d: answer %q cut inside a character", content, k, a)
		}
	})
}
