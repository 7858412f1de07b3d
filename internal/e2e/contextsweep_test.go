package e2e

import (
	"context"
	"io"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"flperf/internal/cli"
	"flperf/internal/report"
)

// drawnLine is one dataset of a line chart, read from the Chart.js
// instance the page drew.
type drawnLine struct {
	Label  string       `json:"label"`
	Dashed bool         `json:"dashed"`
	Points [][2]float64 `json:"points"`
}

type drawnLines struct {
	XType    string      `json:"xType"`
	YType    string      `json:"yType"`
	Datasets []drawnLine `json:"datasets"`
}

const readLines = `((id) => {
	const c = Chart.getChart(document.getElementById(id));
	if (!c) return null;
	return { xType: c.scales.x.type, yType: c.scales.y.type, datasets: c.data.datasets.map((d) => ({
		label: d.label, dashed: !!d.borderDash, points: d.data.map((p) => [p.x, p.y]) })) };
})`

// TestContextSweepChart: a context sweep's Results page draws TTFT,
// prefill rate and TPOT against input tokens on a numeric logarithmic x
// axis, each line's points equal to the API's context_sweep figures
// (input tokens against p50 and mean), and lists each model's fitted
// prefill rate as the API gives it.
func TestContextSweepChart(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	db := filepath.Join(t.TempDir(), "e2e.db")
	code := cli.Main(context.Background(), []string{"run", "--engine", "sim", "--model", "sim-fast", "--model", "sim-slow",
		"--context-sweep", "64,256,1k", "--requests", "3", "--max-tokens", "8", "--seed", "3",
		"--sample-interval", "off", "--db", db, "--no-progress"}, nil, io.Discard, io.Discard)
	if code != 0 {
		t.Fatalf("flperf run exited %d", code)
	}
	a := startApp(t, db)
	var runs []struct {
		ID string `json:"id"`
	}
	a.get(t, "/runs", &runs)
	if len(runs) != 1 {
		t.Fatalf("%d runs stored, want 1", len(runs))
	}
	var doc struct {
		Sweep *report.ContextSweep `json:"context_sweep"`
	}
	a.get(t, "/runs/"+runs[0].ID, &doc)
	if doc.Sweep == nil || len(doc.Sweep.Models) != 2 || len(doc.Sweep.Models[0].Points) != 3 {
		t.Fatalf("the API's context sweep: %+v", doc.Sweep)
	}
	for _, m := range doc.Sweep.Models {
		for _, p := range m.Points {
			if p.InputTokens == nil || *p.InputTokens != float64(p.Requested) {
				t.Errorf("%s %s: %v input tokens counted, want %d exactly", m.Model, p.Scenario, p.InputTokens, p.Requested)
			}
		}
	}
	b.open(t, a.url+"runs/"+runs[0].ID, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	checkSweepCharts(t, b, doc.Sweep, "chart-context")
	fits := eval[[]string](t, b, `[...document.querySelectorAll('.context-notes li')].map((li) => li.dataset.model + '=' + li.dataset.prefill)`)
	for i, m := range doc.Sweep.Models {
		want := m.Model + "="
		if m.Prefill != nil {
			want += strconv.FormatFloat(m.Prefill.TPS, 'g', -1, 64)
		}
		if i >= len(fits) || fits[i] != want || m.Prefill == nil {
			t.Errorf("fitted prefill list %v, the API's %s (fit %+v)", fits, want, m.Prefill)
		}
	}
	b.noErrors(t, "results "+runs[0].ID)

	// The single-file HTML report draws the same figures, from its own
	// JSON block, on the same axes.
	file := download(t, a.url+"api/v1/runs/"+runs[0].ID+"/report.html", t.TempDir(), "sweep.html")
	b.do(t, 30*time.Second, chromedp.Navigate("file://"+file))
	b.waitFor(t, 30*time.Second, "the report's charts", `window.__flperfReport !== undefined`)
	if e := eval[string](t, b, `window.__flperfReport.error`); e != "" {
		t.Fatalf("the report's charts failed: %s", e)
	}
	checkSweepCharts(t, b, doc.Sweep, "r0-context")
	b.screenshot(t, artifactsDir(t), "report-context-sweep", true)
	if n := eval[int](t, b, `document.querySelectorAll('table.sweep tr.sweep').length`); n != 6 {
		t.Errorf("the report's sweep table has %d rows, want 6 (2 models × 3 lengths)", n)
	}
	b.noErrors(t, "report of "+runs[0].ID)
}

// TestBenchmarksPageContextSweep: the Benchmarks page starts a context
// sweep in place of the scenarios; a bad list is refused with the field
// marked, and the run it starts has one stage per length.
func TestBenchmarksPageContextSweep(t *testing.T) {
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
	b.setField(t, "#f-requests", "2")
	b.setField(t, "#f-warmup", "0")
	b.setField(t, "#f-max_tokens", "4")

	b.setField(t, "#f-context_sweep", "64,12")
	b.submitRefused(t, "#f-context_sweep", "a bad list")

	b.setField(t, "#f-context_sweep", "256, 64")
	doc := b.submitCompleted(t, a)
	var scenarios []string
	for _, g := range doc.Run.Groups {
		scenarios = append(scenarios, g["scenario"].(string))
	}
	if len(scenarios) != 2 || scenarios[0] != "context-64" || scenarios[1] != "context-256" {
		t.Fatalf("the run's rows are %v, want context-64 then context-256", scenarios)
	}
	b.noErrors(t, "benchmarks")
}

// checkSweepCharts compares the context-sweep charts idPrefix-ttft,
// -prefill and -tpot drawn in the page with the API's figures: a
// logarithmic x axis and a linear y, per model a p50 line (solid) and a
// mean line (dashed) whose points are each length's mean input tokens
// against its figure, exactly.
func checkSweepCharts(t *testing.T, b *browser, sweep *report.ContextSweep, idPrefix string) {
	t.Helper()
	for _, c := range []struct {
		id, p50, mean string
		get           func(p *report.ContextSweepPoint) (*float64, *float64)
	}{
		{idPrefix + "-ttft", "p50", "mean", func(p *report.ContextSweepPoint) (*float64, *float64) { return p.TTFTP50, p.TTFTMean }},
		{idPrefix + "-prefill", "p50", "mean", func(p *report.ContextSweepPoint) (*float64, *float64) { return p.PrefillP50, p.PrefillMean }},
		{idPrefix + "-tpot", "p50", "mean", func(p *report.ContextSweepPoint) (*float64, *float64) { return p.TPOTP50, p.TPOTMean }},
	} {
		got := eval[*drawnLines](t, b, readLines+`(`+js(c.id)+`)`)
		if got == nil {
			t.Fatalf("no %s drawn", c.id)
		}
		if got.XType != "logarithmic" || got.YType != "linear" {
			t.Errorf("%s axes %s × %s, want a logarithmic x and a linear y", c.id, got.XType, got.YType)
		}
		var want []drawnLine
		for _, m := range sweep.Models {
			p50 := drawnLine{Label: m.Model + " p50"}
			mean := drawnLine{Label: m.Model + " mean", Dashed: true}
			for i := range m.Points {
				p := &m.Points[i]
				a, b := c.get(p)
				if p.Skipped != "" || p.InputTokens == nil {
					continue
				}
				if a != nil {
					p50.Points = append(p50.Points, [2]float64{*p.InputTokens, *a})
				}
				if b != nil {
					mean.Points = append(mean.Points, [2]float64{*p.InputTokens, *b})
				}
			}
			want = append(want, p50, mean)
		}
		if len(got.Datasets) != len(want) {
			t.Fatalf("%s: %d lines drawn, the API gives %d: %+v", c.id, len(got.Datasets), len(want), got.Datasets)
		}
		for i, w := range want {
			g := got.Datasets[i]
			if g.Label != w.Label || g.Dashed != w.Dashed || len(g.Points) != len(w.Points) || len(w.Points) != 3 {
				t.Errorf("%s line %d: drawn %+v, the API's %+v", c.id, i, g, w)
				continue
			}
			for j := range w.Points {
				if g.Points[j] != w.Points[j] {
					t.Errorf("%s %s point %d: drawn %v, the API's %v", c.id, w.Label, j, g.Points[j], w.Points[j])
				}
			}
		}
	}
}
