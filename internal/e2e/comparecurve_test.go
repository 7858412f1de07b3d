package e2e

import (
	"context"
	"io"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"flperf/internal/cli"
	"flperf/internal/report"
)

// TestCompareCurves: comparing two load sweeps draws both runs'
// throughput–latency curves on the same numeric axes, each line's points
// equal to that run's curve in the API, named by its side; a model
// comparison (RUN@MODEL) draws only the models compared; a side that is no
// sweep is named and left out.
func TestCompareCurves(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	db := filepath.Join(t.TempDir(), "e2e.db")
	run := func(args ...string) {
		t.Helper()
		code := cli.Main(context.Background(), append([]string{"run", "--engine", "sim", "--scenario", "Simple Q&A - Short", "--requests", "3",
			"--max-tokens", "12", "--sample-interval", "off", "--db", db, "--no-progress"}, args...), nil, io.Discard, io.Discard)
		if code != 0 {
			t.Fatalf("flperf run %v exited %d", args, code)
		}
	}
	run("--model", "sim-fast", "--model", "sim-slow", "--concurrency", "1,2", "--seed", "3")
	run("--model", "sim-fast", "--concurrency", "1,2,4", "--seed", "4")
	run("--model", "sim-fast", "--seed", "5")
	a := startApp(t, db)
	var runs []struct {
		ID string `json:"id"`
	}
	a.get(t, "/runs", &runs)
	if len(runs) != 3 {
		t.Fatalf("%d runs stored, want 3", len(runs))
	}
	byModels := map[int]string{} // models on the curve (0: no sweep) → run id
	curves := map[string]*report.Curve{}
	for _, r := range runs {
		var doc struct {
			Curve *report.Curve `json:"curve"`
		}
		a.get(t, "/runs/"+r.ID, &doc)
		curves[r.ID] = doc.Curve
		switch {
		case doc.Curve == nil:
			byModels[0] = r.ID
		case len(doc.Curve.Models) == 2:
			byModels[2] = r.ID
		default:
			byModels[1] = r.ID
		}
	}
	two, one, plain := byModels[2], byModels[1], byModels[0]
	if two == "" || one == "" || plain == "" {
		t.Fatalf("runs by curve: %v", byModels)
	}

	// want is what the page must draw for a side: its models' p50 and p99
	// lines (and knees) of one metric, labelled with the side.
	want := func(side, id, model, metric string) []drawnCurve {
		var out []drawnCurve
		for _, m := range curves[id].Models {
			if model != "" && m.Model != model {
				continue
			}
			for _, pct := range []string{"p50", "p99"} {
				d := drawnCurve{Label: side + " · " + m.Model + " " + pct}
				for _, p := range m.Points {
					y := map[string]*float64{"ttft p50": p.TTFTP50, "ttft p99": p.TTFTP99, "tpot p50": p.TPOTP50, "tpot p99": p.TPOTP99}[metric+" "+pct]
					if p.OutputTPS != nil && y != nil {
						d.Points = append(d.Points, [2]float64{*p.OutputTPS, *y})
						d.Stages = append(d.Stages, p.Stage)
					}
				}
				out = append(out, d)
			}
			if m.Knee != nil {
				for _, p := range m.Points {
					if p.Stage == *m.Knee {
						y := p.TTFTP50
						if metric == "tpot" {
							y = p.TPOTP50
						}
						out = append(out, drawnCurve{Label: side + " · " + m.Model + " knee (" + p.Stage + ")", Knee: true,
							Points: [][2]float64{{*p.OutputTPS, *y}}, Stages: []string{p.Stage}})
					}
				}
			}
		}
		return out
	}
	check := func(page string, lines func(metric string) []drawnCurve) {
		t.Helper()
		for _, metric := range []string{"ttft", "tpot"} {
			got := eval[*drawnChart](t, b, readCurve+`('chart-compare-curve-`+metric+`')`)
			if got == nil {
				t.Fatalf("%s: no %s curve drawn", page, metric)
			}
			if got.XType != "linear" || got.YType != "linear" {
				t.Errorf("%s: %s axes %s × %s, want numeric (linear) ones", page, metric, got.XType, got.YType)
			}
			w := lines(metric)
			if len(got.Datasets) != len(w) {
				t.Fatalf("%s: %s: %d lines drawn, the API gives %d: %+v", page, metric, len(got.Datasets), len(w), got.Datasets)
			}
			for i := range w {
				g := got.Datasets[i]
				if g.Label != w[i].Label || g.Knee != w[i].Knee || len(g.Points) != len(w[i].Points) || len(g.Points) == 0 {
					t.Errorf("%s: %s line %d drawn %+v, the API's %+v", page, metric, i, g, w[i])
					continue
				}
				for j := range g.Points {
					if g.Points[j] != w[i].Points[j] || g.Stages[j] != w[i].Stages[j] {
						t.Errorf("%s: %s %s point %d drawn %v at %s, the API's %v at %s", page, metric, w[i].Label, j, g.Points[j], g.Stages[j], w[i].Points[j], w[i].Stages[j])
					}
				}
			}
		}
	}
	open := func(base, candidate string) {
		t.Helper()
		b.open(t, a.url+"compare?"+url.Values{"base": {base}, "candidate": {candidate}}.Encode(), "history")
		b.waitFor(t, 30*time.Second, "the comparison", `document.querySelector('#compare .block') && !/Comparing…/.test(document.querySelector('#compare').textContent)`)
		if e := eval[string](t, b, `(document.querySelector('#compare .error') || {}).textContent || ''`); e != "" {
			t.Fatalf("comparing %s with %s: %s", base, candidate, e)
		}
		b.waitFor(t, 30*time.Second, "the curves drawn", `!document.querySelector('#compare-curves') || Chart.getChart(document.getElementById('chart-compare-curve-tpot'))`)
	}

	open(two, one)
	check("runs", func(metric string) []drawnCurve {
		return append(want("base", two, "", metric), want("candidate", one, "", metric)...)
	})
	b.noErrors(t, "compare runs")

	open(two+"@sim-slow", one+"@sim-fast")
	check("models", func(metric string) []drawnCurve {
		return append(want("base", two, "sim-slow", metric), want("candidate", one, "sim-fast", metric)...)
	})
	b.noErrors(t, "compare models")

	open(plain, one)
	check("one sweep", func(metric string) []drawnCurve { return want("candidate", one, "", metric) })
	if n := eval[string](t, b, `document.querySelector('#compare-curves .note').textContent`); n != "base: not a load sweep, no curve." {
		t.Errorf("the side without a sweep is named as %q", n)
	}
	b.noErrors(t, "compare a sweep with a plain run")

	open(plain, plain)
	if eval[bool](t, b, `!!document.querySelector('#compare-curves')`) {
		t.Error("two runs without sweeps draw a curves section")
	}
}
