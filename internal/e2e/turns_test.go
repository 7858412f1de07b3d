package e2e

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// shownTurn is one row of the Results page's per-turn table: its keys and
// each figure cell's data-value and text.
type shownTurn struct {
	Model    string            `json:"model"`
	Scenario string            `json:"scenario"`
	Turn     string            `json:"turn"`
	Values   map[string]string `json:"values"`
	Texts    map[string]string `json:"texts"`
}

// TestTurnsTableShown: a run of conversations shows a per-turn table whose
// every figure is the API's (groups[].turns), turn by turn; a run without
// conversations shows none.
func TestTurnsTableShown(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	conv := storedRun{id: "e2e-turns", n: 240, chunks: 4, models: []string{"m-a", "m-b"}, scenarios: []string{"chat"}, turns: 4}
	plain := storedRun{id: "e2e-no-turns", n: 40, chunks: 4, models: []string{"m-a"}, scenarios: []string{"chat"}}
	conv.write(t, a.db)
	plain.write(t, a.db)

	doc := a.run(t, conv.id)
	want := map[string]map[string]any{} // model/turn → the API's turn
	for _, g := range doc.Run.Groups {
		turns, _ := g["turns"].([]any)
		for _, x := range turns {
			tf := x.(map[string]any)
			want[g["model"].(string)+"/"+strconv.Itoa(int(tf["turn"].(float64)))] = tf
		}
	}
	if len(want) != 8 {
		t.Fatalf("the API has %d turns, want 4 per model: %v", len(want), want)
	}
	read := `[...document.querySelectorAll('#turns-table tbody tr')].map((tr) => {
		const values = {}, texts = {};
		for (const td of tr.querySelectorAll('td[data-metric]')) { values[td.dataset.metric] = td.dataset.value; texts[td.dataset.metric] = td.textContent; }
		return { model: tr.dataset.model, scenario: tr.dataset.scenario, turn: tr.dataset.turn, values, texts };
	})`
	b.open(t, a.url+"runs/"+conv.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	rows := eval[[]shownTurn](t, b, read)
	if len(rows) != len(want) {
		t.Fatalf("%d per-turn rows, the API has %d turns", len(rows), len(want))
	}
	for _, r := range rows {
		api := want[r.Model+"/"+r.Turn]
		if api == nil || r.Scenario != "chat" {
			t.Fatalf("row %+v is none of the API's turns", r)
		}
		ttft := api["ttft_ms"].(map[string]any)
		for metric, v := range map[string]any{"turn": api["turn"], "requests": api["requests"], "ok": api["ok"], "ttft_ms.p50": ttft["p50"], "ttft_ms.mean": ttft["mean"],
			"input_tokens": api["input_tokens"], "cached_tokens": api["cached_tokens"], "cached_share": api["cached_share"]} {
			got, err := strconv.ParseFloat(r.Values[metric], 64)
			if f, ok := v.(float64); !ok || err != nil || got != f {
				t.Errorf("%s turn %s %s: shows %q, the API has %v", r.Model, r.Turn, metric, r.Values[metric], v)
			}
			if r.Texts[metric] == "" || r.Texts[metric] == "–" {
				t.Errorf("%s turn %s %s: no text shown", r.Model, r.Turn, metric)
			}
		}
		if share := api["cached_share"].(float64); (r.Turn == "1") != (share == 0) {
			t.Errorf("%s turn %s: cached share %v", r.Model, r.Turn, share)
		}
	}
	b.noErrors(t, "results "+conv.id)

	b.open(t, a.url+"runs/"+plain.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	if n := eval[int](t, b, `document.querySelectorAll('#turns-table').length`); n != 0 {
		t.Errorf("a run without conversations shows %d per-turn tables", n)
	}
	b.noErrors(t, "results "+plain.id)
}

// TestPrefixTableShown: a --prefix-cache warm run shows its cold and warm
// stages side by side, every figure the API's (the groups' TTFT p50 and
// cached share, the saving computed from them).
func TestPrefixTableShown(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	pre := storedRun{id: "e2e-prefix", n: 160, chunks: 4, models: []string{"m-a"}, scenarios: []string{"chat", "code"}, prefix: true}
	pre.write(t, a.db)
	doc := a.run(t, pre.id)
	type pair struct{ cold, warm map[string]any }
	want := map[string]*pair{}
	for _, g := range doc.Run.Groups {
		key := g["scenario"].(string)
		if want[key] == nil {
			want[key] = &pair{}
		}
		switch g["stage"] {
		case "prefix cold":
			want[key].cold = g
		case "prefix warm":
			want[key].warm = g
		}
	}
	b.open(t, a.url+"runs/"+pre.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	rows := eval[[]shownTurn](t, b, `[...document.querySelectorAll('#prefix-table tbody tr')].map((tr) => {
		const values = {}, texts = {};
		for (const td of tr.querySelectorAll('td[data-metric]')) { values[td.dataset.metric] = td.dataset.value; texts[td.dataset.metric] = td.textContent; }
		return { model: tr.dataset.model, scenario: tr.dataset.scenario, turn: '', values, texts };
	})`)
	if len(rows) != 2 || len(want) != 2 {
		t.Fatalf("%d prefix rows, the API has %d scenarios", len(rows), len(want))
	}
	for _, r := range rows {
		p := want[r.Scenario]
		if p == nil || p.cold == nil || p.warm == nil {
			t.Fatalf("row %+v: the API has %+v", r, p)
		}
		c := p.cold["ttft_ms"].(map[string]any)["p50"].(float64)
		w := p.warm["ttft_ms"].(map[string]any)["p50"].(float64)
		share, _ := p.warm["cached_share"].(float64)
		for metric, v := range map[string]float64{"cold_ttft_p50": c, "warm_ttft_p50": w, "saved": (c - w) / c, "warm_cached_share": share} {
			got, err := strconv.ParseFloat(r.Values[metric], 64)
			if err != nil || got != v {
				t.Errorf("%s %s: shows %q, the API gives %v", r.Scenario, metric, r.Values[metric], v)
			}
		}
		if _, ok := p.cold["cached_share"]; ok || r.Values["cold_cached_share"] != "" || r.Texts["cold_cached_share"] != "–" {
			t.Errorf("%s: cold cached share %q (%q), the API has %v", r.Scenario, r.Values["cold_cached_share"], r.Texts["cold_cached_share"], p.cold["cached_share"])
		}
		if share <= 0.5 {
			t.Errorf("%s: warm cached share %v", r.Scenario, share)
		}
	}
	b.noErrors(t, "results "+pre.id)
}

// TestBenchmarksPagePrefixWarm starts a --prefix-cache warm run from the
// Benchmarks page: "warm" without a prefix length is refused with the field
// marked; with one, the run has a cold and a warm stage, the warm one
// served the prefix from the simulated engine's cache, and the Results page
// sets them side by side.
func TestBenchmarksPagePrefixWarm(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	b.open(t, a.url+"benchmarks", "benchmarks")
	b.setField(t, "#f-engine", "sim")
	b.waitFor(t, 20*time.Second, "models listed", `document.querySelector('input[name=model][value="sim-fast"]')`)
	for _, m := range []string{"sim-fast", "sim-slow"} {
		sel := sprintf(`input[name=model][value=%s]`, js(m))
		if eval[bool](t, b, sprintf(`document.querySelector(%s).checked`, js(sel))) != (m == "sim-fast") {
			b.click(t, sel)
		}
	}
	b.waitFor(t, 20*time.Second, "scenarios listed", `document.querySelectorAll('input[name=scenario]').length >= 1`)
	b.click(t, "#scenarios-none")
	b.click(t, "#scenario-0")
	b.setField(t, "#f-requests", "3")
	b.setField(t, "#f-warmup", "0")
	b.setField(t, "#f-prefix_cache", "warm")
	b.submitRefused(t, "#f-prefix_cache", "warm without a prefix")

	b.setField(t, "#f-prefix_tokens", "800")
	doc := b.submitCompleted(t, a)
	shares := map[string]any{}
	for _, g := range doc.Run.Groups {
		shares[g["stage"].(string)] = g["cached_share"]
	}
	warm, _ := shares["prefix warm"].(float64)
	if _, ok := shares["prefix cold"]; !ok || shares["prefix cold"] != nil || warm < 0.5 {
		t.Fatalf("stages and cached shares %v: want a cold stage without hits and a warm one mostly cached", shares)
	}
	b.open(t, a.url+"runs/"+doc.Run.ID, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	got := eval[string](t, b, `(document.querySelector('#prefix-table [data-metric="warm_cached_share"]') || {}).dataset?.value || ''`)
	if v, err := strconv.ParseFloat(got, 64); err != nil || v != warm {
		t.Errorf("the page's warm cached share %q, the API's %v", got, warm)
	}
	b.noErrors(t, "benchmarks and results")
}
