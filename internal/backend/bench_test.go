package backend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/record"
)

// benchTokens is the length of the canned responses.
const benchTokens = 256

// cannedStream is a realistic vLLM-style SSE body of benchTokens tokens, k
// per chunk, split into one read per event as a server flushing every
// event delivers it.
func cannedStream(k int) [][]byte {
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dogs"}
	frame := func(s string) string {
		return `data: {"id":"chatcmpl-8f2a61c0b5e94d1b9d1c3f0e2a7b6c5d","object":"chat.completion.chunk","created":1732700000,` +
			`"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"delta":{"content":` + jsonString(s) +
			`},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n"
	}
	segs := []string{strings.Replace(roleFrame, `"id":"c-9"`, `"id":"chatcmpl-8f2a61c0b5e94d1b9d1c3f0e2a7b6c5d"`, 1)}
	for i := 0; i < benchTokens; i += k {
		var b strings.Builder
		for j := range k {
			b.WriteString(words[(i+j)%len(words)])
		}
		segs = append(segs, frame(b.String()))
	}
	segs = append(segs, finishFrame("stop"), usageFrame(120, benchTokens), doneFrame)
	out := make([][]byte, len(segs))
	for i, s := range segs {
		out[i] = []byte(s)
	}
	return out
}

// segBody serves segments, one per Read.
type segBody struct {
	segs [][]byte
	off  int
}

func (b *segBody) Read(p []byte) (int, error) {
	for len(b.segs) > 0 && b.off == len(b.segs[0]) {
		b.segs, b.off = b.segs[1:], 0
	}
	if len(b.segs) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.segs[0][b.off:])
	b.off += n
	return n, nil
}

func (b *segBody) Close() error { return nil }

// cannedTransport answers every request from memory.
type cannedTransport struct{ segs [][]byte }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    &segBody{segs: c.segs},
		Request: r,
	}, nil
}

// BenchmarkStreamParse measures client CPU time and allocations per
// streamed token: "do" runs whole requests through Do (per-request costs
// amortised over benchTokens tokens), "consume" only the stream reader and
// accounting on an in-memory body.
func BenchmarkStreamParse(b *testing.B) {
	for _, k := range []int{1, 4} {
		segs := cannedStream(k)
		b.Run(fmt.Sprintf("tok=%d/do", k), func(b *testing.B) {
			c := New("http://canned/v1", Options{HTTPClient: &http.Client{Transport: cannedTransport{segs}}})
			req := chatReq()
			var rec record.Record
			perToken(b, func() {
				rec = record.Record{}
				c.Do(context.Background(), req, &rec)
			})
			if rec.Outcome != record.OK || rec.OutputTokens != benchTokens || rec.ChunkCount != benchTokens/k {
				b.Fatalf("bad record: %s %q, %d tokens, %d chunks", rec.Outcome, rec.Error, rec.OutputTokens, rec.ChunkCount)
			}
		})
		b.Run(fmt.Sprintf("tok=%d/consume", k), func(b *testing.B) {
			var end streamEnd
			perToken(b, func() {
				rec := record.Record{}
				st := newStreamState(&rec, time.Now())
				end = st.consume(newSSEReader(&segBody{segs: segs}, 0))
			})
			if end.kind != endDone {
				b.Fatalf("stream ended with %d %q", end.kind, end.msg)
			}
		})
	}
}

// perToken runs fn b.N times and reports ns and allocations per token.
func perToken(b *testing.B, fn func()) {
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for range b.N {
		fn()
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	n := float64(b.N) * benchTokens
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/token")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/token")
}

// BenchmarkChunkParse compares the fast chunk parser with encoding/json.
func BenchmarkChunkParse(b *testing.B) {
	data := bytes.TrimSpace(bytes.TrimPrefix(cannedStream(1)[1], []byte("data:")))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var p chunkParser
		var f frame
		for b.Loop() {
			if err := p.parse(data, &f); err != nil || len(f.content) == 0 {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var f frame
		for b.Loop() {
			if err := refParse(data, "delta", &f); err != nil || len(f.content) == 0 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInFlightMemory measures the heap held per stream in flight: K
// streams are opened to an in-memory server (net.Pipe, so the server side
// holds almost nothing), each has delivered its first token and is held
// open; the heap growth over K is the client's cost per stream, the
// transport's connection buffers and goroutine state included.
func BenchmarkInFlightMemory(b *testing.B) {
	const K = 256
	var heap, stack float64
	for b.Loop() {
		h, s := inFlightMemory(b, K)
		heap += h
		stack += s
	}
	b.ReportMetric(heap/float64(b.N), "B/stream")
	b.ReportMetric(stack/float64(b.N), "stackB/stream")
}

func inFlightMemory(b *testing.B, k int) (heapPerStream, stackPerStream float64) {
	b.StopTimer()
	defer b.StartTimer()
	release := make(chan struct{})
	var served, servers sync.WaitGroup
	served.Add(k)
	tr := NewTransport(k)
	tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		servers.Add(1)
		go func() {
			defer servers.Done()
			pipeServer(server, &served, release)
		}()
		return client, nil
	}
	c := New("http://pipe/v1", Options{HTTPClient: &http.Client{Transport: tr}})
	recs := make([]record.Record, k)
	req := chatReq()

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	var clients sync.WaitGroup
	for i := range recs {
		clients.Go(func() { c.Do(context.Background(), req, &recs[i]) })
	}
	served.Wait()
	time.Sleep(50 * time.Millisecond) // let every client parse what it was sent
	runtime.GC()
	runtime.ReadMemStats(&m1)
	close(release)
	clients.Wait()
	tr.CloseIdleConnections()
	servers.Wait()
	for i := range recs {
		if recs[i].Outcome != record.OK || recs[i].ChunkCount != 1 {
			b.Fatalf("stream %d: %s %q", i, recs[i].Outcome, recs[i].Error)
		}
	}
	return float64(int64(m1.HeapInuse)-int64(m0.HeapInuse)) / float64(k),
		float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / float64(k)
}

// Response bytes of the pipe server, built once so that serving allocates nothing.
var (
	pipeHead = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
		httpChunk(roleFrame) + httpChunk(contentFrame("Hello")))
	pipeTail = []byte(httpChunk(finishFrame("stop")) + httpChunk(doneFrame) + "0\r\n\r\n")
)

func httpChunk(s string) string { return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n" }

// pipeServer answers one request on conn: the first token, then (after
// release) the end of the stream.
func pipeServer(conn net.Conn, served *sync.WaitGroup, release <-chan struct{}) {
	defer conn.Close()
	if !readRequest(conn) {
		served.Done()
		return
	}
	conn.Write(pipeHead)
	served.Done()
	<-release
	conn.Write(pipeTail)
	io.Copy(io.Discard, conn) // until the client closes
}

// readRequest consumes one HTTP request (headers and Content-Length body).
func readRequest(conn net.Conn) bool {
	var buf []byte
	tmp := make([]byte, 1024)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			head := strings.ToLower(string(buf[:i]))
			cl := 0
			if j := strings.Index(head, "content-length: "); j >= 0 {
				rest := head[j+len("content-length: "):]
				if e := strings.IndexByte(rest, '\r'); e >= 0 {
					rest = rest[:e]
				}
				cl, _ = strconv.Atoi(rest)
			}
			if len(buf)-(i+4) >= cl {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}
