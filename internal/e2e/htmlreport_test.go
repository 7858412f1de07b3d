package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// drawnReportChart is one chart of a report file as Chart.js holds it.
type drawnReportChart struct {
	Type     string   `json:"type"`
	X        string   `json:"x"`
	Y        string   `json:"y"`
	Labels   []string `json:"labels"`
	Datasets []struct {
		Label string `json:"label"`
		Data  []any  `json:"data"`
	} `json:"datasets"`
}

const readReportChart = `((id) => { const c = Chart.getChart(document.getElementById(id)); if (!c) return null;
	return { type: c.config.type, x: c.scales.x.type, y: c.scales.y.type, labels: (c.data.labels || []).map(String),
		datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })) }; })`

// download saves url's body (a report file) in dir and returns its path.
func download(t *testing.T, url, dir, name string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("GET %s: %s, %s, %s", url, res.Status, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	if len(body) >= 1<<20 {
		t.Errorf("%s is %d bytes, want under 1 MB", name, len(body))
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkReportRun compares the charts drawn for run id in a report file
// (prefix r0, r1, …) with the app's API figures for the run: the
// per-scenario bars with GET /runs/{id} groups, the percentile bars with
// its per-model rows, the distributions with GET /runs/{id}/distribution.
func checkReportRun(t *testing.T, b *browser, a *app, prefix, id string) {
	t.Helper()
	doc := a.run(t, id)
	c := &chartChecker{t: t}
	chart := func(name string) drawnReportChart {
		ch := eval[*drawnReportChart](t, b, readReportChart+"("+js(prefix+"-"+name)+")")
		if ch == nil {
			t.Fatalf("%s: chart %s not drawn", id, name)
		}
		if ch.Y != "linear" {
			t.Errorf("%s %s: y axis %s, want linear", id, name, ch.Y)
		}
		return *ch
	}
	for _, spec := range []struct{ name, dist, field string }{{"throughput", "", ""}, {"ttft", "ttft_ms", "p50"}, {"decode", "decode_tps", "p50"}, {"tpot", "tpot_ms", "p50"}} {
		ch := chart(spec.name)
		checked := 0
		for _, g := range doc.Run.Groups {
			col := -1
			for i, l := range ch.Labels {
				if l == scenarioKey(g) {
					col = i
				}
			}
			for _, ds := range ch.Datasets {
				if ds.Label != g["model"] || col < 0 {
					continue
				}
				var want *float64
				if spec.dist == "" {
					if v, ok := num(g, "output_tokens_per_s"); ok && g["ok"].(float64) > 0 {
						want = &v
					}
				} else if d, _ := g[spec.dist].(map[string]any); d != nil {
					if v, ok := d[spec.field].(float64); ok {
						want = &v
					}
				}
				c.same(id+" "+spec.name+" "+modelLabel(g)+" "+scenarioKey(g), ds.Data[col], want)
				checked++
			}
		}
		if checked != len(doc.Run.Groups) {
			t.Errorf("%s %s: %d bars checked, the API has %d groups", id, spec.name, checked, len(doc.Run.Groups))
		}
	}
	for _, spec := range []struct{ name, dist string }{{"e2e-pct", "e2e_ms"}, {"ttft-pct", "ttft_ms"}} {
		ch := chart(spec.name)
		if len(ch.Datasets) != len(doc.Run.Models) {
			t.Fatalf("%s %s: %d datasets, %d models", id, spec.name, len(ch.Datasets), len(doc.Run.Models))
		}
		for i, g := range doc.Run.Models {
			d, _ := g[spec.dist].(map[string]any)
			for j, f := range []string{"p50", "p90", "p95", "p99"} {
				var want *float64
				if v, ok := d[f].(float64); ok {
					want = &v
				}
				c.same(id+" "+spec.name+" "+modelLabel(g)+" "+f, ch.Datasets[i].Data[j], want)
			}
		}
	}
	for _, metric := range []string{"e2e_ms", "ttft_ms"} {
		var dist distDoc
		a.get(t, "/runs/"+id+"/distribution?metric="+metric, &dist)
		ch := chart("dist-" + metric)
		if ch.X != "linear" || len(ch.Datasets) != len(dist.Models) {
			t.Fatalf("%s distribution %s: x %s, %d datasets, the API %d models", id, metric, ch.X, len(ch.Datasets), len(dist.Models))
		}
		for i, m := range dist.Models {
			pts := ch.Datasets[i].Data
			if len(pts) != len(m.Bins)+1 {
				t.Errorf("%s %s %s: %d points for %d bins", id, metric, m.Model, len(pts), len(m.Bins))
				continue
			}
			for j, bin := range m.Bins {
				c.point(id+" "+metric+" "+m.Model, pts[j], bin.Lo, float64(bin.Count))
			}
		}
	}
}

// TestHTMLReport: the Results page's "Download report" file and the
// comparison's, opened from disk with the network off, draw their charts
// (Chart.js, numeric axes) with the API's figures, keep a hostile text
// inert, and report no console error or CSP violation; with JavaScript
// off the same file still shows every table.
func TestHTMLReport(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	hostile := `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script></pre></td>` + "\u2028"
	x := storedRun{id: "e2e-report-x", n: 600, chunks: 6, models: []string{"m-a", "m-b"}, scenarios: []string{"chat", "code", "sum"}, text: hostile, engine: true}
	y := storedRun{id: "e2e-report-y", n: 400, chunks: 8, models: []string{"m-a", "m-b"}, scenarios: []string{"chat", "code", "sum"}}
	x.write(t, a.db)
	y.write(t, a.db)

	// The button on the Results page points at the API's file.
	b.open(t, a.url+"runs/"+x.id, "results")
	if href := eval[string](t, b, `document.getElementById('download-report').getAttribute('href')`); href != "/api/v1/runs/"+x.id+"/report.html" {
		t.Errorf("Download report links to %q", href)
	}
	b.noErrors(t, "results")

	dir := t.TempDir()
	one := download(t, a.url+"api/v1/runs/"+x.id+"/report.html", dir, "one.html")
	two := download(t, a.url+"api/v1/compare/report.html?base="+x.id+"&candidate="+y.id, dir, "two.html")

	ctx := b.ctx
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}}); err != nil {
		t.Fatal(err)
	}
	open := func(path string) {
		b.do(t, 30*time.Second, chromedp.Navigate("file://"+path))
		b.waitFor(t, 30*time.Second, "the report's charts", `window.__flperfReport !== undefined`)
		if e := eval[string](t, b, `window.__flperfReport.error`); e != "" {
			t.Fatalf("%s: the charts failed: %s", path, e)
		}
	}
	open(one)
	if n := eval[int](t, b, `window.__flperfReport.charts`); n != 8 {
		t.Errorf("one run: %d charts drawn, want 8", n)
	}
	checkReportRun(t, b, a, "r0", x.id)
	if eval[bool](t, b, `window.__xss !== undefined || document.querySelector('img, pre script') !== null`) {
		t.Error("the hostile text ran or became markup")
	}
	if !eval[bool](t, b, `[...document.querySelectorAll('pre.text')].some((p) => p.textContent.includes('<script>window.__xss=2</script>'))`) {
		t.Error("the hostile text is not shown as text")
	}
	if n := eval[int](t, b, `performance.getEntriesByType('resource').length`); n != 0 {
		t.Errorf("the report loaded %d resources", n)
	}
	b.noErrors(t, "report of one run")

	open(two)
	if n := eval[int](t, b, `window.__flperfReport.charts`); n != 16 {
		t.Errorf("two runs: %d charts drawn, want 16", n)
	}
	checkReportRun(t, b, a, "r0", x.id)
	checkReportRun(t, b, a, "r1", y.id)
	var cmp struct {
		Rows []any `json:"rows"`
	}
	a.get(t, "/compare?base="+x.id+"&candidate="+y.id, &cmp)
	if n := eval[int](t, b, `document.querySelectorAll('table.cmp tbody tr:not(.geomean)').length`); n != len(cmp.Rows) || n == 0 {
		t.Errorf("the comparison shows %d rows, GET /compare has %d", n, len(cmp.Rows))
	}
	if eval[bool](t, b, `window.__xss !== undefined`) {
		t.Error("the hostile text ran")
	}
	b.noErrors(t, "report of two runs")

	// JavaScript off: no chart, every table.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	b.do(t, 30*time.Second, chromedp.Navigate("file://"+two))
	b.waitFor(t, 30*time.Second, "the page", `document.readyState === 'complete'`)
	if eval[bool](t, b, `window.__flperfReport !== undefined`) {
		t.Error("the script ran with JavaScript off")
	}
	groups := len(a.run(t, x.id).Run.Groups) + len(a.run(t, y.id).Run.Groups)
	if n := eval[int](t, b, `document.querySelectorAll('table.detail tr.group').length`); n != groups {
		t.Errorf("JavaScript off: %d per-scenario rows, the API has %d groups", n, groups)
	}
	if n := eval[int](t, b, `document.querySelectorAll('.card.best').length + document.querySelectorAll('table.cmp tbody tr').length`); n < 10 {
		t.Errorf("JavaScript off: %d best cards and comparison rows", n)
	}
	b.noErrors(t, "report without JavaScript")
}
