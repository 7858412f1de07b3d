package server

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"flperf/internal/bench"
	"flperf/internal/htmlreport"
	"flperf/internal/stats"
)

// handleRunReport answers GET /runs/{id}/report.html: the run as one
// self-contained HTML file (`flperf report ID --html FILE`), as a download.
func (s *Server) handleRunReport(w http.ResponseWriter, r *http.Request) error {
	id, err := s.resolveRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeReport(w, r, []string{id}, "flperf-report-"+id+".html")
}

// handleCompareReport answers GET /compare/report.html?base=RUN&candidate=RUN:
// both runs and their comparison in one file (`flperf report BASE CAND
// --html FILE`), with metric and alpha as GET /compare takes them.
func (s *Server) handleCompareReport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var ids []string
	for _, name := range []string{"base", "candidate"} {
		v := q.Get(name)
		if v == "" {
			return badRequest(name, "give %s=RUN", name)
		}
		id, err := s.resolveRun(r.Context(), v)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	ms, unknown := bench.CompareMetrics(q["metric"])
	if len(unknown) > 0 {
		return badRequest("metric", "unknown metric %s", quote(unknown[0]))
	}
	alpha := stats.DefaultAlpha
	if v := q.Get("alpha"); v != "" {
		a, err := strconv.ParseFloat(v, 64)
		if err != nil || !(a > 0 && a < 1) {
			return badRequest("alpha", "alpha must be a number between 0 and 1, got %s", quote(v))
		}
		alpha = a
	}
	return s.writeReportWith(w, r, ids, ms, alpha, fmt.Sprintf("flperf-report-%s-vs-%s.html", ids[0], ids[1]))
}

func (s *Server) writeReport(w http.ResponseWriter, r *http.Request, ids []string, name string) error {
	return s.writeReportWith(w, r, ids, nil, stats.DefaultAlpha, name)
}

// writeReportWith renders the report whole before answering, so that a
// failure is an error answer, never half a file.
func (s *Server) writeReportWith(w http.ResponseWriter, r *http.Request, ids []string, ms []stats.Metric, alpha float64, name string) error {
	rep, err := htmlreport.Load(r.Context(), s.db, ids, ms, alpha)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := htmlreport.Write(&b, rep); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b.Bytes())
	return err
}
