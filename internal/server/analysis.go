package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"flperf/internal/bench"
	"flperf/internal/record"
	"flperf/internal/report"
	"flperf/internal/stats"
	"flperf/internal/store"
)

// Distribution limits.
const (
	defaultBins = 40
	maxBins     = 200
	maxCDF      = 200 // points of a CDF
)

// distMetrics are the metrics a distribution may show.
var distMetrics = []string{"e2e_ms", "ttft_ms", "tpot_ms", "itl_ms", "decode_tps", "ttfo_ms", "output_tps"}

// distModel is one model's distribution.
type distModel struct {
	Model string       `json:"model"`
	N     int          `json:"n"`
	Bins  []stats.Bin  `json:"bins"`
	CDF   [][2]float64 `json:"cdf"`
}

// distView is GET /runs/{id}/distribution.
type distView struct {
	Metric string      `json:"metric"`
	Unit   string      `json:"unit"`
	Models []distModel `json:"models"`
}

// handleDistribution answers GET /runs/{id}/distribution, computed from
// the stored records with the summary's rules (warm-ups and failed
// requests left out). The per-request samples of a finished run are kept
// (see sampleSets), so that another metric or bin count costs no scan.
func (s *Server) handleDistribution(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	key := q.Get("metric")
	if key == "" {
		key = "e2e_ms"
	}
	m, ok := stats.MetricByKey(key)
	if !ok || !slices.Contains(distMetrics, key) {
		return badRequest("metric", "metric must be one of %s, got %s", strings.Join(distMetrics, ", "), quote(key))
	}
	bins, err := queryInt(q, "bins", defaultBins, 1, maxBins, fmt.Sprintf("from 1 to %d", maxBins))
	if err != nil {
		return err
	}
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ck := "dist\x00" + id + "\x00" + key + "\x00" + strconv.Itoa(bins)
	if v, ok := s.cache.get(ck); ok {
		return writeData(w, http.StatusOK, v)
	}
	set, err := s.samplesOf(r.Context(), id, key == "itl_ms")
	if err != nil {
		return err
	}
	v := &distView{Metric: m.Key, Unit: m.Unit, Models: []distModel{}}
	for i, model := range set.models {
		v.Models = append(v.Models, histogram(model, set.metric(key, i), bins))
	}
	if set.finished {
		s.cache.put(ck, id, v)
	}
	return writeData(w, http.StatusOK, v)
}

// histogram bins xs (sorted, finite) into bins equal-width bins from its
// minimum to its maximum, and samples its empirical CDF at up to maxCDF
// points (the first and the last sample included).
func histogram(model string, xs []float64, bins int) distModel {
	d := distModel{Model: model, N: len(xs), Bins: stats.Histogram(xs, bins), CDF: [][2]float64{}}
	n := len(xs)
	points := min(n, maxCDF)
	for j := range points {
		k := j
		if n > maxCDF {
			k = int(float64(j) * float64(n-1) / float64(maxCDF-1))
		}
		d.CDF = append(d.CDF, [2]float64{xs[k], float64(k+1) / float64(n)})
	}
	return d
}

// maxSampleText is how much of a sample's generated text is shown.
const maxSampleText = 2 << 10

// sampleView is one request of GET /runs/{id}/samples. Text is the model's
// output: untrusted, to be shown as text.
type sampleView struct {
	Model        string   `json:"model"`
	Scenario     string   `json:"scenario"`
	Outcome      string   `json:"outcome"`
	TTFTMS       *float64 `json:"ttft_ms"`
	E2EMS        *float64 `json:"e2e_ms"`
	OutputTokens int      `json:"output_tokens"`
	Text         string   `json:"text"`
}

// handleSamples answers GET /runs/{id}/samples: up to n measured requests
// spread evenly over the run (or over one model's requests): every
// (count/n)-th, from the first.
func (s *Server) handleSamples(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n, err := queryInt(q, "n", 20, 1, 200, "from 1 to 200")
	if err != nil {
		return err
	}
	model := q.Get("model")
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := s.result(r.Context(), id)
	if err != nil {
		return err
	}
	count := res.Total.Requests
	if model != "" {
		if !slices.Contains(res.Config.Models, model) {
			return notFound("run %s has no model %s (it has %s)", id, quote(model), strings.Join(res.Config.Models, ", "))
		}
		count = 0
		for _, g := range res.Models {
			if g.Model == model {
				count += g.Requests
			}
		}
	}
	v, err := s.cache.do(r.Context(), "samples\x00"+id+"\x00"+model+"\x00"+strconv.Itoa(n), id, func() (any, bool, error) {
		// Only the chosen records are read whole.
		out := []sampleView{}
		err := s.db.SpreadRecords(r.Context(), id, store.Spread{Model: model, Stride: max(1, count/n), Limit: n}, func(rec *record.Record) error {
			out = append(out, sampleOf(rec))
			return nil
		})
		return out, finished(res), err
	})
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, v)
}

// sampleOf describes one record for the samples.
func sampleOf(r *record.Record) sampleView {
	v := sampleView{Model: r.Model, Scenario: r.Scenario, Outcome: string(r.Outcome), OutputTokens: r.OutputTokens, Text: r.Text}
	if r.FirstToken > 0 {
		x := ms(r.FirstToken)
		v.TTFTMS = &x
	}
	if r.End > 0 {
		x := ms(r.End)
		v.E2EMS = &x
	}
	if len(v.Text) > maxSampleText {
		cut := maxSampleText
		for cut > 0 && !utf8.RuneStart(v.Text[cut]) {
			cut--
		}
		v.Text = v.Text[:cut] + "…"
	}
	v.Text = strings.ToValidUTF8(v.Text, "\uFFFD")
	return v
}

// compareSideRe is a compare side: RUN or RUN@MODEL.
var compareSideRe = regexp.MustCompile(`^[0-9A-Za-z-]{1,128}(@[^\x00-\x1f]{1,512})?$`)

// handleCompare answers GET /compare with the document of
// `flperf compare --format json` for the same two sides.
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	base, cand := q.Get("base"), q.Get("candidate")
	for _, side := range []struct{ name, v string }{{"base", base}, {"candidate", cand}} {
		if side.v == "" {
			return badRequest(side.name, "give %s=RUN or RUN@MODEL", side.name)
		}
		if !compareSideRe.MatchString(side.v) {
			return badRequest(side.name, "%s must be a run id, optionally followed by @MODEL, got %s", side.name, quote(side.v))
		}
	}
	ms, unknown := bench.CompareMetrics(q["metric"])
	if len(unknown) > 0 {
		return badRequest("metric", "unknown metric %s (choose from %s)", quote(unknown[0]), strings.Join(bench.MetricKeys(), ", "))
	}
	alpha := stats.DefaultAlpha
	if v := q.Get("alpha"); v != "" {
		a, err := strconv.ParseFloat(v, 64)
		if err != nil || !(a > 0 && a < 1) {
			return badRequest("alpha", "alpha must be a number between 0 and 1, got %s", quote(v))
		}
		alpha = a
	}
	cmp, err := bench.Compare(r.Context(), s.db, base, cand, ms, alpha)
	if err != nil {
		if errors.Is(err, bench.ErrNoSuchModel) {
			return notFound("%v", err)
		}
		return err
	}
	var b bytes.Buffer
	if err := report.CompareJSON(&b, cmp); err != nil {
		return err
	}
	return writeRawData(w, http.StatusOK, b.Bytes())
}
