package htmlreport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/structure.golden")

// testRun is a run written with the store's API, as `flperf run` writes one.
type testRun struct {
	id        string
	models    []string
	scenarios []string
	perGroup  int    // measured requests per model × scenario
	text      string // every ok record's text
	turns     int    // > 0: the requests are the turns of conversations of this many turns
	sweep     []int  // a context sweep of these lengths: its scenarios, input tokens as asked
	requested int    // > 0: every request asked for this input length (suite input_tokens), resolved by calibration
}

// write stores the run in db: every 25th request times out, latencies
// vary with the request so that distributions have a shape.
func (s testRun) write(t *testing.T, db *store.DB) *runner.Result {
	t.Helper()
	ctx := context.Background()
	const ms = time.Millisecond
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	res := &runner.Result{
		ID: s.id, Tool: runner.CurrentTool(), Started: t0,
		Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true, Version: "1"},
		Config: runner.Config{Command: []string{"flperf", "run", "--model", s.models[0], "--suite", "it's"}, Endpoint: "http://127.0.0.1:1/v1",
			Models: s.models, Suite: "test", Scenarios: s.scenarios, Mode: load.Sequential, Concurrency: 1,
			Requests: s.perGroup, Timeout: runner.Duration(30 * time.Second), Stream: true, Seed: 1},
		Suite: runner.SuiteInfo{Name: "test", Version: "1", Source: "test", Scenarios: s.scenarios},
	}
	if len(s.sweep) > 0 {
		s.scenarios = nil
		for _, l := range s.sweep {
			s.scenarios = append(s.scenarios, runner.SweepScenario(l))
		}
		res.Config.ContextSweep, res.Config.Scenarios, res.Suite.Scenarios = s.sweep, s.scenarios, s.scenarios
	}
	if s.requested > 0 {
		il := &runner.InputLengths{CalibrationRequests: 9}
		for _, m := range s.models {
			for _, sc := range s.scenarios {
				il.Prompts = append(il.Prompts, runner.InputLength{Model: m, Scenario: sc, Spec: fmt.Sprint(s.requested), Method: "calibration", Lengths: 1})
			}
		}
		res.Suite.InputLengths = il
	}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(s.id, store.WriterOptions{})
	var agg stats.Aggregator
	seq := 0
	for mi, m := range s.models {
		for si, sc := range s.scenarios {
			for i := range s.perGroup {
				sent := t0.Add(time.Duration(seq) * 10 * ms)
				r := record.Record{Seq: int64(seq), Model: m, Scenario: sc, Stream: true, MaxTok: 16, Scheduled: sent, Sent: sent,
					Status: 200, InputTokens: 40, InputSource: record.SourceUsage}
				seq++
				if len(s.sweep) > 0 {
					r.InputTokens = s.sweep[si]
				}
				if s.requested > 0 {
					r.RequestedInputTokens, r.InputLengthMethod = s.requested, "calibration"
				}
				if s.turns > 0 {
					r.Turn = i%s.turns + 1
					r.InputTokens += 60 * (r.Turn - 1)
					r.CachedTokens = 60 * (r.Turn - 1)
				}
				if i%25 == 24 {
					r.Outcome, r.Phase, r.End = record.Timeout, record.PhaseFirstToken, 30*time.Second
					r.Error = "timeout <script>window.__xss=9</script>"
				} else {
					ttft := time.Duration(20+10*mi+si)*ms + time.Duration(i%17)*ms/2
					r.Chunks = make([]record.Chunk, 8)
					at := ttft
					for k := range r.Chunks {
						r.Chunks[k] = record.Chunk{At: at, Tokens: 2, Est: 2}
						at += time.Duration(2+mi) * ms
					}
					last := at - time.Duration(2+mi)*ms
					r.Outcome, r.FirstByte, r.FirstToken, r.FirstAnswer, r.LastToken, r.End = record.OK, ttft-ms, ttft, ttft, last, last+ms
					r.ChunkCount, r.OutputTokens, r.OutputSource, r.EstOutTokens, r.FinishReason = 8, 16, record.SourceUsage, 16, "length"
					r.Text = s.text
					r.TextBytes = len(r.Text)
				}
				agg.Add(&r)
				if err := w.Add(&r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res.Status, res.Ended, res.Records = runner.Completed, t0.Add(time.Duration(seq)*10*ms), seq
	res.Summary = agg.Summary(stats.Options{})
	res.Warnings = []string{"SIMULATED engine: written by the test"}
	if err := db.FinishRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	return res
}

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "report.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func scenarios(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("scenario-%02d", i)
	}
	return out
}

// render loads ids from db and writes their report.
func render(t *testing.T, db *store.DB, ids ...string) (*Report, string) {
	t.Helper()
	rep, err := Load(context.Background(), db, ids, nil, stats.DefaultAlpha)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, rep); err != nil {
		t.Fatal(err)
	}
	return rep, b.String()
}

var (
	cspRE      = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`)
	scriptRE   = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	styleRE    = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	dataRE     = regexp.MustCompile(`(?s)<script type="application/json" id="flperf-data">(.*?)</script>`)
	skeletonRE = regexp.MustCompile(`<h[1-4][^>]*>[^<]*|<canvas id="[^"]*"|<table class="[^"]*"|<section[^>]*>|<article[^>]*>|<tr class="(group|pooled)"|<div class="card (model|best)"`)
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// checkCSP asserts the page's CSP is strict and names exactly the hashes
// of its inline scripts and style.
func checkCSP(t *testing.T, page string) {
	t.Helper()
	ms := cspRE.FindAllStringSubmatch(page, -1)
	if len(ms) != 1 {
		t.Fatalf("%d CSP meta tags, want 1", len(ms))
	}
	csp := html.UnescapeString(ms[0][1])
	dirs := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		dirs[name] = value
	}
	if dirs["default-src"] != "'none'" || dirs["img-src"] != "data:" || dirs["base-uri"] != "'none'" {
		t.Errorf("CSP %q: want default-src 'none', img-src data:, base-uri 'none'", csp)
	}
	var want []string
	for _, m := range scriptRE.FindAllStringSubmatch(page, -1) {
		want = append(want, sha(m[1]))
	}
	if len(want) != 2 || dirs["script-src"] != strings.Join(want, " ") {
		t.Errorf("script-src %q, want the hashes of the %d inline scripts %q", dirs["script-src"], len(want), want)
	}
	st := styleRE.FindAllStringSubmatch(page, -1)
	if len(st) != 1 || dirs["style-src"] != sha(st[0][1]) {
		t.Errorf("style-src %q: want the hash of the one inline style", dirs["style-src"])
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows unsafe sources or a network origin", csp)
	}
}

// TestReportStructure: a 2-model × 10-scenario run and its comparison with
// another run make one file under 1 MB with the page's skeleton (golden),
// a CSP that names the hashes of exactly its inline scripts and style,
// the summaries in its JSON block equal to the run's, and every group in
// the server-rendered table.
func TestReportStructure(t *testing.T) {
	time.Local = time.UTC // the run's title shows its start in local time
	db := openDB(t)
	a := testRun{id: "20260301-a", models: []string{"model-a", "model-b"}, scenarios: scenarios(10), perGroup: 50, text: strings.Repeat("word ", 300)}
	b := a
	b.id = "20260301-b"
	resA, resB := a.write(t, db), b.write(t, db)
	if _, one := render(t, db, a.id); len(one) >= 1<<20 {
		t.Errorf("the report of one run is %d bytes, want under 1 MB", len(one))
	} else {
		t.Logf("1 run of 2 models × 10 scenarios: %d bytes", len(one))
	}
	rep, page := render(t, db, a.id, b.id)
	if len(page) >= 1<<20 {
		t.Errorf("the report is %d bytes, want under 1 MB", len(page))
	}
	t.Logf("2 runs of 2 models × 10 scenarios: %d bytes", len(page))
	checkCSP(t, page)

	skeleton := strings.Join(skeletonRE.FindAllString(page, -1), "\n") + "\n"
	golden := filepath.Join("testdata", "structure.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(skeleton), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if skeleton != string(want) {
		t.Errorf("the page's skeleton differs from %s (go test -run TestReportStructure -update to accept):\n%s", golden, skeleton)
	}

	m := dataRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no JSON data block")
	}
	var d struct {
		Runs []struct {
			ID     string            `json:"id"`
			Groups []json.RawMessage `json:"groups"`
			Models []json.RawMessage `json:"models"`
			Dists  []Dist            `json:"dists"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	for i, res := range []*runner.Result{resA, resB} {
		r := d.Runs[i]
		if r.ID != res.ID || len(r.Groups) != 20 || len(r.Models) != 2 || len(r.Dists) != 4 {
			t.Fatalf("run %d in the JSON: id %s, %d groups, %d models, %d distributions", i, r.ID, len(r.Groups), len(r.Models), len(r.Dists))
		}
		for j, raw := range r.Groups {
			want, _ := json.Marshal(res.Groups[j])
			if string(raw) != string(want) {
				t.Errorf("run %d group %d in the JSON differs from the stored summary", i, j)
			}
		}
		for _, dist := range r.Dists {
			n := 0
			for _, bin := range dist.Bins {
				n += bin.Count
			}
			if dist.Metric == "e2e_ms" && (n != dist.N || n != res.Groups[0].OK*10) {
				t.Errorf("%s %s: bins hold %d, n %d, want %d ok requests", dist.Model, dist.Metric, n, dist.N, res.Groups[0].OK*10)
			}
		}
	}
	if rep.Compare == nil || !strings.Contains(page, "(all scenarios)") {
		t.Fatal("two runs and no comparison")
	}
	if got := strings.Count(page, `<tr class="group"`); got != 40 {
		t.Errorf("%d per-scenario rows, want 40", got)
	}
	for _, want := range []string{`<tr class="group" data-model="model-b" data-scenario="scenario-09" data-stage="" data-n="48">`, "flperf run --model model-a --suite &#39;it&#39;\\&#39;&#39;s&#39;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	rows := strings.Count(page, `<tr class="`) - strings.Count(page, `<tr class="group"`) - strings.Count(page, `<tr class="pooled"`) - strings.Count(page, `<tr class="geomean`)
	if rows != len(rep.Compare.Rows) {
		t.Errorf("%d comparison rows, the comparison has %d", rows, len(rep.Compare.Rows))
	}
}

// TestReportHostile: a model name, scenario and generated text written to
// break out of the page stay text: the only script elements are the
// report's own three, no element carries an event handler, the JSON block
// holds no raw '<', '>', '&', U+2028 or U+2029, and the text is there,
// escaped.
func TestReportHostile(t *testing.T) {
	db := openDB(t)
	hostile := testRun{id: "20260301-x", models: []string{`<img src=x onerror="window.__xss=1">`, "ok"},
		scenarios: []string{`</script><script>window.__xss=2</script>`, "s\u2028<!--"}, perGroup: 30,
		text: "<script>window.__xss=3</script><svg onload=window.__xss=4> & \u2028\u2029 ]]> </textarea>"}
	hostile.write(t, db)
	_, page := render(t, db, hostile.id)
	checkCSP(t, page)
	if n := strings.Count(strings.ToLower(page), "<script"); n != 3 {
		t.Errorf("%d <script in the page, want the report's 3 (data, chart library, report)", n)
	}
	for _, bad := range []string{"<img", "<svg", "</textarea>", `onerror="`} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds raw %q", bad)
		}
	}
	// Every attribute value is double-quoted (with " escaped in it): an
	// attribute name is what remains of a tag once its values are cut.
	values := regexp.MustCompile(`"[^"]*"`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	for _, tag := range regexp.MustCompile(`<[a-zA-Z][^>]*>`).FindAllString(scriptRE.ReplaceAllString(page, ""), -1) {
		if handler.MatchString(values.ReplaceAllString(tag, `""`)) {
			t.Errorf("an element of the page carries an event handler attribute: %s", tag)
		}
	}
	m := dataRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no JSON data block")
	}
	if strings.ContainsAny(m[1], "<>&\u2028\u2029") {
		t.Errorf("the JSON block holds a raw <, >, &, U+2028 or U+2029")
	}
	for _, want := range []string{"&lt;script&gt;window.__xss=3&lt;/script&gt;", "&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks the escaped text %s", want)
		}
	}
}

// TestReportFileNameModels: a model whose id is a file path (llama-server's
// default) is shown by its file name in the report's tables and cards, with
// the full id in the title, and the script's data maps the id to that name
// for the charts' labels; other ids are shown as they are.
func TestReportFileNameModels(t *testing.T) {
	db := openDB(t)
	const path = "/models/x/rand-24M.gguf"
	run := testRun{id: "20260301-p", models: []string{path, "plain"}, scenarios: []string{"s"}, perGroup: 10}
	run.write(t, db)
	_, page := render(t, db, run.id)
	for _, want := range []string{`<h4 title="` + path + `">rand-24M.gguf`, `<td title="` + path + `">rand-24M.gguf</td>`, `<h4 title="plain">plain`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	m := dataRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no JSON data block")
	}
	var d struct {
		Runs []struct {
			Names map[string]string `json:"names"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) != 1 || len(d.Runs[0].Names) != 1 || d.Runs[0].Names[path] != "rand-24M.gguf" {
		t.Errorf("the data's names: %+v, want only %s → rand-24M.gguf", d.Runs, path)
	}
}

// TestReportTurns checks the per-turn table of a conversation run: one row
// per model × scenario × turn with the summary's figures, and no table for
// a run without conversations.
func TestReportTurns(t *testing.T) {
	db := openDB(t)
	res := testRun{id: "conv", models: []string{"m"}, scenarios: []string{"chat"}, perGroup: 30, text: "hi", turns: 3}.write(t, db)
	testRun{id: "plain", models: []string{"m"}, scenarios: []string{"chat"}, perGroup: 10, text: "hi"}.write(t, db)
	_, page := render(t, db, "conv")
	rows := regexp.MustCompile(`<tr class="turn" data-model="m" data-scenario="chat" data-turn="(\d)">(.*?)</tr>`).FindAllStringSubmatch(page, -1)
	turns := res.Summary.Groups[0].Turns
	if len(rows) != 3 || len(turns) != 3 {
		t.Fatalf("%d rows, %d turns in the summary", len(rows), len(turns))
	}
	for i, f := range turns {
		want := fmt.Sprintf(`<td class="n">%d</td><td class="n">%d / %d</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>`,
			f.Turn, f.OK, f.Requests, num(f.TTFT.P50), num(f.TTFT.Mean), num(f.InputTokens), num(f.CachedTokens), pct(*f.CachedShare))
		if !strings.Contains(rows[i][2], want) {
			t.Errorf("turn %d row %s\nwant %s", f.Turn, rows[i][2], want)
		}
	}
	if _, page := render(t, db, "plain"); strings.Contains(page, `class="turns"`) {
		t.Error("a run without conversations has a per-turn table")
	}
}

// TestReportContextSweep: a context sweep's report carries the sweep's
// figures in its JSON block exactly as report.RunContextSweep computes them
// (what the API serves and the app draws), a canvas for each of its three
// charts, and a table row per model × length with the same figures.
func TestReportContextSweep(t *testing.T) {
	db := openDB(t)
	res := testRun{id: "sweep", models: []string{"m-a", "m-b"}, perGroup: 20, text: "hi", sweep: []int{64, 256, 1024}}.write(t, db)
	testRun{id: "plain", models: []string{"m"}, scenarios: []string{"chat"}, perGroup: 10, text: "hi"}.write(t, db)
	stored, err := db.Run(context.Background(), "sweep")
	if err != nil {
		t.Fatal(err)
	}
	want := report.RunContextSweep(stored)
	if want == nil || len(want.Models) != 2 || len(want.Models[0].Points) != 3 || res.ID != "sweep" {
		t.Fatalf("the sweep: %+v", want)
	}
	_, page := render(t, db, "sweep")
	var doc struct {
		Runs []struct {
			Sweep json.RawMessage `json:"context_sweep"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(dataRE.FindStringSubmatch(page)[1])), &doc); err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	if len(doc.Runs) != 1 || string(doc.Runs[0].Sweep) != string(wantJSON) {
		t.Fatalf("the JSON block's context_sweep\n%s\nwant\n%s", doc.Runs[0].Sweep, wantJSON)
	}
	for _, id := range []string{"r0-context-ttft", "r0-context-prefill", "r0-context-tpot"} {
		if !strings.Contains(page, `<canvas id="`+id+`"`) {
			t.Errorf("no canvas %s", id)
		}
	}
	rows := regexp.MustCompile(`<tr class="sweep" data-model="([^"]*)" data-scenario="([^"]*)">(.*?)</tr>`).FindAllStringSubmatch(page, -1)
	i := 0
	for _, m := range want.Models {
		for _, p := range m.Points {
			if i >= len(rows) {
				t.Fatalf("%d sweep rows, want 6", len(rows))
			}
			cells := fmt.Sprintf(`<td class="n">%d</td><td class="n">%d</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>`,
				p.Requested, p.N, pct(p.ErrorRate), numPtr(p.InputTokens), numPtr(p.TTFTP50), numPtr(p.PrefillP50), numPtr(p.TPOTP50))
			if rows[i][1] != m.Model || rows[i][2] != p.Scenario || !strings.Contains(rows[i][3], cells) {
				t.Errorf("row %d %q\nwant %s %s %s", i, rows[i][0], m.Model, p.Scenario, cells)
			}
			if p.InputTokens == nil || *p.InputTokens != float64(p.Requested) {
				t.Errorf("%s %s: input tokens %v, want %d", m.Model, p.Scenario, p.InputTokens, p.Requested)
			}
			i++
		}
	}
	if len(rows) != 6 {
		t.Errorf("%d sweep rows, want 6", len(rows))
	}
	if _, page := render(t, db, "plain"); strings.Contains(page, `<table class="sweep"`) || strings.Contains(page, `<canvas id="r0-context-ttft"`) {
		t.Error("a run without a context sweep has its table or charts")
	}
}

// TestReportInputLengths: a run whose requests asked for 50 input tokens
// (and the engine counted 40) shows, per model × scenario, the method,
// the length asked for, the count, the difference (−20 %) and the
// requests more than 1 % off; a run that asked for none has no table.
func TestReportInputLengths(t *testing.T) {
	db := openDB(t)
	res := testRun{id: "inlen", models: []string{"m-a", "m-b"}, scenarios: []string{"long"}, perGroup: 30, text: "hi", requested: 50}.write(t, db)
	testRun{id: "plain", models: []string{"m"}, scenarios: []string{"chat"}, perGroup: 10, text: "hi"}.write(t, db)
	_, page := render(t, db, "inlen")
	rows := regexp.MustCompile(`<tr class="input" data-model="([^"]*)" data-scenario="long">(.*?)</tr>`).FindAllStringSubmatch(page, -1)
	if len(rows) != 2 {
		t.Fatalf("%d input-length rows, want 2", len(rows))
	}
	for i, g := range res.Summary.Groups {
		f := g.InputLength
		if f == nil || f.N != 29 || f.Off != 29 {
			t.Fatalf("group %s: %+v (29 ok requests of 30, all 20 %% short)", g.Model, f)
		}
		want := `<td>calibration</td><td class="n">29</td><td class="n">50.0</td><td class="n">40.0</td><td class="n">-20.00 %</td><td class="n">29</td>`
		if rows[i][1] != g.Model || !strings.Contains(rows[i][2], want) {
			t.Errorf("row %s: %s\nwant %s", rows[i][1], rows[i][2], want)
		}
	}
	if _, page := render(t, db, "plain"); strings.Contains(page, `<table class="inputs"`) {
		t.Error("a run that asked for no input length has the table")
	}
}
