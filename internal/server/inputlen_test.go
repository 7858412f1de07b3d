package server

import (
	"net/http"
	"testing"

	"flperf/internal/runner"
)

// TestRunInputTokensOverTheAPI: a RunSpec with input_tokens runs the
// generated scenario on the built-in simulated engine (calibrated: it has
// no tokenizer endpoint), the stored run keeps how, its group hits the
// lengths exactly, and a bad spec is a 400 naming the field.
func TestRunInputTokensOverTheAPI(t *testing.T) {
	a := newApp(t, Options{})
	body := runBody(3, map[string]any{"input_tokens": "200"})
	delete(body, "scenarios")
	id := a.startRun(body)
	if st := a.waitRun(id); st != "completed" {
		t.Fatalf("run %s", st)
	}
	var out struct {
		Run runner.Result `json:"run"`
	}
	a.data(http.MethodGet, "/api/v1/runs/"+id, nil, http.StatusOK, &out)
	il := out.Run.Suite.InputLengths
	if out.Run.Suite.Name != "input-tokens" || il == nil || len(il.Prompts) != 1 || il.Prompts[0].Method != "calibration" || il.CalibrationRequests == 0 {
		t.Fatalf("suite %+v", out.Run.Suite)
	}
	f := out.Run.Groups[0].InputLength
	if f == nil || f.N != 3 || *f.RequestedMean != 200 || *f.MeasuredMean != 200 {
		t.Fatalf("group input_length %+v", f)
	}
	e := a.fail(http.MethodPost, "/api/v1/runs", runBody(3, map[string]any{"input_tokens": "lots"}), http.StatusBadRequest)
	if e.Field != "input_tokens" {
		t.Errorf("error %+v, want field input_tokens", e)
	}
}
