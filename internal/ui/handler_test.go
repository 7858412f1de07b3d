package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// do sends one request to Handler and returns the recorded response.
func do(t *testing.T, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec
}

// staticFile reads name from FS.
func staticFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var versionedRE = regexp.MustCompile(`"/assets/(v-[0-9a-f]+)/([^"]+)"`)

// indexRefs returns the versioned asset URLs index.html refers to.
func indexRefs(t *testing.T) []string {
	t.Helper()
	body := do(t, "GET", "/", nil).Body.String()
	var out []string
	for _, m := range versionedRE.FindAllStringSubmatch(body, -1) {
		out = append(out, "/assets/"+m[1]+"/"+m[2])
	}
	if len(out) < 3 {
		t.Fatalf("index.html refers to %d versioned assets, want ≥ 3 (icon, css, app.js):\n%s", len(out), body)
	}
	return out
}

func TestIndexForEveryAppPath(t *testing.T) {
	want := do(t, "GET", "/", nil).Body.String()
	for _, p := range []string{"/", "/runs", "/runs/20261127-162318-fbdb64", "/compare?base=a&candidate=b", "/settings", "/no/such/page", "/models/"} {
		rec := do(t, "GET", p, nil)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", p, rec.Code)
		}
		h := rec.Header()
		if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		if cc := h.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, cc)
		}
		if csp := h.Get("Content-Security-Policy"); csp != ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		if h.Get("ETag") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: ETag %q, nosniff %q", p, h.Get("ETag"), h.Get("X-Content-Type-Options"))
		}
		if rec.Body.String() != want {
			t.Errorf("GET %s: not index.html", p)
		}
	}
	if !strings.Contains(want, `<script type="module" src="/assets/v-`) {
		t.Errorf("index.html does not load app.js from the versioned prefix:\n%s", want)
	}
	if strings.Contains(want, `"/assets/app.js"`) {
		t.Error("index.html still has an unversioned asset URL")
	}
}

func TestVersionedAssetsAreImmutable(t *testing.T) {
	for _, u := range indexRefs(t) {
		rec := do(t, "GET", u, nil)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", u, rec.Code)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", u, cc)
		}
		name := u[strings.Index(u[len("/assets/"):], "/")+len("/assets/")+1:]
		if !bytes.Equal(rec.Body.Bytes(), staticFile(t, name)) {
			t.Errorf("GET %s: body differs from static/%s", u, name)
		}
	}
	// A module's relative import stays under the prefix.
	ref := indexRefs(t)[0]
	prefix := ref[:strings.Index(ref[len("/assets/"):], "/")+len("/assets/")+1]
	if rec := do(t, "GET", prefix+"pages/results.js", nil); rec.Code != 200 || rec.Header().Get("Cache-Control") != cacheImmutable {
		t.Errorf("GET %spages/results.js: %d %q", prefix, rec.Code, rec.Header().Get("Cache-Control"))
	}
	// Unversioned, or another build's prefix: served, but revalidated.
	for _, u := range []string{"/assets/app.js", "/assets/v-0123456789abcdef/app.js"} {
		rec := do(t, "GET", u, nil)
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: %d %q, want 200 no-cache", u, rec.Code, rec.Header().Get("Cache-Control"))
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q (module scripts need a JavaScript type)", u, ct)
		}
	}
}

func TestETagRevalidation(t *testing.T) {
	for _, u := range []string{"/", "/assets/app.css", "/runs/x"} {
		first := do(t, "GET", u, nil)
		tag := first.Header().Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{24}(\.gz)?"$`).MatchString(tag) {
			t.Fatalf("GET %s: ETag %q", u, tag)
		}
		for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
			rec := do(t, "GET", u, map[string]string{"If-None-Match": inm})
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("GET %s If-None-Match %s: %d with %d bytes, want 304 and none", u, inm, rec.Code, rec.Body.Len())
			}
			if rec.Header().Get("ETag") != tag {
				t.Errorf("304 of %s: ETag %q, want %q", u, rec.Header().Get("ETag"), tag)
			}
		}
		if rec := do(t, "GET", u, map[string]string{"If-None-Match": `"stale"`}); rec.Code != 200 {
			t.Errorf("GET %s with a stale ETag: %d", u, rec.Code)
		}
		// The gzip form has its own ETag, and either form's tag revalidates.
		gz := do(t, "GET", u, map[string]string{"Accept-Encoding": "gzip"})
		gzTag := gz.Header().Get("ETag")
		if gzTag == tag {
			t.Errorf("GET %s: gzip and identity share ETag %s", u, tag)
		}
		if rec := do(t, "GET", u, map[string]string{"If-None-Match": gzTag, "Accept-Encoding": "gzip"}); rec.Code != 304 || rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("GET %s gzip revalidation: %d, Content-Encoding %q", u, rec.Code, rec.Header().Get("Content-Encoding"))
		}
	}
}

func TestGzip(t *testing.T) {
	for _, name := range []string{"app.js", "app.css", "vendor/chart.umd.min.js", "pages/results.js"} {
		rec := do(t, "GET", "/assets/"+name, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
		h := rec.Header()
		if h.Get("Content-Encoding") != "gzip" || !strings.Contains(h.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("GET %s: Content-Encoding %q, Vary %q", name, h.Get("Content-Encoding"), h.Get("Vary"))
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if want := staticFile(t, name); !bytes.Equal(plain, want) {
			t.Errorf("%s: gunzipped body (%d bytes) differs from the file (%d)", name, len(plain), len(want))
		}
		if n := h.Get("Content-Length"); n == "" || n == "0" {
			t.Errorf("%s: Content-Length %q", name, n)
		}
	}
	// Not accepted: identity.
	for _, ae := range []string{"", "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0, *"} {
		rec := do(t, "GET", "/assets/app.js", map[string]string{"Accept-Encoding": ae})
		if rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("Accept-Encoding %q: got gzip", ae)
		}
		if !bytes.Equal(rec.Body.Bytes(), staticFile(t, "app.js")) {
			t.Errorf("Accept-Encoding %q: body is not the file", ae)
		}
	}
	if rec := do(t, "GET", "/", map[string]string{"Accept-Encoding": "*"}); rec.Header().Get("Content-Encoding") != "gzip" {
		t.Error(`Accept-Encoding "*": index.html not gzipped`)
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{
		"gzip": true, "GZIP": true, "deflate, gzip": true, "gzip;q=0.5": true, "x-gzip": true, "*": true,
		"gzip; q=0": false, "gzip;q=0.0": false, "": false, "br": false, "*;q=0": false, "gzip;q=0,*": false,
		"gzip;q=junk": false, ",,,;;;=": false,
	}
	for v, want := range cases {
		if got := acceptsGzip(v); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestMissingAssetIs404(t *testing.T) {
	for _, p := range []string{
		"/assets/nope.js", "/assets/", "/assets/pages", "/assets/pages/", "/assets/vendor/", "/assets/index.html",
		"/assets/../index.html", "/assets/./app.js", "/assets//app.js", "/assets/v-0/", "/assets/v-0", "/assets/pages/../app.js",
		"/assets/app.js/", "/assets/%2e%2e/x",
	} {
		rec := do(t, "GET", p, nil)
		if rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
			continue
		}
		if strings.Contains(rec.Body.String(), "<html") || strings.Contains(rec.Body.String(), "<a href") {
			t.Errorf("GET %s: 404 body looks like a page or a listing: %q", p, rec.Body.String())
		}
	}
}

func TestHead(t *testing.T) {
	for _, p := range []string{"/", "/runs/abc", "/assets/app.css"} {
		get := do(t, "GET", p, nil)
		head := do(t, "HEAD", p, nil)
		if head.Code != 200 || head.Body.Len() != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes", p, head.Code, head.Body.Len())
		}
		if head.Header().Get("Content-Length") != get.Header().Get("Content-Length") || head.Header().Get("ETag") != get.Header().Get("ETag") {
			t.Errorf("HEAD %s: headers differ from GET: %v vs %v", p, head.Header(), get.Header())
		}
	}
}

func TestAPIAndMethods(t *testing.T) {
	rec := do(t, "GET", "/api/v1/nothing", nil)
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"kind":"not_found"`) || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /api/v1/nothing: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	if rec := do(t, "POST", "/api/v1/runs", nil); rec.Code != 404 {
		t.Errorf("POST /api/v1/runs on the UI handler: %d", rec.Code)
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		rec := do(t, m, "/runs/x", nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /runs/x: %d Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestHandlerOverHTTP(t *testing.T) {
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	// The standard client asks for gzip and decodes it transparently.
	res, err := srv.Client().Get(srv.URL + "/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Uncompressed || !bytes.Equal(body, staticFile(t, "app.js")) {
		t.Errorf("over HTTP: uncompressed=%v, %d bytes", res.Uncompressed, len(body))
	}
}
