package backend

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
)

// splitReader serves data in pieces whose sizes come from a seeded
// generator; with eofWithData the last piece comes together with io.EOF.
type splitReader struct {
	data        []byte
	rng         *rand.Rand
	maxPiece    int
	eofWithData bool
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := 1 + r.rng.IntN(r.maxPiece)
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	if r.eofWithData && len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// wholeReader returns everything in one read.
type wholeReader struct{ data []byte }

func (r *wholeReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

type testEvent struct {
	Data      string
	ErrType   bool
	ErrField  bool
	Timestamp bool // the event carries a stamp
}

func (e testEvent) String() string {
	return fmt.Sprintf("{%q type=%v field=%v}", e.Data, e.ErrType, e.ErrField)
}

func readEvents(r io.Reader, maxLine int) ([]testEvent, error) {
	sr := newSSEReader(r, maxLine)
	var evs []testEvent
	for {
		ev, err := sr.next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, testEvent{string(ev.data), ev.errorType, ev.errorField, !ev.at.IsZero()})
	}
}

func TestSSEReader(t *testing.T) {
	ev := func(d string) testEvent { return testEvent{Data: d, Timestamp: true} }
	cases := []struct {
		name, in string
		maxLine  int
		want     []testEvent
		err      error
	}{
		{"basic", "data: a\n\ndata: b\n\n", 0, []testEvent{ev("a"), ev("b")}, io.EOF},
		{"no space", "data:a\n\ndata:  two spaces\n\n", 0, []testEvent{ev("a"), ev(" two spaces")}, io.EOF},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", 0, []testEvent{ev("a"), ev("b")}, io.EOF},
		{"comments and keep-alives", ": ping\n\n\n\n: x\ndata: a\n: mid\n\n", 0, []testEvent{ev("a")}, io.EOF},
		{"multi-line data", "data: a\ndata: b\ndata:\n\n", 0, []testEvent{ev("a\nb\n")}, io.EOF},
		{"empty data dropped", "data:\n\ndata: \n\n", 0, nil, io.EOF},
		{"other fields ignored", "id: 1\nretry: 5\nevent: message\ndata: a\nfoo\n\n", 0, []testEvent{ev("a")}, io.EOF},
		{"event error", "event: error\ndata: {\"message\":\"x\"}\n\ndata: b\n\n", 0,
			[]testEvent{{Data: `{"message":"x"}`, ErrType: true, Timestamp: true}, ev("b")}, io.EOF},
		{"event error without data", "event: error\n\n", 0, []testEvent{{ErrType: true, Timestamp: true}}, io.EOF},
		{"error field", "data: a\n\nerror: {\"code\":500}\n\n", 0,
			[]testEvent{ev("a"), {Data: `{"code":500}`, ErrField: true, Timestamp: true}}, io.EOF},
		{"last line without newline", "data: a\n\ndata: [DONE]", 0, []testEvent{ev("a"), ev("[DONE]")}, io.EOF},
		{"last event without blank line", "data: a\n", 0, []testEvent{ev("a")}, io.EOF},
		{"last line crlf without newline", "data: a\r", 0, []testEvent{ev("a")}, io.EOF},
		{"byte-order mark", "\xef\xbb\xbfdata: a\n\n", 0, []testEvent{ev("a")}, io.EOF},
		{"done inside text", "data: {\"c\":\"data: [DONE]\\n\\n\"}\n\n", 0, []testEvent{ev(`{"c":"data: [DONE]\n\n"}`)}, io.EOF},
		{"line at the limit", "data: 0123456789\n\n", 17, []testEvent{ev("0123456789")}, io.EOF},
		{"line over the limit", "data: 0123456789\n\n", 16, nil, errLineTooLong},
		// An event's joined data is held to the line limit too.
		{"event data at the limit", "data: 0123456\ndata: 0123456\n\ndata: b\n\n", 16, []testEvent{ev("0123456\n0123456"), ev("b")}, io.EOF},
		{"event data over the limit", "data: 01234567\ndata: 0123456\n\ndata: b\n\n", 16, nil, errEventTooLong},
		{"event never ended", "data: 0123\ndata: 0123\ndata: 0123\ndata: 0123", 12, nil, errEventTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []io.Reader{
				&wholeReader{[]byte(c.in)},
				&splitReader{data: []byte(c.in), rng: rand.New(rand.NewPCG(1, 2)), maxPiece: 1},
				&splitReader{data: []byte(c.in), rng: rand.New(rand.NewPCG(3, 4)), maxPiece: 3, eofWithData: true},
			} {
				got, err := readEvents(r, c.maxLine)
				if fmt.Sprint(got) != fmt.Sprint(c.want) || err != c.err {
					t.Errorf("%T: got %v, %v; want %v, %v", r, got, err, c.want, c.err)
				}
				for _, e := range got {
					if !e.Timestamp {
						t.Errorf("%T: event %v has no timestamp", r, e)
					}
				}
			}
		})
	}
}

// TestSSEReadStamp checks that a line carries the stamp of the read that
// completed it, not of an earlier read that brought its beginning.
func TestSSEReadStamp(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pr.Close() })
	go func() {
		pw.Write([]byte("data: {\"a\""))
		time.Sleep(30 * time.Millisecond)
		pw.Write([]byte(":1}\n\n"))
		pw.Close()
	}()
	start := time.Now()
	sr := newSSEReader(pr, 0)
	ev, err := sr.next()
	if err != nil || string(ev.data) != `{"a":1}` {
		t.Fatalf("got %q, %v", ev.data, err)
	}
	if d := ev.at.Sub(start); d < 25*time.Millisecond {
		t.Errorf("event stamped %v after start, before its line was complete", d)
	}
}

func TestSSEReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: {\"partial"), &errReader{boom})
	got, err := readEvents(r, 0)
	if len(got) != 1 || got[0].Data != "a" || err != boom {
		t.Errorf("got %v, %v; want one event then the read error", got, err)
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

// consumeAll runs the stream consumer over r as Do would, without HTTP.
func consumeAll(r io.Reader, maxLine int) (*record.Record, streamEnd) {
	rec := &record.Record{}
	st := newStreamState(rec, time.Now())
	end := st.consume(newSSEReader(r, maxLine))
	st.finish(&Request{Messages: []Message{{Role: "user", Content: "hello there"}}})
	return rec, end
}

// untimed renders the parts of a record and stream end that do not depend
// on timing.
func untimed(rec *record.Record, end streamEnd) string {
	r := *rec
	r.Chunks = nil
	r.FirstToken, r.FirstAnswer, r.LastToken = 0, 0, 0
	var chunks []string
	for _, c := range rec.Chunks {
		chunks = append(chunks, fmt.Sprintf("%d/%d", c.Tokens, c.Est))
	}
	return fmt.Sprintf("%+v chunks=%v end=%d %q %v", r, chunks, end.kind, end.msg, end.err)
}

var sseSeeds = []string{
	"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n" +
		": keep-alive\n\n" +
		"data:{\"choices\":[{\"delta\":{\"content\":\" world\"},\"finish_reason\":\"stop\"}]}\r\n\r\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n" +
		"data: [DONE]\n\n",
	"data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"think\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"data: [DONE]\"}}]}\n\n",
	"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":{\"completion_tokens\":1}}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b c\"}}],\"usage\":{\"completion_tokens\":3}}\n\n",
	"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"error\":{\"message\":\"boom\"}}\n\n",
	"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"error\":null}\n\nevent: error\ndata: oops\n\n",
	"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\nerror: {\"code\":500,\"message\":\"old llama\"}\n\n",
	"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"choices\":[\n\n",
	"data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("long ", 1200) + "\"}}]}\n\ndata: [DONE]\n\n",
	"data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"joined\"}}]}\n\n",
	"data: {\"choices\":[],\"timings\":{\"predicted_n\":3,\"prompt_n\":2,\"cache_n\":1}}\n\n",
	// Limits: data lines that never end their event; usage claiming far
	// more tokens than the text has bytes (per chunk and in total).
	strings.Repeat("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n", 400),
	"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":{\"completion_tokens\":1}}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}],\"usage\":{\"completion_tokens\":9223372036854775807}}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":50000000}}\n\ndata: [DONE]\n\n",
}

func FuzzSSE(f *testing.F) {
	for i, s := range sseSeeds {
		f.Add([]byte(s), uint64(i), uint16(5000))
		f.Add([]byte(s), uint64(i+100), uint16(200))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, limit uint16) {
		maxLine := 16 + int(limit)%8192
		rng := rand.New(rand.NewPCG(seed, seed>>7))
		split := func() io.Reader {
			return &splitReader{data: data, rng: rng, maxPiece: 1 + rng.IntN(64), eofWithData: rng.IntN(2) == 0}
		}

		// Events do not depend on where reads split the bytes.
		want, werr := readEvents(&wholeReader{data}, maxLine)
		got, gerr := readEvents(split(), maxLine)
		if fmt.Sprint(got) != fmt.Sprint(want) || werr != gerr {
			t.Fatalf("split reads: %v, %v\nwhole read: %v, %v", got, gerr, want, werr)
		}
		for _, e := range want {
			if len(e.Data) >= maxLine || !e.Timestamp {
				t.Fatalf("event %v: longer than a line may be, or unstamped", e)
			}
		}

		// Neither does what the stream consumer records.
		rec1, end1 := consumeAll(&wholeReader{data}, maxLine)
		rec2, end2 := consumeAll(split(), maxLine)
		if a, b := untimed(rec1, end1), untimed(rec2, end2); a != b {
			t.Fatalf("split reads: %s\nwhole read: %s", b, a)
		}
		checkRecordInvariants(t, rec1)
		if rec1.TextBytes > 0 && rec1.ChunkCount == 0 {
			t.Fatalf("stream text outside text-bearing chunks: %+v", rec1)
		}
	})
}

// checkRecordInvariants asserts what must hold for any record Do fills.
func checkRecordInvariants(t *testing.T, rec *record.Record) {
	t.Helper()
	if rec.ChunkCount != len(rec.Chunks) || rec.ReasonChunk > rec.ChunkCount {
		t.Fatalf("chunk counts: %d chunks, ChunkCount %d, ReasonChunk %d", len(rec.Chunks), rec.ChunkCount, rec.ReasonChunk)
	}
	prev := time.Duration(0)
	for _, c := range rec.Chunks {
		if c.Est < 1 || c.Tokens < 0 || c.At <= 0 || c.At < prev {
			t.Fatalf("bad chunk %+v after %v", c, prev)
		}
		prev = c.At
	}
	if rec.ChunkCount > 0 && (rec.FirstToken != rec.Chunks[0].At || rec.LastToken != prev) {
		t.Fatalf("FirstToken %v / LastToken %v do not match chunks", rec.FirstToken, rec.LastToken)
	}
	if rec.FirstAnswer != 0 && rec.FirstAnswer < rec.FirstToken {
		t.Fatalf("FirstAnswer %v before FirstToken %v", rec.FirstAnswer, rec.FirstToken)
	}
	if len(rec.Text) > record.TextLimit || len(rec.Text) > rec.TextBytes {
		t.Fatalf("Text %d bytes, TextBytes %d", len(rec.Text), rec.TextBytes)
	}
	if rec.ChunkCount > 0 && rec.TextBytes == 0 {
		t.Fatalf("%d text-bearing chunks without text", rec.ChunkCount)
	}
	if rec.OutputSource == record.SourceNone && rec.OutputTokens != 0 {
		t.Fatalf("OutputTokens %d without a source", rec.OutputTokens)
	}
}
