package e2e

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestCapacityFromTheBenchmarksPage starts a capacity search from the
// Benchmarks page (sim-slow: 4 slots, 60 ms to the first token, 50 tokens
// at 350 tok/s, so 8 streams make every request wait a round and fail a
// 150 ms TTFT p50), follows it to its end, and checks that the comparison
// view shows the capacity the API stored.
func TestCapacityFromTheBenchmarksPage(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	b.open(t, a.url+"benchmarks", "benchmarks")
	b.setField(t, "#f-engine", "sim")
	b.waitFor(t, 20*time.Second, "model sim-slow listed", `document.querySelector('input[name=model][value="sim-slow"]')`)
	for _, m := range []string{"sim-fast", "sim-slow"} {
		sel := sprintf(`input[name=model][value=%s]`, js(m))
		if eval[bool](t, b, sprintf(`document.querySelector(%s).checked`, js(sel))) != (m == "sim-slow") {
			b.click(t, sel)
		}
	}
	b.waitFor(t, 20*time.Second, "scenarios listed", `document.querySelectorAll('input[name=scenario]').length >= 2`)
	b.click(t, "#scenarios-none")
	b.click(t, "#scenario-0")
	b.click(t, `input[name=mode][value=concurrency]`)
	b.setField(t, "#f-concurrency", "4")
	b.setField(t, "#f-requests", "24")
	b.setField(t, "#f-warmup", "0")
	if eval[bool](t, b, `!document.querySelector('#capacity-box').classList.contains('hidden')`) {
		t.Fatal("the capacity fields show before the option is chosen")
	}
	b.click(t, "#f-capacity")
	b.waitFor(t, 5*time.Second, "the capacity fields", `!document.querySelector('#capacity-box').classList.contains('hidden') && document.querySelector('#run-button').textContent === 'Find capacity'`)
	b.setField(t, "#f-capacity_slo", "ttft_p50=150ms")
	b.setField(t, "#f-capacity_max_time", "5m")
	b.click(t, "#run-button")
	b.waitFor(t, 30*time.Second, "the live panel", `document.querySelector('.live-panel') || (document.querySelector('#form-out .error'))`)
	if msg := eval[string](t, b, `(document.querySelector('#form-out .error') || {}).textContent || ''`); msg != "" {
		t.Fatalf("the search was not started: %s", msg)
	}
	id := eval[string](t, b, `document.querySelector('.live-panel').dataset.run`)
	a.waitStatus(t, id, 3*time.Minute, "completed")
	var doc struct {
		Run struct {
			Config struct {
				Capacity struct {
					By     string   `json:"by"`
					SLO    string   `json:"slo"`
					Level  *float64 `json:"level"`
					Levels []struct {
						Stage string `json:"stage"`
					} `json:"levels"`
				} `json:"capacity"`
			} `json:"config"`
		} `json:"run"`
	}
	a.get(t, "/runs/"+id, &doc)
	c := doc.Run.Config.Capacity
	if c.By != "concurrency" || c.SLO != "ttft_p50=150ms" || c.Level == nil || *c.Level < 4 || *c.Level >= 8 || len(c.Levels) < 3 || c.Levels[0].Stage != "c=4" {
		t.Fatalf("API capacity %+v", c)
	}
	b.noErrors(t, "benchmarks")

	b.open(t, a.url+"compare?base="+id+"&candidate="+id, "history")
	b.waitFor(t, 30*time.Second, "the capacity table", `document.querySelector('#capacity-table')`)
	want := strconv.FormatFloat(*c.Level, 'g', -1, 64)
	for _, side := range []string{"base", "candidate"} {
		got := eval[string](t, b, sprintf(`document.querySelector('#capacity-table tr[data-side=%s] [data-capacity=level]').textContent`, js(side)))
		if got != want {
			t.Errorf("%s level shown %q, the API's %s", side, got, want)
		}
	}
	b.noErrors(t, "compare")
}
