package e2e

import (
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// xssPayload is model output that would run script if it became markup.
const xssPayload = `<img src=x onerror=window.__xss=1>`

// progressState is what the live panel shows.
type progressState struct {
	Value  float64 `json:"v"`
	Max    float64 `json:"max"`
	Status string  `json:"st"`
	Run    string  `json:"run"`
}

const readProgress = `(() => {
	const p = document.querySelector('#live-progress');
	const s = document.querySelector('#live-status [data-status]');
	const panel = document.querySelector('.live-panel');
	return { v: p ? p.value : -1, max: p ? p.max : 0, st: s ? s.dataset.status : '', run: panel ? panel.dataset.run : '' };
})()`

// setField sets a form control's value the way typing would (input and
// change events).
func (b *browser) setField(t *testing.T, sel, value string) {
	t.Helper()
	ok := eval[bool](t, b, sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false; el.value = %s;
		el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, js(sel), js(value)))
	if !ok {
		t.Fatalf("no form control %s", sel)
	}
}

// click clicks the element sel with the mouse.
func (b *browser) click(t *testing.T, sel string) {
	t.Helper()
	b.do(t, 20*time.Second, chromedp.Click(chromedp.CSS(sel)))
}

// startRunFromUI fills the Benchmarks form (simulated engine, model, the
// suite's first two scenarios, sequential, requests per scenario, no
// warm-up) and presses Run; it returns the new run's id.
func startRunFromUI(t *testing.T, b *browser, a *app, model string, requests int) string {
	t.Helper()
	b.open(t, a.url+"benchmarks", "benchmarks")
	b.setField(t, "#f-engine", "sim")
	modelSel := sprintf(`input[name=model][value=%s]`, js(model))
	b.waitFor(t, 20*time.Second, "model "+model+" listed", sprintf(`document.querySelector(%s)`, js(modelSel)))
	for _, m := range []string{"sim-fast", "sim-slow"} {
		sel := sprintf(`input[name=model][value=%s]`, js(m))
		checked := eval[bool](t, b, sprintf(`(() => { const c = document.querySelector(%s); return !!c && c.checked; })()`, js(sel)))
		if checked != (m == model) {
			b.click(t, sel)
		}
	}
	b.waitFor(t, 20*time.Second, "scenarios listed", `document.querySelectorAll('input[name=scenario]').length >= 2`)
	b.click(t, "#scenarios-none")
	b.click(t, "#scenario-0")
	b.click(t, "#scenario-1")
	b.click(t, `input[name=mode][value=sequential]`)
	b.setField(t, "#f-requests", strconv.Itoa(requests))
	b.setField(t, "#f-warmup", "0")
	b.click(t, "#run-button")
	b.waitFor(t, 30*time.Second, "the live panel", `document.querySelector('.live-panel') || (document.querySelector('#form-out .error'))`)
	if msg := eval[string](t, b, `(document.querySelector('#form-out .error') || {}).textContent || ''`); msg != "" {
		t.Fatalf("the run was not started: %s", msg)
	}
	return eval[string](t, b, `document.querySelector('.live-panel').dataset.run`)
}

// TestApp drives the real app (flperf serve on the simulated engine) in
// headless Chromium: a benchmark started from the Benchmarks page with
// live progress, a cancelled run, the Results page's charts and numbers
// against the API, hostile model output, deep links, every page without
// console errors, screenshots at 1280×800 and 420 px.
func TestApp(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	t.Logf("app at %s (started in %v)", a.url, a.started)
	shots := artifactsDir(t)
	var runID, cancelID, xssID string

	t.Run("the error listener sees errors", func(t *testing.T) {
		// The page checks below rely on the listener: prove that it reports
		// an uncaught exception and a Content-Security-Policy violation.
		b.open(t, a.url, "dashboard")
		b.takeErrors()
		eval[bool](t, b, `(() => { setTimeout(() => { throw new Error('e2e-boom'); }); const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); return true; })()`)
		time.Sleep(300 * time.Millisecond)
		errs := strings.Join(b.takeErrors(), "\n")
		if !strings.Contains(errs, "e2e-boom") {
			t.Errorf("an uncaught exception was not reported; got:\n%s", errs)
		}
		if !strings.Contains(strings.ToLower(errs), "content security policy") {
			t.Errorf("a CSP violation (inline script) was not reported; got:\n%s", errs)
		}
		if eval[bool](t, b, `window.__inline === 1`) {
			t.Error("an inline script ran: the page has no Content-Security-Policy")
		}
	})

	t.Run("benchmark with live progress", func(t *testing.T) {
		runID = startRunFromUI(t, b, a, "sim-fast", 15)
		var seen []progressState
		deadline := time.Now().Add(90 * time.Second)
		for {
			p := eval[progressState](t, b, readProgress)
			if len(seen) == 0 || p.Value != seen[len(seen)-1].Value || p.Status != seen[len(seen)-1].Status {
				seen = append(seen, p)
			}
			if p.Status != "" && p.Status != "running" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s still %q after 90 s; progress seen %v", runID, p.Status, seen)
			}
			time.Sleep(30 * time.Millisecond)
		}
		increases := 0
		for i := 1; i < len(seen); i++ {
			if seen[i].Value < seen[i-1].Value {
				t.Errorf("progress went back: %v", seen)
			}
			if seen[i].Value > seen[i-1].Value {
				increases++
			}
		}
		last := seen[len(seen)-1]
		t.Logf("progress values seen: %v", seen)
		if increases < 2 {
			t.Errorf("the progress bar advanced %d times, want ≥ 2: %v", increases, seen)
		}
		if last.Status != "completed" || last.Value != 30 || last.Max != 30 {
			t.Errorf("final state %+v, want completed with 30 of 30", last)
		}
		b.waitFor(t, 10*time.Second, "the results link", `!document.querySelector('#live-results').classList.contains('hidden')`)
		doc := a.run(t, runID)
		if doc.Run.Status != "completed" || len(doc.Run.Groups) != 2 || len(doc.Run.Config.Scenarios) != 2 {
			t.Errorf("API: run %s status %q, %d groups, scenarios %v", runID, doc.Run.Status, len(doc.Run.Groups), doc.Run.Config.Scenarios)
		}
		for _, g := range doc.Run.Groups {
			if g["model"] != "sim-fast" || g["requests"] != float64(15) {
				t.Errorf("API group %v × %v: %v requests", g["model"], g["scenario"], g["requests"])
			}
		}
		b.screenshot(t, shots, "03-benchmarks-live", false)
		b.noErrors(t, "benchmarks")
	})
	if runID == "" {
		t.Fatal("no run: the remaining checks need one")
	}

	t.Run("cancel from the UI", func(t *testing.T) {
		id := startRunFromUI(t, b, a, "sim-slow", 200)
		cancelID = id
		b.waitFor(t, 60*time.Second, "a first request done", `(document.querySelector('#live-progress') || {}).value >= 1`)
		b.click(t, "#live-cancel")
		b.waitFor(t, 60*time.Second, "status interrupted or canceled on the page",
			`['interrupted','canceled'].includes((document.querySelector('#live-status [data-status]') || {dataset: {}}).dataset.status)`)
		st := a.waitStatus(t, id, 30*time.Second, "interrupted", "canceled")
		p := eval[progressState](t, b, readProgress)
		if p.Status != st || p.Value >= 400 {
			t.Errorf("page shows %+v, API says %s", p, st)
		}
		b.screenshot(t, shots, "03-benchmarks-canceled", false)
		b.noErrors(t, "benchmarks (cancel)")
	})

	t.Run("results charts and table", func(t *testing.T) {
		b.open(t, a.url+"runs/"+runID, "results")
		b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
		checkCharts(t, b, 9)
		checkChartValues(t, b, a, runID)
		checkTable(t, b, a.run(t, runID))
		b.screenshot(t, shots, "04-results", true)
		b.noErrors(t, "results")
	})

	t.Run("model output is text", func(t *testing.T) {
		xssID = "e2e-xss-run"
		hostile := storedRun{
			id: xssID, n: 120, chunks: 8,
			models:    []string{"sim-x", `m<img src=x onerror=window.__xss=2>`},
			scenarios: []string{`Q&A <img src=x onerror=window.__xss=3>`, "plain"},
			text:      "before " + xssPayload + " after",
		}
		hostile.write(t, a.db)
		b.open(t, a.url+"runs/"+xssID, "results")
		b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
		b.waitFor(t, 10*time.Second, "samples shown", `document.querySelectorAll('pre.sample-text').length > 0`)
		if !eval[bool](t, b, `window.__xss === undefined`) {
			t.Error("a payload ran: window.__xss is set")
		}
		if n := eval[int](t, b, `document.querySelectorAll('#main img').length`); n != 0 {
			t.Errorf("%d <img> elements in the page: text became markup", n)
		}
		if !eval[bool](t, b, sprintf(`[...document.querySelectorAll('pre.sample-text')].some((p) => p.textContent.includes(%s))`, js(xssPayload))) {
			t.Error("the generated text is not shown literally")
		}
		if !eval[bool](t, b, sprintf(`[...document.querySelectorAll('#detail-table tbody th')].some((th) => th.textContent === %s)`, js(hostile.models[1]))) {
			t.Error("the hostile model name is not shown literally in the table")
		}
		checkCharts(t, b, 9)
		checkChartValues(t, b, a, xssID)
		b.screenshot(t, shots, "04-results-hostile-text", true)
		b.noErrors(t, "results (hostile text)")
	})

	t.Run("deep link reload", func(t *testing.T) {
		b.open(t, a.url+"runs/"+runID, "results")
		b.do(t, 30*time.Second, chromedp.Reload())
		b.waitReady(t, "results")
		if p := eval[string](t, b, `location.pathname`); p != "/runs/"+runID {
			t.Errorf("after reload at %s", p)
		}
		if title := eval[string](t, b, `document.querySelector('.run-title').textContent`); !strings.Contains(title, "sim-fast") {
			t.Errorf("after reload the run title is %q", title)
		}
		b.open(t, a.url+"compare?"+url.Values{"base": {xssID + "@sim-x"}, "candidate": {xssID + "@" + `m<img src=x onerror=window.__xss=2>`}}.Encode(), "history")
		b.waitFor(t, 30*time.Second, "the comparison table", `document.querySelector('#compare-table')`)
		b.do(t, 30*time.Second, chromedp.Reload())
		b.waitReady(t, "history")
		b.waitFor(t, 30*time.Second, "the comparison table after reload", `document.querySelector('#compare-table')`)
		if !eval[bool](t, b, `window.__xss === undefined`) {
			t.Error("a payload ran on the compare page")
		}
		b.screenshot(t, shots, "05-compare", true)
		b.noErrors(t, "deep links")
	})

	t.Run("history: choose and compare", func(t *testing.T) {
		b.open(t, a.url+"history", "history")
		row := func(id string) string { return sprintf(`tr[data-run=%s] input[type=checkbox]`, js(id)) }
		b.click(t, row(xssID))
		b.waitFor(t, 10*time.Second, "the compare-models button", `[...document.querySelectorAll('button')].some((x) => x.textContent === 'Compare the two models')`)
		eval[bool](t, b, `(() => { [...document.querySelectorAll('button')].find((x) => x.textContent === 'Compare the two models').click(); return true; })()`)
		b.waitFor(t, 30*time.Second, "the model comparison", `document.querySelector('#compare-table')`)
		if q := eval[string](t, b, `location.pathname + location.search`); !strings.HasPrefix(q, "/compare?base="+xssID+"%40sim-x") {
			t.Errorf("comparing two models went to %s", q)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#compare-table tbody tr').length`); n == 0 {
			t.Error("the model comparison has no rows")
		}
		b.open(t, a.url+"history", "history")
		b.click(t, row(runID))
		b.click(t, row(cancelID))
		b.waitFor(t, 10*time.Second, "the compare-runs link", `document.querySelector('#compare-runs')`)
		b.click(t, "#compare-runs")
		b.waitFor(t, 30*time.Second, "the run comparison", `document.querySelector('#compare .block')`)
		if e := eval[string](t, b, `(document.querySelector('#compare .error') || {}).textContent || ''`); e != "" {
			t.Errorf("comparing two runs: %s", e)
		}
		b.noErrors(t, "history")
	})

	t.Run("model test action", func(t *testing.T) {
		b.open(t, a.url+"models", "models")
		row := `.engine-block[data-engine="sim"] tr[data-model="sim-fast"]`
		b.waitFor(t, 30*time.Second, "the sim-fast row", sprintf(`document.querySelector(%s)`, js(row)))
		b.click(t, row+" td.actions button:last-child")
		b.waitFor(t, 30*time.Second, "the test's answer", sprintf(`document.querySelector(%s)`, js(row+" .test-result, "+row+" .error")))
		if e := eval[string](t, b, sprintf(`(document.querySelector(%s) || {}).textContent || ''`, js(row+" .error"))); e != "" {
			t.Fatalf("test action failed: %s", e)
		}
		reply := eval[string](t, b, sprintf(`document.querySelector(%s).textContent`, js(row+" .test-result pre")))
		figures := eval[string](t, b, sprintf(`document.querySelector(%s).textContent`, js(row+" .test-result .note")))
		if strings.TrimSpace(reply) == "" || !strings.Contains(figures, "TTFT") || !strings.Contains(figures, "\u00a0ms") {
			t.Errorf("test action shows reply %q, figures %q", reply, figures)
		}
		b.noErrors(t, "models")
	})

	t.Run("settings persist", func(t *testing.T) {
		b.open(t, a.url+"settings", "settings")
		b.setField(t, "#d-requests", "7")
		b.setField(t, "#d-slo", "ttft=500ms")
		b.click(t, "#settings-save")
		b.waitFor(t, 20*time.Second, "saved", `document.querySelector('#settings-out .ok, #settings-out .error')`)
		if e := eval[string](t, b, `(document.querySelector('#settings-out .error') || {}).textContent || ''`); e != "" {
			t.Fatalf("settings not saved: %s", e)
		}
		var st struct {
			Defaults struct {
				Requests int    `json:"requests"`
				SLO      string `json:"slo"`
			} `json:"defaults"`
		}
		a.get(t, "/settings", &st)
		if st.Defaults.Requests != 7 || st.Defaults.SLO != "ttft=500ms" {
			t.Errorf("API after save: %+v", st.Defaults)
		}
		b.open(t, a.url+"benchmarks", "benchmarks")
		if v := eval[string](t, b, `document.querySelector('#f-requests').value`); v != "7" {
			t.Errorf("the Benchmarks form starts with %q requests, want the saved default 7", v)
		}
		b.noErrors(t, "settings")
	})

	t.Run("every page", func(t *testing.T) {
		pages := []struct{ path, page, shot string }{
			{"", "dashboard", "01-dashboard"},
			{"models", "models", "02-models"},
			{"benchmarks", "benchmarks", "03-benchmarks"},
			{"suites", "suites", "03-suites"},
			{"runs", "results", "04-results-latest"},
			{"history", "history", "05-history"},
			{"settings", "settings", "06-settings"},
		}
		for _, p := range pages {
			b.open(t, a.url+p.path, p.page)
			if p.page == "results" {
				b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
			}
			time.Sleep(200 * time.Millisecond) // let late fetches (engines, samples) land before the picture
			b.screenshot(t, shots, p.shot, true)
			b.noErrors(t, p.page)
		}
		b.open(t, a.url+"no/such/page", "notfound")
		b.noErrors(t, "not found")
	})

	t.Run("narrow window", func(t *testing.T) {
		b.do(t, 10*time.Second, chromedp.EmulateViewport(420, 900))
		defer b.do(t, 10*time.Second, chromedp.EmulateViewport(1280, 800))
		for _, p := range []struct{ path, page, shot string }{{"runs/" + runID, "results", "07-results-420px"}, {"", "dashboard", "07-dashboard-420px"}, {"benchmarks", "benchmarks", "07-benchmarks-420px"}} {
			b.open(t, a.url+p.path, p.page)
			if p.page == "results" {
				b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
			}
			if w := eval[[]int](t, b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
				t.Errorf("%s at 420 px: the page is %d px wide (wider than the window: tables must scroll in their box)", p.page, w[0])
			}
			b.screenshot(t, shots, p.shot, true)
			b.noErrors(t, p.page+" at 420 px")
		}
	})
}

// chartInfo is what checkCharts reads of each canvas.
type chartInfo struct {
	ID     string `json:"id"`
	W, H   int
	Chart  bool    `json:"chart"`
	Type   string  `json:"type"`
	Points int     `json:"points"`
	Scales []scale `json:"scales"`
}

type scale struct {
	ID   string   `json:"id"`
	Type string   `json:"type"`
	Min  *float64 `json:"min"`
	Max  *float64 `json:"max"`
}

const readCharts = `[...document.querySelectorAll('#page-results canvas')].map((c) => {
	const ch = window.Chart && Chart.getChart(c);
	return { id: c.id, W: c.width, H: c.height, chart: !!ch, type: ch ? ch.config.type : '',
		points: ch ? ch.data.datasets.reduce((n, d) => n + d.data.filter((v) => v != null).length, 0) : 0,
		scales: ch ? Object.values(ch.scales).map((s) => ({ id: s.id, type: s.type, min: s.min, max: s.max })) : [] };
})`

// checkCharts asserts that the Results page has at least want charts, each
// drawn (non-zero canvas, a Chart.js instance with data) on numeric axes.
func checkCharts(t *testing.T, b *browser, want int) {
	t.Helper()
	charts := eval[[]chartInfo](t, b, readCharts)
	if len(charts) < want {
		t.Errorf("%d charts on the Results page, want ≥ %d", len(charts), want)
	}
	for _, c := range charts {
		if c.W == 0 || c.H == 0 || !c.Chart || c.Points == 0 {
			t.Errorf("chart %s: %d×%d, Chart.js instance %v, %d points", c.ID, c.W, c.H, c.Chart, c.Points)
			continue
		}
		numeric := map[string]scale{}
		for _, s := range c.Scales {
			if s.Type == "linear" || s.Type == "radialLinear" {
				if s.Min == nil || s.Max == nil || !(*s.Max > *s.Min) || math.IsInf(*s.Max, 0) {
					t.Errorf("chart %s: scale %s has no numeric range: %v..%v", c.ID, s.ID, s.Min, s.Max)
				}
				numeric[s.ID] = s
			}
		}
		switch c.Type {
		case "radar":
			if _, ok := numeric["r"]; !ok {
				t.Errorf("radar %s: radial scale not linear: %+v", c.ID, c.Scales)
			}
		case "bar", "line":
			if _, ok := numeric["y"]; !ok {
				t.Errorf("chart %s: value axis not linear: %+v", c.ID, c.Scales)
			}
			if _, ok := numeric["x"]; (c.Type == "line" || c.ID == "chart-hist") && !ok {
				t.Errorf("chart %s: x axis not linear: %+v", c.ID, c.Scales)
			}
		default:
			t.Errorf("chart %s: unexpected type %q", c.ID, c.Type)
		}
	}
}

// tableRow is one row of the detail table as shown.
type tableRow struct {
	Model    string            `json:"model"`
	Scenario string            `json:"scenario"`
	Cells    map[string]string `json:"cells"`
}

const readTable = `[...document.querySelectorAll('#detail-table tbody tr')].map((tr) => ({
	model: tr.dataset.model, scenario: tr.dataset.scenario,
	cells: Object.fromEntries([...tr.querySelectorAll('td[data-metric]')].map((td) => [td.dataset.metric, td.querySelector('.v').textContent])) }))`

// tableMetrics are the figures checked against the API, with their units
// and the factor from the API's value to the shown one.
var tableMetrics = []struct {
	path, unit string
	scale      float64
}{
	{"ttft_ms.p50", "ms", 1}, {"ttft_ms.p95", "ms", 1}, {"ttft_ms.p99", "ms", 1},
	{"tpot_ms.p50", "ms", 1}, {"decode_tps.p50", "tok/s", 1},
	{"e2e_ms.p50", "ms", 1}, {"e2e_ms.p95", "ms", 1}, {"e2e_ms.p99", "ms", 1},
	{"output_tokens_per_s", "tok/s", 1}, {"error_rate", "%", 100},
}

// checkTable compares the detail table with the API's figures, as
// rounded for display.
func checkTable(t *testing.T, b *browser, doc runDoc) {
	t.Helper()
	rows := eval[[]tableRow](t, b, readTable)
	find := func(model, scenario string) *tableRow {
		for i := range rows {
			if rows[i].Model == model && rows[i].Scenario == scenario {
				return &rows[i]
			}
		}
		return nil
	}
	groups := append(append([]map[string]any{}, doc.Run.Groups...), doc.Run.Models...)
	if len(rows) != len(groups) {
		t.Errorf("the table has %d rows, the API %d groups and models", len(rows), len(groups))
	}
	checked := 0
	for _, g := range groups {
		model, _ := g["model"].(string)
		scenario, _ := g["scenario"].(string)
		row := find(model, scenario)
		if row == nil {
			t.Errorf("no table row for %s × %q", model, scenario)
			continue
		}
		for _, m := range tableMetrics {
			v := lookup(g, m.path)
			if v != nil {
				x := *v * m.scale
				v = &x
			}
			checkShown(t, fmt.Sprintf("%s × %q %s", model, scenario, m.path), row.Cells[m.path], v, m.unit)
			checked++
		}
	}
	t.Logf("checked %d table cells against the API", checked)
}

// lookup reads a dotted path of numbers in a JSON object (nil: null or absent).
func lookup(g map[string]any, path string) *float64 {
	var cur any = g
	for p := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	f, ok := cur.(float64)
	if !ok {
		return nil
	}
	return &f
}

// decimals is format.js's rule: 0 decimals from 100 (and for 0), 1 from
// 10, 2 from 1, 3 below.
func decimals(x float64) int {
	a := math.Abs(x)
	switch {
	case a >= 100 || a == 0:
		return 0
	case a >= 10:
		return 1
	case a >= 1:
		return 2
	}
	return 3
}

// checkShown asserts that shown is v formatted by the UI: "–" for null,
// else the number with format.js's decimals, thousands commas, a no-break
// space and the unit, within half a unit of its last digit.
func checkShown(t *testing.T, what, shown string, v *float64, unit string) {
	t.Helper()
	if v == nil {
		if shown != "–" {
			t.Errorf("%s: shown %q, the API has null (want –)", what, shown)
		}
		return
	}
	num, ok := strings.CutSuffix(shown, "\u00a0"+unit)
	if !ok {
		t.Errorf("%s: shown %q, want a number in %s", what, shown, unit)
		return
	}
	d := 0
	if i := strings.IndexByte(num, '.'); i >= 0 {
		d = len(num) - i - 1
	}
	got, err := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
	if err != nil {
		t.Errorf("%s: shown %q: %v", what, shown, err)
		return
	}
	if want := decimals(*v); d != want {
		t.Errorf("%s: shown %q with %d decimals, want %d for %v", what, shown, d, want, *v)
	}
	if tol := 0.5*math.Pow(10, -float64(d)) + 1e-9*math.Abs(*v); math.Abs(got-*v) > tol {
		t.Errorf("%s: shown %q, the API has %v", what, shown, *v)
	}
}
