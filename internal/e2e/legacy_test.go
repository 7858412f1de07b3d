package e2e

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/cli"
	"flperf/internal/legacy/legacytest"
)

// TestLegacyRunShown: a run imported with `flperf import` from the
// original FLPerformance's SQLite store is served by the run API with its
// legacy block; the Results page labels it LEGACY and shows the original's
// figures (equal to the API's) and its four caveats; the History page marks
// it; and the comparison with a flperf run puts the legacy warning first.
func TestLegacyRunShown(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "e2e.db")
	orig := filepath.Join(dir, "benchmarks.db")
	if err := legacytest.WriteSQLite(orig, true, ""); err != nil {
		t.Fatal(err)
	}
	if code := cli.Main(context.Background(), []string{"import", orig, "--db", dbPath}, nil, io.Discard, io.Discard); code != cli.ExitOK {
		t.Fatalf("flperf import: exit %d", code)
	}
	plain := storedRun{id: "e2e-new", n: 60, chunks: 4, models: []string{legacytest.Alias}, scenarios: []string{"chat"}}
	plain.write(t, dbPath)
	b := newBrowser(t, 1280, 800)
	a := startApp(t, dbPath)
	id := "legacy-" + legacytest.RunStreamed

	var doc struct {
		Run struct {
			Warnings []string `json:"warnings"`
			Legacy   struct {
				Source  string `json:"source"`
				Caveats []struct {
					Key  string `json:"key"`
					Text string `json:"text"`
				} `json:"caveats"`
				Results []map[string]any `json:"results"`
			} `json:"legacy"`
		} `json:"run"`
	}
	a.get(t, "/runs/"+id, &doc)
	l := doc.Run.Legacy
	if l.Source != "benchmarks.db" || len(l.Caveats) != 4 || len(l.Results) != 2 || l.Results[0]["tps"] != legacytest.TPS {
		t.Fatalf("GET /runs/%s: legacy block %+v", id, l)
	}
	var list []map[string]any
	a.get(t, "/runs", &list)
	legacyRuns := 0
	for _, r := range list {
		if r["legacy"] == true {
			legacyRuns++
		}
	}
	if legacyRuns != 2 {
		t.Errorf("GET /runs: %d runs marked legacy, want 2", legacyRuns)
	}

	b.open(t, a.url+"runs/"+id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	badge := eval[string](t, b, `(document.querySelector('.run-head .badge.legacy') || {}).textContent || ''`)
	if badge != "LEGACY" {
		t.Errorf("Results page: run badge %q, want LEGACY", badge)
	}
	type shownRow struct {
		Model string            `json:"model"`
		Cells map[string]string `json:"cells"`
	}
	rows := eval[[]shownRow](t, b, `[...document.querySelectorAll('#legacy-figures table.legacy tbody tr')].map((tr) => ({
		model: tr.dataset.model,
		cells: Object.fromEntries([...tr.querySelectorAll('td[data-key]')].map((td) => [td.dataset.key, td.textContent])),
	}))`)
	if len(rows) != len(l.Results) {
		t.Fatalf("Results page: %d legacy rows, the API has %d", len(rows), len(l.Results))
	}
	for i, r := range rows {
		api := l.Results[i]
		if r.Model != api["model"] {
			t.Errorf("row %d: model %q, API %q", i, r.Model, api["model"])
		}
		for _, k := range []string{"tps", "ttft", "tpot", "latency_p95", "latency_p99"} {
			v, _ := api[k].(float64)
			if want := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64); r.Cells[k] != want {
				t.Errorf("row %d %s: shows %q, API %v", i, k, r.Cells[k], api[k])
			}
		}
	}
	caveats := eval[[]string](t, b, `[...document.querySelectorAll('.legacy-caveats li')].map((li) => li.dataset.key)`)
	if strings.Join(caveats, ",") != "chunks_as_tokens,nearest_rank,sequential_only,hidden_retries" {
		t.Errorf("Results page: caveats %v", caveats)
	}
	b.noErrors(t, "results "+id)

	b.open(t, a.url+"history", "history")
	b.waitFor(t, 30*time.Second, "history rows", `document.querySelectorAll('tr[data-run]').length >= 3`)
	marked := eval[[]string](t, b, `[...document.querySelectorAll('tr[data-run]')].filter((tr) => tr.querySelector('.badge.legacy')).map((tr) => tr.dataset.run).sort()`)
	if len(marked) != 2 || !strings.HasPrefix(marked[0], "legacy-") || !strings.HasPrefix(marked[1], "legacy-") {
		t.Errorf("History page: legacy marks on %v, want the two legacy runs", marked)
	}

	b.open(t, a.url+"compare?base="+id+"&candidate="+plain.id, "history")
	b.waitFor(t, 30*time.Second, "comparison", `document.querySelector('#compare section')`)
	first := eval[string](t, b, `(() => { const s = document.querySelector('#compare section'); const w = s.querySelector('.legacy-compare'); return w && s.children[1] === w ? w.textContent : ''; })()`)
	if !strings.Contains(first, "LEGACY run "+id+" (base)") || !strings.Contains(first, "NOT compared") {
		t.Errorf("comparison: the legacy warning is not first: %q", first)
	}
	b.noErrors(t, "compare")
}
