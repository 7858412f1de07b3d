package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"flperf/internal/record"
	"flperf/internal/selfmetrics"
	"flperf/internal/selfmetrics/selfmetricstest"
)

// TestMetricsEqualRecords runs a benchmark in the app on the simulated
// engine, scrapes /metrics and checks every counter and histogram against
// the run's stored records, and the run counted as completed.
func TestMetricsEqualRecords(t *testing.T) {
	a := newApp(t, Options{Detect: noEngines})
	id := a.startRun(runBody(6, map[string]any{"models": []string{"sim-fast", "sim-slow"}, "concurrency": 2}))
	if st := a.waitRun(id); st != "completed" {
		t.Fatalf("run %s", st)
	}
	r := a.do(http.MethodGet, "/metrics", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var recs []record.Record
	if err := a.db.Records(context.Background(), id, func(r *record.Record) error {
		recs = append(recs, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2*(1+6) {
		t.Fatalf("%d records, want 14", len(recs))
	}
	e := selfmetricstest.Expect(recs)
	if e.Requests["sim-slow|Simple Q&A - Short|ok"] != 6 || len(e.Warmups) != 2 {
		t.Fatalf("records: %v warm-ups %v", e.Requests, e.Warmups)
	}
	fams := selfmetricstest.Parse(t, r.body)
	selfmetricstest.Check(t, fams, e)
	if v := selfmetricstest.Series(fams["flperf_runs_total"], "status")["completed"].GetCounter().GetValue(); v != 1 {
		t.Errorf("completed runs %v, want 1", v)
	}
	if v := fams["flperf_runs_running"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("runs running %v after the end, want 0", v)
	}
	for k, m := range selfmetricstest.Series(fams["flperf_requests_in_flight"], "model", "scenario") {
		if v := m.GetGauge().GetValue(); v != 0 {
			t.Errorf("in flight {%s} = %v after the run", k, v)
		}
	}
	if len(selfmetricstest.Series(fams["flperf_requests_in_flight"], "model", "scenario")) != 2 {
		t.Error("the requests in flight were never counted")
	}
}

// TestMetricsSecurity checks that /metrics follows the API's rules in the
// app: a foreign Host is refused (403), GET only (405), the token beyond
// loopback (401 without it), and no CORS header.
func TestMetricsSecurity(t *testing.T) {
	a := newApp(t, Options{Detect: noEngines})
	if r := a.do(http.MethodGet, "/metrics", nil, "Host", "evil.example:8765"); r.status != http.StatusForbidden {
		t.Errorf("foreign Host: %d, want 403", r.status)
	}
	if r := a.do(http.MethodPost, "/metrics", "x"); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q, want 405 GET, HEAD", r.status, r.header.Get("Allow"))
	}
	if r := a.do(http.MethodGet, "/metrics", nil, "Origin", "http://evil.example"); r.status != http.StatusOK {
		t.Errorf("GET: %d", r.status)
	}

	tok := NewToken()
	b := newApp(t, Options{Detect: noEngines, Listen: "0.0.0.0:8765", Token: tok})
	if r := b.do(http.MethodGet, "/metrics", nil); r.status != http.StatusUnauthorized {
		t.Errorf("beyond loopback without the token: %d, want 401", r.status)
	}
	if r := b.do(http.MethodGet, "/metrics", nil, "Authorization", "Bearer wrong-token-wrong-token"); r.status != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", r.status)
	}
	if r := b.do(http.MethodGet, "/metrics", nil, "Authorization", "Bearer "+tok); r.status != http.StatusOK || !bytes.Contains(r.body, []byte("flperf_runs_total")) {
		t.Errorf("with the token: %d %s", r.status, r.body)
	}
}

// TestMetricsHandler checks the standalone listener of `flperf run
// --metrics-listen`: the same rules, only /metrics, and no listen beyond
// loopback without a token.
func TestMetricsHandler(t *testing.T) {
	m := selfmetrics.New()
	if _, err := MetricsHandler("0.0.0.0:9464", "", m); err == nil {
		t.Error("beyond loopback without a token accepted")
	}
	if _, err := MetricsHandler("127.0.0.1:9464", "short", m); err == nil {
		t.Error("a short token accepted")
	}
	tok := NewToken()
	for _, c := range []struct {
		listen, token string
	}{{"127.0.0.1:9464", ""}, {"0.0.0.0:9464", tok}} {
		h, err := MetricsHandler(c.listen, c.token, m)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		get := func(method, path string, headers ...string) *http.Response {
			req, _ := http.NewRequest(method, srv.URL+path, nil)
			for i := 0; i+1 < len(headers); i += 2 {
				if headers[i] == "Host" {
					req.Host = headers[i+1]
				} else {
					req.Header.Set(headers[i], headers[i+1])
				}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s %s: a CORS header", method, path)
			}
			return res
		}
		auth := []string{"Origin", "http://evil.example"}
		if c.token != "" {
			auth = append(auth, "Authorization", "Bearer "+c.token)
			if res := get(http.MethodGet, "/metrics"); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: no token: %d, want 401", c.listen, res.StatusCode)
			}
		}
		for _, w := range []struct {
			method, path string
			extra        []string
			status       int
		}{
			{http.MethodGet, "/metrics", nil, http.StatusOK},
			{http.MethodHead, "/metrics", nil, http.StatusOK},
			{http.MethodGet, "/metrics", []string{"Host", "rebind.example"}, http.StatusForbidden},
			{http.MethodPost, "/metrics", nil, http.StatusMethodNotAllowed},
			{http.MethodDelete, "/metrics", nil, http.StatusMethodNotAllowed},
			{http.MethodGet, "/api/v1/runs", nil, http.StatusNotFound},
		} {
			if res := get(w.method, w.path, append(append([]string{}, auth...), w.extra...)...); res.StatusCode != w.status {
				t.Errorf("%s: %s %s %v: %d, want %d", c.listen, w.method, w.path, w.extra, res.StatusCode, w.status)
			}
		}
		srv.Close()
	}
}
