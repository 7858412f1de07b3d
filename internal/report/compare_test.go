package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// The -update flag rewrites golden files. It is registered here only when no
// other test file of the package has registered it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

// updating reports whether -update was given.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var cmpT0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// cmpRecord returns an ok streamed record with the given TTFT and TPOT and
// 11 output tokens.
func cmpRecord(model, scenario string, ttft, tpot time.Duration) record.Record {
	last := ttft + 10*tpot
	return record.Record{
		Model: model, Scenario: scenario, Stream: true, MaxTok: 11, Scheduled: cmpT0, Sent: cmpT0,
		FirstByte: ttft / 2, FirstToken: ttft, FirstAnswer: ttft, LastToken: last, End: last + time.Millisecond,
		InputTokens: 5, InputSource: record.SourceUsage, OutputTokens: 11, OutputSource: record.SourceUsage,
		Status: 200, FinishReason: "length", Outcome: record.OK,
	}
}

// scaled returns n records with TTFT (start+i)·scale ms and TPOT 10 ms/scale.
func scaled(model, scenario string, n int, start, scale float64) []record.Record {
	var out []record.Record
	for i := range n {
		ttft := time.Duration((start + float64(i)) * scale * float64(time.Millisecond))
		tpot := time.Duration(10 / scale * float64(time.Millisecond))
		out = append(out, cmpRecord(model, scenario, ttft, tpot+time.Duration(i)*time.Microsecond))
	}
	return out
}

// sampleComparison is a deterministic comparison of one model over three
// paired scenarios plus one that only the base ran: "chat" is 20 % slower
// (significant), "Q&A - Short" unchanged (~), "tiny" has 3 samples a side.
func sampleComparison(t *testing.T) stats.Comparison {
	t.Helper()
	var base, cand []record.Record
	base = append(base, scaled("llama", "chat", 20, 90, 1)...)
	cand = append(cand, scaled("llama", "chat", 20, 90, 1.2)...)
	for i := range 10 {
		base = append(base, cmpRecord("llama", "Q&A - Short", time.Duration(200+2*i)*time.Millisecond, 10*time.Millisecond))
		cand = append(cand, cmpRecord("llama", "Q&A - Short", time.Duration(201+2*i)*time.Millisecond, 10*time.Millisecond))
	}
	base = append(base, scaled("llama", "tiny", 3, 50, 1)...)
	cand = append(cand, scaled("llama", "tiny", 3, 50, 1)...)
	base = append(base, scaled("llama", "gone", 5, 10, 1)...)
	var ms []stats.Metric
	for _, k := range []string{"ttft_ms", "decode_tps"} {
		m, ok := stats.MetricByKey(k)
		if !ok {
			t.Fatal(k)
		}
		ms = append(ms, m)
	}
	c := stats.Compare(base, cand, ms, 0)
	c.BaseLabel, c.CandLabel = "run-a", "run-b"
	return c
}

// lineWith returns the first line of s that starts with prefix.
func lineWith(t *testing.T, s, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line starting %q in\n%s", prefix, s)
	return ""
}

func TestCompareTable(t *testing.T) {
	var b bytes.Buffer
	if err := CompareTable(&b, sampleComparison(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	golden(t, "compare.golden", b.Bytes())

	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[0], "│") || !strings.Contains(lines[0], "run-a") || !strings.Contains(lines[0], "run-b") {
		t.Errorf("header: %q", lines[0])
	}
	if !strings.Contains(lines[1], "TTFT ms") || !strings.Contains(lines[1], "vs base") {
		t.Errorf("unit header: %q", lines[1])
	}
	if l := lineWith(t, out, "chat "); !strings.Contains(l, "+20.00% (p=0.000 n=20+20)") || !strings.Contains(l, "99.50 ± ") || !strings.Contains(l, "119.4 ± ") {
		t.Errorf("significant row: %q", l)
	}
	if l := lineWith(t, out, "Q&A - Short "); !regexpMatch(`\s~ \(p=0\.\d{3} n=10\+10\)`, l) {
		t.Errorf("insignificant row has no ~: %q", l)
	}
	if l := lineWith(t, out, "tiny "); !strings.Contains(l, "± ∞") || !strings.Contains(l, "? (n=3+3)") || !strings.Contains(l, "¹") {
		t.Errorf("small row: %q", l)
	}
	if !strings.Contains(out, "¹ need ≥ 6 samples for a confidence interval") || !strings.Contains(out, "² need ≥ 4 samples on each side for a p-value") {
		t.Errorf("footnotes missing:\n%s", out)
	}
	if l := lineWith(t, out, "geomean "); !regexpMatch(`\+\d+\.\d\d%$`, l) {
		t.Errorf("geomean: %q", l)
	}
	if l := lineWith(t, out, PooledLabel); !strings.Contains(l, "n=33+33") {
		t.Errorf("pooled row: %q", l)
	}
	if !strings.Contains(out, "decode tok/s") || !strings.Contains(out, `! scenario "gone" of model "llama" is only in the base`) {
		t.Errorf("second block or warnings missing:\n%s", out)
	}
	// The box characters line up: every "│" of the two header lines sits in
	// the same column.
	if bars(lines[0]) == nil || !slices.Equal(bars(lines[0]), bars(lines[1])) {
		t.Errorf("header bars misaligned:\n%s\n%s", lines[0], lines[1])
	}
}

// regexpMatch reports whether s matches the pattern.
func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// bars returns the rune columns of "│" in s.
func bars(s string) []int {
	var at []int
	for i, r := range []rune(s) {
		if r == '│' {
			at = append(at, i)
		}
	}
	return at
}

func TestCompareTableManyModelsAndHostileNames(t *testing.T) {
	var base, cand []record.Record
	for _, m := range []string{"a", "b\x1b[31m"} {
		base = append(base, scaled(m, "s1", 6, 10, 1)...)
		cand = append(cand, scaled(m, "s1", 6, 10, 1)...)
		base = append(base, scaled(m, "s2\nx", 6, 20, 1)...)
		cand = append(cand, scaled(m, "s2\nx", 6, 20, 1)...)
	}
	c := stats.Compare(base, cand, nil, 0)
	c.BaseLabel = "old\ttab"
	var b bytes.Buffer
	if err := CompareTable(&b, c); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\t") || strings.Contains(out, "s2\nx") {
		t.Errorf("control characters reach the terminal:\n%q", out)
	}
	for _, want := range []string{"a / s1", "a / s2?x", "b?[31m / " + PooledLabel, "old?tab"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	var e bytes.Buffer
	if err := CompareTable(&e, stats.Compare(nil, nil, nil, 0)); err != nil || !strings.Contains(e.String(), "nothing to compare") || !strings.Contains(e.String(), "! the base has no ok measured requests") {
		t.Errorf("empty comparison: %v %q", err, e.String())
	}
}

func TestCompareJSON(t *testing.T) {
	c := sampleComparison(t)
	// A row without candidate samples: its median must be null, not 0.
	c.Rows = append(c.Rows, stats.Row{Model: "llama", Scenario: "empty", Metric: "ttft_ms",
		Base: stats.NewDist([]float64{1, 2, 3, 4}), Cand: stats.NewDist(nil), NBase: 4, Delta: math.NaN(), P: math.NaN(), Note: "no samples in the candidate"})
	var b bytes.Buffer
	if err := CompareJSON(&b, c); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := sortedKeysOf(doc); !slices.Equal(got, []string{"alpha", "base", "candidate", "capacity", "energy", "geomean", "rows", "warnings"}) || doc["capacity"] != nil {
		t.Errorf("top keys %q, capacity %v (no capacity search: null)", got, doc["capacity"])
	}
	if doc["base"] != "run-a" || doc["candidate"] != "run-b" || doc["alpha"] != 0.05 {
		t.Errorf("labels/alpha: %v %v %v", doc["base"], doc["candidate"], doc["alpha"])
	}
	rows := doc["rows"].([]any)
	if len(rows) != len(c.Rows) {
		t.Fatalf("rows %d, want %d", len(rows), len(c.Rows))
	}
	rowKeys := []string{"base", "candidate", "delta", "metric", "model", "note", "p", "pooled", "scenario", "significant", "unit", "worse"}
	byName := map[string]map[string]any{}
	for _, x := range rows {
		r := x.(map[string]any)
		if got := sortedKeysOf(r); !slices.Equal(got, rowKeys) {
			t.Fatalf("row keys %q", got)
		}
		for _, side := range []string{"base", "candidate"} {
			if got := sortedKeysOf(r[side].(map[string]any)); !slices.Equal(got, []string{"ci", "median", "n"}) {
				t.Fatalf("side keys %q", got)
			}
		}
		if r["metric"] == "ttft_ms" && r["pooled"] == false {
			byName[r["scenario"].(string)] = r
		}
	}
	chat := byName["chat"]
	if chat["significant"] != true || chat["worse"] != true || chat["unit"] != "ms" || math.Abs(chat["delta"].(float64)-0.2) > 1e-9 {
		t.Errorf("chat row: %v", chat)
	}
	if ci := chat["base"].(map[string]any)["ci"].([]any); len(ci) != 2 || ci[0].(float64) > ci[1].(float64) {
		t.Errorf("chat ci: %v", ci)
	}
	tiny := byName["tiny"]
	if tiny["p"] != nil || tiny["base"].(map[string]any)["ci"] != nil || tiny["delta"] == nil || tiny["note"] == "" {
		t.Errorf("tiny row: p and ci must be null, delta known: %v", tiny)
	}
	empty := byName["empty"]
	if side := empty["candidate"].(map[string]any); side["median"] != nil || side["ci"] != nil || side["n"] != 0.0 || empty["delta"] != nil {
		t.Errorf("empty side: %v", empty)
	}
	if name := byName["Q&A - Short"]; name == nil || !strings.Contains(b.String(), `"Q&A - Short"`) {
		t.Errorf("names HTML-escaped or missing")
	}
	geo := doc["geomean"].([]any)
	if len(geo) != 2 {
		t.Fatalf("geomean: %v", geo)
	}
	if got := sortedKeysOf(geo[0].(map[string]any)); !slices.Equal(got, []string{"base", "candidate", "delta", "metric", "unit", "worse"}) {
		t.Errorf("geomean keys %q", got)
	}
	if w := doc["warnings"].([]any); len(w) == 0 {
		t.Errorf("warnings: %v", w)
	}

	// Empty lists are [], never null; a NaN alpha is null.
	var e bytes.Buffer
	if err := CompareJSON(&e, stats.Comparison{Alpha: math.NaN()}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"rows": []`, `"geomean": []`, `"energy": []`, `"warnings": []`, `"alpha": null`} {
		if !strings.Contains(e.String(), want) {
			t.Errorf("no %s in %s", want, e.String())
		}
	}
}

// sortedKeysOf returns the keys of m, sorted.
func sortedKeysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// shifted compares n tight samples around 100 ms with the same moved by
// frac (TTFT) and decode rate moved by dec.
func shifted(t *testing.T, frac, dec float64) stats.Comparison {
	t.Helper()
	var base, cand []record.Record
	for i := range 12 {
		jit := time.Duration(i) * 10 * time.Microsecond
		base = append(base, cmpRecord("m", "s", 100*time.Millisecond+jit, 10*time.Millisecond+jit/10))
		cand = append(cand, cmpRecord("m", "s", time.Duration(float64(100*time.Millisecond)*(1+frac))+jit,
			time.Duration(float64(10*time.Millisecond)/(1+dec))+jit/10))
	}
	return stats.Compare(base, cand, nil, 0)
}

// regressed returns the metric keys of Regressions(c, threshold).
func regressed(c stats.Comparison, threshold float64) []string {
	var ks []string
	for _, r := range Regressions(c, threshold) {
		ks = append(ks, r.Metric)
	}
	return ks
}

func TestRegressionsThreshold(t *testing.T) {
	three := shifted(t, 0.03, 0)
	if r := findPooled(t, three, "ttft_ms"); !r.Significant || !r.Worse {
		t.Fatalf("3%% shift not significant: %+v", r)
	}
	if got := regressed(three, 0.05); slices.Contains(got, "ttft_ms") {
		t.Errorf("a significant 3%% regression fails a 5%% gate: %q", got)
	}
	if got := regressed(three, 0.02); !slices.Contains(got, "ttft_ms") {
		t.Errorf("a significant 3%% regression passes a 2%% gate: %q", got)
	}
	ten := shifted(t, 0.10, 0)
	if got := regressed(ten, 0.05); !slices.Contains(got, "ttft_ms") || slices.Contains(got, "e2e_ms") {
		// E2E grows by 10 ms of 201 ms: 4.97 %, under the gate.
		t.Errorf("a 10%% TTFT regression passes a 5%% gate, or a 4.97%% E2E one fails it: %q", got)
	}
	if r := findPooled(t, ten, "e2e_ms"); !r.Worse || math.Abs(r.Delta-10.0/201) > 1e-3 {
		t.Errorf("e2e: %+v", r)
	}
	// Improvements never fail: TTFT 10 % lower, decode 10 % higher.
	better := shifted(t, -0.10, 0.10)
	if r := findPooled(t, better, "decode_tps"); !r.Significant || r.Delta < 0.09 {
		t.Fatalf("decode improvement not significant: %+v", r)
	}
	if got := regressed(better, 0); len(got) != 0 {
		t.Errorf("improvements count as regressions: %q", got)
	}
	// Slower decode is a regression of a higher-is-better metric.
	if got := regressed(shifted(t, 0, -0.10), 0.05); !slices.Contains(got, "decode_tps") || !slices.Contains(got, "output_tps") {
		t.Errorf("a 10%% slower decode passes: %q", got)
	}
	// A bad threshold counts as 0.
	if got := regressed(three, math.NaN()); !slices.Contains(got, "ttft_ms") {
		t.Errorf("NaN threshold: %q", got)
	}
}

// findPooled returns the pooled row of key.
func findPooled(t *testing.T, c stats.Comparison, key string) stats.Row {
	t.Helper()
	for _, r := range c.Rows {
		if r.Pooled && r.Metric == key {
			return r
		}
	}
	t.Fatalf("no pooled %s row", key)
	return stats.Row{}
}

func TestRegressionsGeomeanAndScope(t *testing.T) {
	nan := math.NaN()
	row := func(scenario string, pooled, worse bool, delta float64) stats.Row {
		return stats.Row{Model: "m", Scenario: scenario, Pooled: pooled, Metric: "ttft_ms", Delta: delta, P: 0.001, Significant: worse, Worse: worse}
	}
	c := stats.Comparison{
		Rows: []stats.Row{
			row("a", false, true, 0.50), // a scenario row alone never fails the gate
			row("b", false, false, 0),
			row("", true, false, 0.01),
		},
		Geomean: []stats.GeoRow{{Metric: "ttft_ms", Base: 100, Cand: 109.5, Delta: 0.095, Worse: true}},
	}
	got := Regressions(c, 0.05)
	if len(got) != 1 || got[0].Note != GeomeanNote || got[0].Delta != 0.095 || !math.IsNaN(got[0].P) || !got[0].Pooled {
		t.Fatalf("geomean regression backed by a significant row: %+v", got)
	}
	if got := Regressions(c, 0.10); len(got) != 0 {
		t.Errorf("9.5%% geomean fails a 10%% gate: %+v", got)
	}
	// The same geomean without any significantly worse row is noise.
	c.Rows[0].Worse, c.Rows[0].Significant = false, false
	if got := Regressions(c, 0.05); len(got) != 0 {
		t.Errorf("untested geomean alone fails the gate: %+v", got)
	}
	// A pooled row with an unknown change never fails; a change of exactly
	// the threshold does.
	c = stats.Comparison{Rows: []stats.Row{row("", true, true, nan), {Model: "n", Pooled: true, Metric: "e2e_ms", Delta: 0.05, Significant: true, Worse: true}}}
	if got := Regressions(c, 0.05); len(got) != 1 || got[0].Model != "n" {
		t.Errorf("got %+v", got)
	}
}

func TestCompareRendererWriteErrors(t *testing.T) {
	c := sampleComparison(t)
	for name, f := range map[string]func(*failAfter) error{
		"table": func(w *failAfter) error { return CompareTable(w, c) },
		"json":  func(w *failAfter) error { return CompareJSON(w, c) },
		"bench": func(w *failAfter) error { return Benchstat(w, "r", scaled("m", "s", 500, 1, 1)) },
	} {
		if err := f(&failAfter{n: 10}); !errors.Is(err, errWrite) {
			t.Errorf("%s: error %v, want the writer's", name, err)
		}
	}
}

var errWrite = errors.New("disk full")

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errWrite
	}
	f.n -= len(p)
	return len(p), nil
}
