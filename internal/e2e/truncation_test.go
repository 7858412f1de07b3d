package e2e

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/cli"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// TestTruncationShown: a run against a simulated Ollama whose model is
// loaded with num_ctx 64 sends the default suite's long-input prompt,
// which Ollama cuts to 64 tokens without an error; the Results page says
// so among the run's warnings and on the group's row, in the words the
// API gives.
func TestTruncationShown(t *testing.T) {
	o, err := dialect.NewOllama(sim.Profile{Name: "m:latest", TTFT: time.Millisecond, DecodeTPS: 20000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SetModel("m:latest", dialect.OllamaModel{ContextLength: 8192, NumCtx: 64}); err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(o)
	t.Cleanup(s.Close)
	db := filepath.Join(t.TempDir(), "e2e.db")
	code := cli.Main(context.Background(), []string{"run", "--endpoint", s.URL + "/v1", "--model", "m", "--scenario", "Long Input - Prefill",
		"--requests", "2", "--warmup", "0", "--max-tokens", "4", "--sample-interval", "off", "--db", db, "--no-progress"}, nil, io.Discard, io.Discard)
	if code != 0 {
		t.Fatalf("flperf run exited %d", code)
	}
	a := startApp(t, db)
	var runs []struct {
		ID string `json:"id"`
	}
	a.get(t, "/runs", &runs)
	if len(runs) != 1 {
		t.Fatalf("%d runs stored", len(runs))
	}
	var doc struct {
		Run struct {
			Warnings []string `json:"warnings"`
			Suite    struct {
				Truncated []struct {
					Message string `json:"message"`
				} `json:"truncated"`
			} `json:"suite"`
		} `json:"run"`
	}
	a.get(t, "/runs/"+runs[0].ID, &doc)
	tr := doc.Run.Suite.Truncated
	if len(tr) != 1 || !strings.HasPrefix(tr[0].Message, "prompts cut: the engine counted 64 input tokens, its whole context window (num_ctx 64)") {
		t.Fatalf("the API's truncated %+v", tr)
	}
	b := newBrowser(t, 1400, 900)
	b.open(t, a.url+"runs/"+runs[0].ID, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	warned := eval[[]string](t, b, `[...document.querySelectorAll('ul.warnings li')].map((li) => li.textContent)`)
	if !slices.ContainsFunc(warned, func(w string) bool {
		return strings.HasSuffix(w, tr[0].Message) && slices.Contains(doc.Run.Warnings, w)
	}) {
		t.Errorf("the page's run warnings %q lack %q", warned, tr[0].Message)
	}
	rows := eval[[]string](t, b, `[...document.querySelectorAll('#detail-table tbody td.warnings li')].map((li) => li.textContent)`)
	if !slices.Contains(rows, tr[0].Message) {
		t.Errorf("the detail table's warnings %q lack %q", rows, tr[0].Message)
	}
	b.noErrors(t, "results "+runs[0].ID)
}
