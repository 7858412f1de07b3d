package report

import (
	"bufio"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"unicode"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// benchUnit maps a comparable metric to its unit in the Go benchmark format.
// Times are written in ns with a "-ns" unit suffix, which benchstat tidies
// to seconds and scales (ttft-ns → ttft-sec); rates keep their tok/s unit.
type benchUnit struct {
	key    string // stats.Metric key
	unit   string // benchfmt unit: one word, no spaces
	ns     bool   // the metric is in ms and is written in integer ns
	better string // "lower" or "higher", for the Unit metadata line
}

// benchUnits lists what Benchstat writes per record, in line order. ITL is
// left out (it is per token, not per request); TTFO is written only for
// records where it differs from TTFT (reasoning models, docs/metrics.md §3).
var benchUnits = []benchUnit{
	{"ttft_ms", "ttft-ns", true, "lower"},
	{"ttfo_ms", "ttfo-ns", true, "lower"},
	{"tpot_ms", "tpot-ns", true, "lower"},
	{"e2e_ms", "e2e-ns", true, "lower"},
	{"decode_tps", "decode-tok/s", false, "higher"},
	{"output_tps", "output-tok/s", false, "higher"},
}

// MaxBenchNameValue is the most runes a model, scenario or stage name keeps
// in a benchmark name; longer names are cut.
const MaxBenchNameValue = 128

// Benchstat writes the per-request samples of recs in the Go benchmark
// format (golang.org/design/14313-benchmark-format), so that benchstat can
// read them.
//
// benchstat splits its output into one table per distinct file
// configuration, so two files with different "run:" lines are compared with
// `benchstat -col run a.txt b.txt` (checked with benchstat
// v0.0.0-20260908200009); with an empty runLabel the line is left out and
// plain `benchstat a.txt b.txt` compares them. Within one file, `benchstat
// -col /model` or `-col /scenario` compares name parts.
//
// The header holds the configuration lines goos and goarch (of the machine
// writing the file, where flperf ran as the client), "pkg: flperf", "run:
// <runLabel>" (left out when the label is empty) and one "Unit <unit>
// better=lower|higher" metadata line per unit. Then every ok, non-warm-up
// record gives one line
//
//	BenchmarkLLM/model=<m>/scenario=<s>[/stage=<st>] 1 <ttft> ttft-ns [<ttfo> ttfo-ns] <tpot> tpot-ns <e2e> e2e-ns <decode> decode-tok/s <output> output-tok/s
//
// with "1" iteration and value-unit pairs: times in integer nanoseconds,
// rates in tokens/s; a figure the record lacks (TTFT of a non-streaming
// request, TPOT with one output token) is left out of its line, and a record
// without any figure has no line. Names are made safe for the format (see
// BenchName).
func Benchstat(w io.Writer, runLabel string, recs []record.Record) error {
	return writeBenchfmt(w, runtime.GOOS, runtime.GOARCH, runLabel, recs)
}

// writeBenchfmt is Benchstat with the goos and goarch given (for goldens).
func writeBenchfmt(w io.Writer, goos, goarch, runLabel string, recs []record.Record) error {
	bw := bufio.NewWriter(w)
	config := func(k, v string) {
		if v = configValue(v); v != "" {
			bw.WriteString(k + ": " + v + "\n")
		}
	}
	config("goos", goos)
	config("goarch", goarch)
	config("pkg", "flperf")
	config("run", runLabel)
	for _, u := range benchUnits {
		bw.WriteString("Unit " + u.unit + " better=" + u.better + "\n")
	}

	metrics := make([]stats.Metric, len(benchUnits))
	for i, u := range benchUnits {
		metrics[i], _ = stats.MetricByKey(u.key) // every key is known (tested); an unknown one would be skipped
	}
	var buf []float64
	var line []byte
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Outcome != record.OK {
			continue
		}
		line = append(line[:0], BenchName(r.Model, r.Scenario, r.Stage)...)
		line = append(line, " 1"...)
		values := 0
		for j, u := range benchUnits {
			if metrics[j].Samples == nil || (u.key == "ttfo_ms" && r.FirstAnswer == r.FirstToken) {
				continue
			}
			buf = metrics[j].Samples(r, buf[:0])
			if len(buf) == 0 || !finiteF(buf[0]) {
				continue
			}
			line = append(line, ' ')
			if u.ns {
				line = strconv.AppendInt(line, int64(math.Round(buf[0]*1e6)), 10)
			} else {
				line = strconv.AppendFloat(line, buf[0], 'f', -1, 64)
			}
			line = append(line, ' ')
			line = append(line, u.unit...)
			values++
		}
		if values == 0 {
			continue
		}
		line = append(line, '\n')
		bw.Write(line)
	}
	return bw.Flush()
}

// BenchName returns the benchmark name of a model × scenario (× stage):
// "BenchmarkLLM/model=<m>/scenario=<s>", with "/stage=<st>" when the stage
// is not empty. Each value is made safe for the format: whitespace and
// control characters become '_', '/' (which would start a new name part)
// becomes '∕' (U+2215 DIVISION SLASH), invalid UTF-8 becomes U+FFFD, and
// values are cut to MaxBenchNameValue runes. The last value (the scenario,
// or the stage when there is one) has a trailing "-<digits>", which
// benchfmt would read as the GOMAXPROCS suffix, turned into "_<digits>"
// ("chat-2" → "chat_2"); model names keep theirs ("phi-3"). So
// "org/model:7b" becomes "org∕model:7b" and "Q&A - Short" "Q&A_-_Short".
func BenchName(model, scenario, stage string) string {
	if stage == "" {
		return "BenchmarkLLM/model=" + benchValue(model) + "/scenario=" + lastValue(benchValue(scenario))
	}
	return "BenchmarkLLM/model=" + benchValue(model) + "/scenario=" + benchValue(scenario) + "/stage=" + lastValue(benchValue(stage))
}

// lastValue protects the value that ends a benchmark name: benchfmt reads
// a trailing "-<digits>" as the GOMAXPROCS suffix, so its '-' becomes '_'.
func lastValue(s string) string {
	i := len(s) - 1
	for i >= 0 && s[i] >= '0' && s[i] <= '9' {
		i--
	}
	if i >= 0 && i < len(s)-1 && s[i] == '-' {
		return s[:i] + "_" + s[i+1:]
	}
	return s
}

// benchValue makes one name value safe for a benchmark name.
func benchValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	rs := []rune(strings.Map(func(r rune) rune {
		switch {
		case r == '/':
			return '∕'
		case unicode.IsSpace(r), unicode.IsControl(r), !unicode.IsPrint(r):
			return '_'
		}
		return r
	}, s))
	if len(rs) > MaxBenchNameValue {
		rs = rs[:MaxBenchNameValue]
	}
	return string(rs)
}

// configValue makes a configuration value one clean line: control
// characters become spaces, invalid UTF-8 U+FFFD, ends trimmed.
func configValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || (unicode.IsSpace(r) && r != ' ') {
			return ' '
		}
		return r
	}, s))
}
