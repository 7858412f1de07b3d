package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"flperf/internal/suite"
)

// waitValidated waits until the editor has the server's verdict on the
// document as it is now (pages/suites.js sets data-validated after each
// answer and clears it on every edit).
func (b *browser) waitValidated(t *testing.T) {
	t.Helper()
	b.waitFor(t, 20*time.Second, "the suite validated", `(() => { const p = document.querySelector('#page-suites'); return p && p.dataset.validated; })()`)
}

// errorsBeside returns the problems shown beside the field at path.
func errorsBeside(t *testing.T, b *browser, path string) string {
	t.Helper()
	return eval[string](t, b, sprintf(`(() => { const s = document.querySelector('.field-errors[data-errors-for=' + CSS.escape(%s) + ']'); return s ? s.textContent : '<no slot>'; })()`, js(path)))
}

// TestSuiteEditor drives the suite editor in headless Chromium: a new
// suite with a bad field, whose message (the command line's) appears
// beside the field as typed and again on an attempted save that saves
// nothing; the field fixed, a second scenario added with hostile text
// (shown as text), saved where `flperf run --suite NAME` reads it, "Run
// this suite" leading to the Benchmarks page with the suite chosen, and a
// run on the simulated engine that completes; then a second tab's stale
// save refused with a 409 and the first tab's edits kept; a built-in
// suite read-only and duplicated.
func TestSuiteEditor(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	dbPath := filepath.Join(t.TempDir(), "e2e.db")
	a := startApp(t, dbPath)
	shots := artifactsDir(t)
	const hostile = `<img src=x id=pwned onerror="window.__pwned=1">`

	b.open(t, a.url+"suites", "suites")
	b.waitFor(t, 10*time.Second, "the suites table", `document.querySelector('#suites-table tr[data-suite="default"]')`)
	b.click(t, "#suite-new")
	b.waitFor(t, 20*time.Second, "the new-suite editor", `document.querySelector('#suite-save') && window.__flperfReady && window.__flperfReady.page === 'suites'`)
	b.waitValidated(t)

	b.setField(t, `input[data-path="name"]`, "e2e-suite")
	b.setField(t, `input[data-path="scenarios[0].name"]`, "Greeting")
	b.setField(t, `textarea[data-path="scenarios[0].prompt"]`, "Say hello.")
	b.setField(t, `input[data-path="scenarios[0].max_tokens"]`, "0")
	b.waitValidated(t)
	want := "must be between 1 and 131072, got 0"
	if got := errorsBeside(t, b, "scenarios[0].max_tokens"); got != want {
		t.Fatalf("beside max_tokens: %q, want %q", got, want)
	}
	if !eval[bool](t, b, `document.querySelector('input[data-path="scenarios[0].max_tokens"]').classList.contains('invalid')`) {
		t.Error("the max_tokens field is not marked invalid")
	}
	cliLine := `scenario 1 ("Greeting"): max_tokens: ` + want
	if got := eval[string](t, b, `document.querySelector('#suite-problems').textContent`); !strings.Contains(got, cliLine) {
		t.Errorf("problem list %q lacks the command line's %q", got, cliLine)
	}
	// The same line as `flperf run --suite FILE` prints for this document.
	_, perr := suite.Parse("f.json", []byte(`{"name":"e2e-suite","version":"1.0","description":"","scenarios":[{"name":"Greeting","prompt":"Say hello.","max_tokens":0}]}`))
	if perr == nil || perr.Error() != `suite "f.json": `+cliLine {
		t.Errorf("the command line says %v", perr)
	}
	b.screenshot(t, shots, "suite-editor-invalid", true)

	// Saving it anyway is refused, the message stays beside the field,
	// and nothing is saved.
	b.click(t, "#suite-save")
	b.waitFor(t, 10*time.Second, "the refusal", `document.querySelector('#suite-out .error')`)
	if got := errorsBeside(t, b, "scenarios[0].max_tokens"); got != want {
		t.Errorf("after the refused save, beside max_tokens: %q", got)
	}
	var list []struct {
		Name string `json:"name"`
	}
	a.get(t, "/suites", &list)
	for _, s := range list {
		if s.Name == "e2e-suite" {
			t.Fatal("an invalid suite was saved")
		}
	}

	// Fix it; add a second scenario with hostile text.
	b.setField(t, `input[data-path="scenarios[0].max_tokens"]`, "16")
	b.waitValidated(t)
	if got := errorsBeside(t, b, "scenarios[0].max_tokens"); got != "" {
		t.Fatalf("still beside max_tokens after the fix: %q", got)
	}
	b.click(t, "#sf-add-scenario")
	b.waitFor(t, 10*time.Second, "a second scenario", `document.querySelector('input[data-path="scenarios[1].name"]')`)
	b.setField(t, `input[data-path="scenarios[1].name"]`, hostile)
	b.setField(t, `textarea[data-path="scenarios[1].prompt"]`, "Count to three.")
	// An unknown field typed in "other fields" is reported there.
	b.setField(t, `textarea[data-path="scenarios[1].*"]`, `{"max_tokenz": 5}`)
	b.waitValidated(t)
	if got := errorsBeside(t, b, "scenarios[1].*"); !strings.Contains(got, `max_tokenz: unknown field; did you mean "max_tokens"?`) {
		t.Fatalf("beside other fields: %q", got)
	}
	b.setField(t, `textarea[data-path="scenarios[1].*"]`, `{"min_tokens": 4}`)
	b.waitValidated(t)
	if got := eval[string](t, b, `document.querySelector('#suite-problems').textContent`); got != "" {
		t.Fatalf("problems left: %q", got)
	}

	b.click(t, "#suite-save")
	b.waitFor(t, 20*time.Second, "the saved suite in the editor", `location.search === '?edit=e2e-suite' && window.__flperfReady && window.__flperfReady.page === 'suites' && document.querySelector('#suite-run:not(.hidden)')`)
	if eval[bool](t, b, `!!document.querySelector('#pwned') || window.__pwned === 1`) {
		t.Fatal("a scenario name became markup")
	}
	if got := eval[string](t, b, `document.querySelector('fieldset[data-path="scenarios[1]"] .sf-title').textContent`); got != hostile {
		t.Errorf("the hostile name is shown as %q", got)
	}
	// Saved where the command line reads saved suites.
	st, err := (&suite.Library{Dir: suite.LibraryDir(dbPath)}).Resolve("e2e-suite")
	if err != nil || len(st.Scenarios) != 2 || *st.Scenarios[0].MaxTokens != 16 || st.Scenarios[1].Name != hostile || st.Scenarios[1].MinTokens != 4 {
		t.Fatalf("flperf run --suite e2e-suite reads %+v: %v", st, err)
	}
	b.screenshot(t, shots, "suite-editor-saved", true)

	// A second tab (the API, with the revision read before) cannot
	// overwrite this tab's later save.
	data, err := os.ReadFile(filepath.Join(suite.LibraryDir(dbPath), "e2e-suite.json"))
	if err != nil {
		t.Fatal(err)
	}
	oldRev := suite.Revision(data)
	b.setField(t, `textarea[data-path="description"]`, "edited in tab 1")
	b.waitValidated(t)
	b.click(t, "#suite-save")
	b.waitFor(t, 10*time.Second, "the save", `document.querySelector('#suite-saved')`)
	b.setField(t, `input[data-path="version"]`, "2.0")
	b.waitValidated(t)
	// Meanwhile someone else saves with the revision this tab holds.
	other := strings.Replace(string(data), `"version": "1.0"`, `"version": "9.9"`, 1)
	newer, err := (&suite.Library{Dir: suite.LibraryDir(dbPath)}).Save("e2e-suite", []byte(other), "*")
	if err != nil || newer == oldRev {
		t.Fatal(err)
	}
	b.click(t, "#suite-save")
	b.waitFor(t, 10*time.Second, "the conflict", `document.querySelector('#suite-conflict')`)
	if got := eval[string](t, b, `document.querySelector('#suite-conflict').textContent`); !strings.Contains(got, "was changed since it was read") || !strings.Contains(got, newer) {
		t.Errorf("conflict message %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(suite.LibraryDir(dbPath), "e2e-suite.json")); string(got) != other {
		t.Errorf("the stale save overwrote the file: %s", got)
	}
	// Reload the saved one: the run link comes back.
	b.click(t, "#suite-conflict a")
	b.waitFor(t, 20*time.Second, "the reloaded suite", `window.__flperfReady && window.__flperfReady.page === 'suites' && document.querySelector('input[data-path="version"]') && document.querySelector('input[data-path="version"]').value === '9.9' && document.querySelector('#suite-run:not(.hidden)')`)

	// Run this suite: the Benchmarks page with it chosen, run on the simulator.
	b.click(t, "#suite-run")
	b.waitReady(t, "benchmarks")
	if got := eval[string](t, b, `document.querySelector('#f-suite').value`); got != "e2e-suite" {
		t.Fatalf("the Benchmarks page chose suite %q", got)
	}
	b.waitFor(t, 20*time.Second, "the suite's scenarios", `document.querySelectorAll('input[name=scenario]').length === 2 && document.querySelector('input[name=scenario][value="Greeting"]')`)
	b.setField(t, "#f-engine", "sim")
	b.waitFor(t, 20*time.Second, "model sim-fast listed", `document.querySelector('input[name=model][value="sim-fast"]')`)
	for _, m := range []string{"sim-fast", "sim-slow"} {
		sel := sprintf(`input[name=model][value=%s]`, js(m))
		if checked := eval[bool](t, b, sprintf(`(() => { const c = document.querySelector(%s); return !!c && c.checked; })()`, js(sel))); checked != (m == "sim-fast") {
			b.click(t, sel)
		}
	}
	b.click(t, `input[name=mode][value=sequential]`)
	b.setField(t, "#f-requests", "2")
	b.setField(t, "#f-warmup", "0")
	b.click(t, "#run-button")
	b.waitFor(t, 30*time.Second, "the live panel", `document.querySelector('.live-panel') || document.querySelector('#form-out .error')`)
	if msg := eval[string](t, b, `(document.querySelector('#form-out .error') || {}).textContent || ''`); msg != "" {
		t.Fatalf("the run was not started: %s", msg)
	}
	id := eval[string](t, b, `document.querySelector('.live-panel').dataset.run`)
	b.waitFor(t, 90*time.Second, "the run to complete in the page", `(() => { const s = document.querySelector('#live-status [data-status]'); return s && s.dataset.status === 'completed'; })()`)
	if st := a.waitStatus(t, id, 30*time.Second, "completed"); st != "completed" {
		t.Fatalf("run %s: %s", id, st)
	}
	doc := a.run(t, id)
	if got := strings.Join(doc.Run.Config.Scenarios, "|"); got != "Greeting|"+hostile {
		t.Errorf("run scenarios %q", got)
	}
	var runSuite struct {
		Run struct {
			Suite struct {
				Name string `json:"name"`
			} `json:"suite"`
		} `json:"run"`
	}
	a.get(t, "/runs/"+id, &runSuite)
	if runSuite.Run.Suite.Name != "e2e-suite" {
		t.Errorf("the run's suite is %q", runSuite.Run.Suite.Name)
	}

	// A built-in suite: read-only, duplicated into an editable one.
	b.open(t, a.url+"suites?edit=default", "suites")
	if !eval[bool](t, b, `document.querySelector('input[data-path="name"]').disabled && document.querySelector('#suite-save').disabled`) {
		t.Error("the built-in suite is editable")
	}
	b.setField(t, "#dup-name-editor", "my-default")
	b.click(t, "#dup-go-editor")
	b.waitFor(t, 20*time.Second, "the copy in the editor", `location.search === '?edit=my-default' && window.__flperfReady && window.__flperfReady.page === 'suites' && document.querySelector('input[data-path="name"]') && !document.querySelector('input[data-path="name"]').disabled`)
	if got := eval[string](t, b, `document.querySelector('input[data-path="name"]').value`); got != "my-default" {
		t.Errorf("the copy is named %q", got)
	}
	b.open(t, a.url+"suites", "suites")
	b.screenshot(t, shots, "suites", true)
	b.noErrors(t, "suites")

	// A narrow window: the list and the editor scroll in their boxes.
	b.do(t, 10*time.Second, chromedp.EmulateViewport(420, 900))
	for _, p := range []struct{ path, shot string }{{"suites", "suites-420px"}, {"suites?edit=e2e-suite", "suite-editor-420px"}} {
		b.open(t, a.url+p.path, "suites")
		if w := eval[[]int](t, b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
			t.Errorf("%s at 420 px: the page is %d px wide, wider than the window", p.path, w[0])
		}
		b.screenshot(t, shots, p.shot, true)
	}
	b.noErrors(t, "suites at 420 px")
}

// docJSON returns the editor's document as its JSON box holds it.
func docJSON(t *testing.T, b *browser) string {
	t.Helper()
	return eval[string](t, b, `JSON.stringify(JSON.parse(document.querySelector('#suite-json').value))`)
}

// TestSuiteEditorShape checks the editor's changes of shape and its JSON
// view in headless Chromium: scenarios added, moved, copied and removed,
// a message and a stop sequence (with an escape) added, an empty message
// reported beside its content, the JSON box edited (the form follows) and
// broken (the parser's line and column shown under it).
func TestSuiteEditorShape(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	a := startApp(t, filepath.Join(t.TempDir(), "e2e.db"))
	b.open(t, a.url+"suites?new=1", "suites")
	b.waitValidated(t)
	b.setField(t, `input[data-path="name"]`, "shape")
	b.setField(t, `input[data-path="scenarios[0].name"]`, "one")
	b.setField(t, `textarea[data-path="scenarios[0].prompt"]`, "p1")
	b.click(t, "#sf-add-scenario")
	b.waitFor(t, 10*time.Second, "scenario 2", `document.querySelector('input[data-path="scenarios[1].name"]')`)
	b.setField(t, `input[data-path="scenarios[1].name"]`, "two")
	b.setField(t, `textarea[data-path="scenarios[1].prompt"]`, "p2")
	b.waitValidated(t)
	want := `{"name":"shape","version":"1.0","scenarios":[{"name":"one","prompt":"p1","max_tokens":100},{"name":"two","prompt":"p2","max_tokens":100}]}`
	if got := docJSON(t, b); got != want {
		t.Fatalf("document %s, want %s", got, want)
	}
	// Move "two" up, copy it, remove the copy's original.
	b.click(t, `fieldset[data-path="scenarios[1]"] button[data-act="up"]`)
	b.waitValidated(t)
	if got := docJSON(t, b); !strings.Contains(got, `"scenarios":[{"name":"two"`) {
		t.Fatalf("after move up: %s", got)
	}
	b.click(t, `fieldset[data-path="scenarios[0]"] button[data-act="copy"]`)
	b.waitValidated(t)
	b.click(t, `fieldset[data-path="scenarios[0]"] button[data-act="remove"]`)
	b.waitValidated(t)
	if got := docJSON(t, b); !strings.Contains(got, `"scenarios":[{"name":"two (copy)","prompt":"p2","max_tokens":100},{"name":"one"`) {
		t.Fatalf("after copy and remove: %s", got)
	}
	b.click(t, `fieldset[data-path="scenarios[1]"] button[data-act="down"]`) // the last: disabled, nothing moves
	// A message with no content: reported beside it; then filled.
	b.click(t, `fieldset[data-path="scenarios[1]"] button[data-act="add-message"]`)
	b.waitValidated(t)
	if got := errorsBeside(t, b, "scenarios[1].messages[0].content"); got != "required" {
		t.Fatalf("beside the empty message: %q", got)
	}
	b.setField(t, `select[data-path="scenarios[1].messages[0].role"]`, "system")
	b.setField(t, `textarea[data-path="scenarios[1].messages[0].content"]`, "Be brief.")
	b.click(t, `fieldset[data-path="scenarios[1]"] button[data-act="add-stop"]`)
	b.waitFor(t, 10*time.Second, "a stop field", `document.querySelector('input[data-path="scenarios[1].stop[0]"]')`)
	b.setField(t, `input[data-path="scenarios[1].stop[0]"]`, `\n\n`)
	b.waitValidated(t)
	if got := docJSON(t, b); !strings.Contains(got, `{"name":"one","prompt":"p1","max_tokens":100,"messages":[{"role":"system","content":"Be brief."}],"stop":["\n\n"]}`) {
		t.Fatalf("after message and stop: %s", got)
	}
	if got := eval[string](t, b, `document.querySelector('#suite-problems').textContent`); got != "" {
		t.Fatalf("problems: %s", got)
	}
	// The JSON box: an edit there redraws the form; broken JSON is
	// reported under it with its line and column.
	b.setField(t, "#suite-json", `{"name":"shape","scenarios":[{"name":"solo","prompt":"x","temperature":3}]}`)
	b.waitValidated(t)
	if got := eval[string](t, b, `document.querySelector('input[data-path="scenarios[0].name"]').value`); got != "solo" {
		t.Errorf("the form shows %q after the JSON edit", got)
	}
	if got := errorsBeside(t, b, "scenarios[0].temperature"); got != "must be between 0 and 2, got 3" {
		t.Errorf("beside temperature: %q", got)
	}
	b.setField(t, "#suite-json", "{\n  \"name\": \"shape\",\n  \"scenarios\": [\n")
	b.waitValidated(t)
	if got := eval[string](t, b, `document.querySelector('#suite-json ~ .field-errors').textContent`); got != "invalid JSON at line 4, column 1: unexpected end of input" {
		t.Errorf("under the JSON box: %q", got)
	}
	b.noErrors(t, "suite editor")
}
