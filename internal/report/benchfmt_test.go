package report

import (
	"bytes"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"flperf/internal/record"
)

// parsedResult is one benchmark line read by parseBenchfmt.
type parsedResult struct {
	name   string // without the "Benchmark" prefix
	iters  int
	values map[string]float64 // by unit
	units  []string           // in line order
}

// parsedFile is a benchmark file read by parseBenchfmt.
type parsedFile struct {
	config  map[string]string
	unitMD  map[string]map[string]string // unit → key → value
	results []parsedResult
}

// parseBenchfmt reads text by the rules of the Go benchmark format
// (golang.org/design/14313-benchmark-format and x/perf/benchfmt), strictly:
// every non-empty line must be a configuration line, a Unit metadata line
// or a benchmark line, so that nothing we write is silently ignored.
//
//	config:    key ":" (" " | "\t")+ value, key starts lower case, has no space nor upper case
//	unit:      "Unit" unit (key "=" value)*
//	benchmark: "Benchmark" name iterations (value unit)+, fields split on white space
func parseBenchfmt(t *testing.T, text string) parsedFile {
	t.Helper()
	if !utf8.ValidString(text) {
		t.Fatal("benchfmt files must be valid UTF-8")
	}
	f := parsedFile{config: map[string]string{}, unitMD: map[string]map[string]string{}}
	for n, line := range strings.Split(text, "\n") {
		n++
		if line == "" {
			continue
		}
		fields := strings.FieldsFunc(line, unicode.IsSpace)
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			if len(fields) < 4 || (len(fields)-2)%2 != 0 {
				t.Errorf("line %d: want name, iterations and value-unit pairs: %q", n, line)
				continue
			}
			r := parsedResult{name: strings.TrimPrefix(fields[0], "Benchmark"), values: map[string]float64{}}
			it, err := strconv.Atoi(fields[1])
			if err != nil || it <= 0 {
				t.Errorf("line %d: iteration count %q", n, fields[1])
			}
			r.iters = it
			for i := 2; i < len(fields); i += 2 {
				v, err := strconv.ParseFloat(fields[i], 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("line %d: value %q", n, fields[i])
				}
				u := fields[i+1]
				if _, err := strconv.ParseFloat(u, 64); err == nil {
					t.Errorf("line %d: unit %q is a number", n, u)
				}
				if _, dup := r.values[u]; dup {
					t.Errorf("line %d: unit %q twice", n, u)
				}
				r.values[u] = v
				r.units = append(r.units, u)
			}
			f.results = append(f.results, r)
		case fields[0] == "Unit":
			if len(fields) < 2 {
				t.Errorf("line %d: Unit without unit", n)
				continue
			}
			md := map[string]string{}
			for _, kv := range fields[2:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					t.Errorf("line %d: metadata %q is not key=value", n, kv)
				}
				md[k] = v
			}
			f.unitMD[fields[1]] = md
		default:
			k, v, ok := configLine(line)
			if !ok {
				t.Errorf("line %d matches no rule of the format: %q", n, line)
				continue
			}
			f.config[k] = v
		}
	}
	return f
}

// configLine parses "key: value" by the format's rules.
func configLine(line string) (key, value string, ok bool) {
	i := strings.IndexByte(line, ':')
	if i <= 0 {
		return "", "", false
	}
	key = line[:i]
	for j, r := range key {
		if (j == 0 && !unicode.IsLower(r)) || unicode.IsSpace(r) || unicode.IsUpper(r) {
			return "", "", false
		}
	}
	rest := line[i+1:]
	if rest == "" {
		return key, "", true
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", "", false
	}
	return key, strings.TrimLeft(rest, " \t"), true
}

// nameParts checks a benchmark name (without "Benchmark") by benchfmt's
// Name.Parts rules and returns its key=value parts: base "LLM", then
// "/key=value" parts, no trailing "-<digits>" (GOMAXPROCS).
func nameParts(t *testing.T, name string) map[string]string {
	t.Helper()
	i := len(name) - 1
	for i >= 0 && name[i] >= '0' && name[i] <= '9' {
		i--
	}
	if i >= 0 && i < len(name)-1 && name[i] == '-' {
		t.Errorf("name %q ends in a GOMAXPROCS suffix", name)
	}
	parts := strings.Split(name, "/")
	if parts[0] != "LLM" {
		t.Errorf("base name %q", parts[0])
	}
	kv := map[string]string{}
	var keys []string
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Errorf("part %q of %q is not key=value", p, name)
		}
		kv[k] = v
		keys = append(keys, k)
	}
	if got := strings.Join(keys, ","); got != "model,scenario" && got != "model,scenario,stage" {
		t.Errorf("name %q has parts %s", name, got)
	}
	return kv
}

// benchRecords returns records covering every case Benchstat handles.
func benchRecords() []record.Record {
	ms := time.Millisecond
	ok := cmpRecord("org/model:7b", "Q&A - Short", 40*ms, 10*ms) // TTFT 40, last 140, end 141
	ok2 := cmpRecord("org/model:7b", "Q&A - Short", 50*ms, 12*ms)
	warm := cmpRecord("org/model:7b", "Q&A - Short", 900*ms, 90*ms)
	warm.Warmup = true
	failed := cmpRecord("org/model:7b", "Q&A - Short", 900*ms, 90*ms)
	failed.Outcome = record.Timeout
	reason := cmpRecord("deepseek-r1", "chat-2", 30*ms, 5*ms)
	reason.FirstAnswer = 80 * ms
	nonStream := record.Record{Model: "phi-3", Scenario: "batch", Stage: "c=8", Outcome: record.OK, End: 500 * ms,
		OutputTokens: 20, OutputSource: record.SourceUsage}
	nothing := record.Record{Model: "x", Scenario: "y", Outcome: record.OK}
	return []record.Record{ok, warm, failed, ok2, reason, nonStream, nothing}
}

func TestBenchstatGolden(t *testing.T) {
	var b bytes.Buffer
	if err := writeBenchfmt(&b, "linux", "amd64", "20261127-120000-abcdef", benchRecords()); err != nil {
		t.Fatal(err)
	}
	golden(t, "benchstat.golden", b.Bytes())

	f := parseBenchfmt(t, b.String())
	for k, v := range map[string]string{"goos": "linux", "goarch": "amd64", "pkg": "flperf", "run": "20261127-120000-abcdef"} {
		if f.config[k] != v {
			t.Errorf("config %s = %q, want %q", k, f.config[k], v)
		}
	}
	for unit, better := range map[string]string{"ttft-ns": "lower", "ttfo-ns": "lower", "tpot-ns": "lower", "e2e-ns": "lower", "decode-tok/s": "higher", "output-tok/s": "higher"} {
		if f.unitMD[unit]["better"] != better {
			t.Errorf("unit %s better=%q, want %q", unit, f.unitMD[unit]["better"], better)
		}
	}
	// ok, ok2, reason, nonStream: warm-up, failed and empty records have no line.
	if len(f.results) != 4 {
		t.Fatalf("%d results, want 4", len(f.results))
	}
	first := f.results[0]
	if kv := nameParts(t, first.name); kv["model"] != "org∕model:7b" || kv["scenario"] != "Q&A_-_Short" {
		t.Errorf("sanitised name %q", first.name)
	}
	want := map[string]float64{"ttft-ns": 40e6, "tpot-ns": 10e6, "e2e-ns": 141e6, "decode-tok/s": 100, "output-tok/s": 11 / 0.141}
	if first.iters != 1 || len(first.values) != len(want) || strings.Join(first.units, " ") != "ttft-ns tpot-ns e2e-ns decode-tok/s output-tok/s" {
		t.Errorf("first line: iters %d units %q", first.iters, first.units)
	}
	for u, v := range want {
		if got := first.values[u]; math.Abs(got-v) > 1e-9*v {
			t.Errorf("%s = %v, want %v", u, got, v)
		}
	}
	if r := f.results[2]; r.values["ttfo-ns"] != 80e6 || r.values["ttft-ns"] != 30e6 || nameParts(t, r.name)["scenario"] != "chat_2" || nameParts(t, r.name)["model"] != "deepseek-r1" {
		t.Errorf("reasoning record: %+v", r)
	}
	if _, ok := f.results[0].values["ttfo-ns"]; ok {
		t.Error("ttfo-ns written where it equals TTFT")
	}
	r := f.results[3]
	if kv := nameParts(t, r.name); kv["model"] != "phi-3" || kv["stage"] != "c=8" || kv["scenario"] != "batch" {
		t.Errorf("non-streaming name %q", r.name)
	}
	if strings.Join(r.units, " ") != "e2e-ns output-tok/s" || r.values["output-tok/s"] != 40 {
		t.Errorf("non-streaming record: %+v", r)
	}
}

func TestBenchNameSanitised(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, c := range []struct{ model, scenario, stage, want string }{
		{"org/model:7b", "Q&A - Short", "", "BenchmarkLLM/model=org∕model:7b/scenario=Q&A_-_Short"},
		{"phi-3", "chat-7", "", "BenchmarkLLM/model=phi-3/scenario=chat_7"},
		{"phi-3", "chat-7", "c-16", "BenchmarkLLM/model=phi-3/scenario=chat-7/stage=c_16"},
		{"a\tb\nc", "x\x00y\u00a0z", "", "BenchmarkLLM/model=a_b_c/scenario=x_y_z"},
		{"bad\xffutf8", "", "", "BenchmarkLLM/model=bad\uFFFDutf8/scenario="},
		{"zero\u200bwidth", "-", "", "BenchmarkLLM/model=zero_width/scenario=-"},
		{long, "s", "", "BenchmarkLLM/model=" + strings.Repeat("é", MaxBenchNameValue) + "/scenario=s"},
	} {
		got := BenchName(c.model, c.scenario, c.stage)
		if got != c.want {
			t.Errorf("BenchName(%q, %q, %q) = %q, want %q", c.model, c.scenario, c.stage, got, c.want)
		}
		if strings.ContainsFunc(got, unicode.IsSpace) || !utf8.ValidString(got) {
			t.Errorf("%q is not one field of valid UTF-8", got)
		}
		nameParts(t, strings.TrimPrefix(got, "Benchmark"))
	}
}

func TestBenchstatHeader(t *testing.T) {
	var b bytes.Buffer
	if err := Benchstat(&b, "", nil); err != nil {
		t.Fatal(err)
	}
	f := parseBenchfmt(t, b.String())
	if f.config["goos"] != runtime.GOOS || f.config["goarch"] != runtime.GOARCH || f.config["pkg"] != "flperf" {
		t.Errorf("config %v", f.config)
	}
	if _, ok := f.config["run"]; ok || len(f.results) != 0 {
		t.Errorf("empty label or no records: %q", b.String())
	}
	b.Reset()
	if err := Benchstat(&b, "run 1\nBenchmarkFake 1 1 ns/op\r", nil); err != nil {
		t.Fatal(err)
	}
	f = parseBenchfmt(t, b.String())
	if f.config["run"] != "run 1 BenchmarkFake 1 1 ns/op" || len(f.results) != 0 {
		t.Errorf("label not kept on one line: %q", b.String())
	}
}
