package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// shownName is a model name as an element shows it, with its title.
type shownName struct {
	Text  string `json:"text"`
	Title string `json:"title"`
}

// TestFilePathModelsShownByFileName: a run whose models are file paths
// (llama-server's default id, and a Windows one) shows each by its file
// name in the detail table, the model cards, the charts, the run history
// and the comparison, with the full id as the element's title; the API
// keeps the full ids.
func TestFilePathModelsShownByFileName(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	full := []string{"/models/x/rand-24M.gguf", `C:\models\y.gguf`}
	short := map[string]string{full[0]: "rand-24M.gguf", full[1]: "y.gguf"}
	run := storedRun{id: "e2e-paths", n: 120, chunks: 4, models: full, scenarios: []string{"chat", "code"}}
	run.write(t, a.db)

	doc := a.run(t, run.id)
	var apiModels []string
	for _, g := range doc.Run.Models {
		apiModels = append(apiModels, g["model"].(string))
	}
	if !slices.Equal(apiModels, full) {
		t.Fatalf("the API's models %q, want the full ids %q", apiModels, full)
	}

	b.open(t, a.url+"runs/"+run.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	check := func(where string, got []shownName, want int) {
		t.Helper()
		if len(got) != want {
			t.Errorf("%s: %d names shown, want %d: %+v", where, len(got), want, got)
		}
		for _, n := range got {
			if s, ok := short[n.Title]; !ok || strings.TrimSpace(n.Text) != s {
				t.Errorf("%s: shows %q with title %q, want the file name with the full id as title", where, n.Text, n.Title)
			}
		}
	}
	names := func(sel string) []shownName {
		return eval[[]shownName](t, b, `[...document.querySelectorAll(`+js(sel)+`)].map((e) => ({ text: e.textContent, title: e.title }))`)
	}
	// 2 models × 2 scenarios, then 2 pooled rows.
	check("detail table", names("#detail-table tbody th"), 6)
	check("model cards", names(".card.model h3"), 2)
	for _, ch := range eval[[]chartData](t, b, readChartData) {
		for _, d := range ch.Datasets {
			if strings.Contains(d.Label, `/models/`) || strings.Contains(d.Label, `C:\`) {
				t.Errorf("chart %s: dataset labelled with a path: %q", ch.ID, d.Label)
			}
		}
	}
	labels := eval[[]string](t, b, `[...document.querySelectorAll('#page-results canvas')].flatMap((c) => { const ch = window.Chart && Chart.getChart(c); return ch ? ch.data.datasets.map((d) => d.label) : []; })`)
	if !slices.Contains(labels, "rand-24M.gguf") || !slices.Contains(labels, "y.gguf") {
		t.Errorf("no chart series named by the file names: %q", labels)
	}
	// Every drawn value is still the API's, with the series named by file.
	checkChartValues(t, b, a, run.id)
	b.noErrors(t, "results "+run.id)

	b.open(t, a.url+"history", "history")
	b.waitFor(t, 30*time.Second, "the run listed", `document.querySelector('a[href="/runs/`+run.id+`"]') !== null`)
	cell := eval[shownName](t, b, `(() => { const td = document.querySelector('a[href="/runs/`+run.id+`"]').closest('tr').children; const c = [...td].find((x) => x.title); return c ? { text: c.textContent, title: c.title } : { text: '', title: '' }; })()`)
	if cell.Text != "rand-24M.gguf, y.gguf" || cell.Title != strings.Join(full, ", ") {
		t.Errorf("history row: models shown %q titled %q", cell.Text, cell.Title)
	}
	b.noErrors(t, "history")

	// The comparison of the run with itself names its rows' models the same way.
	b.open(t, a.url+"compare?base="+run.id+"&candidate="+run.id, "history")
	b.waitFor(t, 30*time.Second, "the comparison", `document.querySelector('#compare-table tbody tr') !== null`)
	rows := eval[[]shownName](t, b, `[...document.querySelectorAll('#compare-table tbody tr')].map((tr) => ({ text: tr.children[0].textContent, title: tr.children[0].title }))`)
	if len(rows) == 0 {
		t.Fatal("no comparison rows")
	}
	check("comparison", rows, len(rows))
	b.noErrors(t, "compare")
}
