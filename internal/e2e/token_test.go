package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/ui"
)

// tokenServer serves the UI and a minimal API that, like the app off
// loopback, refuses every call without its token. It records how each API
// request carried it. (The real app needs no token on 127.0.0.1, and the
// tests listen nowhere else.)
type tokenServer struct {
	srv     *httptest.Server
	token   string
	mu      sync.Mutex
	bearer  int      // API calls with the right Authorization header
	refused []string // API calls without it (or with a wrong one)
	events  int      // EventSource requests with ?token=
}

func newTokenServer(t *testing.T, token string) *tokenServer {
	ts := &tokenServer{token: token}
	run := map[string]any{"id": "r1", "started": time.Now().Add(-time.Minute), "status": "running", "models": []string{"m1"}, "suite": "s",
		"engine": map[string]any{"kind": "sim", "simulated": true}}
	answers := map[string]any{
		"/api/v1/engines":              []any{},
		"/api/v1/suites":               []any{},
		"/api/v1/settings":             map[string]any{"defaults": map[string]any{}},
		"/api/v1/runs":                 []any{run},
		"/api/v1/runs/r1":              map[string]any{"run": map[string]any{"id": "r1", "status": "completed", "started": run["started"], "config": map[string]any{"models": []string{"m1"}}, "suite": map[string]any{"name": "s"}, "engine": run["engine"], "groups": []any{}, "models": []any{}, "warnings": []string{}}, "live": nil, "log": []any{}},
		"/api/v1/runs/r1/samples":      []any{},
		"/api/v1/runs/r1/distribution": map[string]any{"metric": "e2e_ms", "unit": "ms", "models": []any{}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		if r.URL.Path == "/api/v1/runs/r1/events" {
			ok := r.URL.Query().Get("token") == token
			if ok {
				ts.events++
			} else {
				ts.refused = append(ts.refused, r.URL.String())
			}
			ts.mu.Unlock()
			if !ok {
				http.Error(w, `{"error":{"kind":"unauthorized","message":"no token"}}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "id: 1\nevent: status\ndata: {\"state\":\"completed\",\"message\":\"\"}\n\nid: 2\nevent: summary\ndata: {\"run\":{\"status\":\"completed\"}}\n\nid: 3\nevent: end\ndata: {}\n\n")
			return
		}
		ok := r.Header.Get("Authorization") == "Bearer "+token
		if ok {
			ts.bearer++
		} else {
			ts.refused = append(ts.refused, r.Method+" "+r.URL.String()+" Authorization="+r.Header.Get("Authorization"))
		}
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"kind":"unauthorized","message":"this server needs its access token"}}`)
			return
		}
		v, found := answers[r.URL.Path]
		if !found {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"kind":"not_found","message":"not in this test server"}}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": v})
	})
	mux.Handle("/", ui.Handler())
	ts.srv = httptest.NewServer(mux)
	t.Cleanup(ts.srv.Close)
	return ts
}

// TestTokenRule: a page opened with ?token=T keeps T in sessionStorage,
// drops it from the address bar, and sends it on every API call (Bearer),
// on EventSource URLs and on download links (?token=).
func TestTokenRule(t *testing.T) {
	const token = "e2e-token-0123456789abcdef"
	ts := newTokenServer(t, token)
	b := newBrowser(t, 1280, 800)

	b.open(t, ts.srv.URL+"/?token="+token, "dashboard")
	if q := eval[string](t, b, `location.search`); q != "" {
		t.Errorf("the token stays in the address bar: %q", q)
	}
	if s := eval[string](t, b, `sessionStorage.getItem('flperf.token') || ''`); s != token {
		t.Errorf("sessionStorage has %q", s)
	}
	// Another page of the same tab, opened without ?token=, still sends it.
	b.open(t, ts.srv.URL+"/benchmarks", "benchmarks")
	b.waitFor(t, 20*time.Second, "the live panel of the running run", `document.querySelector('#live-results:not(.hidden)')`)
	b.open(t, ts.srv.URL+"/runs/r1", "results")
	hrefs := eval[[]string](t, b, `[...document.querySelectorAll('.exports a')].map((a) => a.getAttribute('href'))`)
	// Three exports and the HTML report, each a link the browser follows
	// without the page's Authorization header: each carries the token.
	if len(hrefs) != 4 {
		t.Errorf("export links: %v", hrefs)
	}
	for _, h := range hrefs {
		export := strings.HasPrefix(h, "/api/v1/runs/r1/export?format=") && strings.HasSuffix(h, "&token="+token)
		if !export && h != "/api/v1/runs/r1/report.html?token="+token {
			t.Errorf("export link %q does not carry the token", h)
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.bearer < 5 || ts.events == 0 || len(ts.refused) > 0 {
		t.Errorf("API calls with the Bearer token: %d, EventSource with ?token=: %d, refused: %v", ts.bearer, ts.events, ts.refused)
	}
	b.noErrors(t, "token pages")
}
