package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestHostAllowList checks the DNS-rebinding guard: a request whose Host
// is not this server's is refused on every path, API and UI alike.
func TestHostAllowList(t *testing.T) {
	a := newApp(t, Options{UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ui") })})
	for _, host := range []string{"evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil.example:1", "127.0.0.2:1"} {
		for _, path := range []string{"/api/v1/health", "/", "/runs/x"} {
			r := a.do(http.MethodGet, path, nil, "Host", host)
			if r.status != http.StatusForbidden || bytes.Contains(r.body, []byte("ui")) {
				t.Errorf("Host %q %s: %d %s", host, path, r.status, r.body)
			}
		}
	}
	for _, host := range []string{"127.0.0.1:1", "localhost:8765", "[::1]:9", "LOCALHOST"} {
		if r := a.do(http.MethodGet, "/api/v1/health", nil, "Host", host); r.status != http.StatusOK {
			t.Errorf("Host %q refused: %d %s", host, r.status, r.body)
		}
	}
}

// TestHostOfConfiguredListen checks that the configured listen host is
// allowed, and that listening on every interface allows IP literals only.
func TestHostOfConfiguredListen(t *testing.T) {
	const tok = "tok-0123456789abcdef"
	g, err := newGuard("myhost.lan:8765", tok)
	if err != nil {
		t.Fatal(err)
	}
	if !g.hostAllowed("myhost.lan:8765") || !g.hostAllowed("127.0.0.1") || g.hostAllowed("other.lan") || g.hostAllowed("192.168.1.5") {
		t.Error("named listen host")
	}
	g, err = newGuard("0.0.0.0:8765", tok)
	if err != nil {
		t.Fatal(err)
	}
	if !g.hostAllowed("192.168.1.5:8765") || !g.hostAllowed("[fe80::1]:8765") || g.hostAllowed("evil.example") {
		t.Error("every interface")
	}
	if _, err := newGuard("0.0.0.0:8765", ""); err == nil {
		t.Error("no token required beyond loopback")
	}
	if _, err := newGuard("127.0.0.1:8765", ""); err != nil {
		t.Errorf("loopback needs no token: %v", err)
	}
	if _, err := newGuard("0.0.0.0:8765", "short-token"); err == nil {
		t.Error("a token of 11 characters was accepted")
	}
	g, err = newGuard("127.0.0.1:8765", tok)
	if err != nil || !g.needToken {
		t.Errorf("a token given on loopback is not required: %v", err)
	}
}

// TestCrossSiteRefused checks the Origin / Sec-Fetch-Site guard on state
// changes, and that reads and same-origin writes pass.
func TestCrossSiteRefused(t *testing.T) {
	a := newApp(t, Options{})
	body := map[string]any{"defaults": map[string]any{"suite": "default"}}
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
		{"Origin", "null"},
	} {
		a.fail(http.MethodPut, "/api/v1/settings", body, http.StatusForbidden, h...)
		a.fail(http.MethodPost, "/api/v1/runs", runBody(1, nil), http.StatusForbidden, h...)
		a.fail(http.MethodDelete, "/api/v1/suites/x", nil, http.StatusForbidden, h...)
	}
	origin := "http://" + strings.TrimPrefix(a.url, "http://")
	for _, h := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Site", "none"}, {"Origin", origin}, {}} {
		if r := a.do(http.MethodPut, "/api/v1/settings", body, h...); r.status != http.StatusOK {
			t.Errorf("%v: %d %s", h, r.status, r.body)
		}
	}
	// Reads are not state changes.
	if r := a.do(http.MethodGet, "/api/v1/health", nil, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusOK {
		t.Errorf("cross-site GET: %d", r.status)
	}
}

// TestTokenBeyondLoopback checks the access token of an app listening
// beyond loopback: missing or wrong is 401 on every API route, right is 200,
// by header or query; the UI itself needs none.
func TestTokenBeyondLoopback(t *testing.T) {
	const tok = "s3cret-token-0123"
	a := newApp(t, Options{Listen: "0.0.0.0:8765", Token: tok, UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ui") })})
	for _, path := range []string{"/api/v1/health", "/api/v1/runs", "/api/v1/system", "/api/v1/nope"} {
		a.fail(http.MethodGet, path, nil, http.StatusUnauthorized)
		a.fail(http.MethodGet, path, nil, http.StatusUnauthorized, "Authorization", "Bearer wrong")
		a.fail(http.MethodGet, path+"?token=wrong", nil, http.StatusUnauthorized)
		a.fail(http.MethodGet, path, nil, http.StatusUnauthorized, "Authorization", "Basic "+tok)
	}
	a.fail(http.MethodPost, "/api/v1/runs", runBody(1, nil), http.StatusUnauthorized)
	if r := a.do(http.MethodGet, "/api/v1/health", nil, "Authorization", "Bearer "+tok); r.status != http.StatusOK {
		t.Errorf("right token in the header: %d %s", r.status, r.body)
	}
	if r := a.do(http.MethodGet, "/api/v1/health?token="+tok, nil); r.status != http.StatusOK {
		t.Errorf("right token in the query: %d %s", r.status, r.body)
	}
	if r := a.do(http.MethodGet, "/", nil); r.status != http.StatusOK || string(r.body) != "ui" {
		t.Errorf("UI: %d %s", r.status, r.body)
	}
	// On loopback no token is asked for.
	b := newApp(t, Options{})
	if r := b.do(http.MethodGet, "/api/v1/health", nil); r.status != http.StatusOK {
		t.Errorf("loopback: %d", r.status)
	}
}

// TestHeaders checks the headers every answer carries, the UI's CSP and
// the API's no-store.
func TestHeaders(t *testing.T) {
	a := newApp(t, Options{UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<!doctype html>") })})
	for _, path := range []string{"/", "/runs/abc", "/api/v1/health", "/api/v1/nope"} {
		r := a.do(http.MethodGet, path, nil)
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, r.header)
		}
		api := strings.HasPrefix(path, "/api/")
		if got := r.header.Get("Content-Security-Policy"); !api && got != ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", path, got)
		}
		if api && r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, r.header.Get("Cache-Control"))
		}
	}
	if e := a.fail(http.MethodGet, "/api/v1/nope", nil, http.StatusNotFound); e.Kind != kindNotFound {
		t.Errorf("unknown route: %+v", e)
	}
}

// TestPanicIsInternal checks that a panicking handler answers 500
// internal without its text, and that the server keeps serving.
func TestPanicIsInternal(t *testing.T) {
	var logged []string
	a := newApp(t, Options{
		UI:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("secret internals /etc/passwd") }),
		Log: func(level, msg string) { logged = append(logged, msg) },
	})
	e := a.fail(http.MethodGet, "/boom", nil, http.StatusInternalServerError)
	if e.Kind != kindInternal || strings.Contains(e.Message, "secret") {
		t.Errorf("error %+v", e)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "secret internals") {
		t.Errorf("log %q", logged)
	}
	if r := a.do(http.MethodGet, "/api/v1/health", nil); r.status != http.StatusOK {
		t.Errorf("after a panic: %d", r.status)
	}
}

// TestGzip checks that JSON is compressed for a client that accepts it,
// and not for one that does not.
func TestGzip(t *testing.T) {
	a := newApp(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, a.url+"/api/v1/suites", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := json.NewDecoder(zr).Decode(&env); err != nil || len(env.Data) == 0 {
		t.Fatalf("decoding: %v %s", err, env.Data)
	}
	req.Header.Set("Accept-Encoding", "gzip;q=0")
	res2, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Body.Close()
	if res2.Header.Get("Content-Encoding") != "" {
		t.Fatalf("q=0: Content-Encoding %q", res2.Header.Get("Content-Encoding"))
	}
}
