package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"flperf/internal/report"
)

// TestRunServesBest: GET /runs/{id} carries the "best model for…" ranking
// computed in Go from the stored run (report.Best), which the page only
// draws; the faster simulated model leads on first-token latency.
func TestRunServesBest(t *testing.T) {
	a := newApp(t, Options{})
	id := a.startRun(runBody(6, map[string]any{"models": []string{"sim-fast", "sim-slow"}}))
	if st := a.waitRun(id); st != "completed" {
		t.Fatalf("run %s", st)
	}
	var got struct {
		Best json.RawMessage `json:"best"`
	}
	a.data(http.MethodGet, "/api/v1/runs/"+id, nil, http.StatusOK, &got)
	run, err := a.db.Run(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var claims []report.BestClaim
	if err := json.Unmarshal(got.Best, &claims); err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(claims)
	want, _ := json.Marshal(report.Best(run))
	if string(gotJSON) != string(want) {
		t.Fatalf("best:\n%s\nwant\n%s", gotJSON, want)
	}
	if len(claims) != 5 || claims[0].Key != "ttft" || len(claims[0].Ranked) != 2 || claims[0].Ranked[0].Model != "sim-fast" {
		t.Fatalf("claims %+v", claims)
	}
}
