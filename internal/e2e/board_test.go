package e2e

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/board"
	"flperf/internal/profile"
	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// onMachine stores a run as made on a machine with a GPU of vendor (""
// for none), started ago before now.
func onMachine(vendor, gpu, driver string, ago time.Duration) func(*runner.Result, time.Time) {
	return func(res *runner.Result, _ time.Time) {
		cpu := "E2E CPU " + vendor
		mem := uint64(32 << 30)
		res.Hardware = &telemetry.Hardware{CPU: telemetry.CPU{Model: &cpu}, Arch: "amd64", MemoryTotalBytes: &mem, OS: telemetry.OS{Name: "linux"}, GPUs: []telemetry.GPU{}}
		if vendor != "" {
			res.Hardware.GPUs = []telemetry.GPU{{Vendor: vendor, Name: &gpu, Driver: &driver}}
		}
		res.Started = time.Now().Add(-ago).Truncate(time.Second)
	}
}

// shownCell is what a board cell shows.
type shownCell struct {
	Model   string            `json:"model"`
	Machine string            `json:"machine"`
	Run     string            `json:"run"`
	Best    bool              `json:"best"`
	Values  map[string]string `json:"values"`
	Header  string            `json:"header"`
}

const readBoardCells = `[...document.querySelectorAll('#board-matrix td.board-cell')].map((td) => ({
	model: td.dataset.model, machine: td.dataset.machine, run: td.dataset.run, best: td.classList.contains('best'),
	values: Object.fromEntries([...td.querySelectorAll('[data-metric]')].map((s) => [s.dataset.metric, s.dataset.value])),
	header: td.closest('tr').querySelector('th').textContent,
}))`

// TestLeaderboard: the board page draws the API's matrix (every cell's
// figures exactly, its run, the best model of each machine), a cell's link
// opens its run, and the trend page shows flperf compare's marks between
// consecutive runs.
func TestLeaderboard(t *testing.T) {
	b := newBrowser(t, 1400, 900)
	dbPath := filepath.Join(t.TempDir(), "e2e.db")
	a := startApp(t, dbPath)
	models := []string{"m-<i>big</i>", "m-small"}
	runs := []storedRun{
		{id: "e2e-board-gpu-1", n: 400, chunks: 6, models: models, scenarios: []string{"chat"}, finish: onMachine("nvidia", "RTX E2E", "550.1", 3*time.Hour)},
		{id: "e2e-board-gpu-2", n: 400, chunks: 12, models: models, scenarios: []string{"chat"}, finish: onMachine("nvidia", "RTX E2E", "560.2", 2*time.Hour)},
		{id: "e2e-board-cpu-1", n: 400, chunks: 6, models: models, scenarios: []string{"chat"}, failEvery: []int{0, 10}, finish: onMachine("", "", "", time.Hour)},
	}
	for _, r := range runs {
		r.write(t, dbPath)
	}
	var api struct {
		Matrix board.Matrix `json:"matrix"`
	}
	a.get(t, "/board", &api)
	m := api.Matrix
	if len(m.Cells) != 4 || len(m.Machines) != 2 || m.Classes[0].Class != board.ClassNVIDIA {
		t.Fatalf("API matrix %+v", m)
	}
	b.open(t, a.url+"board", "board")
	b.waitFor(t, 30*time.Second, "the matrix", `document.querySelectorAll('#board-matrix td.board-cell').length > 0`)
	cells := eval[[]shownCell](t, b, readBoardCells)
	if len(cells) != len(m.Cells) {
		t.Fatalf("page shows %d cells, the API has %d", len(cells), len(m.Cells))
	}
	byKey := map[string]board.Cell{}
	for _, c := range m.Cells {
		byKey[c.Model+"\x00"+c.Machine] = c
	}
	bests := 0
	for _, got := range cells {
		want, ok := byKey[got.Model+"\x00"+got.Machine]
		if !ok {
			t.Errorf("page cell %s × %s is not in the API's matrix", got.Model, got.Machine)
			continue
		}
		if got.Run != want.Run || got.Best != want.Best || got.Header != got.Model {
			t.Errorf("cell %s × %s: run %s best %v header %q; the API's run %s best %v", got.Model, got.Machine, got.Run, got.Best, got.Header, want.Run, want.Best)
		}
		if got.Best {
			bests++
		}
		for key, v := range map[string]*float64{"ttft_p50_ms": want.TTFTP50, "decode_p50_tps": want.DecodeP50, "output_tps": want.OutputTPS, "e2e_p95_ms": want.E2EP95, "j_per_token": want.JPerToken} {
			s := got.Values[key]
			if v == nil {
				if s != "" {
					t.Errorf("cell %s × %s %s shows %q, the API none", got.Model, got.Machine, key, s)
				}
				continue
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f != *v {
				t.Errorf("cell %s × %s %s shows %q, the API %v", got.Model, got.Machine, key, s, *v)
			}
		}
	}
	if bests != 2 {
		t.Errorf("%d best cells, want one per machine", bests)
	}
	if eval[bool](t, b, `!!document.querySelector('#board-matrix i')`) {
		t.Error("a model name became markup")
	}
	b.noErrors(t, "board")

	// A cell's run link opens the run.
	gpu := m.Classes[0].Machines[0]
	sel := `#board-matrix td.board-cell[data-machine="` + gpu + `"][data-model="m-small"] a.board-run`
	b.click(t, sel)
	b.waitReady(t, "results")
	if p := eval[string](t, b, `location.pathname`); p != "/runs/e2e-board-gpu-2" {
		t.Errorf("the run link opened %s", p)
	}

	// The trend of m-small on the GPU machine: two runs, the second marked.
	var tr struct {
		Points []struct {
			Run   string `json:"run"`
			Marks []struct {
				Metric      string `json:"metric"`
				Significant bool   `json:"significant"`
			} `json:"marks"`
		} `json:"points"`
	}
	q := url.Values{"model": {"m-small"}, "machine": {gpu}, "suite": {m.Config.Suite}, "scenarios": {m.Config.Scenarios}, "load": {m.Config.Load}, "profile": {""}}
	a.get(t, "/board/trend?"+q.Encode(), &tr)
	if len(tr.Points) != 2 || len(tr.Points[1].Marks) == 0 {
		t.Fatalf("API trend %+v", tr)
	}
	b.open(t, a.url+"board/trend?"+q.Encode(), "trend")
	type shownMark struct {
		Metric      string `json:"metric"`
		Significant string `json:"significant"`
	}
	shown := eval[[]shownMark](t, b, `[...document.querySelectorAll('#trend-table tbody tr:nth-child(2) li.mark')].map((li) => ({metric: li.dataset.metric, significant: li.dataset.significant}))`)
	if len(shown) != len(tr.Points[1].Marks) {
		t.Fatalf("trend shows %d marks, the API %d", len(shown), len(tr.Points[1].Marks))
	}
	anySig := false
	for i, mk := range tr.Points[1].Marks {
		if shown[i].Metric != mk.Metric || shown[i].Significant != strconv.FormatBool(mk.Significant) {
			t.Errorf("mark %d: page %+v, API %+v", i, shown[i], mk)
		}
		anySig = anySig || mk.Significant
	}
	if !anySig {
		t.Error("twice the stream events gave no significant change")
	}
	if got := eval[string](t, b, `document.querySelector('#trend-table tbody tr:nth-child(2)').textContent`); !strings.Contains(got, "GPU driver 550.1 → 560.2") {
		t.Errorf("the trend does not show the driver change: %q", got)
	}
	b.noErrors(t, "trend")
}

// TestProfiledRunOnBoardAndResults: a profiled run's score is drawn on its
// Results page and in its profile's board exactly as the API gives it.
func TestProfiledRunOnBoardAndResults(t *testing.T) {
	b := newBrowser(t, 1400, 900)
	dbPath := filepath.Join(t.TempDir(), "e2e.db")
	a := startApp(t, dbPath)
	score, v := 187.25, 31.5
	norm := 952.38
	run := storedRun{id: "e2e-profiled", n: 200, chunks: 6, models: []string{"m"}, scenarios: []string{profile.ScenarioChat, profile.ScenarioDecode},
		finish: func(res *runner.Result, t0 time.Time) {
			onMachine("amd", "Radeon E2E", "6.1", time.Hour)(res, t0)
			res.Config.Profile = &profile.Result{ID: "standard/1", Name: "standard", Version: 1, SustainS: 300, Reference: profile.ReferenceV1, Power: "battery",
				Models: []profile.ModelResult{{Model: "m", Score: &score, Complete: false, Missing: []string{profile.TTFT32k},
					Values: []profile.Value{{Key: profile.ChatTTFT, Value: &v, Normalised: &norm}, {Key: profile.TTFT32k, Note: "skipped: the context window"}}}}}
		}}
	run.write(t, dbPath)

	b.open(t, a.url+"runs/"+run.id, "results")
	b.waitFor(t, 30*time.Second, "the profile", `!!document.querySelector('#profile [data-score]')`)
	if got := eval[string](t, b, `document.querySelector('#profile [data-score]').dataset.score`); got != "187.25" {
		t.Errorf("Results page score %q, want 187.25", got)
	}
	if got := eval[string](t, b, `document.querySelector('#profile [data-figure="chat_ttft_p50_ms"]').dataset.value`); got != "31.5" {
		t.Errorf("chat TTFT %q, want 31.5", got)
	}
	if !strings.Contains(eval[string](t, b, `document.querySelector('#profile').textContent`), "partial") {
		t.Error("a partial score is not marked partial")
	}
	b.noErrors(t, "results")

	var api struct {
		Matrix board.Matrix `json:"matrix"`
	}
	a.get(t, "/board?"+url.Values{"suite": {"e2e"}, "scenarios": {"chat,decode"}, "load": {"profile standard/1"}, "profile": {"standard/1"}}.Encode(), &api)
	if len(api.Matrix.Cells) != 1 || api.Matrix.Cells[0].Score == nil || *api.Matrix.Cells[0].Score != score || !api.Matrix.Scored {
		t.Fatalf("API matrix %+v", api.Matrix)
	}
	b.open(t, a.url+"board?"+url.Values{"suite": {"e2e"}, "scenarios": {"chat,decode"}, "load": {"profile standard/1"}, "profile": {"standard/1"}}.Encode(), "board")
	got := eval[string](t, b, `document.querySelector('#board-matrix td.board-cell [data-metric="score"]').dataset.value`)
	if got != "187.25" {
		t.Errorf("board score %q, want 187.25", got)
	}
	if !strings.Contains(eval[string](t, b, `document.querySelector('#board-matrix td.board-cell').textContent`), "(partial)") {
		t.Error("the board does not mark the partial score")
	}
	b.noErrors(t, "board")
}

// TestProfileFromTheBenchmarksPage: the Benchmarks page starts a profiled
// run with the engine and models chosen (a bad profile name is refused and
// its field marked); the run carries the profile, and its repeat command
// is flperf run --profile.
func TestProfileFromTheBenchmarksPage(t *testing.T) {
	b := newBrowser(t, 1280, 800)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	b.open(t, a.url+"benchmarks", "benchmarks")
	b.setField(t, "#f-engine", "sim")
	b.waitFor(t, 20*time.Second, "model sim-fast listed", `document.querySelector('input[name=model][value="sim-fast"]')`)
	for _, m := range []string{"sim-fast", "sim-slow"} {
		sel := sprintf(`input[name=model][value=%s]`, js(m))
		if eval[bool](t, b, sprintf(`document.querySelector(%s).checked`, js(sel))) != (m == "sim-fast") {
			b.click(t, sel)
		}
	}
	b.setField(t, "#f-profile", "quick")
	b.click(t, "#profile-button")
	b.waitFor(t, 10*time.Second, "the refusal", `!!document.querySelector('#form-out .error')`)
	if !eval[bool](t, b, `document.querySelector('#f-profile').classList.contains('invalid')`) {
		t.Error("the profile field is not marked")
	}
	b.setField(t, "#f-profile", "standard")
	b.click(t, "#profile-button")
	b.waitFor(t, 30*time.Second, "the live panel", `document.querySelector('.live-panel') || (document.querySelector('#form-out .error'))`)
	if msg := eval[string](t, b, `(document.querySelector('#form-out .error') || {}).textContent || ''`); msg != "" {
		t.Fatalf("the profile was not started: %s", msg)
	}
	id := eval[string](t, b, `document.querySelector('.live-panel').dataset.run`)
	// Five minutes of sustained generation is more than a test waits for:
	// cancel it at once (most often while its long prompts are still
	// being resolved: the stored run names its repeat command all the
	// same).
	res, err := http.Post(a.url+"api/v1/runs/"+id+"/cancel?now=1", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	a.waitStatus(t, id, time.Minute, "canceled", "interrupted")
	var doc struct {
		Run struct {
			Config struct {
				Command []string        `json:"command"`
				Models  []string        `json:"models"`
				Profile *profile.Result `json:"profile"`
			} `json:"config"`
		} `json:"run"`
	}
	a.get(t, "/runs/"+id, &doc)
	c := doc.Run.Config
	if c.Profile == nil || c.Profile.ID != "standard/2" || c.Profile.Reference.Name != "reference-laptop/2" || len(c.Models) != 1 || c.Models[0] != "sim-fast" {
		t.Fatalf("run config %+v", c)
	}
	if got := strings.Join(c.Command, " "); !strings.HasPrefix(got, "flperf run --profile standard/2 --engine sim --model sim-fast --seed ") {
		t.Errorf("repeat command %q", got)
	}
	b.noErrors(t, "benchmarks")
}
