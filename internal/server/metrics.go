package server

import (
	"net/http"

	"flperf/internal/selfmetrics"
)

// MetricsPath is where flperf's own Prometheus metrics are served: by the
// app, and by `flperf run --metrics-listen`.
const MetricsPath = "/metrics"

// metricsEndpoint serves m's figures to GET and HEAD (405 otherwise). The
// app's security middleware, or MetricsHandler's, runs first.
func metricsEndpoint(m *selfmetrics.Metrics) http.Handler {
	h := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": newError(kindBadRequest, "",
				"%s %s: the metrics are read with GET", r.Method, r.URL.Path)})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// MetricsHandler is the handler of a listener that serves only m's
// figures at MetricsPath (`flperf run --metrics-listen`), under the API's
// rules: the Host must be a loopback name or the listen host (403), the
// token is required beyond loopback and whenever one is given (401), GET
// and HEAD only (405), no CORS. It refuses, as New does, a listen address
// beyond loopback without a token and a token shorter than MinTokenLen.
func MetricsHandler(listen, token string, m *selfmetrics.Metrics) (http.Handler, error) {
	g, err := newGuard(listen, token)
	if err != nil {
		return nil, err
	}
	next := metricsEndpoint(m)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		switch {
		case !g.hostAllowed(r.Host):
			writeJSON(w, http.StatusForbidden, map[string]any{"error": newError(kindForbidden, "",
				"Host %q is not this server's: scrape http://127.0.0.1 (or the --metrics-listen host)", r.Host)})
		case !g.tokenOK(r):
			h.Set("WWW-Authenticate", `Bearer realm="flperf"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": newError(kindUnauthorized, "",
				"these metrics need the access token: send Authorization: Bearer TOKEN")})
		case r.URL.Path != MetricsPath:
			writeJSON(w, http.StatusNotFound, map[string]any{"error": newError(kindNotFound, "",
				"nothing at %s: the metrics are at %s", r.URL.Path, MetricsPath)})
		default:
			next.ServeHTTP(w, r)
		}
	}), nil
}
