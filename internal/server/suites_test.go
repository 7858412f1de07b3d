package server

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/store"
	"flperf/internal/suite"
)

// mySuite is a small valid suite document.
const mySuite = `{"name":"mine","version":"2.0","description":"two prompts","scenarios":[
 {"name":"Greeting","prompt":"Say hi.","max_tokens":8},
 {"name":"Code - Tiny","system":"Be terse.","prompt":"Write x=1.","max_tokens":8,"temperature":0}]}`

// TestSuites checks listing, viewing, uploading, running and deleting a
// custom suite.
func TestSuites(t *testing.T) {
	sqliteOnly(t, "the app's suites live beside the SQLite file (on PostgreSQL, in the user's data directory)")
	a := newApp(t, Options{})
	var list []suiteSummary
	a.data(http.MethodGet, "/api/v1/suites", nil, http.StatusOK, &list)
	if len(list) != len(suite.BuiltinNames()) || list[0].Source != "builtin" {
		t.Fatalf("list %+v", list)
	}
	var v suiteView
	a.data(http.MethodGet, "/api/v1/suites/default", nil, http.StatusOK, &v)
	if v.Name != "default" || len(v.Scenarios) == 0 || len(v.Scenarios[0].Messages) == 0 || v.Scenarios[0].MaxTokens == 0 {
		t.Fatalf("default %+v", v)
	}
	var sum suiteSummary
	a.data(http.MethodPost, "/api/v1/suites", mySuite, http.StatusCreated, &sum)
	if sum.Name != "mine" || sum.Source != "custom" || sum.Scenarios != 2 || sum.Version != "2.0" {
		t.Fatalf("upload %+v", sum)
	}
	a.data(http.MethodPost, "/api/v1/suites?name=mine.v2", mySuite, http.StatusCreated, &sum)
	a.data(http.MethodGet, "/api/v1/suites", nil, http.StatusOK, &list)
	if !slices.ContainsFunc(list, func(s suiteSummary) bool { return s.Name == "mine.v2" && s.Source == "custom" }) {
		t.Fatalf("list %+v", list)
	}
	a.data(http.MethodGet, "/api/v1/suites/mine", nil, http.StatusOK, &v)
	if len(v.Scenarios) != 2 || v.Scenarios[1].Category != "Code" || v.Scenarios[1].Messages[0].Role != "system" ||
		v.Scenarios[1].Temperature == nil || *v.Scenarios[1].Temperature != 0 {
		t.Fatalf("mine %+v", v)
	}
	// A run on it records the file, as `flperf run --suite FILE` does.
	id := a.startRun(map[string]any{"engine": "sim", "models": []string{"sim-fast"}, "suite": "mine", "requests": 1, "warmup": 0})
	a.waitRun(id)
	res, err := a.db.Run(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(filepath.Dir(a.db.Path()), "suites", "mine.json")
	if res.Config.Suite != want || res.Suite.Name != "mine" || res.Records != 2 {
		t.Fatalf("config suite %q, want %q; suite %+v", res.Config.Suite, want, res.Suite)
	}
	a.data(http.MethodDelete, "/api/v1/suites/mine", nil, http.StatusOK, nil)
	a.fail(http.MethodGet, "/api/v1/suites/mine", nil, http.StatusNotFound)
	a.fail(http.MethodDelete, "/api/v1/suites/mine", nil, http.StatusNotFound)
	a.fail(http.MethodDelete, "/api/v1/suites/default", nil, http.StatusConflict)
	a.fail(http.MethodGet, "/api/v1/suites/nope", nil, http.StatusNotFound)
}

// TestSuiteUploadRefusals checks bad names (path traversal included),
// clashes, invalid documents and oversized uploads, and that nothing is
// ever written outside the suites directory.
func TestSuiteUploadRefusals(t *testing.T) {
	sqliteOnly(t, "the app's suites live beside the SQLite file (on PostgreSQL, in the user's data directory)")
	a := newApp(t, Options{})
	dir := filepath.Dir(a.db.Path())
	doc := func(name string) string { return strings.Replace(mySuite, `"name":"mine"`, `"name":"`+name+`"`, 1) }
	for _, name := range []string{"../x", "..%2fx", "a/b", ".hidden", "a\\b", "..", strings.Repeat("n", 65), "a b"} {
		q := url.QueryEscape(name)
		if strings.Contains(name, "%") {
			q = name // already escaped: the server decodes it to "../x"
		}
		a.fail(http.MethodPost, "/api/v1/suites?name="+q, mySuite, http.StatusBadRequest)
		if !strings.Contains(name, "%") {
			a.fail(http.MethodPost, "/api/v1/suites", doc(strings.ReplaceAll(name, `\`, `\\`)), http.StatusBadRequest)
		}
	}
	for _, path := range []string{"/api/v1/suites/..%2fx", "/api/v1/suites/.hidden", "/api/v1/suites/a%2Fb", "/api/v1/suites/..%5cx"} {
		a.fail(http.MethodGet, path, nil, http.StatusBadRequest)
		a.fail(http.MethodDelete, path, nil, http.StatusBadRequest)
	}
	a.fail(http.MethodPost, "/api/v1/suites", doc("default"), http.StatusConflict)
	a.fail(http.MethodPost, "/api/v1/suites?name=DEFAULT", mySuite, http.StatusConflict)
	a.fail(http.MethodPost, "/api/v1/suites", `{"scenarios":[{"name":"a","prompt":"x"}]}`, http.StatusBadRequest)
	e := a.fail(http.MethodPost, "/api/v1/suites", `{"name":"bad","scenarios":[{"name":"a","prompt":"x","max_tokens":0},{"name":"b","prompt":"y","bogus":1}]}`, http.StatusBadRequest)
	if e.Field != "scenarios[0].max_tokens" || !strings.Contains(e.Message, "bogus") {
		t.Errorf("validation: %+v", e)
	}
	a.fail(http.MethodPost, "/api/v1/suites", `{"name":"x",`, http.StatusBadRequest)
	big := `{"name":"big","description":"` + strings.Repeat("x", maxSuiteBody) + `","scenarios":[]}`
	a.fail(http.MethodPost, "/api/v1/suites", big, http.StatusRequestEntityTooLarge)
	a.fail(http.MethodPost, "/api/v1/suites?name=ok", mySuite, http.StatusBadRequest, "Content-Type", "text/plain")
	// Nothing was written anywhere but the database's files.
	err := filepath.WalkDir(filepath.Dir(dir), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if base := filepath.Base(p); !strings.HasPrefix(base, "flperf.db") {
			t.Errorf("file written: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A run cannot name a file either.
	a.fail(http.MethodPost, "/api/v1/runs", map[string]any{"engine": "sim", "models": []string{"m"}, "suite": "../flperf.db"}, http.StatusBadRequest)
}

// TestSettingsPersist checks that defaults are validated, saved in the
// database, survive a restart of the app on the same file, and apply to
// new runs.
func TestSettingsPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flperf.db")
	db := openDB(t, path)
	a := newApp(t, Options{DB: db})
	var sv settingsView
	a.data(http.MethodGet, "/api/v1/settings", nil, http.StatusOK, &sv)
	if sv.Defaults.Suite != "default" || sv.DBPath != db.Path() || *sv.Defaults.Warmup != 1 {
		t.Fatalf("settings %+v", sv)
	}
	body := map[string]any{"defaults": map[string]any{"suite": "default", "requests": 2, "warmup": 0, "max_tokens": 8, "timeout": "20s", "stream": false, "slo": "ttft=1s"}}
	a.data(http.MethodPut, "/api/v1/settings", body, http.StatusOK, &sv)
	for _, bad := range []string{
		`{"defaults":{"requests":-1}}`, `{"defaults":{"suite":"nope"}}`, `{"defaults":{"timeout":"x"}}`, `{"defaults":{"bogus":1}}`, `{}`,
		`{"defaults":{"temperature":9}}`,
	} {
		a.fail(http.MethodPut, "/api/v1/settings", bad, http.StatusBadRequest)
	}
	a.s.Close()
	b := newApp(t, Options{DB: db})
	b.data(http.MethodGet, "/api/v1/settings", nil, http.StatusOK, &sv)
	d := sv.Defaults
	if d.Requests == nil || *d.Requests != 2 || *d.Warmup != 0 || *d.MaxTokens != 8 || *d.Timeout != "20s" || *d.Stream || d.SLO != "ttft=1s" {
		t.Fatalf("after restart: %+v", d)
	}
	id := b.startRun(map[string]any{"engine": "sim", "models": []string{"sim-fast"}, "scenarios": []string{"Simple Q&A - Short"}})
	b.waitRun(id)
	res, err := db.Run(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Config
	if c.Requests != 2 || c.Warmup != 0 || c.MaxTokens != 8 || c.Stream || c.SLOSpec != "ttft=1s" || time.Duration(c.Timeout) != 20*time.Second {
		t.Fatalf("defaults not applied: %+v", c)
	}
	var runs []store.RunInfo
	b.data(http.MethodGet, "/api/v1/runs", nil, http.StatusOK, &runs)
	if len(runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
}
