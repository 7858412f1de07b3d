package server

import (
	"net/http"
	"net/url"
	"testing"

	"flperf/internal/board"
	"flperf/internal/store"
)

// boardPayload is GET /api/v1/board's payload as a client reads it.
type boardPayload struct {
	Configs []store.BoardConfig `json:"configs"`
	Matrix  *struct {
		Config   board.Config       `json:"config"`
		Rank     string             `json:"rank"`
		Models   []string           `json:"models"`
		Machines []board.Machine    `json:"machines"`
		Classes  []board.ClassGroup `json:"classes"`
		Cells    []board.Cell       `json:"cells"`
	} `json:"matrix"`
	Filters struct {
		Engines        []string `json:"engines"`
		EngineVersions []string `json:"engine_versions"`
	} `json:"filters"`
}

func TestBoardAndTrend(t *testing.T) {
	a := newApp(t, Options{Detect: noEngines})
	var ids []string
	for range 3 {
		id := a.startRun(runBody(6, nil))
		if st := a.waitRun(id); st != "completed" {
			t.Fatalf("run %s %s", id, st)
		}
		ids = append(ids, id)
	}
	other := a.startRun(runBody(6, map[string]any{"max_tokens": 16}))
	a.waitRun(other)

	var b boardPayload
	a.data(http.MethodGet, "/api/v1/board", nil, http.StatusOK, &b)
	if len(b.Configs) != 2 || b.Configs[0].Runs != 3 || b.Configs[1].Runs != 1 {
		t.Fatalf("configs %+v", b.Configs)
	}
	m := b.Matrix
	if m == nil || m.Config != b.Configs[0].Config || m.Config.Load != "concurrency c=1 max_tokens=8" || m.Rank != "output_tps" {
		t.Fatalf("matrix %+v", m)
	}
	if len(m.Models) != 1 || len(m.Machines) != 1 || len(m.Cells) != 1 || len(b.Filters.Engines) != 1 || b.Filters.Engines[0] != "sim" {
		t.Fatalf("matrix %+v filters %+v", m, b.Filters)
	}
	c := m.Cells[0]
	if c.Run != ids[2] || c.Runs != 3 || !c.Best || c.Model != "sim-fast" || c.Machine != m.Machines[0].Key {
		t.Errorf("cell %+v", c)
	}
	// The cell's figures are the run's own summary's.
	var run struct {
		Run struct {
			Models []struct {
				TTFT struct {
					P50 float64 `json:"p50"`
				} `json:"ttft_ms"`
				E2E struct {
					P95 float64 `json:"p95"`
				} `json:"e2e_ms"`
				Decode struct {
					P50 float64 `json:"p50"`
				} `json:"decode_tps"`
				OutputTPS float64 `json:"output_tokens_per_s"`
			} `json:"models"`
		} `json:"run"`
	}
	a.data(http.MethodGet, "/api/v1/runs/"+ids[2], nil, http.StatusOK, &run)
	g := run.Run.Models[0]
	if *c.TTFTP50 != g.TTFT.P50 || *c.E2EP95 != g.E2E.P95 || *c.DecodeP50 != g.Decode.P50 || *c.OutputTPS != g.OutputTPS {
		t.Errorf("cell figures %v %v %v %v, run's %+v", *c.TTFTP50, *c.E2EP95, *c.DecodeP50, *c.OutputTPS, g)
	}
	// Filters: an engine version no run has empties the matrix.
	q := url.Values{"suite": {m.Config.Suite}, "scenarios": {m.Config.Scenarios}, "load": {m.Config.Load}, "engine_version": {"none"}}
	var empty boardPayload
	a.data(http.MethodGet, "/api/v1/board?"+q.Encode(), nil, http.StatusOK, &empty)
	if empty.Matrix == nil || len(empty.Matrix.Cells) != 0 {
		t.Errorf("filtered matrix %+v", empty.Matrix)
	}

	// The trend: three points, the second and third compared with the one
	// before as flperf compare does.
	q = url.Values{"suite": {m.Config.Suite}, "scenarios": {m.Config.Scenarios}, "load": {m.Config.Load},
		"model": {"sim-fast"}, "machine": {c.Machine}, "metric": {"ttft_ms", "e2e_ms"}}
	var tr struct {
		Points []struct {
			Run   string `json:"run"`
			Marks []struct {
				Metric      string   `json:"metric"`
				P           *float64 `json:"p"`
				Significant bool     `json:"significant"`
			} `json:"marks"`
		} `json:"points"`
	}
	a.data(http.MethodGet, "/api/v1/board/trend?"+q.Encode(), nil, http.StatusOK, &tr)
	if len(tr.Points) != 3 || tr.Points[0].Run != ids[0] || tr.Points[2].Run != ids[2] || tr.Points[0].Marks != nil {
		t.Fatalf("trend %+v", tr)
	}
	for _, p := range tr.Points[1:] {
		if len(p.Marks) != 2 || p.Marks[0].Metric != "ttft_ms" || p.Marks[1].Metric != "e2e_ms" {
			t.Errorf("point %s marks %+v", p.Run, p.Marks)
		}
	}

	for _, c := range []struct{ path, field string }{
		{"/api/v1/board?scenarios=x", "suite"},
		{"/api/v1/board?suite=default&scenarios=x", "load"},
		{"/api/v1/board?rank=speed", "rank"},
		{"/api/v1/board?since=yesterday", "since"},
		{"/api/v1/board/trend?machine=x", "model"},
		{"/api/v1/board/trend?model=x", "machine"},
	} {
		if e := a.fail(http.MethodGet, c.path, nil, http.StatusBadRequest); e.Field != c.field {
			t.Errorf("%s: field %q, want %q (%s)", c.path, e.Field, c.field, e.Message)
		}
	}
	a.fail(http.MethodGet, "/api/v1/board/trend?model=nope&machine=x", nil, http.StatusNotFound)
}

func TestStartProfileRefusesOverrides(t *testing.T) {
	a := newApp(t, Options{Detect: noEngines})
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"engine": "sim", "models": []string{"sim-fast"}}, "profile"},
		{map[string]any{"profile": "quick", "engine": "sim", "models": []string{"sim-fast"}}, "profile"},
		{map[string]any{"profile": "standard", "engine": "sim", "models": []string{"sim-fast"}, "requests": 3}, "requests"},
		{map[string]any{"profile": "standard", "engine": "sim", "models": []string{"sim-fast"}, "max_tokens": 64}, "max_tokens"},
		{map[string]any{"profile": "standard", "engine": "sim"}, "models"},
		{map[string]any{"profile": "standard/3", "engine": "sim", "models": []string{"sim-fast"}}, "profile"},
		// The profile sizes its own prompts: no input length, context
		// sweep or forced stage of the user's (once silently dropped).
		{map[string]any{"profile": "standard", "engine": "sim", "models": []string{"sim-fast"}, "input_tokens": "512"}, "input_tokens"},
		{map[string]any{"profile": "standard/1", "engine": "sim", "models": []string{"sim-fast"}, "force": true}, "force"},
		{map[string]any{"profile": "standard", "engine": "sim", "models": []string{"sim-fast"}, "context_sweep": "1k,2k"}, "context_sweep"},
		{map[string]any{"profile": "standard", "engine": "sim", "models": []string{"sim-fast"}, "prefix_cache": "warm"}, "prefix_cache"},
	} {
		e := a.fail(http.MethodPost, "/api/v1/profile", c.body, http.StatusBadRequest)
		if e.Field != c.field {
			t.Errorf("%v: field %q (%s), want %q", c.body, e.Field, e.Message, c.field)
		}
	}
}
