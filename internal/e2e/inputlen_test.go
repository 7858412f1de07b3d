package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/runner"
)

// shownInput is what the Results page shows of one detail-table row's
// input lengths.
type shownInput struct {
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Asked    string `json:"asked"`
	Counted  string `json:"counted"`
	Title    string `json:"title"`
	Method   string `json:"method"`
	Warnings string `json:"warnings"`
}

// TestInputLengthsShown: a run whose requests asked for input lengths
// shows, in the detail table, each group's mean length asked for and the
// engine's mean count exactly as the API reports them, the method, and
// the warning of the group whose counts are more than 1 % off.
func TestInputLengthsShown(t *testing.T) {
	b := newBrowser(t, 1400, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	run := storedRun{id: "e2e-input", n: 200, chunks: 4, models: []string{"m-a"}, scenarios: []string{"exact", "off"}, inputLen: true,
		finish: func(res *runner.Result, _ time.Time) {
			res.Suite.InputLengths = &runner.InputLengths{CalibrationRequests: 9, CalibrationSeconds: 1.5, Prompts: []runner.InputLength{
				{Model: "m-a", Scenario: "exact", Spec: "40:3", Method: "calibration", Lengths: 7},
				{Model: "m-a", Scenario: "off", Spec: "40", Method: "calibration", Lengths: 1},
			}}
		}}
	run.write(t, a.db)
	doc := a.run(t, run.id)
	type fig struct{ asked, counted string }
	want := map[string]fig{}
	one := func(v any) string {
		f, ok := v.(float64)
		if !ok {
			return "–"
		}
		return strconv.FormatFloat(f, 'f', 1, 64) // as the page's toFixed(1)
	}
	for _, g := range append(doc.Run.Groups, doc.Run.Models...) {
		il, _ := g["input_length"].(map[string]any)
		if il == nil {
			t.Fatalf("group %v has no input_length", g["scenario"])
		}
		sc, _ := g["scenario"].(string)
		want[g["model"].(string)+"/"+sc] = fig{one(il["requested_mean"]), one(il["measured_mean"])}
	}
	read := `[...document.querySelectorAll('#detail-table tbody tr')].map((tr) => {
		const c = (m) => { const e = tr.querySelector('[data-metric="' + m + '"]'); return e ? e : null; };
		const asked = c('input_length.requested_mean'), counted = c('input_length.measured_mean');
		return { model: tr.dataset.model, scenario: tr.dataset.scenario || '', asked: asked ? asked.textContent : '', counted: counted ? counted.textContent : '',
			title: counted ? counted.title : '', method: counted ? counted.nextElementSibling.textContent : '', warnings: tr.querySelector('.warnings').textContent };
	})`
	b.open(t, a.url+"runs/"+run.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	rows := eval[[]shownInput](t, b, read)
	if len(rows) != 3 {
		t.Fatalf("%d detail rows, want 2 groups and 1 model", len(rows))
	}
	for _, r := range rows {
		w := want[r.Model+"/"+r.Scenario]
		if r.Asked != w.asked || r.Counted != w.counted {
			t.Errorf("%s/%s: shows %q asked, %q counted; the API has %s, %s", r.Model, r.Scenario, r.Asked, r.Counted, w.asked, w.counted)
		}
		switch r.Scenario {
		case "exact":
			if r.Method != "calibration" || !strings.Contains(r.Title, "0.00 % from the length asked for") || strings.Contains(r.Warnings, "input length") {
				t.Errorf("exact: %+v", r)
			}
		case "off":
			if r.Method != "calibration" || !strings.Contains(r.Warnings, "input length: the engine counted") {
				t.Errorf("off: %+v", r)
			}
		case "":
			if r.Method != "–" {
				t.Errorf("pooled row shows a method: %+v", r)
			}
		}
	}
	b.noErrors(t, "results "+run.id)
}
