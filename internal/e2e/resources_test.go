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

	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// sampling gives a stored run a hardware description and a resource
// series: 40 samples 250 ms apart over its stages (each stage a 5 s slice
// of the 10 s series, in scenario order), one NVIDIA GPU whose board power
// is power + 2·i W, and no engine CPU figure at all (null throughout), nor
// CPU package power.
type sampling struct {
	power float64
}

func fptr(x float64) *float64 { return &x }
func uptr(x uint64) *uint64   { return &x }
func iptr(x int) *int         { return &x }
func sptr(s string) *string   { return &s }

// e2eHardware is the machine the sampled runs claim: board and SoC unknown.
func e2eHardware() *telemetry.Hardware {
	return &telemetry.Hardware{
		CPU:  telemetry.CPU{Vendor: sptr("AuthenticAMD"), Model: sptr("AMD Ryzen 9 7950X 16-Core Processor"), PhysicalCores: iptr(16), LogicalCores: iptr(32), MHz: fptr(4500)},
		Arch: "amd64", MemoryTotalBytes: uptr(64 << 30),
		GPUs:  []telemetry.GPU{{Index: 0, Vendor: "nvidia", Name: sptr("NVIDIA GeForce RTX 4090"), MemoryTotalMiB: fptr(24564), Driver: sptr("550.54.14"), BusID: sptr("00000000:01:00.0"), Source: "nvidia-smi"}},
		NPUs:  []string{},
		OS:    telemetry.OS{Name: "linux", Platform: sptr("ubuntu"), Version: sptr("24.04"), Kernel: sptr("6.8.0-45-generic")},
		Power: telemetry.Power{Source: telemetry.PowerAC, OnBattery: new(false)},
	}
}

// apply sets res's Hardware, Series and Resources (as the runner computes
// them: telemetry.Summarize per stage, per model, whole run).
func (sm *sampling) apply(res *runner.Result, s storedRun, t0 time.Time, tokens map[[2]string]int) {
	series := &telemetry.Series{Start: t0, IntervalMS: 250, Notes: []string{"RAPL: /sys/class/powercap is not readable: no CPU package power"},
		Cost: telemetry.Cost{Ticks: 40, PctOfOneCore: 0.05, WindowMs: 10_000}}
	for i := range 40 {
		series.Samples = append(series.Samples, telemetry.Sample{
			T: int64(250 * (i + 1)), CPUPct: fptr(20 + float64(i)), MemUsedBytes: uptr(8<<30 + uint64(i)<<20), MemTotalBytes: uptr(64 << 30),
			ProcRSSBytes: uptr(1536<<20 + uint64(i)<<20),
			GPUs: []telemetry.GPUSample{{Index: 0, Vendor: "nvidia", UtilPct: fptr(30 + float64(i)), MemUsedMiB: fptr(4096 + 10*float64(i)),
				MemTotalMiB: fptr(24564), PowerW: fptr(sm.power + 2*float64(i)), TempC: fptr(60)}},
		})
	}
	window := func(model, scenario string, from, to time.Time, n int) runner.Window {
		sum := telemetry.Summarize(series, from, to)
		return runner.Window{Model: model, Scenario: scenario, OutputTokens: n, Summary: sum,
			JoulesPerToken: sum.JoulesPerToken(n), TokensPerJoule: sum.TokensPerJoule(n)}
	}
	rs := &runner.Resources{IntervalMS: 250, Samples: 40, Cost: series.Cost, Notes: series.Notes, Stages: []runner.Window{}, Models: []runner.Window{}}
	stage := 10 * time.Second / time.Duration(len(s.models)*len(s.scenarios))
	at, total := t0, 0
	for _, m := range s.models {
		from, n := at, 0
		for _, sc := range s.scenarios {
			k := tokens[[2]string{m, sc}]
			rs.Stages = append(rs.Stages, window(m, sc, at, at.Add(stage), k))
			at, n = at.Add(stage), n+k
		}
		rs.Models = append(rs.Models, window(m, "", from, at, n))
		total += n
	}
	rs.Run = window("", "", t0, at, total)
	res.Hardware, res.Series, res.Resources = e2eHardware(), series, rs
}

// resDoc is the part of GET /runs/{id} the resource checks read.
type resDoc struct {
	Run struct {
		Resources struct {
			Stages []map[string]any `json:"stages"`
			Models []map[string]any `json:"models"`
			Run    map[string]any   `json:"run"`
		} `json:"resources"`
		Groups []map[string]any `json:"groups"`
		Models []map[string]any `json:"models"`
	} `json:"run"`
}

// resCell is one figure of a resources table as shown.
type resCell struct {
	Kind     string `json:"kind"`
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Path     string `json:"path"`
	Text     string `json:"text"`
}

// readResCells reads every span[data-res] of the rows of table sel.
func readResCells(sel string) string {
	return sprintf(`[...document.querySelectorAll(%s)].flatMap((tr) => [...tr.querySelectorAll('[data-res]')].map((s) => ({
		kind: tr.dataset.kind || (tr.classList.contains('pooled') ? 'model' : 'stage'), model: tr.dataset.model, scenario: tr.dataset.scenario,
		path: s.dataset.res, text: s.textContent })))`, js(sel+" tbody tr"))
}

// lookupAny reads a dotted path of a JSON value, array indexes included
// (nil: null or absent).
func lookupAny(v any, path string) *float64 {
	cur := v
	for p := range strings.SplitSeq(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	f, ok := cur.(float64)
	if !ok {
		return nil
	}
	return &f
}

// expectShown formats v the way the resources table does for path: the
// value (scaled) and its unit; MiB below 1 GiB, else GiB, for memory.
func expectShown(path string, v float64) (float64, string) {
	switch {
	case strings.HasSuffix(path, "_bytes.peak") || strings.HasSuffix(path, "_bytes.mean"):
		if math.Abs(v) < 1<<30 {
			return v / (1 << 20), "MiB"
		}
		return v / (1 << 30), "GiB"
	case strings.Contains(path, "mem_used_mib"):
		b := v * (1 << 20)
		if math.Abs(b) < 1<<30 {
			return v, "MiB"
		}
		return v / 1024, "GiB"
	case strings.Contains(path, "_pct"):
		return v, "%"
	case strings.Contains(path, "power_w"):
		return v, "W"
	case path == "energy_j":
		return v, "J"
	case path == "joules_per_token":
		return v, "J/token"
	case path == "tokens_per_joule":
		return v, "tokens/J"
	}
	return v, ""
}

// checkResCells compares shown resource figures with the API's windows;
// it returns how many figures were checked and how many were null.
func checkResCells(t *testing.T, where string, cells []resCell, doc resDoc) (checked, nulls int) {
	t.Helper()
	find := func(c resCell) map[string]any {
		if c.Kind == "run" {
			return doc.Run.Resources.Run
		}
		list := doc.Run.Resources.Stages
		if c.Kind == "model" {
			list = doc.Run.Resources.Models
		}
		for _, w := range list {
			if w["model"] == c.Model && (c.Kind == "model" || w["scenario"] == c.Scenario) {
				return w
			}
		}
		return nil
	}
	for _, c := range cells {
		w := find(c)
		if w == nil {
			t.Errorf("%s: a shown row %s %q × %q has no API window", where, c.Kind, c.Model, c.Scenario)
			continue
		}
		what := fmt.Sprintf("%s: %s × %q %s", where, c.Model, c.Scenario, c.Path)
		v := lookupAny(w, c.Path)
		if c.Path == "n" {
			if v == nil || c.Text != strconv.Itoa(int(*v)) {
				t.Errorf("%s: shown %q, API %v", what, c.Text, v)
			}
			checked++
			continue
		}
		if v == nil {
			nulls++
			checkShown(t, what, c.Text, nil, "")
			checked++
			continue
		}
		x, unit := expectShown(c.Path, *v)
		checkShown(t, what, c.Text, &x, unit)
		checked++
	}
	return checked, nulls
}

// stageChart is what the resource checks read of a resources chart.
type stageChart struct {
	Found    bool     `json:"found"`
	Lines    int      `json:"lines"`
	Attr     string   `json:"attr"`
	Labels   []string `json:"labels"`
	XType    string   `json:"xType"`
	YType    string   `json:"yType"`
	YMax     float64  `json:"yMax"`
	Y1       string   `json:"y1"`
	MaxX     float64  `json:"maxX"`
	NonNullY int      `json:"nonNullY"`
}

const readStageChart = `((id) => {
	const c = document.getElementById(id);
	const ch = c && window.Chart && Chart.getChart(c);
	if (!ch) return { found: false };
	const pts = ch.data.datasets.flatMap((d) => d.data);
	return { found: true, lines: ch.$flperfStageLines, attr: c.dataset.stageLines || '', labels: ch.data.datasets.map((d) => d.label),
		xType: ch.scales.x.type, yType: ch.scales.y.type, yMax: ch.scales.y.max, y1: ch.scales.y1 ? ch.scales.y1.type : '',
		maxX: Math.max(...pts.map((p) => p.x)), nonNullY: pts.filter((p) => p.y != null).length };
})`

// TestResources checks the resources of a sampled run on the Results
// page (charts on numeric axes with one boundary line per stage, the
// per-stage table and the per-scenario columns against the API, "–" for
// the figure the machine never gave, the hardware block, the engine's own
// figures), "not sampled" for a run without samples, and the energy rows
// of a comparison of two sampled runs; with screenshots.
func TestResources(t *testing.T) {
	db := filepath.Join(t.TempDir(), "res.db")
	models, scs := []string{"sim-fast"}, []string{"chat", "code"}
	storedRun{id: "res-base", n: 200, chunks: 10, models: models, scenarios: scs, engine: true, sampling: &sampling{power: 100}}.write(t, db)
	storedRun{id: "res-cand", n: 200, chunks: 10, models: models, scenarios: scs, engine: true, sampling: &sampling{power: 80}}.write(t, db)
	storedRun{id: "res-dark", n: 40, chunks: 4, models: models, scenarios: scs}.write(t, db)
	a := startApp(t, db)
	b := newBrowser(t, 1280, 800)
	shots := artifactsDir(t)

	var doc resDoc
	a.get(t, "/runs/res-base", &doc)
	if len(doc.Run.Resources.Stages) != 2 || lookupAny(doc.Run.Resources.Stages[0], "joules_per_token") == nil {
		t.Fatalf("the stored run has no usable resources: %+v", doc.Run.Resources)
	}
	var view struct {
		Sampled bool `json:"sampled"`
		Points  []struct {
			TMS float64 `json:"t_ms"`
		} `json:"points"`
	}
	a.get(t, "/runs/res-base/resources", &view)
	if !view.Sampled || len(view.Points) != 40 {
		t.Fatalf("GET /resources: sampled %v, %d points, want 40", view.Sampled, len(view.Points))
	}

	b.open(t, a.url+"runs/res-base", "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	checkCharts(t, b, 11)

	util := eval[stageChart](t, b, readStageChart+`('chart-resources')`)
	if !util.Found || util.Lines != 2 || util.Attr != "2" || util.XType != "linear" || util.YType != "linear" || util.Y1 != "linear" || util.YMax != 100 {
		t.Errorf("utilisation chart: %+v, want 2 stage lines on linear x, y (0–100) and y1", util)
	}
	if got, want := util.MaxX, view.Points[len(view.Points)-1].TMS/1000; got != want {
		t.Errorf("utilisation chart's time axis ends at %v s, the API's last point at %v s", got, want)
	}
	joined := strings.Join(util.Labels, " | ")
	for _, want := range []string{"CPU (all cores) %", "GPU util %", "GPU power W"} {
		if !strings.Contains(joined, want) {
			t.Errorf("utilisation chart datasets %q lack %q", joined, want)
		}
	}
	for _, absent := range []string{"engine CPU", "package power"} {
		if strings.Contains(joined, absent) {
			t.Errorf("utilisation chart plots %q, a figure the series never had: %q", absent, joined)
		}
	}
	if util.NonNullY != 40*len(util.Labels) {
		t.Errorf("utilisation chart: %d non-null points over %d datasets, want 40 each", util.NonNullY, len(util.Labels))
	}
	mem := eval[stageChart](t, b, readStageChart+`('chart-memory')`)
	if !mem.Found || mem.Lines != 2 || mem.XType != "linear" || mem.YType != "linear" || len(mem.Labels) != 3 {
		t.Errorf("memory chart: %+v, want 2 stage lines and 3 datasets (memory, engine RSS, GPU memory)", mem)
	}

	cells := eval[[]resCell](t, b, readResCells("#resources-table"))
	checked, nulls := checkResCells(t, "resources table", cells, doc)
	if checked < 30 || nulls < 4 {
		t.Errorf("resources table: %d figures checked, %d of them null; want ≥ 30 and the engine CPU's ≥ 4", checked, nulls)
	}
	for _, c := range cells {
		if strings.HasPrefix(c.Path, "proc_cpu_pct") && c.Text != "–" {
			t.Errorf("engine CPU (never sampled) shown as %q", c.Text)
		}
	}
	detail := eval[[]resCell](t, b, readResCells("#detail-table"))
	// 2 stage rows and 1 model row, each: CPU mean and peak, GPU mean and
	// peak, J/token.
	if n, _ := checkResCells(t, "per-scenario table", detail, doc); n != 15 {
		t.Errorf("per-scenario table: %d resource figures, want 15", n)
	}
	if cost := eval[string](t, b, `document.querySelector('#sampler-cost').textContent`); !strings.Contains(cost, "the sampler used 0.05\u00a0% of one core") || !strings.Contains(cost, "250\u00a0ms") {
		t.Errorf("sampler cost line %q", cost)
	}
	if notes := eval[string](t, b, `(document.querySelector('#resource-notes') || {}).textContent || ''`); !strings.Contains(notes, "RAPL") {
		t.Errorf("sampler notes %q", notes)
	}
	hw := eval[string](t, b, `document.querySelector('#hardware').innerText`)
	for _, want := range []string{"AMD Ryzen 9 7950X", "16 cores / 32 threads", "amd64", "64.0\u00a0GiB", "NVIDIA GeForce RTX 4090", "24.0\u00a0GiB", "driver 550.54.14", "ubuntu 24.04", "6.8.0-45-generic", "mains (AC)"} {
		if !strings.Contains(hw, want) {
			t.Errorf("hardware block lacks %q:\n%s", want, hw)
		}
	}
	if board := eval[string](t, b, `(() => { const dt = [...document.querySelectorAll('#hardware dt')].find((d) => d.textContent === 'Board'); return dt ? dt.nextElementSibling.textContent : 'none'; })()`); board != "–" {
		t.Errorf("unknown board shown as %q, want –", board)
	}
	// The engine's own figures beside the client's.
	rows := eval[[]tableRow](t, b, readTable)
	checkedEngine := 0
	for _, g := range append(append([]map[string]any{}, doc.Run.Groups...), doc.Run.Models...) {
		for _, r := range rows {
			if r.Model != g["model"] || r.Scenario != g["scenario"] {
				continue
			}
			for _, m := range []struct{ path, unit string }{{"engine.ttft_ms.p50", "ms"}, {"engine.overhead_ms.p50", "ms"}, {"engine.decode_tps.p50", "tok/s"}} {
				v := lookupAny(g, m.path)
				if v == nil {
					t.Errorf("API group %v × %q has no %s", g["model"], g["scenario"], m.path)
					continue
				}
				checkShown(t, fmt.Sprintf("%v × %q %s", g["model"], g["scenario"], m.path), r.Cells[m.path], v, m.unit)
				checkedEngine++
			}
		}
	}
	if checkedEngine != 9 {
		t.Errorf("%d engine figures checked, want 9 (3 rows × 3)", checkedEngine)
	}
	b.screenshot(t, shots, "08-results-resources", true)
	b.do(t, 10*time.Second, chromedp.ScrollIntoView(chromedp.CSS("#resources")))
	b.screenshot(t, shots, "08-results-resources-view", false)
	// The right-hand columns of both tables (they scroll in their box).
	eval[bool](t, b, `(() => { for (const w of document.querySelectorAll('.table-wrap')) w.scrollLeft = w.scrollWidth; return true; })()`)
	b.do(t, 10*time.Second, chromedp.ScrollIntoView(chromedp.CSS("#detail-table")))
	b.screenshot(t, shots, "08-results-detail-right", false)
	b.do(t, 10*time.Second, chromedp.ScrollIntoView(chromedp.CSS("#resources-table")))
	b.screenshot(t, shots, "08-results-resources-right", false)
	b.noErrors(t, "results (resources)")

	// A narrow window: the charts and tables stay inside the page.
	b.do(t, 10*time.Second, chromedp.EmulateViewport(420, 900))
	b.open(t, a.url+"runs/res-base", "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	if w := eval[[]int](t, b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("results with resources at 420 px: the page is %d px wide", w[0])
	}
	b.do(t, 10*time.Second, chromedp.ScrollIntoView(chromedp.CSS("#resources")))
	b.screenshot(t, shots, "08-results-resources-420px", false)
	b.do(t, 10*time.Second, chromedp.EmulateViewport(1280, 800))
	b.noErrors(t, "results (resources, 420 px)")

	// A run without samples says so, with no chart.
	b.open(t, a.url+"runs/res-dark", "results")
	b.waitFor(t, 30*time.Second, "results rendered", `typeof window.__flperfRendered === 'number'`)
	if !eval[bool](t, b, `!!document.querySelector('#resources-not-sampled') && !document.querySelector('#chart-resources') && !document.querySelector('#resources-table')`) {
		t.Error("a run without samples: no 'not sampled' text, or a resources chart or table")
	}
	if n := eval[int](t, b, `document.querySelectorAll('#detail-table td.res').length`); n != 0 {
		t.Errorf("a run without samples has %d resource cells in the per-scenario table", n)
	}
	b.noErrors(t, "results (not sampled)")

	// Settings shows this machine's hardware with the same block.
	b.open(t, a.url+"settings", "settings")
	if !eval[bool](t, b, `!!document.querySelector('#system #hardware dl.kv')`) {
		t.Error("Settings has no hardware block")
	}
	b.noErrors(t, "settings")

	// The comparison of the two sampled runs has the energy rows.
	var cmp struct {
		Energy []struct {
			Model     string   `json:"model"`
			Scenario  string   `json:"scenario"`
			Pooled    bool     `json:"pooled"`
			Base      *float64 `json:"base"`
			Candidate *float64 `json:"candidate"`
		} `json:"energy"`
	}
	a.get(t, "/compare?base=res-base&candidate=res-cand", &cmp)
	if len(cmp.Energy) != 3 {
		t.Fatalf("API comparison: %d energy rows, want 3 (2 stages and the pooled row)", len(cmp.Energy))
	}
	b.open(t, a.url+"compare?"+url.Values{"base": {"res-base"}, "candidate": {"res-cand"}}.Encode(), "history")
	b.waitFor(t, 30*time.Second, "the energy table", `document.querySelector('#energy-table')`)
	shown := eval[[][]string](t, b, `[...document.querySelectorAll('#energy-table tbody tr')].map((tr) => [tr.dataset.scenario, tr.querySelector('[data-energy=base]').textContent, tr.querySelector('[data-energy=candidate]').textContent, tr.querySelector('[data-energy=delta]').textContent])`)
	if len(shown) != 3 {
		t.Fatalf("energy table rows %q, want 3", shown)
	}
	for i, e := range cmp.Energy {
		if shown[i][0] != e.Scenario || shown[i][1] != sig4(*e.Base)+"\u00a0J/token" || shown[i][2] != sig4(*e.Candidate)+"\u00a0J/token" {
			t.Errorf("energy row %d shown %q, API %s %v → %v", i, shown[i], e.Scenario, *e.Base, *e.Candidate)
		}
		if !strings.HasPrefix(shown[i][3], "-") || strings.Contains(shown[i][3], "~") {
			t.Errorf("energy row %d change %q: the candidate draws less power, want a negative change, never ~", i, shown[i][3])
		}
	}
	b.do(t, 10*time.Second, chromedp.ScrollIntoView(chromedp.CSS("#energy-table")))
	b.screenshot(t, shots, "08-compare-energy", false)
	b.noErrors(t, "compare (energy)")
}

// sig4 is format.js's sig4: four significant digits, thousands commas.
func sig4(x float64) string {
	if x == 0 {
		return "0"
	}
	d := max(0, 3-int(math.Floor(math.Log10(math.Abs(x)))))
	s := strconv.FormatFloat(x, 'f', d, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	for i := len(intPart) - 3; i > 0; i -= 3 {
		intPart = intPart[:i] + "," + intPart[i:]
	}
	if neg {
		intPart = "-" + intPart
	}
	if frac != "" {
		return intPart + "." + frac
	}
	return intPart
}
