package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"flperf/internal/suite"
)

// TestSuiteValidate checks POST /suites/validate: the CLI's messages, each
// problem located by its path, nothing saved.
func TestSuiteValidate(t *testing.T) {
	privateDataDir(t)
	a := newApp(t, Options{})
	var v validation
	a.data(http.MethodPost, "/api/v1/suites/validate", mySuite, http.StatusOK, &v)
	if !v.Valid || len(v.Problems) != 0 || v.Scenarios != 2 {
		t.Fatalf("valid suite: %+v", v)
	}
	doc := `{"name":"bad","scenarios":[{"name":"a","prompt":"x","max_tokens":0},
	 {"name":"b","prompt":"y","bogus":1,"messages":[{"role":"robot","content":"hi"}]},{"name":"A","prompt":"z","temperature":"hot"}]}`
	a.data(http.MethodPost, "/api/v1/suites/validate", doc, http.StatusOK, &v)
	want := []problemView{
		{Path: "scenarios[0].max_tokens", Scenario: 1, ScenarioName: "a", Field: "max_tokens", Message: "must be between 1 and 131072, got 0",
			Text: `scenario 1 ("a"): max_tokens: must be between 1 and 131072, got 0`},
		{Path: "scenarios[1].bogus", Scenario: 2, ScenarioName: "b", Field: "bogus",
			Message: "unknown field (known fields: name, description, prompt, …"}, // the list grows with the format
		{Path: "scenarios[1].messages[0].role", Scenario: 2, ScenarioName: "b", Field: "messages[0].role", Message: `must be one of "system", "user", "assistant", got "robot"`},
		{Path: "scenarios[2].temperature", Scenario: 3, ScenarioName: "A", Field: "temperature", Message: "must be a number, got string"},
		{Path: "scenarios[2].name", Scenario: 3, ScenarioName: "A", Field: "name", Message: `duplicate of scenario 1 ("a"); names are compared ignoring case`},
	}
	if v.Valid || len(v.Problems) != len(want) {
		t.Fatalf("problems %+v", v.Problems)
	}
	// The same lines as the command line prints, after its `suite "FILE": `.
	_, perr := suite.Parse("x.json", []byte(doc))
	cliLines := strings.Split(perr.Error(), "\n")
	for i, w := range want {
		p := v.Problems[i]
		msgOK := p.Message == w.Message
		if prefix, ok := strings.CutSuffix(w.Message, "…"); ok {
			msgOK = strings.HasPrefix(p.Message, prefix)
		}
		if p.Path != w.Path || p.Scenario != w.Scenario || p.ScenarioName != w.ScenarioName || p.Field != w.Field || !msgOK {
			t.Errorf("problem %d = %+v, want %+v", i, p, w)
		}
		if w.Text != "" && p.Text != w.Text {
			t.Errorf("problem %d text %q, want %q", i, p.Text, w.Text)
		}
		if cliLines[i] != `suite "x.json": `+p.Text {
			t.Errorf("problem %d text %q; the CLI prints %q", i, p.Text, cliLines[i])
		}
	}
	// Suite-level problems and a document that is not JSON.
	a.data(http.MethodPost, "/api/v1/suites/validate", `{"scenarios":[]}`, http.StatusOK, &v)
	if len(v.Problems) != 2 || v.Problems[0].Path != "name" || v.Problems[0].Message != "required" ||
		v.Problems[1].Path != "scenarios" || v.Problems[1].Message != "at least one scenario is required" {
		t.Errorf("suite-level problems %+v", v.Problems)
	}
	a.data(http.MethodPost, "/api/v1/suites/validate", "{\n \"name\": \"x\",\n", http.StatusOK, &v)
	if len(v.Problems) != 1 || v.Problems[0].Path != "" || v.Problems[0].Message != "invalid JSON at line 3, column 1: unexpected end of input" {
		t.Errorf("not JSON: %+v", v.Problems)
	}
	// More than 100 problems: 100 listed, the rest counted.
	var b strings.Builder
	b.WriteString(`{"name":"many","scenarios":[`)
	for i := range 130 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name":"s` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `","prompt":"p","max_tokens":0}`)
	}
	b.WriteString("]}")
	a.data(http.MethodPost, "/api/v1/suites/validate", b.String(), http.StatusOK, &v)
	if len(v.Problems) != 100 || v.Omitted != 30 {
		t.Errorf("%d problems, %d omitted; want 100, 30", len(v.Problems), v.Omitted)
	}
	// Hostile bodies: too large, not JSON typed, and nothing was saved.
	big := `{"name":"big","description":"` + strings.Repeat("x", maxSuiteBody) + `","scenarios":[]}`
	a.fail(http.MethodPost, "/api/v1/suites/validate", big, http.StatusRequestEntityTooLarge)
	a.fail(http.MethodPost, "/api/v1/suites/validate", mySuite, http.StatusBadRequest, "Content-Type", "text/plain")
	if _, err := os.Stat(filepath.Join(a.db.DataDir(), "suites")); !os.IsNotExist(err) {
		t.Errorf("validate wrote the suites directory: %v", err)
	}
}

// TestSuiteEdit checks create, read with a revision, replace with
// If-Match (a stale revision is a 409 and changes nothing), duplicate and
// delete, and that a saved suite is the file `flperf run --suite NAME`
// reads.
func TestSuiteEdit(t *testing.T) {
	privateDataDir(t)
	a := newApp(t, Options{})
	dir := filepath.Join(a.db.DataDir(), "suites")
	r := a.do(http.MethodPost, "/api/v1/suites", mySuite)
	var sum suiteSummary
	decodeData(t, r, http.StatusCreated, &sum)
	rev1 := suite.Revision([]byte(mySuite))
	if sum.Name != "mine" || sum.Revision != rev1 || r.header.Get("ETag") != `"`+rev1+`"` {
		t.Fatalf("create: %+v, ETag %q", sum, r.header.Get("ETag"))
	}
	// A second create of the same name is a conflict: it never replaces.
	e := a.fail(http.MethodPost, "/api/v1/suites", strings.Replace(mySuite, "two prompts", "other", 1), http.StatusConflict)
	if e.Field != "name" || !strings.Contains(e.Message, "already saved") {
		t.Errorf("create twice: %+v", e)
	}
	var d suiteDocument
	r = a.do(http.MethodGet, "/api/v1/suites/mine/document", nil)
	decodeData(t, r, http.StatusOK, &d)
	if d.Revision != rev1 || !d.Editable || d.Source != "custom" || compactJSON(t, d.Document) != compactJSON(t, []byte(mySuite)) || r.header.Get("ETag") != `"`+rev1+`"` {
		t.Fatalf("document %+v", d)
	}
	// Two tabs read rev1; the first saves, the second is refused.
	tab1 := strings.Replace(mySuite, `"Say hi."`, `"Say hello."`, 1)
	tab2 := strings.Replace(mySuite, `"Say hi."`, `"Say bye."`, 1)
	r = a.do(http.MethodPut, "/api/v1/suites/mine", tab1, "If-Match", `"`+rev1+`"`)
	decodeData(t, r, http.StatusOK, &sum)
	rev2 := suite.Revision([]byte(tab1))
	if sum.Revision != rev2 || r.header.Get("ETag") != `"`+rev2+`"` {
		t.Fatalf("put: %+v", sum)
	}
	e = a.fail(http.MethodPut, "/api/v1/suites/mine", tab2, http.StatusConflict, "If-Match", `"`+rev1+`"`)
	if e.Field != "If-Match" || !strings.Contains(e.Message, rev2) || !strings.Contains(e.Message, "changed since it was read") {
		t.Errorf("stale put: %+v", e)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "mine.json")); string(got) != tab1 {
		t.Errorf("file after a refused put: %s", got)
	}
	// No If-Match: refused; "*" replaces whatever is there; weak tags read.
	e = a.fail(http.MethodPut, "/api/v1/suites/mine", tab2, http.StatusBadRequest)
	if e.Field != "If-Match" {
		t.Errorf("no If-Match: %+v", e)
	}
	decodeData(t, a.do(http.MethodPut, "/api/v1/suites/mine", tab2, "If-Match", "*"), http.StatusOK, &sum)
	r = a.do(http.MethodPut, "/api/v1/suites/mine", tab1, "If-Match", `W/"`+suite.Revision([]byte(tab2))+`"`)
	decodeData(t, r, http.StatusOK, &sum)
	// An invalid replacement is refused with every problem, and changes nothing.
	bad := `{"name":"mine","scenarios":[{"name":"x","prompt":"p","max_tokens":"many"},{"name":"y"}]}`
	e = a.fail(http.MethodPut, "/api/v1/suites/mine", bad, http.StatusBadRequest, "If-Match", "*")
	if e.Field != "scenarios[0].max_tokens" || len(e.Problems) != 2 || e.Problems[1].Path != "scenarios[1].prompt" ||
		e.Message != `scenario 1 ("x"): max_tokens: must be an integer, got string; scenario 2 ("y"): prompt: a prompt or messages are required` {
		t.Errorf("invalid put: %+v", e)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "mine.json")); string(got) != tab1 {
		t.Errorf("file after an invalid put: %s", got)
	}
	// Built-in suites are read-only, but can be read and duplicated.
	a.fail(http.MethodPut, "/api/v1/suites/default", mySuite, http.StatusConflict, "If-Match", "*")
	a.fail(http.MethodPut, "/api/v1/suites/Default", mySuite, http.StatusConflict, "If-Match", "*")
	a.fail(http.MethodGet, "/api/v1/suites/DEFAULT/document", nil, http.StatusNotFound)
	a.fail(http.MethodGet, "/api/v1/suites/..%2fx/document", nil, http.StatusBadRequest)
	a.data(http.MethodGet, "/api/v1/suites/default/document", nil, http.StatusOK, &d)
	if d.Source != "builtin" || d.Editable || d.Revision != "" || !json.Valid(d.Document) {
		t.Fatalf("builtin document %+v", d)
	}
	a.data(http.MethodPost, "/api/v1/suites/default/duplicate", map[string]string{"name": "my-default"}, http.StatusCreated, &sum)
	if sum.Name != "my-default" || sum.Scenarios != 10 {
		t.Fatalf("duplicate: %+v", sum)
	}
	copied, err := suite.Load(filepath.Join(dir, "my-default.json"))
	orig, _ := suite.Builtin("default")
	if err != nil || copied.Name != "my-default" || len(copied.Scenarios) != len(orig.Scenarios) || copied.Scenarios[3].Prompt != orig.Scenarios[3].Prompt {
		t.Fatalf("copy %+v: %v", copied, err)
	}
	a.data(http.MethodPost, "/api/v1/suites/mine/duplicate", map[string]string{"name": "mine2"}, http.StatusCreated, &sum)
	a.fail(http.MethodPost, "/api/v1/suites/mine/duplicate", map[string]string{"name": "mine2"}, http.StatusConflict)
	a.fail(http.MethodPost, "/api/v1/suites/mine/duplicate", map[string]string{"name": "default"}, http.StatusConflict)
	a.fail(http.MethodPost, "/api/v1/suites/mine/duplicate", map[string]string{"name": "../x"}, http.StatusBadRequest)
	a.fail(http.MethodPost, "/api/v1/suites/mine/duplicate", map[string]string{"name": "x.json"}, http.StatusBadRequest)
	a.fail(http.MethodPost, "/api/v1/suites/mine/duplicate", map[string]any{"name": "z", "extra": 1}, http.StatusBadRequest)
	a.fail(http.MethodPost, "/api/v1/suites/nope/duplicate", map[string]string{"name": "z"}, http.StatusNotFound)
	a.fail(http.MethodPost, "/api/v1/suites/..%2fx/duplicate", map[string]string{"name": "z"}, http.StatusBadRequest)
	// Delete with a stale revision is refused; with the current one it goes.
	a.fail(http.MethodDelete, "/api/v1/suites/mine2", nil, http.StatusConflict, "If-Match", `"0123"`)
	var d2 suiteDocument
	a.data(http.MethodGet, "/api/v1/suites/mine2/document", nil, http.StatusOK, &d2)
	a.do(http.MethodDelete, "/api/v1/suites/mine2", nil, "If-Match", `"`+d2.Revision+`"`)
	a.fail(http.MethodGet, "/api/v1/suites/mine2/document", nil, http.StatusNotFound)
	// A replacement of a suite deleted meanwhile is a conflict, not a re-creation.
	a.fail(http.MethodPut, "/api/v1/suites/mine2", mySuite, http.StatusConflict, "If-Match", `"`+d2.Revision+`"`)
	// The saved file is the one the command line reads.
	st, err := (&suite.Library{Dir: dir}).Resolve("mine")
	if err != nil || st.Scenarios[0].Prompt != "Say hello." || st.Source != filepath.Join(dir, "mine.json") {
		t.Fatalf("flperf run --suite mine would read %+v, %v", st, err)
	}
	// A run started in the app uses the saved suite.
	id := a.startRun(map[string]any{"engine": "sim", "models": []string{"sim-fast"}, "suite": "my-default", "scenarios": []string{"Simple Q&A - Short"}, "requests": 1, "warmup": 0})
	a.waitRun(id)
	res, err := a.db.Run(t.Context(), id)
	if err != nil || res.Suite.Name != "my-default" || res.Records != 1 {
		t.Fatalf("run on a duplicated suite: %+v, %v", res, err)
	}
}

// TestSuiteDocumentDamaged checks that a saved file that does not parse
// is listed with its error and opens in the editor, so it can be fixed.
func TestSuiteDocumentDamaged(t *testing.T) {
	privateDataDir(t)
	a := newApp(t, Options{})
	dir := filepath.Join(a.db.DataDir(), "suites")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"name":"broken","scenarios":[{"name":"a"}]}`), 0o600)
	os.WriteFile(filepath.Join(dir, "notjson.json"), []byte("<html>"), 0o600)
	var list []suiteSummary
	a.data(http.MethodGet, "/api/v1/suites", nil, http.StatusOK, &list)
	n := 0
	for _, s := range list {
		if s.Source == "custom" {
			n++
			if s.Error == "" || s.Revision == "" {
				t.Errorf("damaged %+v", s)
			}
		}
	}
	if n != 2 {
		t.Fatalf("list %+v", list)
	}
	var d suiteDocument
	a.data(http.MethodGet, "/api/v1/suites/broken/document", nil, http.StatusOK, &d)
	if !strings.Contains(d.Error, "prompt: a prompt or messages are required") || !d.Editable {
		t.Errorf("broken %+v", d)
	}
	a.data(http.MethodGet, "/api/v1/suites/notjson/document", nil, http.StatusOK, &d)
	if string(d.Document) != `"\u003chtml\u003e"` && string(d.Document) != `"<html>"` {
		t.Errorf("not JSON: %s", d.Document)
	}
	// Fixing it in place.
	decodeData(t, a.do(http.MethodPut, "/api/v1/suites/notjson", mySuite, "If-Match", `"`+d.Revision+`"`), http.StatusOK, &suiteSummary{})
}

// decodeData wants status and decodes the envelope's data into into.
func decodeData(t *testing.T, r resp, status int, into any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var env envelope
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error != nil {
		t.Fatalf("envelope %s: %v", r.body, err)
	}
	if err := json.Unmarshal(env.Data, into); err != nil {
		t.Fatal(err)
	}
}

// compactJSON returns the JSON document b without insignificant space.
func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestSuiteEditCrossSite checks that another site's page can neither
// create, replace, duplicate nor delete a suite.
func TestSuiteEditCrossSite(t *testing.T) {
	privateDataDir(t)
	a := newApp(t, Options{})
	a.data(http.MethodPost, "/api/v1/suites", mySuite, http.StatusCreated, nil)
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
		a.fail(http.MethodPost, "/api/v1/suites?name=evil", mySuite, http.StatusForbidden, h...)
		a.fail(http.MethodPut, "/api/v1/suites/mine", mySuite, http.StatusForbidden, append(h, "If-Match", "*")...)
		a.fail(http.MethodPost, "/api/v1/suites/mine/duplicate", map[string]string{"name": "evil"}, http.StatusForbidden, h...)
		a.fail(http.MethodDelete, "/api/v1/suites/mine", nil, http.StatusForbidden, h...)
	}
	names, err := (&suite.Library{Dir: filepath.Join(a.db.DataDir(), "suites")}).Names()
	if err != nil || strings.Join(names, ",") != "mine" {
		t.Errorf("saved suites %v, %v", names, err)
	}
}

// BenchmarkValidateSuite measures POST /suites/validate, what the editor
// sends after each pause in typing, on the built-in default suite and on
// a suite of 1,000 scenarios (each with a system prompt and a two-turn
// conversation).
func BenchmarkValidateSuite(b *testing.B) {
	a := newApp(b, Options{})
	small, _ := suite.BuiltinDocument("default")
	var big strings.Builder
	big.WriteString(`{"name":"big","scenarios":[`)
	for i := range 1000 {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`{"name":"Scenario ` + strconv.Itoa(i) + `","system":"Be brief.","messages":[{"role":"user","content":"Hello there, how are you?"},{"role":"assistant","content":"Fine, thanks."}],"prompt":"Summarise the plot of a long novel in three sentences.","max_tokens":128,"temperature":0.7,"stop":["\n\n"]}`)
	}
	big.WriteString("]}")
	for _, c := range []struct {
		name string
		doc  []byte
	}{{"default", small}, {"1000-scenarios", []byte(big.String())}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.doc)))
			b.ReportAllocs()
			for b.Loop() {
				r := a.do(http.MethodPost, "/api/v1/suites/validate", c.doc)
				if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"valid":true`)) {
					b.Fatalf("%d %s", r.status, r.body)
				}
			}
		})
	}
}
