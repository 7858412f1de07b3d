package server

import (
	"net/http"
	"strings"
	"testing"

	"flperf/internal/report"
)

// TestStartRunSweep: the run request takes "concurrency" as a list; the run
// has one summary row per level and the run's document serves the curve
// with its knee field (computed by report.RunCurve). Bad sweeps are
// refused naming the field, before anything runs.
func TestStartRunSweep(t *testing.T) {
	a := newApp(t, Options{})
	for _, tc := range []struct{ body, field, says string }{
		{`{"models":["m"],"concurrency":[1,0]}`, "concurrency", "between 1 and"},
		{`{"models":["m"],"concurrency":[1,"2"]}`, "concurrency", ""},
		{`{"models":["m"],"rate":[1,-1]}`, "rate", "> 0"},
		{`{"models":["m"],"rate":[1,2],"concurrency":4}`, "concurrency", "open loop"},
		{`{"models":["m"],"sweep":"concurrency=1..x"}`, "sweep", "two numbers"},
		{`{"models":["m"],"sweep":"rate=1..4","concurrency":[1,2]}`, "sweep", "one of concurrency and rate"},
	} {
		e := a.fail(http.MethodPost, "/api/v1/runs", tc.body, http.StatusBadRequest)
		if e.Field != tc.field || !strings.Contains(e.Message, tc.says) {
			t.Errorf("%s: field %q message %q, want field %q saying %q", tc.body, e.Field, e.Message, tc.field, tc.says)
		}
	}

	id := a.startRun(runBody(3, map[string]any{"concurrency": []int{2, 1}}))
	if st := a.waitRun(id); st != "completed" {
		t.Fatalf("sweep ended %s", st)
	}
	var doc struct {
		Run struct {
			Config struct {
				Mode   string    `json:"mode"`
				Levels []float64 `json:"levels"`
			} `json:"config"`
			Groups []struct {
				Stage    string `json:"stage"`
				Requests int    `json:"requests"`
			} `json:"groups"`
		} `json:"run"`
		Curve *report.Curve `json:"curve"`
	}
	a.data(http.MethodGet, "/api/v1/runs/"+id, nil, http.StatusOK, &doc)
	if doc.Run.Config.Mode != "concurrency" || len(doc.Run.Config.Levels) != 2 {
		t.Fatalf("config: %+v", doc.Run.Config)
	}
	if len(doc.Run.Groups) != 2 || doc.Run.Groups[0].Stage != "c=1" || doc.Run.Groups[1].Stage != "c=2" || doc.Run.Groups[1].Requests != 3 {
		t.Fatalf("groups: %+v", doc.Run.Groups)
	}
	if doc.Curve == nil || len(doc.Curve.Models) != 1 || len(doc.Curve.Models[0].Points) != 2 || doc.Curve.Models[0].Points[1].Stage != "c=2" {
		t.Fatalf("curve: %+v", doc.Curve)
	}

	// A run of one level has no curve.
	one := a.startRun(runBody(2, nil))
	a.waitRun(one)
	var plain map[string]any
	a.data(http.MethodGet, "/api/v1/runs/"+one, nil, http.StatusOK, &plain)
	if c, ok := plain["curve"]; !ok || c != nil {
		t.Fatalf("one level: curve %v, want null", c)
	}
}
