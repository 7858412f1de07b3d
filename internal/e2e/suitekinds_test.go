package e2e

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"flperf/internal/suite"
)

// TestSuiteEditorKinds drives the suite editor's kinds of scenario in
// headless Chromium: an exact-input-length scenario and a conversation of
// fixed turns made with their own controls (the prompt hidden, turns
// added, reordered and removed), a generated conversation; a bad value of
// each shown beside its field with the command line's message; the suite
// saved, run on the simulated engine from the Benchmarks page, and the
// run's input-length figures and per-turn table shown with the API's
// numbers.
func TestSuiteEditorKinds(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	dbPath := filepath.Join(t.TempDir(), "e2e.db")
	a := startApp(t, dbPath)
	shots := artifactsDir(t)

	b.open(t, a.url+"suites?new=1", "suites")
	b.waitValidated(t)
	b.setField(t, `input[data-path="name"]`, "kinds")
	// Scenario 1: an exact input length.
	b.setField(t, `input[data-path="scenarios[0].name"]`, "Long input")
	b.setField(t, `select[name="scenarios[0]:kind"]`, "input")
	b.waitFor(t, 10*time.Second, "the input tokens field", `document.querySelector('input[data-path="scenarios[0].input_tokens"]') && !document.querySelector('textarea[data-path="scenarios[0].prompt"]')`)
	b.setField(t, `input[data-path="scenarios[0].input_tokens"]`, "512:abc")
	b.waitValidated(t)
	_, perr := suite.Parse("f.json", []byte(`{"name":"kinds","scenarios":[{"name":"Long input","max_tokens":100,"input_tokens":"512:abc"}]}`))
	if perr == nil {
		t.Fatal("the command line accepts input_tokens 512:abc")
	}
	got := errorsBeside(t, b, "scenarios[0].input_tokens")
	if got == "" || !strings.Contains(perr.Error(), "input_tokens: "+got) {
		t.Fatalf("beside input_tokens: %q; the command line says %v", got, perr)
	}
	b.setField(t, `input[data-path="scenarios[0].input_tokens"]`, "96")
	b.setField(t, `input[data-path="scenarios[0].max_tokens"]`, "8")

	// Scenario 2: a conversation of three turns, reordered, one removed.
	clickMid(t, b, "#sf-add-scenario")
	b.waitFor(t, 10*time.Second, "scenario 2", `document.querySelector('input[data-path="scenarios[1].name"]')`)
	b.setField(t, `input[data-path="scenarios[1].name"]`, "Chat")
	b.setField(t, `input[data-path="scenarios[1].max_tokens"]`, "8")
	b.setField(t, `select[name="scenarios[1]:kind"]`, "turns")
	b.waitFor(t, 10*time.Second, "the first turn", `document.querySelector('textarea[data-path="scenarios[1].turns[0]"]') && !document.querySelector('textarea[data-path="scenarios[1].prompt"]')`)
	b.waitValidated(t)
	if got := errorsBeside(t, b, "scenarios[1].turns[0]"); got != "must not be empty" {
		t.Fatalf("beside the empty turn: %q", got)
	}
	for j, text := range []string{"Second question.", "First question.", "Dropped."} {
		if j > 0 {
			clickMid(t, b, `fieldset[data-path="scenarios[1]"] button[data-act="add-turn"]`)
			b.waitFor(t, 10*time.Second, "another turn", sprintf(`document.querySelector('textarea[data-path="scenarios[1].turns[%d]"]')`, j))
		}
		b.setField(t, sprintf(`textarea[data-path="scenarios[1].turns[%d]"]`, j), text)
	}
	clickMid(t, b, `div[data-path="scenarios[1].turns[1]"] button[data-act="turn-up"]`)
	b.waitFor(t, 10*time.Second, "the moved turn", `document.querySelector('textarea[data-path="scenarios[1].turns[0]"]').value === 'First question.'`)
	clickMid(t, b, `div[data-path="scenarios[1].turns[2]"] button[data-act="remove-turn"]`)
	b.waitFor(t, 10*time.Second, "the removed turn", `!document.querySelector('textarea[data-path="scenarios[1].turns[2]"]')`)

	// Scenario 3: a generated conversation; a bad length, then fixed.
	clickMid(t, b, "#sf-add-scenario")
	b.waitFor(t, 10*time.Second, "scenario 3", `document.querySelector('input[data-path="scenarios[2].name"]')`)
	b.setField(t, `input[data-path="scenarios[2].name"]`, "Generated chat")
	b.setField(t, `input[data-path="scenarios[2].max_tokens"]`, "8")
	b.setField(t, `select[name="scenarios[2]:kind"]`, "generated")
	b.waitFor(t, 10*time.Second, "the conversation fields", `document.querySelector('input[data-path="scenarios[2].conversation.user_tokens"]')`)
	b.setField(t, `input[data-path="scenarios[2].conversation.user_tokens"]`, "0")
	b.waitValidated(t)
	if got, want := errorsBeside(t, b, "scenarios[2].conversation.user_tokens"), "must be between 1 and 32768, got 0"; got != want {
		t.Fatalf("beside user_tokens: %q, want %q", got, want)
	}
	b.setField(t, `input[data-path="scenarios[2].conversation.turns"]`, "3")
	b.setField(t, `input[data-path="scenarios[2].conversation.user_tokens"]`, "16")
	// Switching kinds and back keeps what was typed.
	b.setField(t, `select[name="scenarios[2]:kind"]`, "prompt")
	b.waitFor(t, 10*time.Second, "the prompt", `document.querySelector('textarea[data-path="scenarios[2].prompt"]')`)
	b.setField(t, `select[name="scenarios[2]:kind"]`, "generated")
	b.waitFor(t, 10*time.Second, "the conversation fields again", `document.querySelector('input[data-path="scenarios[2].conversation.turns"]') && document.querySelector('input[data-path="scenarios[2].conversation.turns"]').value === '3'`)
	b.waitValidated(t)
	if got := eval[string](t, b, `document.querySelector('#suite-problems').textContent`); got != "" {
		t.Fatalf("problems left: %q", got)
	}
	want := `{"name":"kinds","version":"1.0","scenarios":[{"name":"Long input","max_tokens":8,"input_tokens":96},{"name":"Chat","max_tokens":8,"turns":["First question.","Second question."]},{"name":"Generated chat","max_tokens":8,"conversation":{"turns":3,"user_tokens":16}}]}`
	if got := docJSON(t, b); got != want {
		t.Fatalf("document %s\nwant %s", got, want)
	}
	b.screenshot(t, shots, "suite-editor-kinds", true)

	b.click(t, "#suite-save")
	b.waitFor(t, 20*time.Second, "the saved suite", `location.search === '?edit=kinds' && window.__flperfReady && window.__flperfReady.page === 'suites' && document.querySelector('#suite-run:not(.hidden)')`)
	if got := eval[string](t, b, `document.querySelector('select[name="scenarios[0]:kind"]').value + ',' + document.querySelector('select[name="scenarios[1]:kind"]').value + ',' + document.querySelector('select[name="scenarios[2]:kind"]').value`); got != "input,turns,generated" {
		t.Errorf("the saved suite's kinds are shown as %s", got)
	}
	st, err := (&suite.Library{Dir: suite.LibraryDir(dbPath)}).Resolve("kinds")
	if err != nil || len(st.Scenarios) != 3 || st.Scenarios[0].InputTokens == nil || st.Scenarios[0].InputTokens.String() != "96" ||
		strings.Join(st.Scenarios[1].Turns, "|") != "First question.|Second question." || st.Scenarios[2].TurnCount() != 3 {
		t.Fatalf("flperf run --suite kinds reads %+v: %v", st, err)
	}

	// Run it on the simulator from the Benchmarks page.
	b.click(t, "#suite-run")
	b.waitReady(t, "benchmarks")
	b.waitFor(t, 20*time.Second, "the suite's scenarios", `document.querySelectorAll('input[name=scenario]').length === 3`)
	b.setField(t, "#f-engine", "sim")
	b.waitFor(t, 20*time.Second, "model sim-fast listed", `document.querySelector('input[name=model][value="sim-fast"]')`)
	for _, m := range []string{"sim-fast", "sim-slow"} {
		sel := sprintf(`input[name=model][value=%s]`, js(m))
		if checked := eval[bool](t, b, sprintf(`(() => { const c = document.querySelector(%s); return !!c && c.checked; })()`, js(sel))); checked != (m == "sim-fast") {
			b.click(t, sel)
		}
	}
	b.click(t, `input[name=mode][value=sequential]`)
	b.setField(t, "#f-requests", "3") // the generated conversation's three turns
	b.setField(t, "#f-warmup", "0")
	b.click(t, "#run-button")
	b.waitFor(t, 30*time.Second, "the live panel", `document.querySelector('.live-panel') || document.querySelector('#form-out .error')`)
	if msg := eval[string](t, b, `(document.querySelector('#form-out .error') || {}).textContent || ''`); msg != "" {
		t.Fatalf("the run was not started: %s", msg)
	}
	id := eval[string](t, b, `document.querySelector('.live-panel').dataset.run`)
	if st := a.waitStatus(t, id, 120*time.Second, "completed", "failed"); st != "completed" {
		t.Fatalf("run %s: %s\n%s", id, st, a.log())
	}

	// The API's figures, then the same on the run's page.
	var doc struct {
		Run struct {
			Groups []struct {
				Model       string `json:"model"`
				Scenario    string `json:"scenario"`
				OK          int    `json:"ok"`
				InputLength *struct {
					N             int      `json:"n"`
					RequestedMean *float64 `json:"requested_mean"`
					MeasuredMean  *float64 `json:"measured_mean"`
				} `json:"input_length"`
				Turns []struct {
					Turn        int     `json:"turn"`
					OK          int     `json:"ok"`
					InputTokens float64 `json:"input_tokens"`
				} `json:"turns"`
			} `json:"groups"`
		} `json:"run"`
	}
	a.get(t, "/runs/"+id, &doc)
	turnsOf := map[string]int{}
	for _, g := range doc.Run.Groups {
		switch g.Scenario {
		case "Long input":
			if g.InputLength == nil || g.InputLength.N != 3 || *g.InputLength.RequestedMean != 96 || *g.InputLength.MeasuredMean != 96 {
				raw, _ := json.Marshal(g)
				t.Errorf("the input-length group: %s", raw)
			}
		case "Chat", "Generated chat":
			turnsOf[g.Scenario] = len(g.Turns)
			for _, tf := range g.Turns {
				if tf.OK < 1 || tf.InputTokens <= 0 {
					t.Errorf("%s turn %d: %+v", g.Scenario, tf.Turn, tf)
				}
			}
		}
	}
	if turnsOf["Chat"] != 2 || turnsOf["Generated chat"] != 3 {
		t.Errorf("turns per conversation %v, want Chat 2, Generated chat 3", turnsOf)
	}
	b.open(t, a.url+"runs/"+id, "results")
	b.waitFor(t, 20*time.Second, "the detail and turns tables", `document.querySelector('#detail-table') && document.querySelector('#turns-table')`)
	if got := eval[string](t, b, `(() => { const r = document.querySelector('#detail-table tr[data-scenario="Long input"]'); return r ? r.querySelector('[data-metric="input_length.requested_mean"]').textContent + '|' + r.querySelector('[data-metric="input_length.measured_mean"]').textContent : '<no row>'; })()`); got != "96.0|96.0" {
		t.Errorf("the input-length figures on the page: %q", got)
	}
	if got := eval[int](t, b, `document.querySelectorAll('#turns-table tr[data-scenario="Chat"]').length`); got != 2 {
		t.Errorf("the turns table has %d rows of Chat, want 2", got)
	}
	if got := eval[int](t, b, `document.querySelectorAll('#turns-table tr[data-scenario="Generated chat"]').length`); got != 3 {
		t.Errorf("the turns table has %d rows of Generated chat, want 3", got)
	}
	for _, g := range doc.Run.Groups {
		for _, tf := range g.Turns {
			sel := sprintf(`#turns-table tr[data-scenario=%s][data-turn="%d"] [data-metric="input_tokens"]`, js(g.Scenario), tf.Turn)
			if got := eval[string](t, b, sprintf(`(document.querySelector(%s) || {dataset: {}}).dataset.value || ''`, js(sel))); got != strconv.FormatFloat(tf.InputTokens, 'g', -1, 64) {
				t.Errorf("%s turn %d: the page shows input tokens %q, the API %v", g.Scenario, tf.Turn, got, tf.InputTokens)
			}
		}
	}
	b.screenshot(t, shots, "suite-kinds-run", true)
	b.noErrors(t, "suite kinds")

	// A narrow window: the kinds' controls fit.
	b.do(t, 10*time.Second, chromedp.EmulateViewport(420, 900))
	b.open(t, a.url+"suites?edit=kinds", "suites")
	b.waitFor(t, 20*time.Second, "the turns", `document.querySelector('textarea[data-path="scenarios[1].turns[1]"]')`)
	if w := eval[[]int](t, b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("the kinds at 420 px: the page is %d px wide, wider than the window", w[0])
	}
	b.screenshot(t, shots, "suite-editor-kinds-420px", true)
	b.noErrors(t, "suite kinds at 420 px")
}

// clickMid scrolls the element sel to the middle of the window, out from
// under the editor's sticky action bar, and clicks it with the mouse.
func clickMid(t *testing.T, b *browser, sel string) {
	t.Helper()
	if !eval[bool](t, b, sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false; el.scrollIntoView({block: 'center'}); return true; })()`, js(sel))) {
		t.Fatalf("no element %s", sel)
	}
	b.click(t, sel)
}
