package cli

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Credentials of an endpoint written as http://user:password@host/v1.
const (
	secretUser = "alice-secret-user"
	secretPass = "S3cr3t-Pa55word"
)

// secretEndpoint is s's base URL with the credentials in it.
func secretEndpoint(s *testSim) string {
	return strings.Replace(s.base, "http://", "http://"+secretUser+":"+secretPass+"@", 1)
}

// noSecret fails the test when text holds the user or the password.
func noSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range []string{secretPass, secretUser} {
		if strings.Contains(text, s) {
			i := strings.Index(text, s)
			t.Errorf("%s holds the endpoint's credentials (%q): …%s…", where, s, text[max(0, i-80):min(len(text), i+80)])
		}
	}
}

// dumpTables returns every row of the given tables of the database at path,
// as text.
func dumpTables(t *testing.T, path string, tables ...string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteString("\n")
			n++
		}
		rows.Close()
		if n == 0 && (table == "runs" || table == "records") {
			t.Fatalf("table %s is empty: the test looks at nothing", table)
		}
	}
	return b.String()
}

// TestEndpointCredentialsNeverShown runs against an engine that wants HTTP
// basic authentication, with the credentials in --endpoint, then reads
// every output there is: the run's stdout and stderr in each format, runs,
// show, every export format, the database's run tables, and every answer of
// the app about engines, settings and runs, including a run started in the
// app on an engine added with such an endpoint. The credentials must reach
// the engine (every request succeeds) and appear nowhere else.
func TestEndpointCredentialsNeverShown(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	s.requireAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(secretUser+":"+secretPass)))
	db := newDB(t)
	suitePath := writeFile(t, "one.json", oneSuite)
	endpoint := secretEndpoint(s)

	var id string
	for _, format := range []string{"json", "table", "csv", "jsonl"} {
		o := run(t, "run", "--endpoint", endpoint, "--model", "tiny", "--suite", suitePath, "--requests", "3", "--warmup", "0",
			"--db", db, "--format", format)
		wantCode(t, o, ExitOK)
		noSecret(t, "run --format "+format+" stdout", o.stdout)
		noSecret(t, "run --format "+format+" stderr", o.stderr)
		if format == "json" {
			doc := decodeJSON(t, o.stdout)
			id = str(t, doc, "id")
			if n := num(t, obj(t, doc, "total"), "ok"); n != 3 {
				t.Fatalf("%v of 3 requests succeeded: the credentials did not reach the engine", n)
			}
		}
	}
	for _, r := range s.all() {
		if !strings.HasPrefix(r.auth, "Basic ") {
			t.Errorf("%s %s went out without the endpoint's credentials", r.method, r.path)
		}
	}
	for _, args := range [][]string{
		{"runs", "--format", "json"}, {"runs"},
		{"show", id}, {"show", id, "--format", "json"}, {"show", id, "--format", "jsonl"},
		{"export", id, "--format", "json"}, {"export", id, "--format", "csv"}, {"export", id, "--format", "jsonl"}, {"export", id, "--format", "benchstat"},
	} {
		o := run(t, append(args, "--db", db)...)
		wantCode(t, o, ExitOK)
		noSecret(t, strings.Join(args[:1], " ")+" stdout", o.stdout)
		noSecret(t, strings.Join(args[:1], " ")+" stderr", o.stderr)
	}
	// The repeat command still names the endpoint, without credentials.
	show := decodeJSON(t, run(t, "show", id, "--db", db, "--format", "json").stdout)
	cfg := obj(t, show, "config")
	if got, want := str(t, cfg, "endpoint"), s.base; got != want {
		t.Errorf("stored endpoint %q, want %q", got, want)
	}
	if cmd, _ := json.Marshal(cfg["command"]); !strings.Contains(string(cmd), s.base) {
		t.Errorf("the repeat command %s lacks the endpoint", cmd)
	}

	// The app, on the same database: an engine added with credentials in
	// its endpoint, a run on it, and every answer.
	app, stop := serveApp(t, nil, "serve", "--listen", "127.0.0.1:0", "--db", db)
	defer stop()
	call := func(method, path string, body any) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, app+strings.TrimPrefix(path, "/"), rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		noSecret(t, method+" "+path, string(b))
		return res.StatusCode, string(b)
	}
	code, body := call(http.MethodPost, "/api/v1/engines", map[string]any{"endpoint": endpoint, "name": "guarded"})
	if code != http.StatusCreated {
		t.Fatalf("POST /engines: %d %s", code, body)
	}
	var added struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &added); err != nil || added.Data.ID == "" {
		t.Fatalf("POST /engines: %v %s", err, body)
	}
	code, body = call(http.MethodPost, "/api/v1/runs", map[string]any{"engine": added.Data.ID, "models": []string{"tiny"},
		"suite": "default", "scenarios": []string{"Simple Q&A - Short"}, "requests": 3, "warmup": 0, "sample_interval": "off"})
	if code != http.StatusCreated {
		t.Fatalf("POST /runs: %d %s", code, body)
	}
	var started struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &started); err != nil {
		t.Fatal(err)
	}
	appRun := started.Data.ID
	waitFor(t, 30*time.Second, "the app's run to end", func() bool {
		_, b := call(http.MethodGet, "/api/v1/runs/"+appRun, nil)
		return !strings.Contains(b, `"status":"running"`)
	})
	_, body = call(http.MethodGet, "/api/v1/runs/"+appRun, nil)
	var got struct {
		Data struct {
			Run struct {
				Status string `json:"status"`
				Total  struct {
					OK int `json:"ok"`
				} `json:"total"`
			} `json:"run"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if r := got.Data.Run; r.Status != "completed" || r.Total.OK != 3 {
		t.Errorf("the app's run on the guarded engine: %s with %d of 3 requests ok, want completed with 3", r.Status, r.Total.OK)
	}
	for _, path := range []string{"/api/v1/engines", "/api/v1/engines?refresh=1", "/api/v1/settings", "/api/v1/runs",
		"/api/v1/runs/" + id, "/api/v1/runs/" + appRun, "/api/v1/compare?base=" + id + "&candidate=" + appRun,
		"/api/v1/runs/" + appRun + "/samples", "/api/v1/runs/" + appRun + "/distribution", "/api/v1/runs/" + appRun + "/resources"} {
		if code, body := call(http.MethodGet, path, nil); code != http.StatusOK {
			t.Errorf("GET %s: %d %.300s", path, code, body)
		}
	}
	for _, run := range []string{id, appRun} {
		for _, format := range []string{"json", "csv", "jsonl"} {
			if code, body := call(http.MethodGet, "/api/v1/runs/"+run+"/export?format="+format, nil); code != http.StatusOK {
				t.Errorf("export %s: %d %.300s", format, code, body)
			}
		}
	}
	// The run tables hold no credentials; the settings keep them beside
	// the API keys, never answered.
	noSecret(t, "the database's run tables", dumpTables(t, db, "runs", "records", "record_text", "events", "summaries"))
	if !strings.Contains(dumpTables(t, db, "settings"), secretPass) {
		t.Error("the settings do not keep the added engine's credentials: its runs could not authenticate after a restart")
	}
}
