package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shownRetries is what the Results page shows of one detail-table row's
// connection retries.
type shownRetries struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Text     string `json:"text"`
	Title    string `json:"title"`
}

// TestConnectionRetriesShown: a run whose engine closed reused connections
// (its records carry connection retries, its engine block the connection
// note) shows, in the detail table, each group's retry count exactly as
// the API reports it, with the explanation, and the engine block's
// "Connections" line; a run without retries shows no mark.
func TestConnectionRetriesShown(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	retried := storedRun{id: "e2e-retries", n: 300, chunks: 4, models: []string{"m-a", "m-b"}, scenarios: []string{"chat", "code"}, retryEvery: 7}
	plain := storedRun{id: "e2e-no-retries", n: 60, chunks: 4, models: []string{"m-a"}, scenarios: []string{"chat"}}
	retried.write(t, a.db)
	plain.write(t, a.db)

	doc := a.run(t, retried.id)
	want := map[string]float64{}
	total := 0.0
	for _, g := range doc.Run.Groups {
		n, _ := g["connection_retries"].(float64)
		want[g["model"].(string)+"/"+g["scenario"].(string)] = n
		total += n
	}
	for _, g := range doc.Run.Models {
		n, _ := g["connection_retries"].(float64)
		want[g["model"].(string)+"/"] = n
	}
	if total == 0 {
		t.Fatalf("the API reports no connection retries for a run written with them: %v", want)
	}

	read := `[...document.querySelectorAll('#detail-table tbody tr')].map((tr) => {
		const m = tr.querySelector('[data-metric="connection_retries"]');
		return { model: tr.dataset.model, scenario: tr.dataset.scenario || '', text: m ? m.textContent : '', title: m ? m.title : '' };
	})`
	b.open(t, a.url+"runs/"+retried.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	rows := eval[[]shownRetries](t, b, read)
	if len(rows) != len(want) {
		t.Fatalf("%d detail rows, the API has %d groups and models", len(rows), len(want))
	}
	for _, r := range rows {
		n := want[r.Model+"/"+r.Scenario]
		shown := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(r.Text), "↻"))
		switch {
		case n == 0 && r.Text != "":
			t.Errorf("%s/%s: shows %q, the API has no retries", r.Model, r.Scenario, r.Text)
		case n > 0 && shown != strconv.Itoa(int(n)):
			t.Errorf("%s/%s: shows %q, the API has %v retries", r.Model, r.Scenario, r.Text, n)
		case n > 0 && !strings.Contains(r.Title, "closed a reused connection"):
			t.Errorf("%s/%s: the mark's explanation is %q", r.Model, r.Scenario, r.Title)
		}
	}
	conn := eval[string](t, b, `(() => { const dt = [...document.querySelectorAll('dt')].find((d) => d.textContent === 'Connections'); return dt ? dt.nextElementSibling.textContent : ''; })()`)
	if conn != "new connection per request: e2e test" {
		t.Errorf("engine block's Connections line: %q", conn)
	}
	b.noErrors(t, "results "+retried.id)

	b.open(t, a.url+"runs/"+plain.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	for _, r := range eval[[]shownRetries](t, b, read) {
		if r.Text != "" {
			t.Errorf("run without retries: %s/%s shows %q", r.Model, r.Scenario, r.Text)
		}
	}
	conn = eval[string](t, b, `(() => { const dt = [...document.querySelectorAll('dt')].find((d) => d.textContent === 'Connections'); return dt ? dt.nextElementSibling.textContent : ''; })()`)
	if conn != "kept alive and reused" {
		t.Errorf("engine block's Connections line without retries: %q", conn)
	}
	b.noErrors(t, "results "+plain.id)
}
