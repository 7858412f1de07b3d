package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/cli"
	"flperf/internal/engine"
	"flperf/internal/server"
	"flperf/internal/store"
)

// get fetches url and returns its body, wanting 200.
func get(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, res.StatusCode, err, b)
	}
	return b
}

// flperf runs the command line and returns its stdout, wanting success.
func flperf(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb); code != cli.ExitOK {
		t.Fatalf("flperf %v: exit %d: %s", args, code, errb.String())
	}
	return out.Bytes()
}

// TestSameAnswersAsTheCommandLine checks that the app's export and compare
// give the bytes and numbers `flperf export` and `flperf compare` give for
// the same runs in the same database.
func TestSameAnswersAsTheCommandLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := server.New(server.Options{DB: db, Listen: "127.0.0.1:0", Detect: func(context.Context) []engine.Found { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(s.Close)
	var ids []string
	for i := range 2 {
		body := `{"engine":"sim","models":["sim-fast","sim-slow"],"scenarios":["Simple Q&A - Short","Code Generation"],"requests":4,"max_tokens":8,"seed":` + string(rune('1'+i)) + `}`
		res, err := http.Post(hs.URL+"/api/v1/runs", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("start: %d %v", res.StatusCode, err)
		}
		ids = append(ids, out.Data.ID)
		waitDone(t, hs.URL, out.Data.ID)
	}
	for _, f := range []string{"json", "csv", "jsonl"} {
		api := get(t, hs.URL+"/api/v1/runs/"+ids[0]+"/export?format="+f)
		want := flperf(t, "export", ids[0], "--db", path, "--format", f)
		if !bytes.Equal(api, want) {
			t.Errorf("export %s: the app's %d bytes differ from flperf export's %d", f, len(api), len(want))
		}
	}
	for _, sides := range [][2]string{{ids[0], ids[1]}, {ids[0] + "@sim-fast", ids[0] + "@sim-slow"}} {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		q := hs.URL + "/api/v1/compare?base=" + sides[0] + "&candidate=" + sides[1] + "&metric=ttft_ms&metric=e2e_ms&alpha=0.1"
		if err := json.Unmarshal(get(t, q), &env); err != nil {
			t.Fatal(err)
		}
		want := flperf(t, "compare", sides[0], sides[1], "--db", path, "--format", "json", "--metric", "ttft_ms", "--metric", "e2e_ms", "--alpha", "0.1")
		var a, b bytes.Buffer
		if err := json.Compact(&a, env.Data); err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&b, want); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() || !strings.Contains(a.String(), `"rows"`) {
			t.Errorf("compare %v differs:\napp  %s\nflperf %s", sides, a.String(), b.String())
		}
	}
}

// waitDone waits until run id is over in the app: saved, and its engine
// free again (GET /runs/{id} has no live progress).
func waitDone(t *testing.T, url, id string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var env struct {
			Data struct {
				Run struct {
					Status string `json:"status"`
				} `json:"run"`
				Live *struct{} `json:"live"`
			} `json:"data"`
		}
		if err := json.Unmarshal(get(t, url+"/api/v1/runs/"+id), &env); err != nil {
			t.Fatal(err)
		}
		if env.Data.Live == nil && env.Data.Run.Status != string(store.Running) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("run %s did not finish", id)
}
