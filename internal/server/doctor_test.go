package server

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"flperf/internal/doctor"
	"flperf/internal/engine"
)

// GET /doctor serves the report of flperf doctor over the app's own
// database (checked, not damaged), and ?format=text its text form, equal
// to the JSON report written as text; a bad format is a 400 naming it.
func TestDoctor(t *testing.T) {
	sqliteOnly(t, "the report names the SQLite file")
	a := newApp(t, Options{Doctor: doctor.Options{
		Ports:     []engine.Port{},
		Processes: func(context.Context) ([]string, error) { return []string{"init"}, nil },
		Command: func(context.Context, string, ...string) ([]byte, error) {
			return nil, &exec.Error{Name: "foundry", Err: exec.ErrNotFound}
		},
	}})
	var r doctor.Report
	a.data("GET", "/api/v1/doctor", nil, http.StatusOK, &r)
	if !r.Data.DB.Exists || !r.Data.DB.OK || r.Data.DB.Check != "integrity_check" || r.Data.DB.Runs == nil || *r.Data.DB.Runs != 0 ||
		!strings.HasSuffix(r.Data.DB.Path, "flperf.db") || r.Foundry.Installed || r.System.Platform == "" || r.Flperf.Go == "" {
		t.Fatalf("report: %+v", r)
	}
	res := a.do("GET", "/api/v1/doctor?format=text", nil)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("text: %d %s", res.status, res.header.Get("Content-Type"))
	}
	var want bytes.Buffer
	if err := r.WriteText(&want); err != nil {
		t.Fatal(err)
	}
	if string(res.body) != want.String() {
		t.Fatalf("text form:\n%s\nwant (the JSON report as text):\n%s", res.body, want.String())
	}
	if e := a.fail("GET", "/api/v1/doctor?format=yaml", nil, http.StatusBadRequest); e.Field != "format" {
		t.Fatalf("bad format: %+v", e)
	}
}
