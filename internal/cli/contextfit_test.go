package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/runner"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// contextSuite has a scenario whose prompt (300 one-token words) cannot
// fit slots of 128 tokens, and a short one.
const contextSuite = `{"name":"ctx","scenarios":[
 {"name":"short","prompt":"Say hello.","max_tokens":4},
 {"name":"long","prompt":"` + "MARKER" + `","max_tokens":4}]}`

// TestRunSkipsWhatCannotFit runs `flperf run` on a simulated llama.cpp
// whose slots hold 128 tokens: the long scenario is named on stderr before
// the run, never sent, and the skip, with its counts, is in the run's JSON,
// in `flperf show` (table and JSON) from the database, and in a copy
// exported and imported into another database.
func TestRunSkipsWhatCannotFit(t *testing.T) {
	l, err := dialect.NewLlamaCpp(sim.Profile{Name: "small.gguf", TTFT: time.Millisecond, DecodeTPS: 20000, Seed: 2}, dialect.LlamaCppOptions{ContextLength: 128})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.TrimSpace(strings.Repeat("prolix ", 300))
	var mu sync.Mutex
	longSent := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			var b bytes.Buffer
			b.ReadFrom(r.Body)
			if strings.Contains(b.String(), "prolix prolix") {
				mu.Lock()
				longSent++
				mu.Unlock()
			}
			r.Body = readCloser{&b}
		}
		l.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	suitePath := writeFile(t, "ctx.json", strings.Replace(contextSuite, "MARKER", long, 1))
	db := newDB(t)
	o := run(t, "run", "--db", db, "--endpoint", srv.URL, "--suite", suitePath, "--requests", "2", "--warmup", "0", "--format", "json")
	wantCode(t, o, ExitOK)
	mu.Lock()
	sent := longSent
	mu.Unlock()
	if sent != 0 {
		t.Fatalf("the engine got %d requests of the long scenario", sent)
	}
	before, _, ok := strings.Cut(o.stderr, "benchmarking")
	if !ok || !strings.Contains(before, `context: model small.gguf, scenario "long" skipped before any request: its prompt is 304 tokens (counted by the engine's tokenizer), not below the context window of 128 tokens`) {
		t.Errorf("stderr before the run does not name the skip:\n%s", o.stderr)
	}
	want := runner.ContextFit{Model: "small.gguf", Scenario: "long", Action: runner.FitSkipped, PromptTokens: 304, MaxTokens: 4, ContextLength: 128, Method: runner.FitExact}
	fits := func(where, stdout string) {
		t.Helper()
		var doc struct {
			ID    string
			Suite struct {
				ContextFit []runner.ContextFit `json:"context_fit"`
			}
			Groups   []struct{ Scenario string }
			Warnings []string
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Suite.ContextFit) != 1 {
			t.Fatalf("%s: %v %+v", where, err, doc.Suite.ContextFit)
		}
		got := doc.Suite.ContextFit[0]
		msg := got.Message
		got.Message = ""
		if !reflect.DeepEqual(got, want) || !strings.Contains(msg, "the engine would refuse every request") ||
			len(doc.Groups) != 1 || doc.Groups[0].Scenario != "short" || !strings.Contains(strings.Join(doc.Warnings, "\n"), `scenario "long" skipped before any request`) {
			t.Errorf("%s: %+v (%q), groups %+v, warnings %q", where, got, msg, doc.Groups, doc.Warnings)
		}
	}
	fits("run --format json", o.stdout)
	id := str(t, decodeJSON(t, o.stdout), "id")

	o = run(t, "show", id, "--db", db, "--format", "json")
	wantCode(t, o, ExitOK)
	fits("show --format json", o.stdout)
	o = run(t, "show", id, "--db", db)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "Context window") || !strings.Contains(o.stdout, `context: model small.gguf, scenario "long" skipped before any request`) {
		t.Errorf("show lacks the skip:\n%s", o.stdout)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	wantCode(t, run(t, "export", id, "--format", "json", "--out", path, "--db", db), ExitOK)
	other := newDB(t)
	wantCode(t, run(t, "import", path, "--db", other), ExitOK)
	o = run(t, "show", id, "--db", other, "--format", "json")
	wantCode(t, o, ExitOK)
	fits("show after export and import", o.stdout)
}

// readCloser gives a buffer a Close.
type readCloser struct{ *bytes.Buffer }

func (readCloser) Close() error { return nil }
