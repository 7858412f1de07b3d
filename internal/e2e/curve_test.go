package e2e

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"flperf/internal/cli"
	"flperf/internal/report"
)

// drawnCurve is what one dataset of a curve chart holds, read from the
// Chart.js instance the page drew.
type drawnCurve struct {
	Label  string       `json:"label"`
	Knee   bool         `json:"knee"`
	Points [][2]float64 `json:"points"`
	Stages []string     `json:"stages"`
}

type drawnChart struct {
	XType    string       `json:"xType"`
	YType    string       `json:"yType"`
	Datasets []drawnCurve `json:"datasets"`
}

const readCurve = `((id) => {
	const c = Chart.getChart(document.getElementById(id));
	if (!c) return null;
	return { xType: c.scales.x.type, yType: c.scales.y.type, datasets: c.data.datasets.map((d) => ({
		label: d.label, knee: !!d.knee, points: d.data.map((p) => [p.x, p.y]), stages: d.data.map((p) => p.stage) })) };
})`

// TestSweepCurve: a concurrency sweep's Results page draws the
// throughput–latency curve with numeric (linear) axes, each line's points
// equal to the API's curve (output tok/s against TTFT and TPOT p50/p99),
// and the knee where the API puts it.
func TestSweepCurve(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	db := filepath.Join(t.TempDir(), "e2e.db")
	code := cli.Main(context.Background(), []string{"run", "--engine", "sim", "--model", "sim-fast", "--model", "sim-slow",
		"--scenario", "Simple Q&A - Short", "--requests", "4", "--concurrency", "1,2,4", "--max-tokens", "16", "--seed", "3",
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
		Curve *report.Curve `json:"curve"`
	}
	a.get(t, "/runs/"+runs[0].ID, &doc)
	if doc.Curve == nil || len(doc.Curve.Models) != 2 || len(doc.Curve.Models[0].Points) != 3 {
		t.Fatalf("the API's curve: %+v", doc.Curve)
	}
	b.open(t, a.url+"runs/"+runs[0].ID, "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	for _, metric := range []string{"ttft", "tpot"} {
		got := eval[*drawnChart](t, b, readCurve+`('chart-curve-`+metric+`')`)
		if got == nil {
			t.Fatalf("no %s curve drawn", metric)
		}
		if got.XType != "linear" || got.YType != "linear" {
			t.Errorf("%s curve axes %s × %s, want numeric (linear) ones", metric, got.XType, got.YType)
		}
		var want []drawnCurve
		for _, m := range doc.Curve.Models {
			for _, pct := range []string{"p50", "p99"} {
				d := drawnCurve{Label: m.Model + " " + pct}
				for _, p := range m.Points {
					y := map[string]*float64{"ttft p50": p.TTFTP50, "ttft p99": p.TTFTP99, "tpot p50": p.TPOTP50, "tpot p99": p.TPOTP99}[metric+" "+pct]
					if p.OutputTPS == nil || y == nil {
						continue
					}
					d.Points = append(d.Points, [2]float64{*p.OutputTPS, *y})
					d.Stages = append(d.Stages, p.Stage)
				}
				want = append(want, d)
			}
			if m.Knee != nil {
				for _, p := range m.Points {
					if p.Stage == *m.Knee {
						y := p.TTFTP50
						if metric == "tpot" {
							y = p.TPOTP50
						}
						want = append(want, drawnCurve{Label: m.Model + " knee (" + p.Stage + ")", Knee: true,
							Points: [][2]float64{{*p.OutputTPS, *y}}, Stages: []string{p.Stage}})
					}
				}
			}
		}
		if len(got.Datasets) != len(want) {
			t.Fatalf("%s curve: %d lines drawn, the API gives %d: %+v", metric, len(got.Datasets), len(want), got.Datasets)
		}
		for i, w := range want {
			g := got.Datasets[i]
			if g.Label != w.Label || g.Knee != w.Knee || len(g.Points) != len(w.Points) || len(w.Points) == 0 {
				t.Errorf("%s line %d: drawn %+v, the API's %+v", metric, i, g, w)
				continue
			}
			for j := range w.Points {
				if g.Points[j] != w.Points[j] || g.Stages[j] != w.Stages[j] {
					t.Errorf("%s %s point %d: drawn %v at %s, the API's %v at %s", metric, w.Label, j, g.Points[j], g.Stages[j], w.Points[j], w.Stages[j])
				}
			}
		}
	}
	knees := eval[[]string](t, b, `[...document.querySelectorAll('.curve-knees li')].map((li) => li.dataset.model + '=' + li.dataset.knee)`)
	for i, m := range doc.Curve.Models {
		k := ""
		if m.Knee != nil {
			k = *m.Knee
		}
		if i >= len(knees) || knees[i] != m.Model+"="+k {
			t.Errorf("knee list %v, the API's knee of %s is %q", knees, m.Model, k)
		}
	}
	b.noErrors(t, "results "+runs[0].ID)
}

// TestBenchmarksPageSweep: the Benchmarks page takes a list of concurrency
// levels; the run it starts has one stage per level, and a bad list is
// refused with the concurrency field marked.
func TestBenchmarksPageSweep(t *testing.T) {
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
	b.click(t, `input[name=mode][value=concurrency]`)
	b.setField(t, "#f-requests", "2")
	b.setField(t, "#f-warmup", "0")

	b.setField(t, "#f-concurrency", "1,x")
	b.submitRefused(t, "#f-concurrency", "a bad list")

	b.setField(t, "#f-concurrency", "2, 1")
	doc := b.submitCompleted(t, a)
	var stages []string
	for _, g := range doc.Run.Groups {
		stages = append(stages, g["stage"].(string))
	}
	if len(stages) != 2 || stages[0] != "c=1" || stages[1] != "c=2" {
		t.Fatalf("the run's rows are at %v, want c=1 then c=2", stages)
	}
	b.noErrors(t, "benchmarks")
}
