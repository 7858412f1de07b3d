package e2e

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"flperf/internal/engineseries"
	"flperf/internal/runner"
)

// queueSeries gives a stored run the engine series of a vLLM: 60 samples
// 500 ms apart over its two stages (the first half, then the second),
// the queue growing in the second stage, and every 7th read failed (all
// its figures null).
func queueSeries(res *runner.Result, t0 time.Time) {
	es := &engineseries.Series{Start: t0, IntervalMS: 500, Engine: "vllm",
		Sources: map[string]string{"running": "vllm:num_requests_running", "waiting": "vllm:num_requests_waiting", "kv_cache_usage": "vllm:kv_cache_usage_perc"},
		Stages:  []engineseries.Stage{{Model: "sim-fast", Scenario: "chat", FromMS: 0, ToMS: 15_000}, {Model: "sim-fast", Scenario: "code", FromMS: 15_000, ToMS: 30_000}},
		Notes:   []string{"reading /metrics failed 8 times (first at 3.0 s: HTTP 500): its figures are null in those samples"}}
	for i := range 60 {
		s := engineseries.Sample{TMS: float64(500 * i), TookMS: 1.5}
		if i%7 == 6 {
			s.Failed = []string{"/metrics"}
		} else {
			run, wait := float64(min(i/4, 4)), float64(max(0, i-30)/3)
			kv := run / 4
			s.Running, s.Waiting, s.KVCacheUsage = &run, &wait, &kv
		}
		es.Samples = append(es.Samples, s)
	}
	res.EngineSeries = es
}

// engineChart is what the check reads of the engine-series chart.
type engineChart struct {
	Found    bool   `json:"found"`
	Lines    int    `json:"lines"`
	XType    string `json:"xType"`
	YType    string `json:"yType"`
	Y1       string `json:"y1"`
	Datasets []struct {
		Label string  `json:"label"`
		Axis  string  `json:"axis"`
		Data  [][]any `json:"data"` // [x, y|null]
	} `json:"datasets"`
}

// TestEngineSeriesChart checks the engine's queue and cache over time on
// the Results page: one chart on numeric axes with a line per stage start,
// a dataset per figure the engine gave (running, waiting, KV %; none for
// the figures it never gave), every point equal to the API's (x in s, KV
// in %), a failed read drawn as a gap (null), never a 0; the notes and
// sources shown; and a run without an engine series says so with no chart.
func TestEngineSeriesChart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "queue.db")
	scs := []string{"chat", "code"}
	storedRun{id: "queue-run", n: 80, chunks: 4, models: []string{"sim-fast"}, scenarios: scs, finish: queueSeries}.write(t, db)
	storedRun{id: "quiet-run", n: 20, chunks: 4, models: []string{"sim-fast"}, scenarios: scs}.write(t, db)
	a := startApp(t, db)
	b := newBrowser(t, 1280, 800)
	shots := artifactsDir(t)

	var view struct {
		Sampled bool `json:"sampled"`
		Points  []struct {
			TMS     float64  `json:"t_ms"`
			Running *float64 `json:"running"`
			Waiting *float64 `json:"waiting"`
			KV      *float64 `json:"kv_cache_usage"`
		} `json:"points"`
	}
	a.get(t, "/runs/queue-run/engine-series", &view)
	if !view.Sampled || len(view.Points) != 60 {
		t.Fatalf("GET /engine-series: sampled %v, %d points, want 60", view.Sampled, len(view.Points))
	}

	b.open(t, a.url+"runs/queue-run", "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	ch := eval[engineChart](t, b, `(() => {
		const c = document.getElementById('chart-engine-series');
		const ch = c && window.Chart && Chart.getChart(c);
		if (!ch) return { found: false };
		return { found: true, lines: ch.$flperfStageLines, xType: ch.scales.x.type, yType: ch.scales.y.type, y1: ch.scales.y1 ? ch.scales.y1.type : '',
			datasets: ch.data.datasets.map((d) => ({ label: d.label, axis: d.yAxisID, data: d.data.map((p) => [p.x, p.y]) })) };
	})()`)
	if !ch.Found || ch.Lines != 2 || ch.XType != "linear" || ch.YType != "linear" || ch.Y1 != "linear" {
		t.Fatalf("engine-series chart: found %v, %d stage lines, axes %q %q %q; want 2 lines on linear x, y and y1", ch.Found, ch.Lines, ch.XType, ch.YType, ch.Y1)
	}
	var labels []string
	for _, d := range ch.Datasets {
		labels = append(labels, d.Label)
	}
	if got := strings.Join(labels, " | "); got != "requests running | requests waiting | KV cache %" {
		t.Errorf("datasets %q: want running, waiting and KV cache only (no slots, models or VRAM: never given)", got)
	}
	checked, gaps := 0, 0
	for _, d := range ch.Datasets {
		if len(d.Data) != len(view.Points) {
			t.Fatalf("%s: %d points drawn, the API has %d", d.Label, len(d.Data), len(view.Points))
		}
		for i, p := range view.Points {
			want, scale := p.Running, 1.0
			switch d.Label {
			case "requests waiting":
				want = p.Waiting
			case "KV cache %":
				want, scale = p.KV, 100
			}
			x, _ := d.Data[i][0].(float64)
			if x != p.TMS/1000 {
				t.Errorf("%s point %d at x %v s, the API's at %v ms", d.Label, i, d.Data[i][0], p.TMS)
			}
			y, isNum := d.Data[i][1].(float64)
			switch {
			case want == nil && d.Data[i][1] != nil:
				t.Errorf("%s point %d: drawn %v where the API has null (a failed read must be a gap)", d.Label, i, d.Data[i][1])
			case want == nil:
				gaps++
			case !isNum || math.Abs(y-*want*scale) > 1e-9:
				t.Errorf("%s point %d: drawn %v, the API's %v", d.Label, i, d.Data[i][1], *want*scale)
			}
			checked++
		}
	}
	if checked != 180 || gaps != 3*8 {
		t.Errorf("%d values checked, %d gaps; want 180 and 24 (8 failed reads × 3 figures)", checked, gaps)
	}
	if notes := eval[string](t, b, `(document.querySelector('#engine-series-notes') || {}).textContent || ''`); !strings.Contains(notes, "reading /metrics failed 8 times") {
		t.Errorf("engine-series notes %q", notes)
	}
	if src := eval[string](t, b, `(document.querySelector('#engine-series-sources') || {}).textContent || ''`); !strings.Contains(src, "vllm:num_requests_waiting") || !strings.Contains(src, "500\u00a0ms") {
		t.Errorf("engine-series sources line %q", src)
	}
	b.do(t, 10*time.Second, chromedp.ScrollIntoView(chromedp.CSS("#engine-series")))
	b.screenshot(t, shots, "09-results-engine-series", false)
	b.noErrors(t, "results (engine series)")

	b.open(t, a.url+"runs/quiet-run", "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	if !eval[bool](t, b, `!!document.querySelector('#engine-series-none') && !document.querySelector('#chart-engine-series')`) {
		t.Error("a run without an engine series: no 'not sampled' text, or a chart")
	}
	b.noErrors(t, "results (no engine series)")
}
