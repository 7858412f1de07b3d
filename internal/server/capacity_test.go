package server

import (
	"net/http"
	"testing"
)

// TestCapacityAPI starts a capacity search in the app: it runs as a run
// whose stages are the levels tried, the finished run carries the search
// in config.capacity, and GET /compare puts two searches side by side.
func TestCapacityAPI(t *testing.T) {
	a := newApp(t, Options{})
	// sim-slow has 4 slots: from 4 streams, the search doubles to 8 and
	// bisects; every level's requests are what its p50 needs, or 24.
	body := map[string]any{
		"run":      map[string]any{"engine": "sim", "models": []string{"sim-slow"}, "scenarios": []string{"Simple Q&A - Short"}, "concurrency": 4, "requests": 24, "max_tokens": 8, "seed": 7, "sample_interval": "off"},
		"capacity": map[string]any{"slo": "ttft_p50=10s", "max_level": 8},
	}
	var out struct {
		ID string `json:"id"`
	}
	a.data(http.MethodPost, "/api/v1/capacity", body, http.StatusCreated, &out)
	if st := a.waitRun(out.ID); st != "completed" {
		t.Fatalf("status %s", st)
	}
	var run struct {
		Run struct {
			Config struct {
				Capacity struct {
					By     string   `json:"by"`
					Level  *float64 `json:"level"`
					Stop   string   `json:"stop"`
					Answer string   `json:"answer"`
					Levels []struct {
						Stage    string `json:"stage"`
						Requests int    `json:"requests"`
						Pass     bool   `json:"pass"`
					} `json:"levels"`
				} `json:"capacity"`
			} `json:"config"`
			Groups []struct {
				Stage    string `json:"stage"`
				Requests int    `json:"requests"`
			} `json:"groups"`
		} `json:"run"`
	}
	a.data(http.MethodGet, "/api/v1/runs/"+out.ID, nil, http.StatusOK, &run)
	c := run.Run.Config.Capacity
	// Every level passes a 10 s TTFT: 4, then 8, the highest allowed.
	if c.By != "concurrency" || c.Level == nil || *c.Level != 8 || len(c.Levels) != 2 || c.Levels[0].Stage != "c=4" || c.Levels[1].Stage != "c=8" ||
		c.Stop != "no level failed up to 8 concurrent streams, the highest the search tries" {
		t.Fatalf("capacity %+v", c)
	}
	if len(run.Run.Groups) != 2 || run.Run.Groups[1].Stage != "c=8" || run.Run.Groups[1].Requests != 24 || c.Levels[1].Requests != 24 {
		t.Fatalf("groups %+v", run.Run.Groups)
	}
	var cmp struct {
		Capacity struct {
			Base      struct{ Level *float64 } `json:"base"`
			Candidate struct{ Answer string }  `json:"candidate"`
		} `json:"capacity"`
	}
	a.data(http.MethodGet, "/api/v1/compare?base="+out.ID+"&candidate="+out.ID, nil, http.StatusOK, &cmp)
	if cmp.Capacity.Base.Level == nil || *cmp.Capacity.Base.Level != 8 || cmp.Capacity.Candidate.Answer != c.Answer {
		t.Fatalf("compare %+v", cmp)
	}
	// Problems name their field.
	for _, c := range []struct {
		capacity map[string]any
		field    string
	}{
		{map[string]any{"slo": "ttft_p99=1s", "by": "tokens"}, "by"},
		{map[string]any{"slo": "ttft=1s"}, "slo"},
		{map[string]any{"slo": "ttft_p99=1s", "max_time": "forever"}, "max_time"},
	} {
		b := map[string]any{"run": map[string]any{"engine": "sim", "models": []string{"sim-slow"}, "scenarios": []string{"Simple Q&A - Short"}}, "capacity": c.capacity}
		if e := a.fail(http.MethodPost, "/api/v1/capacity", b, http.StatusBadRequest); e.Field != c.field {
			t.Errorf("%v: error %+v, want field %s", c.capacity, e, c.field)
		}
	}
}
