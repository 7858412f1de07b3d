package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"flperf/internal/runner"
	"flperf/internal/store"
)

// pushHeader is the header of a small finished run id with no records.
func pushHeader(t *testing.T, id string) []byte {
	t.Helper()
	a := &store.Archive{Result: runner.Result{ID: id, Status: runner.Completed, Started: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	h, err := store.PushHeader(a)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// gz compresses b.
func gz(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := io.Copy(zw, r); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

// TestPushRoutesRefuseHostileBodies: every malformed, oversized or
// out-of-order push step is refused with a clear error naming what is
// wrong, and a gzip bomb is refused after reading no more than the limit.
func TestPushRoutesRefuseHostileBodies(t *testing.T) {
	app := newApp(t, Options{})
	h := pushHeader(t, "hostile-1")
	digest := store.NewDigest(h)
	line := []byte(`{"seq":0,"model":"m","scenario":"s","worker":0,"stream":false,"max_tokens":0,"scheduled":"2026-03-01T12:00:00Z","sent":"2026-03-01T12:00:00Z","first_byte_ns":0,"first_token_ns":0,"first_answer_ns":0,"last_token_ns":0,"end_ns":1000,"chunk_count":0,"reason_chunk_count":0,"input_tokens":0,"output_tokens":0,"outcome":"ok"}`)
	digest.Add(line)
	begin := map[string]any{"header": json.RawMessage(h), "records": 2, "digest": digest.Sum(), "host": "laptop"}

	if e := app.fail("POST", "/api/v1/pushes", map[string]any{"records": 1, "digest": digest.Sum()}, 400); e.Field != "header" {
		t.Errorf("no header: %+v", e)
	}
	if e := app.fail("POST", "/api/v1/pushes", `{"header": {"id": "x"`, 400); !strings.Contains(e.Message, "JSON") {
		t.Errorf("cut JSON: %+v", e)
	}
	if e := app.fail("POST", "/api/v1/pushes", map[string]any{"header": json.RawMessage(`{"id":"x","status":"completed","started":"2026-03-01T12:00:00Z","future":1}`), "records": 1, "digest": digest.Sum()}, 400); !strings.Contains(e.Message, "future") {
		t.Errorf("unknown header field: %+v", e)
	}
	if e := app.fail("POST", "/api/v1/pushes", map[string]any{"header": json.RawMessage(h), "records": 1, "digest": digest.Sum(), "host": "a\x00b"}, 400); e.Field != "host" {
		t.Errorf("control character in host: %+v", e)
	}
	if e := app.fail("POST", "/api/v1/pushes", map[string]any{"header": json.RawMessage(h), "records": 1, "digest": digest.Sum(), "mode": 1}, 400); e.Field != "mode" {
		t.Errorf("unknown body field: %+v", e)
	}
	var st store.PushState
	app.data("POST", "/api/v1/pushes", begin, 200, &st)
	if st.State != store.PushReceiving || st.Received != 0 || st.Total != 2 {
		t.Fatalf("begin: %+v", st)
	}
	ndjson := []string{"Content-Type", "application/x-ndjson"}
	put := func(offset string, body any, status int, headers ...string) *apiError {
		return app.fail("PUT", "/api/v1/pushes/hostile-1/records?offset="+offset, body, status, append(append([]string{}, ndjson...), headers...)...)
	}
	if e := put("x", line, 400); e.Field != "offset" {
		t.Errorf("bad offset: %+v", e)
	}
	if e := put("5", line, 409); !strings.Contains(e.Message, "send from 0") {
		t.Errorf("gap: %+v", e)
	}
	if e := put("0", `{"seq":-1}`, 400); !strings.Contains(e.Message, "record 0") || !strings.Contains(e.Message, "seq") {
		t.Errorf("negative seq: %+v", e)
	}
	if e := put("0", "not json\n", 400); !strings.Contains(e.Message, "record 0") {
		t.Errorf("garbage line: %+v", e)
	}
	if e := put("0", "{}\n\n{}\n", 400); !strings.Contains(e.Message, "empty") {
		t.Errorf("empty line: %+v", e)
	}
	if e := put("0", strings.Repeat("{}\n", maxChunkRecords+1), 413); !strings.Contains(e.Message, "20000") {
		t.Errorf("too many records: %+v", e)
	}
	if e := put("0", bytes.Repeat([]byte("x"), maxPushChunk+1), 413); e.Kind != kindTooLarge {
		t.Errorf("oversized chunk: %+v", e)
	}
	if e := put("0", line, 400, "Content-Encoding", "gzip"); !strings.Contains(e.Message, "not gzip") {
		t.Errorf("false gzip: %+v", e)
	}
	if e := put("0", line, 400, "Content-Encoding", "br"); !strings.Contains(e.Message, "br") {
		t.Errorf("unknown encoding: %+v", e)
	}
	// A gzip bomb: 128 KiB on the wire, 128 MiB once inflated.
	bomb := gz(t, io.LimitReader(zeros{}, 128<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if e := put("0", bomb, 413, "Content-Encoding", "gzip"); e.Kind != kindTooLarge {
		t.Errorf("gzip bomb: %+v", e)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*maxPushChunk && !raceOn {
		t.Errorf("refusing a gzip bomb allocated %d MiB", grew>>20)
	}
	if e := app.fail("POST", "/api/v1/pushes/hostile-1/commit", nil, 409); !strings.Contains(e.Message, "0 of its 2 records") {
		t.Errorf("early commit: %+v", e)
	}
	// Nothing refused was stored; a gzip chunk is taken.
	app.data("PUT", "/api/v1/pushes/hostile-1/records?offset=0", nil, 200, nil)
	r := app.do("PUT", "/api/v1/pushes/hostile-1/records?offset=0", gz(t, bytes.NewReader(append(line, '\n'))), "Content-Encoding", "gzip", "Content-Type", "application/x-ndjson")
	if r.status != 200 || !strings.Contains(string(r.body), `"received":1`) {
		t.Fatalf("gzip chunk: %d %s", r.status, r.body)
	}
	if e := put("1", append(append(line, '\n'), line...), 400); !strings.Contains(e.Message, "beyond the 2 records announced") {
		t.Errorf("too many records: %+v", e)
	}
	// The run is not visible until its commit.
	if e := app.fail("GET", "/api/v1/runs/hostile-1", nil, 404); e.Kind != kindNotFound {
		t.Errorf("half-received run visible: %+v", e)
	}
	if r := app.do("DELETE", "/api/v1/pushes/hostile-1", nil); r.status != http.StatusNoContent {
		t.Errorf("dropping the push: %d %s", r.status, r.body)
	}
	if e := app.fail("GET", "/api/v1/pushes/hostile-1", nil, 404); !strings.Contains(e.Message, "no push of run hostile-1") {
		t.Errorf("after the drop: %+v", e)
	}
}

// zeros reads zero bytes forever.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestPushRoutesNeedToken: beyond loopback the push and pull routes need
// the access token, like every API route.
func TestPushRoutesNeedToken(t *testing.T) {
	app := newApp(t, Options{Token: "0123456789abcdef0123456789abcdef"})
	for _, r := range []struct{ method, path string }{
		{"POST", "/api/v1/pushes"}, {"GET", "/api/v1/pushes/x"}, {"PUT", "/api/v1/pushes/x/records?offset=0"},
		{"POST", "/api/v1/pushes/x/commit"}, {"DELETE", "/api/v1/pushes/x"}, {"GET", "/api/v1/runs/x/pull"}, {"GET", "/api/v1/runs/x/origin"},
	} {
		if res := app.do(r.method, r.path, nil); res.status != http.StatusUnauthorized {
			t.Errorf("%s %s without the token: %d", r.method, r.path, res.status)
		}
	}
	if e := app.fail("GET", "/api/v1/runs/nosuchrun/pull", nil, 404, "Authorization", "Bearer 0123456789abcdef0123456789abcdef"); e.Kind != kindNotFound {
		t.Errorf("pull of an unknown run: %+v", e)
	}
}
