package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// fakeOllama serves the simulated Ollama of package dialect on 127.0.0.1
// with models tiny:1b and big:7b, tuned by tune before it serves.
func fakeOllama(t *testing.T, tune func(*dialect.Ollama)) (*dialect.Ollama, string) {
	t.Helper()
	o, err := dialect.NewOllama(
		sim.Profile{Name: "tiny:1b", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, OutputTokens: 6},
		sim.Profile{Name: "big:7b", TTFT: 5 * time.Millisecond, DecodeTPS: 2000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o.PullSteps, o.PullStepDelay, o.LoadTime = 6, 5*time.Millisecond, 10*time.Millisecond
	if tune != nil {
		tune(o)
	}
	s := httptest.NewServer(o)
	t.Cleanup(s.Close)
	return o, s.URL
}

// addEngine adds the engine at url over the API and returns it.
func (a *testApp) addEngine(url string) Engine {
	a.t.Helper()
	var v Engine
	a.data(http.MethodPost, "/api/v1/engines", map[string]any{"endpoint": url, "name": "my ollama"}, http.StatusCreated, &v)
	return v
}

// TestEnginesList checks the list: the simulated engine always, started
// on first use; detected engines with stable ids; a refresh probes again
// while a cached list does not.
func TestEnginesList(t *testing.T) {
	_, url := fakeOllama(t, nil)
	probes := 0
	a := newApp(t, Options{Detect: func(ctx context.Context) []engine.Found {
		probes++
		var p engine.Prober
		info, err := p.Identify(ctx, url+"/v1")
		if err != nil {
			t.Error(err)
		}
		info.DetectedBy = "port 11434"
		return []engine.Found{{Info: info, Healthy: true}, {Info: engine.Info{Kind: engine.Foundry, DetectedBy: "foundry CLI"}, Note: "the CLI failed"}}
	}})
	var list []Engine
	a.data(http.MethodGet, "/api/v1/engines", nil, http.StatusOK, &list)
	if len(list) != 3 || list[0].ID != SimID || !list[0].Simulated || list[0].Endpoint != "" {
		t.Fatalf("list %+v", list)
	}
	o := list[1]
	if o.Kind != engine.Ollama || !o.Healthy || !o.Simulated || !o.Capabilities.Download || o.ID != engineID(engine.Ollama, url) || !strings.HasPrefix(o.ID, "ollama-127-0-0-1-") {
		t.Fatalf("ollama %+v", o)
	}
	if f := list[2]; f.Healthy || f.Error != "the CLI failed" {
		t.Fatalf("foundry %+v", f)
	}
	a.data(http.MethodGet, "/api/v1/engines", nil, http.StatusOK, &list)
	if probes != 1 {
		t.Fatalf("%d probes: the list is not cached", probes)
	}
	a.data(http.MethodGet, "/api/v1/engines?refresh=1", nil, http.StatusOK, &list)
	if probes != 2 {
		t.Fatalf("%d probes: refresh did not probe", probes)
	}
	a.fail(http.MethodGet, "/api/v1/engines?refresh=yes", nil, http.StatusBadRequest)
	// The simulated engine starts on first use, and /system shows it.
	var sys systemView
	a.data(http.MethodGet, "/api/v1/system", nil, http.StatusOK, &sys)
	if sys.SimulatedEngine != nil || sys.DBPath != a.db.Path() || sys.Version.Name != "flperf" {
		t.Fatalf("system %+v", sys)
	}
	var models struct {
		Engine Engine         `json:"engine"`
		Models []engine.Model `json:"models"`
	}
	a.data(http.MethodGet, "/api/v1/engines/sim/models", nil, http.StatusOK, &models)
	if len(models.Models) != 2 || models.Engine.Endpoint == "" {
		t.Fatalf("sim models %+v", models)
	}
	a.data(http.MethodGet, "/api/v1/system", nil, http.StatusOK, &sys)
	if sys.SimulatedEngine == nil || !sys.SimulatedEngine.Simulated {
		t.Fatalf("system after first use %+v", sys)
	}
	a.fail(http.MethodGet, "/api/v1/engines/nope/models", nil, http.StatusNotFound)
	a.fail(http.MethodGet, "/api/v1/engines/foundry/models", nil, http.StatusServiceUnavailable)
}

// TestAddEngine checks adding an endpoint: identified, persisted, listed
// as configured, its API key never answered; unreachable is 503; bad
// bodies are 400; removal.
func TestAddEngine(t *testing.T) {
	_, url := fakeOllama(t, nil)
	a := newApp(t, Options{})
	var v Engine
	a.data(http.MethodPost, "/api/v1/engines", map[string]any{"endpoint": url, "api_key": "sk-secret", "name": "box"}, http.StatusCreated, &v)
	if v.Kind != engine.Ollama || !v.Configured || v.Name != "box" || v.Endpoint != url+"/v1" {
		t.Fatalf("added %+v", v)
	}
	for _, path := range []string{"/api/v1/engines", "/api/v1/settings"} {
		if r := a.do(http.MethodGet, path, nil); strings.Contains(string(r.body), "sk-secret") || !strings.Contains(string(r.body), v.ID) {
			t.Fatalf("%s: %s", path, r.body)
		}
	}
	dead := listen(t)
	deadURL := "http://" + dead.Addr().String()
	dead.Close()
	if e := a.fail(http.MethodPost, "/api/v1/engines", map[string]any{"endpoint": deadURL}, http.StatusServiceUnavailable); !strings.Contains(e.Message, "nothing answers") {
		t.Fatalf("unreachable: %+v", e)
	}
	for _, tc := range []struct {
		body, field string
	}{
		{`{"endpoint":"ftp://x"}`, "endpoint"},
		{`{"endpoint":""}`, "endpoint"},
		{`{"endpoint":"` + url + `","kind":"gpt5"}`, "kind"},
		{`{"endpoint":"` + url + `","kind":"sim"}`, "kind"},
		{`{"endpoint":"` + url + `","api_key":"a b"}`, "api_key"},
		{`{"endpoint":"` + url + `","extra":1}`, "extra"},
		{`{"endpoint":5}`, "endpoint"},
	} {
		if e := a.fail(http.MethodPost, "/api/v1/engines", tc.body, http.StatusBadRequest); e.Field != tc.field {
			t.Errorf("%s: field %q", tc.body, e.Field)
		}
	}
	a.fail(http.MethodDelete, "/api/v1/engines/sim", nil, http.StatusConflict)
	a.fail(http.MethodDelete, "/api/v1/engines/nope", nil, http.StatusNotFound)
	a.data(http.MethodDelete, "/api/v1/engines/"+v.ID, nil, http.StatusOK, nil)
	var list []Engine
	a.data(http.MethodGet, "/api/v1/engines", nil, http.StatusOK, &list)
	if len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
}

// TestModelActions checks list, load, unload, test and a pull task that
// reaches 100 %, on the simulated Ollama.
func TestModelActions(t *testing.T) {
	o, url := fakeOllama(t, nil)
	if err := o.SetPulled("big:7b", false); err != nil {
		t.Fatal(err)
	}
	a := newApp(t, Options{})
	v := a.addEngine(url)
	base := "/api/v1/engines/" + v.ID
	type modelList struct {
		Models []engine.Model `json:"models"`
	}
	find := func(ml modelList, id string) *engine.Model {
		for i := range ml.Models {
			if ml.Models[i].ID == id {
				return &ml.Models[i]
			}
		}
		return nil
	}
	var ml modelList
	a.data(http.MethodGet, base+"/models", nil, http.StatusOK, &ml)
	if m := find(ml, "tiny:1b"); m == nil || m.Downloaded == nil || !*m.Downloaded {
		t.Fatalf("models %+v", ml)
	}
	var loaded map[string]any
	a.data(http.MethodPost, base+"/load", map[string]any{"model": "tiny:1b", "ttl": "30m"}, http.StatusOK, &loaded)
	if loaded["load_ms"].(float64) <= 0 {
		t.Fatalf("load %v", loaded)
	}
	a.data(http.MethodGet, base+"/models", nil, http.StatusOK, &ml)
	if m := find(ml, "tiny:1b"); m == nil || m.Loaded == nil || !*m.Loaded {
		t.Fatalf("not loaded: %+v", ml)
	}
	a.data(http.MethodPost, base+"/unload", map[string]any{"model": "tiny:1b"}, http.StatusOK, nil)
	var tv testView
	a.data(http.MethodPost, base+"/test", map[string]any{"model": "tiny:1b"}, http.StatusOK, &tv)
	if tv.Reply == "" || tv.E2EMS == nil || *tv.E2EMS <= 0 || tv.OutputTokens != 6 || tv.Error != "" {
		t.Fatalf("test %+v", tv)
	}
	a.data(http.MethodPost, base+"/test", map[string]any{"model": "nope"}, http.StatusOK, &tv)
	if tv.Error == "" {
		t.Fatalf("test of an unknown model: %+v", tv)
	}
	a.fail(http.MethodPost, base+"/load", map[string]any{"model": "tiny:1b", "ttl": "long"}, http.StatusBadRequest)
	a.fail(http.MethodPost, base+"/load", map[string]any{}, http.StatusBadRequest)
	a.fail(http.MethodPost, base+"/test", map[string]any{"model": "tiny:1b", "prompt": strings.Repeat("x", maxPrompt+1)}, http.StatusBadRequest)

	task := pull(t, a, base, "big:7b")
	if task.State != "done" || task.Percent == nil || *task.Percent != 100 || task.Ended == nil {
		t.Fatalf("pull %+v", task)
	}
	a.data(http.MethodGet, base+"/models", nil, http.StatusOK, &ml)
	if m := find(ml, "big:7b"); m == nil || m.Downloaded == nil || !*m.Downloaded {
		t.Fatalf("not pulled: %+v", ml)
	}
	var again Task
	a.data(http.MethodGet, "/api/v1/tasks/"+task.ID, nil, http.StatusOK, &again)
	if again.State != "done" {
		t.Fatalf("task %+v", again)
	}
	a.fail(http.MethodGet, "/api/v1/tasks/0123456789abcdef", nil, http.StatusNotFound)
	a.fail(http.MethodGet, "/api/v1/tasks/../x", nil, http.StatusNotFound)
	a.fail(http.MethodGet, "/api/v1/tasks/XYZ", nil, http.StatusBadRequest)
}

// pull starts a pull and follows its task stream to the end; percentages
// never go back.
func pull(t *testing.T, a *testApp, base, model string) Task {
	t.Helper()
	var started struct {
		Task Task `json:"task"`
	}
	a.data(http.MethodPost, base+"/pull", map[string]any{"model": model}, http.StatusAccepted, &started)
	if started.Task.State != "running" || started.Task.Kind != "pull" || started.Task.Model != model {
		t.Fatalf("task %+v", started.Task)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := a.events(ctx, "/api/v1/tasks/"+started.Task.ID+"/events")
	var last Task
	pct := -1.0
	for e, ok := st.next(); ok; e, ok = st.next() {
		if e.typ != "task" {
			continue
		}
		if err := json.Unmarshal([]byte(e.data), &last); err != nil {
			t.Fatal(err)
		}
		if last.Percent != nil {
			if *last.Percent < pct {
				t.Fatalf("percent went back: %v after %v", *last.Percent, pct)
			}
			pct = *last.Percent
		}
	}
	return last
}

// TestPullFails checks that a failing download ends its task "failed"
// with the engine's message.
func TestPullFails(t *testing.T) {
	o, url := fakeOllama(t, func(o *dialect.Ollama) { o.PullFailure = "disk full" })
	if err := o.SetPulled("big:7b", false); err != nil {
		t.Fatal(err)
	}
	a := newApp(t, Options{})
	v := a.addEngine(url)
	task := pull(t, a, "/api/v1/engines/"+v.ID, "big:7b")
	if task.State != "failed" || !strings.Contains(task.Error, "disk full") || task.Ended == nil {
		t.Fatalf("task %+v", task)
	}
}

// TestUnsupportedActions checks that what an engine cannot do is a 503
// naming the capability.
func TestUnsupportedActions(t *testing.T) {
	a := newApp(t, Options{})
	for action, capability := range map[string]string{"pull": "download", "load": "load", "unload": "unload"} {
		e := a.fail(http.MethodPost, "/api/v1/engines/sim/"+action, map[string]any{"model": "sim-fast"}, http.StatusServiceUnavailable)
		if !strings.Contains(e.Message, capability) {
			t.Errorf("%s: %s", action, e.Message)
		}
	}
	var tv testView
	a.data(http.MethodPost, "/api/v1/engines/sim/test", map[string]any{"model": "sim-fast", "prompt": "hi"}, http.StatusOK, &tv)
	if tv.Reply == "" || tv.E2EMS == nil || tv.Error != "" {
		t.Fatalf("test on sim: %+v", tv)
	}
}
