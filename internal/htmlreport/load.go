// Package htmlreport writes one or more stored runs as a single
// self-contained HTML file, the `flperf report --html` output and the app's
// "Download report" button: the styles, the vendored chart library, the
// data and the scripts are all inline, so that the file opens from disk,
// with no network and no server, and can be mailed or attached.
//
// Every table is rendered here, in Go, by html/template: the file shows
// its figures with JavaScript off. The scripts only draw charts from a
// JSON block (<script type="application/json">, every '<', '>', '&',
// U+2028 and U+2029 escaped) of summaries, already-binned distributions
// and a sweep's curve: never the records. Model output and names are
// text, never markup: the template escapes them, the charts draw them on
// a canvas, and a strict Content-Security-Policy meta tag allows only the
// inline scripts and style whose SHA-256 hashes Write computes.
package htmlreport

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"flperf/internal/bench"
	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// Limits on what a report carries of each run.
const (
	// Bins is the number of equal-width bins of each distribution (the
	// app's default).
	Bins = 40
	// SampleTexts is how many generated texts of each run are shown,
	// spread evenly over its measured requests.
	SampleTexts = 6
	// maxSampleText is how much of one generated text is kept (bytes).
	maxSampleText = 1 << 10
)

// distMetrics are the metrics whose distributions a report draws.
var distMetrics = []string{"e2e_ms", "ttft_ms"}

// Report is everything one report file shows.
type Report struct {
	Runs []Run
	// Compare is the comparison of the two runs (the first the base), by
	// the function and with the defaults of `flperf compare`; nil unless
	// the report has exactly two runs.
	Compare *stats.Comparison
	// CompareText is `flperf compare`'s table of Compare.
	CompareText string
	Generated   time.Time
}

// Run is one run of a report.
type Run struct {
	Result *runner.Result
	Best   []report.BestClaim
	Curve  *report.Curve // a load sweep's throughput–latency curve; nil for one level
	// Sweep is a context sweep's figures (docs/metrics.md §13); nil for
	// any other run.
	Sweep   *report.ContextSweep
	Dists   []Dist // per metric of distMetrics, per model
	Samples []Sample
	Text    string // the terminal report (`flperf show`)
}

// Dist is one model's distribution of one metric, binned as the app's
// GET /runs/{id}/distribution bins it: Bins equal-width bins from the
// minimum to the maximum over ok measured requests.
type Dist struct {
	Metric string      `json:"metric"`
	Unit   string      `json:"unit"`
	Model  string      `json:"model"`
	N      int         `json:"n"`
	Bins   []stats.Bin `json:"bins"`
}

// Sample is one measured request and the start of its generated text
// (untrusted: shown as text).
type Sample struct {
	Model, Scenario, Outcome string
	TTFTMS, E2EMS            float64 // NaN when the request never got there
	OutputTokens             int
	Text                     string
}

// Load reads runs ids (ids or unique prefixes) from db, and their
// comparison when there are two (metrics and alpha as `flperf compare`
// takes them; nil metrics: its defaults).
func Load(ctx context.Context, db *store.DB, ids []string, metrics []stats.Metric, alpha float64) (*Report, error) {
	if len(ids) == 0 {
		return nil, errors.New("no run to report")
	}
	rep := &Report{Generated: time.Now()}
	for _, prefix := range ids {
		id, err := db.Resolve(ctx, prefix)
		if err != nil {
			return nil, err
		}
		r, err := loadRun(ctx, db, id)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", id, err)
		}
		rep.Runs = append(rep.Runs, r)
	}
	if len(rep.Runs) == 2 {
		if metrics == nil {
			metrics, _ = bench.CompareMetrics(nil)
		}
		cmp, err := bench.Compare(ctx, db, rep.Runs[0].Result.ID, rep.Runs[1].Result.ID, metrics, alpha)
		if err != nil {
			return nil, fmt.Errorf("comparing the runs: %w", err)
		}
		var b strings.Builder
		if err := report.CompareTable(&b, cmp); err != nil {
			return nil, err
		}
		rep.Compare, rep.CompareText = &cmp, b.String()
	}
	return rep, nil
}

// loadRun reads one run: its result, the distributions (one scan of the
// records' statistics fields) and a few texts.
func loadRun(ctx context.Context, db *store.DB, id string) (Run, error) {
	res, err := db.Run(ctx, id)
	if err != nil {
		return Run{}, err
	}
	run := Run{Result: res, Best: report.Best(res), Curve: report.RunCurve(res), Sweep: report.RunContextSweep(res)}
	var text strings.Builder
	if err := report.Table(&text, res); err != nil {
		return Run{}, err
	}
	run.Text = text.String()

	ms := make([]stats.Metric, len(distMetrics))
	for i, k := range distMetrics {
		ms[i], _ = stats.MetricByKey(k)
	}
	var models []string
	samples := map[string][][]float64{} // model → per metric
	_, err = db.StatsRecords(ctx, id, store.StatsScan{}, func(r *record.Record) {
		xs, ok := samples[r.Model]
		if !ok {
			xs = make([][]float64, len(ms))
			models = append(models, r.Model)
		}
		if !r.Warmup && r.Outcome == record.OK {
			for i, m := range ms {
				xs[i] = m.Samples(r, xs[i])
			}
		}
		samples[r.Model] = xs
	})
	if err != nil {
		return Run{}, err
	}
	for i, m := range ms {
		for _, model := range models {
			run.Dists = append(run.Dists, histogram(m, model, samples[model][i]))
		}
	}

	stride := max(1, res.Total.Requests/SampleTexts)
	err = db.SpreadRecords(ctx, id, store.Spread{Stride: stride, Limit: SampleTexts}, func(r *record.Record) error {
		run.Samples = append(run.Samples, sampleOf(r))
		return nil
	})
	return run, err
}

// histogram bins xs (finite ones) into Bins equal-width bins from the
// minimum to the maximum, as the app's distribution does.
func histogram(m stats.Metric, model string, xs []float64) Dist {
	xs = slices.DeleteFunc(xs, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) })
	slices.Sort(xs)
	return Dist{Metric: m.Key, Unit: m.Unit, Model: model, N: len(xs), Bins: stats.Histogram(xs, Bins)}
}

// sampleOf describes one record, its text cut to maxSampleText bytes (on
// a rune boundary) and made valid UTF-8.
func sampleOf(r *record.Record) Sample {
	s := Sample{Model: r.Model, Scenario: r.Scenario, Outcome: string(r.Outcome), OutputTokens: r.OutputTokens,
		TTFTMS: math.NaN(), E2EMS: math.NaN(), Text: r.Text}
	if r.FirstToken > 0 {
		s.TTFTMS = float64(r.FirstToken) / float64(time.Millisecond)
	}
	if r.End > 0 {
		s.E2EMS = float64(r.End) / float64(time.Millisecond)
	}
	if len(s.Text) > maxSampleText {
		cut := maxSampleText
		for cut > 0 && !utf8.RuneStart(s.Text[cut]) {
			cut--
		}
		s.Text = s.Text[:cut] + "…"
	}
	s.Text = strings.ToValidUTF8(s.Text, "\uFFFD")
	return s
}
