package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeOllamaBlobs answers /api/blobs and /api/create as Ollama 0.6.5 does
// (server/routes.go, server/create.go): HEAD 200 or 404, POST stores the
// body when its SHA-256 matches the digest in the path (else 400), create
// streams status lines and "success", or an error line for an unknown
// blob.
type fakeOllamaBlobs struct {
	mu      sync.Mutex
	blobs   map[string][]byte
	uploads int
	create  map[string]any // the last create request
}

func (f *fakeOllamaBlobs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/blobs/"):
		digest := strings.TrimPrefix(r.URL.Path, "/api/blobs/")
		if _, ok := f.blobs[digest]; ok {
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"digest mismatch, expected %q, got %q"}`, digest, got)
			return
		}
		f.uploads++
		f.blobs[digest] = body
		w.WriteHeader(http.StatusCreated)
	case r.URL.Path == "/api/create":
		f.create = nil
		json.NewDecoder(r.Body).Decode(&f.create)
		w.Header().Set("Content-Type", "application/x-ndjson")
		files, _ := f.create["files"].(map[string]any)
		for _, d := range files {
			if _, ok := f.blobs[d.(string)]; !ok {
				io.WriteString(w, `{"error":"open blob: no such file or directory"}`+"\n")
				return
			}
		}
		io.WriteString(w, `{"status":"parsing GGUF"}`+"\n"+`{"status":"using existing layer sha256:abc"}`+"\n"+
			`{"status":"writing manifest"}`+"\n"+`{"status":"success"}`+"\n")
	default:
		http.NotFound(w, r)
	}
}

func newFakeBlobs(t *testing.T) (*fakeOllamaBlobs, *OllamaManager) {
	t.Helper()
	f := &fakeOllamaBlobs{blobs: map[string][]byte{}}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	return f, NewOllama(Info{Kind: Ollama, Endpoint: s.URL + "/v1"}, nil)
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOllamaCreateFromFile(t *testing.T) {
	f, m := newFakeBlobs(t)
	data := append([]byte("GGUF"), make([]byte, 300_000)...)
	for i := range data[4:] {
		data[4+i] = byte(i * 7)
	}
	path := writeTemp(t, "tiny.gguf", data)
	var reports []Progress
	err := m.CreateFromFile(context.Background(), "tiny:latest", path, CreateOptions{Template: "{{ .Prompt }}", System: "be brief"},
		func(p Progress) { reports = append(reports, p) })
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if f.uploads != 1 || string(f.blobs[digest]) != string(data) {
		t.Fatalf("uploads %d; the server holds %v, want the file under %s", f.uploads, len(f.blobs), digest)
	}
	want := map[string]any{"model": "tiny:latest", "files": map[string]any{"tiny.gguf": digest}, "template": "{{ .Prompt }}", "system": "be brief", "stream": true}
	if fmt.Sprint(f.create) != fmt.Sprint(want) {
		t.Fatalf("create request %v, want %v", f.create, want)
	}
	last := reports[len(reports)-1]
	if !last.Done || last.Percent != 100 || last.Err != "" {
		t.Fatalf("last report %+v, want done at 100 %%", last)
	}
	statuses := fmt.Sprint(reports)
	for _, s := range []string{"uploading sha256:" + digest[7:19], "parsing GGUF", "writing manifest"} {
		if !strings.Contains(statuses, s) {
			t.Errorf("no %q among the reports %v", s, statuses)
		}
	}

	// Again: the blob is there, nothing is uploaded.
	if err := m.CreateFromFile(context.Background(), "tiny:v2", path, CreateOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if f.uploads != 1 {
		t.Errorf("uploads %d after a second create of the same file, want 1 (HEAD says the blob exists)", f.uploads)
	}
	if _, ok := f.create["template"]; ok {
		t.Errorf("an empty template was sent: %v", f.create)
	}
}

func TestOllamaCreateFromFileErrors(t *testing.T) {
	f, m := newFakeBlobs(t)
	ctx := context.Background()
	notGGUF := writeTemp(t, "model.bin", []byte("PK\x03\x04 not a gguf"))
	var last Progress
	err := m.CreateFromFile(ctx, "x", notGGUF, CreateOptions{}, func(p Progress) { last = p })
	if err == nil || !strings.Contains(err.Error(), "not a GGUF file") || !last.Done || last.Err == "" {
		t.Errorf("non-GGUF file: err %v, last report %+v", err, last)
	}
	if err := m.CreateFromFile(ctx, "x", filepath.Join(t.TempDir(), "missing.gguf"), CreateOptions{}, nil); err == nil {
		t.Error("a missing file was accepted")
	}
	if err := m.CreateFromFile(ctx, " ", writeTemp(t, "a.gguf", []byte("GGUF")), CreateOptions{}, nil); err == nil {
		t.Error("an empty model name was accepted")
	}
	if f.uploads != 0 || f.create != nil {
		t.Fatalf("refused creates reached the server: %d uploads, create %v", f.uploads, f.create)
	}

	// An error line from /api/create is the engine's error, named: here
	// the fake forgets its blobs between the upload and the create.
	path := writeTemp(t, "b.gguf", []byte("GGUF-b"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/create" {
			f.mu.Lock()
			f.blobs = map[string][]byte{}
			f.mu.Unlock()
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	m2 := NewOllama(Info{Kind: Ollama, Endpoint: srv.URL + "/v1"}, nil)
	err = m2.CreateFromFile(ctx, "b", path, CreateOptions{}, nil)
	var oe *OllamaError
	if !errors.As(err, &oe) || oe.Op != "create" || !strings.Contains(err.Error(), "open blob") {
		t.Errorf("create error line: err %v, want an *OllamaError for create carrying the engine's message", err)
	}
}
