package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/telemetry"
)

// mdRecord returns a streamed record of model × scenario (× stage) sent
// at t0+at: ok with the given TTFT and 10 output tokens, or, when fail
// is set, a timeout before the headers.
func mdRecord(model, scenario, stage string, seq int, at, ttft time.Duration, fail bool) *record.Record {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	sent := t0.Add(at)
	r := &record.Record{Seq: int64(seq), Model: model, Scenario: scenario, Stage: stage, Stream: true, MaxTok: 10,
		Scheduled: sent, Sent: sent}
	if fail {
		r.Outcome, r.Phase, r.Error = record.Timeout, record.PhaseHeaders, "deadline exceeded"
		return r
	}
	last := ttft + 90*time.Millisecond
	r.FirstByte, r.FirstToken, r.FirstAnswer, r.LastToken, r.End = ttft/2, ttft, ttft, last, last+time.Millisecond
	r.Chunks = []record.Chunk{{At: ttft, Est: 1}, {At: last, Est: 9}}
	r.ChunkCount, r.InputTokens, r.InputSource, r.OutputTokens, r.OutputSource = 2, 20, record.SourceUsage, 10, record.SourceUsage
	r.Status, r.FinishReason, r.Outcome = 200, "length", record.OK
	return r
}

// mdResult is a deterministic run for the golden files: two models, two
// scenarios, one timeout (a failure), an SLO (goodput), the simulated
// engine, a machine, and the names given (hostile ones in the escaping
// test).
func mdResult(t *testing.T, models, scenarios [2]string) *runner.Result {
	t.Helper()
	var agg stats.Aggregator
	seq := 0
	for mi, m := range models {
		for si, s := range scenarios {
			for i := range 6 {
				ttft := time.Duration(40+10*mi+5*si+i) * time.Millisecond
				agg.Add(mdRecord(m, s, "", seq, time.Duration(seq)*200*time.Millisecond, ttft, mi == 1 && si == 1 && i == 5))
				seq++
			}
		}
	}
	slo, err := stats.ParseSLO("ttft=50ms")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cpu, cores, threads, mem := "Test EPYC", 2, 4, uint64(24<<30)
	r := &runner.Result{
		ID: "20261127-120000-abcdef", Status: runner.Completed, Started: t0, Ended: t0.Add(5 * time.Second),
		Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true},
		Config: runner.Config{Models: models[:], Mode: load.Sequential, Concurrency: 1, Requests: 6, Stream: true, Seed: 9,
			Timeout: runner.Duration(30 * time.Second), SLO: slo, SLOSpec: "ttft=50ms"},
		Suite:   runner.SuiteInfo{Name: "pair", Scenarios: scenarios[:]},
		Summary: agg.Summary(stats.Options{SLO: slo}),
		Hardware: &telemetry.Hardware{CPU: telemetry.CPU{Model: &cpu, PhysicalCores: &cores, LogicalCores: &threads}, Arch: "amd64",
			MemoryTotalBytes: &mem, GPUs: []telemetry.GPU{}, NPUs: []string{}, OS: telemetry.OS{Name: "linux"}},
	}
	r.Warnings = append(r.Warnings, "SIMULATED engine: these figures come from flperf's built-in simulator, not from a real model.")
	r.Groups[0].Warnings = append(r.Groups[0].Warnings, "only 6 requests: percentiles above p95 are the largest sample")
	return r
}

// mdSweep is a two-level concurrency sweep of one model and scenario.
func mdSweep(t *testing.T) *runner.Result {
	t.Helper()
	var agg stats.Aggregator
	seq := 0
	for li, stage := range []string{"c=1", "c=2"} {
		for i := range 6 {
			agg.Add(mdRecord("llama3.2:1b", "chat", stage, seq, time.Duration(seq)*150*time.Millisecond, time.Duration(30+40*li+i)*time.Millisecond, false))
			seq++
		}
	}
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	return &runner.Result{
		ID: "20261127-130000-sweep1", Status: runner.Completed, Started: t0, Ended: t0.Add(2 * time.Second),
		Engine: engine.Info{Kind: engine.Ollama, Version: "0.5.1", Endpoint: "http://127.0.0.1:11434/v1"},
		Config: runner.Config{Models: []string{"llama3.2:1b"}, Mode: load.Concurrency, Concurrency: 1, Levels: []float64{1, 2},
			Requests: 6, Stream: true, Seed: 3, Timeout: runner.Duration(30 * time.Second)},
		Suite:   runner.SuiteInfo{Name: "one", Scenarios: []string{"chat"}},
		Summary: agg.Summary(stats.Options{}),
	}
}

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, mdResult(t, [2]string{"llama3.2:1b", "qwen2.5:0.5b"}, [2]string{"chat", "Q&A - Short"})); err != nil {
		t.Fatal(err)
	}
	golden(t, "run.md.golden", b.Bytes())
	checkTables(t, b.String())
	for _, want := range []string{"SIMULATED engine", "- **Machine:** Test EPYC, 2 cores / 4 threads, amd64",
		"| qwen2.5:0.5b | Q\\&A - Short | 5/6 | 16.7% (1 timeout) |", "Goodput/s", "⚠️ 1 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("run Markdown lacks %q:\n%s", want, b.String())
		}
	}

	b.Reset()
	if err := Markdown(&b, mdSweep(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "sweep.md.golden", b.Bytes())
	checkTables(t, b.String())
	for _, want := range []string{"| Model | Scenario | Load |", "| llama3.2:1b | chat | c=1 |", "| llama3.2:1b | chat | c=2 |", "Knee of the throughput"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("sweep Markdown lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "SIMULATED") {
		t.Errorf("a real engine's run is labelled SIMULATED:\n%s", b.String())
	}
}

func TestCompareMarkdownGolden(t *testing.T) {
	c := sampleComparison(t)
	cpu := "Test EPYC"
	hw := &telemetry.Hardware{CPU: telemetry.CPU{Model: &cpu}, Arch: "arm64", GPUs: []telemetry.GPU{}, OS: telemetry.OS{Name: "linux"}}
	base := &CompareSide{Engine: engine.Info{Kind: engine.Ollama, Version: "0.5.1", Endpoint: "http://127.0.0.1:11434/v1"}, Hardware: hw}
	cand := &CompareSide{Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true}, Hardware: hw}
	var b bytes.Buffer
	if err := CompareMarkdown(&b, c, base, cand); err != nil {
		t.Fatal(err)
	}
	if err := RegressionsMarkdown(&b, Regressions(c, 0.05), 0.05); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md.golden", b.Bytes())
	out := b.String()
	checkTables(t, out)
	// "chat" is 20 % slower (significant); "Q&A - Short" unchanged (~).
	chat, qa := mdLine(t, out, "| chat |"), mdLine(t, out, "| Q\\&A - Short |")
	if cells := mdCells(chat); cells[3] == "~" || !strings.HasPrefix(cells[3], "+") {
		t.Errorf("chat TTFT row %q: want a significant positive change", chat)
	}
	if cells := mdCells(qa); cells[3] != "~" || cells[4] == "–" {
		t.Errorf("Q&A TTFT row %q: want ~ with its p-value", qa)
	}
	for _, want := range []string{"**SIMULATED engine** on the candidate", "- **Machine:** Test EPYC, arm64", "**geomean**", "❌ **Regression**"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare Markdown lacks %q:\n%s", want, out)
		}
	}
}

// hostile are names and error texts that would be markup, or break a
// table, if written as they are.
var hostile = []string{
	"evil|name`code`<script>alert(1)</script>",
	"*bold* _em_ ~~strike~~ [link](http://x.example) ![img](y)",
	"line\nbreak\r\n| --- |\ttab",
	"# heading",
	"> quote & &amp; $x^2$",
	"- item",
	"1. item\\|",
	"trailing backslash\\",
	"www.example.com and https://example.com",
}

// TestMarkdownEscapesHostileText renders runs and a comparison whose
// names, errors and warnings are hostile: every table keeps its header's
// cell count, no raw markup from them survives, and each name reads back
// as it came (newlines as spaces).
func TestMarkdownEscapesHostileText(t *testing.T) {
	for i := 0; i+1 < len(hostile); i++ {
		r := mdResult(t, [2]string{hostile[i], hostile[i+1]}, [2]string{hostile[len(hostile)-1-i], "chat"})
		r.Warnings = append(r.Warnings, "engine said: "+hostile[i])
		r.Groups[1].Warnings = append(r.Groups[1].Warnings, hostile[i+1])
		r.Engine.Version = hostile[i]
		var b bytes.Buffer
		if err := Markdown(&b, r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		checkTables(t, out)
		checkInert(t, out, hostile[i], hostile[i+1], hostile[len(hostile)-1-i])

		var recs []record.Record
		for j := range 8 {
			recs = append(recs, cmpRecord(hostile[i], hostile[i+1], time.Duration(50+j)*time.Millisecond, 10*time.Millisecond))
		}
		c := stats.Compare(recs, recs, nil, 0)
		c.BaseLabel, c.CandLabel = hostile[i], hostile[i+1]
		c.Warnings = append(c.Warnings, hostile[i])
		b.Reset()
		if err := CompareMarkdown(&b, c, &CompareSide{Engine: r.Engine}, &CompareSide{Engine: r.Engine}); err != nil {
			t.Fatal(err)
		}
		checkTables(t, b.String())
		checkInert(t, b.String(), hostile[i], hostile[i+1])
	}
}

// checkInert checks that the names appear escaped in out, never raw
// where raw would be markup or break a line, and that no raw markup from
// them, nor a list item that they turn into a heading, quote or nested
// list, is in out.
func checkInert(t *testing.T, out string, names ...string) {
	t.Helper()
	for _, n := range names {
		if strings.ContainsAny(n, "|\n<*`[") && strings.Contains(out, n) {
			t.Errorf("%q appears unescaped in\n%s", n, out)
		}
		if e := mdText(n); !strings.Contains(out, e) {
			t.Errorf("%q does not appear escaped (%q) in\n%s", n, e, out)
		}
	}
	for _, raw := range []string{"<script>", "`code`", "*bold*", "_em_", "~~strike~~", "[link](", "![img]", "$x^2$", " &amp;", "line\nbreak"} {
		if strings.Contains(out, raw) {
			t.Errorf("raw markup %q in\n%s", raw, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		item, ok := strings.CutPrefix(l, "- ")
		if !ok {
			if i := strings.Index(l, ". "); i > 0 && allDigits([]rune(l[:i])) {
				item, ok = l[i+2:], true
			}
		}
		item = strings.TrimPrefix(item, "⚠️ ")
		if !ok {
			continue
		}
		for _, bad := range []string{"#", ">", "- ", "+ ", "1. ", "1) "} {
			if strings.HasPrefix(item, bad) {
				t.Errorf("list item %q starts a block (%q)", l, bad)
			}
		}
	}
}

func TestMDText(t *testing.T) {
	for _, s := range hostile {
		e := mdText(s)
		if strings.ContainsAny(e, "\n\r\t") {
			t.Errorf("mdText(%q) = %q keeps a line break or tab", s, e)
		}
		if u := unescapeMD(e); u != strings.NewReplacer("\r\n", "  ", "\n", " ", "\r", " ", "\t", " ").Replace(s) {
			t.Errorf("mdText(%q) reads back as %q", s, u)
		}
		// Every character that can open or close markup is escaped.
		rs := []rune(e)
		for i := 0; i < len(rs); i++ {
			if rs[i] == '\\' {
				i++
				continue
			}
			if strings.ContainsRune("`*_[]<>|~&$#!", rs[i]) {
				t.Errorf("mdText(%q) = %q leaves %q unescaped", s, e, rs[i])
			}
		}
	}
	for in, want := range map[string]string{
		"llama3.2:1b": "llama3.2:1b", "c=4": "c=4", "Q&A - Short": `Q\&A - Short`, "- x": `\- x`, "12. x": `12\. x`,
		"3) x": `3\) x`, "http://h/v1": `http\://h/v1`, "WWW.x.org": `WWW\.x.org`, "a\x1b[31mb": `a?\[31mb`, "bad\xffutf8": "bad\uFFFDutf8",
	} {
		if got := mdText(in); got != want {
			t.Errorf("mdText(%q) = %q, want %q", in, got, want)
		}
	}
}

// unescapeMD removes Markdown backslash escapes.
func unescapeMD(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			i++
		}
		b.WriteRune(rs[i])
	}
	return b.String()
}

// checkTables parses every GitHub-flavoured table of out and checks that
// each row has the header's number of cells and that the delimiter row is
// one.
func checkTables(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	tables := 0
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") {
			continue
		}
		tables++
		head := mdCells(lines[i])
		if i+1 >= len(lines) || !isDelimiterRow(mdCells(lines[i+1]), len(head)) {
			t.Errorf("table at line %d has no delimiter row of %d cells: %q", i+1, len(head), lines[min(i+1, len(lines)-1)])
		}
		j := i + 2
		for ; j < len(lines) && lines[j] != ""; j++ {
			if n := len(mdCells(lines[j])); n != len(head) || !strings.HasPrefix(lines[j], "| ") || !strings.HasSuffix(lines[j], " |") {
				t.Errorf("table row %q has %d cells, its header %d", lines[j], n, len(head))
			}
		}
		i = j
	}
	if tables == 0 {
		t.Errorf("no table in\n%s", out)
	}
}

// mdCells splits a table row into cells as GitHub does: a pipe preceded
// by a backslash is part of a cell; the leading and trailing pipes are
// delimiters.
func mdCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '|' && (i == 0 || line[i-1] != '\\') {
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(line[i])
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func isDelimiterRow(cells []string, n int) bool {
	if len(cells) != n {
		return false
	}
	for _, c := range cells {
		if strings.Trim(c, ":-") != "" || !strings.Contains(c, "-") {
			return false
		}
	}
	return true
}

// mdLine returns the first line of s that starts with prefix.
func mdLine(t *testing.T, s, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line starting %q in\n%s", prefix, s)
	return ""
}
