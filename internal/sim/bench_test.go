package sim

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// discardWriter is a flushable http.ResponseWriter that keeps only the
// status, a byte count and the last bytes written.
type discardWriter struct {
	h      http.Header
	status int
	n      int
	tail   []byte
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *discardWriter) Flush() {}
func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(200)
	w.n += len(b)
	w.tail = append(w.tail, b...)
	if len(w.tail) > 64 {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-64:]...)
	}
	return len(b), nil
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n, w.tail = 0, 0, w.tail[:0]
}

// BenchmarkServerStream measures the simulator's own cost per streamed
// token, without waiting (DecodeTPS is huge): "handler" calls ServeHTTP
// directly, "mem" goes through net/http over a MemListener, client included.
func BenchmarkServerStream(b *testing.B) {
	const n = 512
	for _, per := range []int{1, 4} {
		p := Profile{Name: "m", DecodeTPS: 1e12, TokensPerChunk: per, Usage: true}
		body := chatBody("m", "benchmark", true, map[string]any{"max_tokens": n, "stream_options": map[string]any{"include_usage": true}})
		b.Run(fmt.Sprintf("handler/tokens-per-chunk=%d", per), func(b *testing.B) {
			s, err := New(p)
			if err != nil {
				b.Fatal(err)
			}
			w := &discardWriter{h: http.Header{}}
			perToken(b, n, func() {
				w.reset()
				s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body)))
				if w.status != 200 || !bytes.HasSuffix(w.tail, []byte("data: [DONE]\n\n")) {
					b.Fatalf("status %d, tail %q", w.status, w.tail)
				}
			})
		})
		b.Run(fmt.Sprintf("mem/tokens-per-chunk=%d", per), func(b *testing.B) {
			s, err := New(p)
			if err != nil {
				b.Fatal(err)
			}
			_, c := serveMem(b, s)
			var buf bytes.Buffer
			perToken(b, n, func() {
				resp, err := c.Post("http://sim.invalid/v1/chat/completions", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.HasSuffix(buf.Bytes(), []byte("data: [DONE]\n\n")) {
					b.Fatalf("stream: %v", err)
				}
			})
		})
	}
}

// perToken runs f b.N times and reports time and allocations per token.
func perToken(b *testing.B, tokensPerOp int, f func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		f()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	tokens := float64(b.N) * float64(tokensPerOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/tokens, "ns/token")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/tokens, "allocs/token")
}
