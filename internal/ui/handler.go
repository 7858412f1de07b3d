package ui

import (
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// ContentSecurityPolicy is the policy the UI is written for: no inline
// scripts or styles, no eval, nothing from another origin. Handler sends it
// with index.html; the API server sends the same.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Cache-Control values.
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	cacheNeverStored = "no-store"
)

// loaded is the prepared site, built on the first call of Handler.
var loaded = sync.OnceValues(func() (*site, error) { return loadSite(staticFS) })

// Handler serves the UI: GET and HEAD of /assets/NAME (and the versioned
// /assets/v-VERSION/NAME that index.html refers to) from the static tree, a
// 404 for an asset that does not exist (never a directory listing), a 404
// for paths under /api/ (the API server routes those before this handler),
// and index.html for every other path. Responses carry a strong ETag and are
// gzip-compressed when the client accepts it.
func Handler() http.Handler {
	s, err := loaded()
	if err != nil {
		msg := err.Error()
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, msg, http.StatusInternalServerError)
		})
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		apiNotFound(w)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the UI is read-only (GET, HEAD)", http.StatusMethodNotAllowed)
		return
	}
	if strings.HasPrefix(p, assetsPrefix) {
		a, cache := s.lookup(strings.TrimPrefix(p, assetsPrefix))
		if a == nil {
			h.Set("Cache-Control", cacheRevalidate)
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		serve(w, r, a, cache)
		return
	}
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	serve(w, r, s.index, cacheRevalidate)
}

// lookup finds the asset at name (the URL path after /assets/) and the
// Cache-Control it is served with: immutable under the current version
// prefix, revalidated otherwise (an unversioned name, or the prefix of
// another build, from a page loaded before an upgrade).
func (s *site) lookup(name string) (*asset, string) {
	cache := cacheRevalidate
	if first, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(first, versionPrefix) {
		if first == versionPrefix+s.version {
			cache = cacheImmutable
		}
		name = rest
	}
	if !fs.ValidPath(name) || name == "." {
		return nil, ""
	}
	a := s.assets[name]
	if a == nil {
		return nil, ""
	}
	return a, cache
}

// serve writes a, or 304 when the client's If-None-Match names it.
func serve(w http.ResponseWriter, r *http.Request, a *asset, cache string) {
	h := w.Header()
	body, tag := a.body, a.etag
	if a.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, tag = a.gz, a.gzEtag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", tag)
	h.Set("Cache-Control", cache)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, a) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // an error means the client went away
	}
}

// etagMatch reports whether If-None-Match header v names either form of a
// (weak comparison, RFC 9110 §13.1.2).
func etagMatch(v string, a *asset) bool {
	for t := range strings.SplitSeq(v, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == a.etag || (a.gz != nil && t == a.gzEtag) {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding header v allows gzip: named
// (or "*") with a non-zero q, and not refused by name.
func acceptsGzip(v string) bool {
	gzip, star := -1.0, -1.0
	for part := range strings.SplitSeq(v, ",") {
		name, params, _ := strings.Cut(part, ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || f < 0 {
					f = 0
				}
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gzip = q
		case "*":
			star = q
		}
	}
	if gzip >= 0 {
		return gzip > 0
	}
	return star > 0
}

// apiNotFound answers a path under /api/ that no API route took, in the
// API's error envelope.
func apiNotFound(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", cacheNeverStored)
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"error":{"kind":"not_found","message":"no such API route: see /api/v1 in the documentation"}}` + "\n"))
}
