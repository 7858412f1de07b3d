package e2e

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"flperf/internal/report"
)

// chartData is what checkChartValues reads of each Chart.js instance on
// the Results page: its labels and every dataset's values as drawn.
type chartData struct {
	ID       string        `json:"id"`
	Labels   []string      `json:"labels"`
	Datasets []chartSeries `json:"datasets"`
}

// chartSeries is one dataset. Data holds numbers (or null) for bar and
// radar charts and {x, y} objects for line charts and histograms;
// ErrorBars holds [lo, hi] or null per bar.
type chartSeries struct {
	Label     string `json:"label"`
	Data      []any  `json:"data"`
	ErrorBars []any  `json:"errorBars"`
}

const readChartData = `[...document.querySelectorAll('#page-results canvas')].flatMap((c) => {
	const ch = window.Chart && Chart.getChart(c);
	if (!ch) return [];
	return [{ id: c.id, labels: (ch.data.labels || []).map(String),
		datasets: ch.data.datasets.map((d) => ({ label: d.label, data: d.data.map((v) => (v && typeof v === 'object' ? { x: v.x, y: v.y } : v)), errorBars: d.errorBars || null })) }];
})`

// distDoc is GET /runs/{id}/distribution.
type distDoc struct {
	Metric string `json:"metric"`
	Models []struct {
		Model string `json:"model"`
		N     int    `json:"n"`
		Bins  []struct {
			Lo    float64 `json:"lo"`
			Hi    float64 `json:"hi"`
			Count int     `json:"count"`
		} `json:"bins"`
		CDF [][2]float64 `json:"cdf"`
	} `json:"models"`
}

// chartChecker compares drawn values with the API's figures.
type chartChecker struct {
	t       *testing.T
	checked int
}

// same asserts that a drawn value (a JSON number or null) is want (nil:
// null), to 1e-9 relative: the figures pass through JSON and JavaScript
// unchanged, and the radar's ratios are the same IEEE operations.
func (c *chartChecker) same(what string, got any, want *float64) {
	c.t.Helper()
	c.checked++
	g, isNum := got.(float64)
	switch {
	case want == nil && got != nil:
		c.t.Errorf("%s: drawn %v, the API has none", what, got)
	case want != nil && !isNum:
		c.t.Errorf("%s: drawn %v, the API has %v", what, got, *want)
	case want != nil && math.Abs(g-*want) > 1e-9*math.Max(1, math.Abs(*want)):
		c.t.Errorf("%s: drawn %v, the API has %v", what, g, *want)
	}
}

// point asserts that a drawn {x, y} object is (x, y).
func (c *chartChecker) point(what string, got any, x, y float64) {
	c.t.Helper()
	m, ok := got.(map[string]any)
	if !ok {
		c.checked++
		c.t.Errorf("%s: drawn %v, want a point (%v, %v)", what, got, x, y)
		return
	}
	c.same(what+" x", m["x"], &x)
	c.same(what+" y", m["y"], &y)
}

// interval asserts that a drawn error bar is the API's [lo, hi] (nil: none).
func (c *chartChecker) interval(what string, got any, want []float64) {
	c.t.Helper()
	if want == nil {
		c.checked++
		if got != nil {
			c.t.Errorf("%s: error bar %v drawn, the API has none", what, got)
		}
		return
	}
	pair, ok := got.([]any)
	if !ok || len(pair) != 2 {
		c.checked++
		c.t.Errorf("%s: error bar %v, the API has %v", what, got, want)
		return
	}
	c.same(what+" lo", pair[0], &want[0])
	c.same(what+" hi", pair[1], &want[1])
}

// labelled returns the dataset labelled label, failing when there is none.
func (c *chartChecker) labelled(ch chartData, label string) *chartSeries {
	c.t.Helper()
	for i := range ch.Datasets {
		if ch.Datasets[i].Label == label {
			return &ch.Datasets[i]
		}
	}
	c.t.Errorf("chart %s: no dataset %q (has %d)", ch.ID, label, len(ch.Datasets))
	return nil
}

// stageLabel, scenarioKey and modelLabel name groups as parts/groups.js does.
func stageLabel(g map[string]any) string {
	if s, _ := g["stage"].(string); s != "" {
		return " [" + s + "]"
	}
	return ""
}

func scenarioKey(g map[string]any) string {
	s, _ := g["scenario"].(string)
	return s + stageLabel(g)
}

func modelLabel(g map[string]any) string {
	m, _ := g["model"].(string)
	return report.ModelName(m) + stageLabel(g)
}

// medianCI returns dist's median CI from group g (nil when absent).
func medianCI(g map[string]any, dist string) []float64 {
	d, _ := g[dist].(map[string]any)
	pair, _ := d["median_ci"].([]any)
	if len(pair) != 2 {
		return nil
	}
	lo, ok1 := pair[0].(float64)
	hi, ok2 := pair[1].(float64)
	if !ok1 || !ok2 {
		return nil
	}
	return []float64{lo, hi}
}

func num(g map[string]any, key string) (float64, bool) {
	v, ok := g[key].(float64)
	return v, ok
}

// checkChartValues compares every value drawn on the Results page's
// comparison and distribution charts with the API's figures for run id:
// the per-scenario bars (and their 95 % CI error bars) with GET /runs/{id}
// groups, the percentile bars with its per-model rows, the radar with the
// same ratios computed here, and the CDF and histogram (E2E, the page's
// first metric) with GET /runs/{id}/distribution.
func checkChartValues(t *testing.T, b *browser, a *app, id string) {
	t.Helper()
	c := &chartChecker{t: t}
	doc := a.run(t, id)
	var dist distDoc
	a.get(t, "/runs/"+id+"/distribution?metric=e2e_ms&bins=40", &dist)
	charts := map[string]chartData{}
	for _, ch := range eval[[]chartData](t, b, readChartData) {
		charts[ch.ID] = ch
	}
	need := func(id string) (chartData, bool) {
		ch, ok := charts[id]
		if !ok {
			t.Errorf("no chart %s on the page (have %d charts)", id, len(charts))
		}
		return ch, ok
	}

	// Per-scenario bars: scenarios on x, one dataset per model.
	groups := doc.Run.Groups
	var keys, models []string
	byKey := map[[2]string]map[string]any{}
	for _, g := range groups {
		k, m := scenarioKey(g), g["model"].(string)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		if !slices.Contains(models, m) {
			models = append(models, m)
		}
		byKey[[2]string{m, k}] = g
	}
	perScenario := []struct {
		id, dist string
		read     func(g map[string]any) *float64
	}{
		{"chart-throughput", "", func(g map[string]any) *float64 {
			if ok, _ := num(g, "ok"); ok <= 0 {
				return nil
			}
			v, isNum := num(g, "output_tokens_per_s")
			if !isNum {
				return nil
			}
			return &v
		}},
		{"chart-ttft", "ttft_ms", nil},
		{"chart-decode", "decode_tps", nil},
		{"chart-tpot", "tpot_ms", nil},
	}
	for _, p := range perScenario {
		ch, ok := need(p.id)
		if !ok {
			continue
		}
		if !slices.Equal(ch.Labels, keys) || len(ch.Datasets) != len(models) {
			t.Errorf("chart %s: labels %q and %d datasets, the API has scenarios %q and %d models", p.id, ch.Labels, len(ch.Datasets), keys, len(models))
			continue
		}
		for _, m := range models {
			ds := c.labelled(ch, report.ModelName(m))
			if ds == nil || len(ds.Data) != len(keys) {
				continue
			}
			for i, k := range keys {
				g := byKey[[2]string{m, k}]
				what := fmt.Sprintf("%s %s × %q", p.id, m, k)
				if p.dist == "" {
					c.same(what, ds.Data[i], p.read(g))
					continue
				}
				c.same(what, ds.Data[i], lookup(g, p.dist+".p50"))
				if len(ds.ErrorBars) != len(keys) {
					t.Errorf("%s: %d error bars for %d scenarios", what, len(ds.ErrorBars), len(keys))
					continue
				}
				c.interval(what+" CI", ds.ErrorBars[i], medianCI(g, p.dist))
			}
		}
	}

	// Percentile bars: p50…p99 per model (pooled rows), the CI on p50.
	fields := []string{"p50", "p90", "p95", "p99"}
	for _, p := range []struct{ id, dist string }{{"chart-e2e-pct", "e2e_ms"}, {"chart-ttft-pct", "ttft_ms"}} {
		ch, ok := need(p.id)
		if !ok {
			continue
		}
		if !slices.Equal(ch.Labels, fields) || len(ch.Datasets) != len(doc.Run.Models) {
			t.Errorf("chart %s: labels %q, %d datasets for %d models", p.id, ch.Labels, len(ch.Datasets), len(doc.Run.Models))
			continue
		}
		for _, g := range doc.Run.Models {
			ds := c.labelled(ch, modelLabel(g))
			if ds == nil || len(ds.Data) != len(fields) || len(ds.ErrorBars) != len(fields) {
				continue
			}
			for i, f := range fields {
				what := fmt.Sprintf("%s %s %s", p.id, modelLabel(g), f)
				c.same(what, ds.Data[i], lookup(g, p.dist+"."+f))
				var ci []float64
				if f == "p50" {
					ci = medianCI(g, p.dist)
				}
				c.interval(what+" CI", ds.ErrorBars[i], ci)
			}
		}
	}

	// Radar: each model's figure relative to the run's best (100 = best).
	if ch, ok := need("chart-radar"); ok {
		axes := []struct {
			read func(g map[string]any) *float64
			low  bool
		}{
			{func(g map[string]any) *float64 { return lookup(g, "ttft_ms.p50") }, true},
			{func(g map[string]any) *float64 { return lookup(g, "decode_tps.p50") }, false},
			{func(g map[string]any) *float64 {
				v, isNum := num(g, "output_tokens_per_s")
				if okN, _ := num(g, "ok"); !isNum || okN <= 0 {
					return nil
				}
				return &v
			}, false},
			{func(g map[string]any) *float64 { return lookup(g, "e2e_ms.p95") }, true},
		}
		for _, g := range doc.Run.Models {
			ds := c.labelled(ch, modelLabel(g))
			if ds == nil || len(ds.Data) != len(axes)+1 {
				continue
			}
			for i, ax := range axes {
				var all []float64
				for _, o := range doc.Run.Models {
					if v := ax.read(o); v != nil && *v > 0 {
						all = append(all, *v)
					}
				}
				var want *float64
				if v := ax.read(g); v != nil && *v > 0 && len(all) > 0 {
					var r float64
					if ax.low {
						r = slices.Min(all) / *v * 100
					} else {
						r = *v / slices.Max(all) * 100
					}
					want = &r
				}
				c.same(fmt.Sprintf("radar %s axis %s", modelLabel(g), ch.Labels[i]), ds.Data[i], want)
			}
			var rel *float64
			if req, _ := num(g, "requests"); req > 0 {
				if er, ok := num(g, "error_rate"); ok {
					v := (1 - er) * 100
					rel = &v
				}
			}
			c.same(fmt.Sprintf("radar %s reliability", modelLabel(g)), ds.Data[len(axes)], rel)
		}
	}

	// Distribution: the CDF (in %) and the histogram of E2E latency.
	var drawn []string
	top := 0.0
	for _, m := range dist.Models {
		if m.N > 0 {
			drawn = append(drawn, m.Model)
			for _, p := range m.CDF {
				top = math.Max(top, p[1])
			}
		}
	}
	scale := 100.0
	if top > 1.0001 {
		scale = 1
	}
	cdf, okC := need("chart-cdf")
	hist, okH := need("chart-hist")
	if okC && okH && (len(cdf.Datasets) != len(drawn) || len(hist.Datasets) != len(drawn)) {
		t.Errorf("distribution: %d CDF and %d histogram datasets, %d models with samples", len(cdf.Datasets), len(hist.Datasets), len(drawn))
	}
	for _, m := range dist.Models {
		if m.N == 0 || !okC || !okH {
			continue
		}
		if ds := c.labelled(cdf, report.ModelName(m.Model)); ds != nil {
			if len(ds.Data) != len(m.CDF) {
				t.Errorf("CDF %s: %d points drawn, the API has %d", m.Model, len(ds.Data), len(m.CDF))
			} else {
				for i, p := range m.CDF {
					c.point(fmt.Sprintf("CDF %s point %d", m.Model, i), ds.Data[i], p[0], p[1]*scale)
				}
			}
		}
		if ds := c.labelled(hist, report.ModelName(m.Model)); ds != nil {
			if len(ds.Data) != len(m.Bins) {
				t.Errorf("histogram %s: %d bars drawn, the API has %d bins", m.Model, len(ds.Data), len(m.Bins))
			} else {
				for i, bin := range m.Bins {
					c.point(fmt.Sprintf("histogram %s bin %d", m.Model, i), ds.Data[i], (bin.Lo+bin.Hi)/2, float64(bin.Count))
				}
			}
		}
	}
	if c.checked == 0 {
		t.Error("no chart value was compared")
	}
	t.Logf("compared %d drawn chart values with the API", c.checked)
}
