package server

import (
	"net/http"
	"time"

	"flperf/internal/doctor"
)

// doctorLimit bounds GET /doctor: every probe is bounded, this bounds the
// whole answer.
const doctorLimit = 30 * time.Second

// handleDoctor answers GET /doctor: the report of `flperf doctor --format
// json` in the envelope, or with ?format=text its text form as
// text/plain, byte for byte what `flperf doctor` prints.
func (s *Server) handleDoctor(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "text" {
		return badRequest("format", "format: must be json or text, got %q", format)
	}
	deadline(w, doctorLimit)
	o := s.opts.Doctor
	if o.DBPath == "" {
		o.DBPath = s.db.Path()
	}
	rep := doctor.Gather(r.Context(), o)
	if format == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = rep.WriteText(w) // the status is sent: a failed write is the client's leaving
		return nil
	}
	return writeData(w, http.StatusOK, rep)
}
