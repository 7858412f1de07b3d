package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/report"
)

// shownCard is what a "best model for…" card shows.
type shownCard struct {
	Claim    string `json:"claim"`
	Model    string `json:"model"`
	Value    string `json:"value"`
	Reason   string `json:"reason"`
	Excluded string `json:"excluded"`
	Text     string `json:"text"`
}

const readBestCards = `[...document.querySelectorAll('.best-cards .card.best')].map((c) => {
	const name = c.querySelector('.model-name');
	const strong = c.querySelector('.metric strong');
	const text = (sel) => ((c.querySelector(sel) || {}).textContent || '');
	return { claim: c.dataset.claim, model: name ? name.firstChild.textContent : '', value: strong ? strong.dataset.value : '',
		reason: text('.reason'), excluded: text('.excluded'), text: c.textContent };
})`

// checkBestCards asserts that the page's cards draw the API's ranking
// (GET /runs/{id} → best) and nothing else: each card's model and figure
// are the first-ranked entry's, or, when none is ranked, the card shows
// the API's reason; every excluded model is named.
func checkBestCards(t *testing.T, b *browser, page string, best []report.BestClaim) []shownCard {
	t.Helper()
	cards := eval[[]shownCard](t, b, readBestCards)
	if len(cards) != len(best) || len(best) != 5 {
		t.Fatalf("%s: %d cards, the API has %d claims", page, len(cards), len(best))
	}
	for i, c := range best {
		got := cards[i]
		if got.Claim != c.Key {
			t.Errorf("%s: card %d is %q, the API's claim %q", page, i, got.Claim, c.Key)
			continue
		}
		if len(c.Ranked) == 0 {
			if got.Model != "" || got.Value != "" || got.Reason != c.Reason || c.Reason == "" {
				t.Errorf("%s %s: card shows model %q value %q reason %q; the API ranks none because %q", page, c.Key, got.Model, got.Value, got.Reason, c.Reason)
			}
		} else {
			v, err := strconv.ParseFloat(got.Value, 64)
			if got.Model != c.Ranked[0].Model || err != nil || v != c.Ranked[0].Value {
				t.Errorf("%s %s: card shows %q at %q; the API ranks %s at %v first", page, c.Key, got.Model, got.Value, c.Ranked[0].Model, c.Ranked[0].Value)
			}
		}
		for _, e := range c.Excluded {
			if !strings.Contains(got.Excluded, e.Model) {
				t.Errorf("%s %s: excluded %q does not name %s", page, c.Key, got.Excluded, e.Model)
			}
		}
		if len(c.Excluded) == 0 && got.Excluded != "" {
			t.Errorf("%s %s: card excludes %q, the API none", page, c.Key, got.Excluded)
		}
	}
	return cards
}

// TestBestCards: the cards rank by the same rule as the terminal report
// (at most 5 % of requests failed): a faster model with 8 % failed is
// never best (the page's own 10 % rule ranked it), and when every model
// fails too often no model is ranked and the card says why (the page
// ranked them anyway). On the Results page and the dashboard.
func TestBestCards(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	mixed := storedRun{id: "e2e-best-mixed", n: 600, chunks: 6, models: []string{"fast-flaky", "steady"}, scenarios: []string{"chat"}, failEvery: []int{12, 0}}
	none := storedRun{id: "e2e-best-none", n: 600, chunks: 6, models: []string{"fails-a", "fails-b"}, scenarios: []string{"chat"}, failEvery: []int{7, 7}}
	mixed.write(t, a.db)
	none.write(t, a.db)

	doc := a.run(t, mixed.id)
	for _, m := range doc.Run.Models {
		if r, _ := m["error_rate"].(float64); m["model"] == "fast-flaky" && !(r > 0.05 && r <= 0.1) {
			t.Fatalf("fast-flaky fails %v of its requests, want between 5 %% and 10 %%", r)
		}
	}
	b.open(t, a.url+"runs/"+mixed.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	cards := checkBestCards(t, b, "results "+mixed.id, doc.Best)
	if cards[0].Claim != "ttft" || cards[0].Model != "steady" || !strings.Contains(cards[0].Excluded, "fast-flaky") || !strings.Contains(cards[0].Excluded, "over 5.00\u00a0% failed") {
		t.Errorf("fastest first token: %+v (fast-flaky is faster but fails 8 %%)", cards[0])
	}
	b.noErrors(t, "results "+mixed.id)

	doc = a.run(t, none.id)
	b.open(t, a.url+"runs/"+none.id, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	cards = checkBestCards(t, b, "results "+none.id, doc.Best)
	for _, c := range cards[:4] {
		if c.Model != "" || !strings.Contains(c.Reason, "more than 5.0%") || !strings.Contains(c.Text, "–") {
			t.Errorf("card %s with every model failing 14 %%: %+v", c.Claim, c)
		}
	}
	if cards[4].Claim != "reliable" || cards[4].Model == "" {
		t.Errorf("most reliable still ranks: %+v", cards[4])
	}
	b.noErrors(t, "results "+none.id)

	// The dashboard draws the latest finished run's cards the same way.
	b.open(t, a.url, "dashboard")
	b.waitFor(t, 30*time.Second, "the dashboard's cards", `document.querySelectorAll('.best-cards .card.best').length > 0`)
	href := eval[string](t, b, `(document.querySelector('.card.best .context a') || {}).getAttribute ? document.querySelector('.card.best .context a').getAttribute('href') : ''`)
	id, ok := strings.CutPrefix(href, "/runs/")
	if !ok {
		t.Fatalf("the dashboard's cards link to %q", href)
	}
	checkBestCards(t, b, "dashboard", a.run(t, id).Best)
	b.noErrors(t, "dashboard")
}
