package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"flperf/internal/runner"
	"flperf/internal/store"
)

// TestRunOverTheAPI starts a run on the built-in simulated engine, follows
// its live stream to the end, and checks that GET /runs/{id} gives what
// the store gives, the run is listed, and its log is there.
func TestRunOverTheAPI(t *testing.T) {
	a := newApp(t, Options{})
	id := a.startRun(runBody(6, map[string]any{"models": []string{"sim-fast", "sim-slow"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := a.events(ctx, "/api/v1/runs/"+id+"/events")
	var types []string
	var last int64
	var summary struct {
		Run runner.Result `json:"run"`
	}
	var progress struct {
		Done     int          `json:"done"`
		Total    int          `json:"total"`
		Model    string       `json:"model"`
		Scenario string       `json:"scenario"`
		Running  runningStats `json:"running"`
	}
	stages := 0
	for {
		e, ok := st.next()
		if !ok {
			break
		}
		if e.id != last+1 {
			t.Fatalf("event id %d after %d", e.id, last)
		}
		last = e.id
		types = append(types, e.typ)
		switch e.typ {
		case "stage":
			stages++
		case "progress":
			if err := json.Unmarshal([]byte(e.data), &progress); err != nil {
				t.Fatal(err)
			}
		case "summary":
			if err := json.Unmarshal([]byte(e.data), &summary); err != nil {
				t.Fatal(err)
			}
		}
	}
	seq := strings.Join(types, " ")
	if types[0] != "status" || types[len(types)-1] != "end" || types[len(types)-2] != "summary" || types[len(types)-3] != "status" {
		t.Fatalf("event order: %s", seq)
	}
	if stages != 2 || strings.Index(seq, "stage") > strings.Index(seq, "progress") || progress.Done != 14 || progress.Total != 14 {
		t.Fatalf("stages %d, last progress %+v: %s", stages, progress, seq)
	}
	if summary.Run.Status != runner.Completed || summary.Run.Records != 14 {
		t.Fatalf("summary: %+v", summary.Run)
	}
	// The last progress event's running figures are the last stage's, as
	// its summary group has them (stats.Running). The stored run's window
	// is read on the wall clock, the live one on the monotonic clock: the
	// output rate agrees to a millionth, the rest exactly.
	g := summary.Run.Groups[len(summary.Run.Groups)-1]
	r := progress.Running
	if progress.Model != g.Model || progress.Scenario != g.Scenario || r.TTFTP50 == nil || *r.TTFTP50 != g.TTFT.P50 ||
		r.TPOTP50 == nil || *r.TPOTP50 != g.TPOT.P50 || r.DecodeTPS == nil || *r.DecodeTPS != g.DecodeTPS.Mean ||
		r.OutputTPS == nil || math.Abs(*r.OutputTPS-g.OutputTokensPerS) > 1e-6*g.OutputTokensPerS {
		t.Fatalf("last progress %s/%s running %+v, summary group %s/%s ttft p50 %v tpot p50 %v decode mean %v output %v",
			progress.Model, progress.Scenario, fmt.Sprint(*r.TTFTP50, " ", *r.TPOTP50, " ", *r.DecodeTPS, " ", *r.OutputTPS), g.Model, g.Scenario, g.TTFT.P50, g.TPOT.P50, g.DecodeTPS.Mean, g.OutputTokensPerS)
	}
	// GET /runs/{id} is the store's Run, and the summary event agrees.
	var got struct {
		Run  json.RawMessage `json:"run"`
		Live *liveProgress   `json:"live"`
		Log  []logLine       `json:"log"`
	}
	a.data(http.MethodGet, "/api/v1/runs/"+id[:17], nil, http.StatusOK, &got)
	want, err := a.db.Run(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	if string(compact(t, got.Run)) != string(wantJSON) {
		t.Fatalf("GET run differs from the store's:\n%s\n%s", got.Run, wantJSON)
	}
	sumJSON, _ := json.Marshal(summary.Run)
	if string(sumJSON) != string(wantJSON) {
		t.Fatalf("summary event differs from the store's")
	}
	if got.Live != nil || len(got.Log) == 0 {
		t.Fatalf("live %+v, %d log lines", got.Live, len(got.Log))
	}
	if want.Config.Command[2] != "--engine" || want.Config.Command[3] != "sim" || want.Engine.API != "openai" {
		t.Fatalf("config %+v engine %+v", want.Config, want.Engine)
	}
	var runs []store.RunInfo
	a.data(http.MethodGet, "/api/v1/runs?model=sim-slow&status=completed", nil, http.StatusOK, &runs)
	if len(runs) != 1 || runs[0].ID != id || runs[0].Requests == nil || *runs[0].Requests != 12 {
		t.Fatalf("runs %+v", runs)
	}
	a.data(http.MethodGet, "/api/v1/runs?model=nope", nil, http.StatusOK, &runs)
	if len(runs) != 0 {
		t.Fatalf("filter: %+v", runs)
	}
	// A finished run's stream sends status, summary and end at once.
	st2 := a.events(ctx, "/api/v1/runs/"+id+"/events")
	var types2 []string
	for e, ok := st2.next(); ok; e, ok = st2.next() {
		types2 = append(types2, e.typ)
	}
	if len(types2) < 3 || types2[len(types2)-1] != "end" {
		t.Fatalf("finished stream: %v", types2)
	}
}

// compact re-encodes a Result's JSON as json.Marshal writes it.
func compact(t *testing.T, raw json.RawMessage) []byte {
	var r runner.Result
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	return b
}

// TestEventsResume reads part of a live stream, disconnects, and resumes
// with Last-Event-ID (and with ?last_event_id): no gap, no repeat.
func TestEventsResume(t *testing.T) {
	a := newApp(t, Options{})
	id := a.startRun(runBody(40, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := a.events(ctx, "/api/v1/runs/"+id+"/events")
	var ids []int64
	for len(ids) < 4 {
		e, ok := st.next()
		if !ok {
			t.Fatal("stream ended early")
		}
		ids = append(ids, e.id)
	}
	st.close()
	resume := func(headers []string, path string) []int64 {
		s := a.events(ctx, path, headers...)
		var out []int64
		for e, ok := s.next(); ok; e, ok = s.next() {
			out = append(out, e.id)
		}
		return out
	}
	rest := resume([]string{"Last-Event-ID", "4"}, "/api/v1/runs/"+id+"/events")
	all := append(ids, rest...)
	for i, v := range all {
		if v != int64(i+1) {
			t.Fatalf("ids %v: gap or repeat at %d", all, i)
		}
	}
	viaQuery := resume(nil, "/api/v1/runs/"+id+"/events?last_event_id=4")
	if len(viaQuery) != len(rest) || viaQuery[0] != 5 {
		t.Fatalf("?last_event_id: %v, header: %v", viaQuery, rest)
	}
	a.fail(http.MethodGet, "/api/v1/runs/"+id+"/events?last_event_id=x", nil, http.StatusBadRequest)
}

// TestHubBound checks the event buffer rule: every non-progress event is
// kept, progress events beyond the bound are dropped oldest first, ids
// keep increasing.
func TestHubBound(t *testing.T) {
	h := newHub(10, 1)
	h.publish("status", 1, false)
	for i := range 100_000 {
		h.publish("progress", i, true)
		if i%1000 == 0 {
			h.publish("log", i, false)
		}
	}
	h.publish("end", struct{}{}, false)
	h.publish("late", 1, false) // after the end: not published
	evs, _, ended := h.since(0)
	if !ended || len(evs) > 100+2+20 {
		t.Fatalf("%d events kept, ended %v", len(evs), ended)
	}
	logs, progress := 0, 0
	for i, e := range evs {
		if i > 0 && e.id <= evs[i-1].id {
			t.Fatal("ids not increasing")
		}
		switch e.typ {
		case "log":
			logs++
		case "progress":
			progress++
		}
	}
	if logs != 100 || progress < 10 || evs[0].typ != "status" || evs[len(evs)-1].typ != "end" {
		t.Fatalf("logs %d progress %d", logs, progress)
	}
	if last := h.lastID(); last != evs[len(evs)-1].id {
		t.Fatalf("last id %d", last)
	}
}

// TestCancelRun stops a long run in two ways: stop (in-flight requests
// finish: interrupted) and now=1 (canceled); records are kept; a run that
// is not running cannot be cancelled.
func TestCancelRun(t *testing.T) {
	a := newApp(t, Options{})
	for _, tc := range []struct {
		query, state string
		want         runner.Status
	}{{"", "stopping", runner.Interrupted}, {"?now=1", "canceling", runner.Canceled}} {
		id := a.startRun(runBody(100000, map[string]any{"concurrency": 4}))
		waitRecords(t, a, id, 10)
		var out map[string]string
		a.data(http.MethodPost, "/api/v1/runs/"+id+"/cancel"+tc.query, nil, http.StatusAccepted, &out)
		if out["state"] != tc.state {
			t.Fatalf("cancel: %v", out)
		}
		if got := a.waitRun(id); got != string(tc.want) {
			t.Fatalf("status %s, want %s", got, tc.want)
		}
		res, err := a.db.Run(context.Background(), id)
		if err != nil || res.Records < 10 || res.Records >= 100000 {
			t.Fatalf("stored run: %v %+v", err, res)
		}
		a.fail(http.MethodPost, "/api/v1/runs/"+id+"/cancel", nil, http.StatusConflict)
	}
}

// waitRecords waits until run id has stored at least n records.
func waitRecords(t *testing.T, a *testApp, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if j := a.s.jobs.get(id); j != nil {
			if lp := j.feed.live(); lp != nil && lp.Done >= n {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("run %s: fewer than %d records after a minute", id, n)
}

// TestOneRunPerEngine checks that a second run on a busy engine is a
// conflict, and that the engine is free again once the first ends.
func TestOneRunPerEngine(t *testing.T) {
	a := newApp(t, Options{})
	id := a.startRun(runBody(100000, nil))
	e := a.fail(http.MethodPost, "/api/v1/runs", runBody(1, nil), http.StatusConflict)
	if !strings.Contains(e.Message, id) {
		t.Errorf("conflict does not name the run: %s", e.Message)
	}
	a.fail(http.MethodDelete, "/api/v1/runs/"+id, nil, http.StatusConflict)
	a.data(http.MethodPost, "/api/v1/runs/"+id+"/cancel?now=1", nil, http.StatusAccepted, nil)
	a.waitRun(id)
	id2 := a.startRun(runBody(1, nil))
	if a.waitRun(id2) != string(runner.Completed) {
		t.Fatal("second run")
	}
	a.data(http.MethodDelete, "/api/v1/runs/"+id, nil, http.StatusOK, nil)
	a.fail(http.MethodGet, "/api/v1/runs/"+id, nil, http.StatusNotFound)
}

// TestRunIDs checks unknown, malformed and ambiguous run ids on every run
// route.
func TestRunIDs(t *testing.T) {
	a := newApp(t, Options{})
	for _, p := range []string{"", "/cancel", "/export", "/distribution", "/samples", "/events"} {
		method := http.MethodGet
		if p == "/cancel" {
			method = http.MethodPost
		}
		a.fail(method, "/api/v1/runs/20991231-000000-abcdef"+p, nil, http.StatusNotFound)
		a.fail(method, "/api/v1/runs/bad_id!"+p, nil, http.StatusBadRequest)
		a.fail(method, "/api/v1/runs/"+strings.Repeat("a", 200)+p, nil, http.StatusBadRequest)
	}
	a.fail(http.MethodDelete, "/api/v1/runs/nope", nil, http.StatusNotFound)
	// Two runs share the prefix "2".
	for range 2 {
		a.waitRun(a.startRun(runBody(1, nil)))
	}
	if e := a.fail(http.MethodGet, "/api/v1/runs/2", nil, http.StatusBadRequest); !strings.Contains(e.Message, "ambiguous") {
		t.Errorf("ambiguous: %+v", e)
	}
}

// TestStartRunValidation checks that bad run requests are refused with
// the field named, before anything runs.
func TestStartRunValidation(t *testing.T) {
	a := newApp(t, Options{})
	for _, tc := range []struct {
		body  any
		field string
	}{
		{`{"models":["m"],`, ""},
		{`{"models":["m"]} {"x":1}`, ""},
		{`[]`, ""},
		{``, ""},
		{`{"models":["m"],"bogus":1}`, "bogus"},
		{`{"models":"m"}`, "models"},
		{`{"models":[1]}`, "models"},
		{`{"models":["m"],"requests":"5"}`, "requests"},
		{`{"models":["m"],"requests":1e30}`, "requests"},
		{`{"models":["m"],"requests":-1}`, "requests"},
		{`{"models":["m"],"requests":99999999999}`, "requests"},
		{`{"models":["m"],"warmup":-2}`, "warmup"},
		{`{"models":["m"],"concurrency":0,"mode":"concurrency"}`, "concurrency"},
		{`{"models":["m"],"concurrency":100000000}`, "concurrency"},
		{`{"models":["m"],"temperature":3}`, "temperature"},
		{`{"models":["m"],"timeout":"soon"}`, "timeout"},
		{`{"models":["m"],"duration":30}`, "duration"},
		{`{"models":["m"],"mode":"warp"}`, "mode"},
		{`{"models":["m"],"rate":5,"concurrency":2}`, "concurrency"},
		{`{"models":["m"],"slo":"ttft=fast"}`, "slo"},
		{`{"models":["m"],"seed":1.5}`, "seed"},
		{`{"models":["m"],"suite":"../../etc/passwd"}`, "suite"},
		{`{"models":["m"],"suite":"/etc/passwd.json"}`, "suite"},
		{`{"models":["m"],"scenarios":["Nope"]}`, "scenarios"},
		{`{"models":[]}`, "models"},
		{`{}`, "models"},
		{`{"models":["m"],"engine":"nope"}`, "engine"},
		{`{"models":["m"],"engine":"sim","cold":true}`, "cold"},
		{`{"models":["m"],"engine":"sim","ollama_native":true}`, "ollama_native"},
		{`{"models":["m"],"retries":11}`, "retries"},
		{`{"models":["m"],"retries":-1}`, "retries"},
		{`{"models":["m"],"retries":"3"}`, "retries"},
	} {
		e := a.fail(http.MethodPost, "/api/v1/runs", tc.body, http.StatusBadRequest)
		if e.Field != tc.field {
			t.Errorf("%s: field %q, want %q (%s)", tc.body, e.Field, tc.field, e.Message)
		}
	}
	a.fail(http.MethodPost, "/api/v1/runs", `{"models":["m"]}`, http.StatusBadRequest, "Content-Type", "text/plain")
	big := `{"models":["` + strings.Repeat("m", 2<<20) + `"]}`
	a.fail(http.MethodPost, "/api/v1/runs", big, http.StatusRequestEntityTooLarge)
	var runs []store.RunInfo
	a.data(http.MethodGet, "/api/v1/runs", nil, http.StatusOK, &runs)
	if len(runs) != 0 {
		t.Fatalf("a refused request left runs: %+v", runs)
	}
}

// TestShutdownSavesRuns cancels the server's context in the middle of a
// long run: Serve returns once the run is saved, and the database, opened
// again, has it canceled with its records.
func TestShutdownSavesRuns(t *testing.T) {
	path := t.TempDir() + "/flperf.db"
	db, err := store.Open(context.Background(), dbLocation(t, path))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{DB: db, Listen: "127.0.0.1:0", Detect: noEngines})
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	a := &testApp{t: t, s: s, db: db, url: "http://" + ln.Addr().String()}
	id := a.startRun(runBody(100000, map[string]any{"concurrency": 4}))
	waitRecords(t, a, id, 20)
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := openDB(t, path)
	res, err := db2.Run(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != runner.Canceled && res.Status != runner.Interrupted {
		t.Fatalf("status %s", res.Status)
	}
	if res.Records < 20 || res.Total.Requests+res.Total.Warmup != res.Records {
		t.Fatalf("records %d, summary %+v", res.Records, res.Total)
	}
}

// TestStreamOutlivesReadTimeout checks that a live stream is not cut by
// the server's read timeout or its default write deadline.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	oldRead, oldWrite := readTimeout, writeLimit
	readTimeout, writeLimit = 300*time.Millisecond, 300*time.Millisecond
	t.Cleanup(func() { readTimeout, writeLimit = oldRead, oldWrite })
	db := openDB(t, t.TempDir()+"/flperf.db")
	s, err := New(Options{DB: db, Listen: "127.0.0.1:0", Detect: noEngines})
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	a := &testApp{t: t, s: s, db: db, url: "http://" + ln.Addr().String()}
	id := a.startRun(runBody(100000, nil))
	st := a.events(ctx, "/api/v1/runs/"+id+"/events")
	start := time.Now()
	var last int64
	for time.Since(start) < 4*readTimeout {
		e, ok := st.next()
		if !ok {
			t.Fatalf("stream cut after %v (event %d)", time.Since(start), last)
		}
		last = e.id
	}
	a.data(http.MethodPost, "/api/v1/runs/"+id+"/cancel?now=1", nil, http.StatusAccepted, nil)
}
