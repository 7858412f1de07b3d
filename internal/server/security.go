package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
)

// ContentSecurityPolicy is sent with every response outside /api/: the UI
// loads nothing from another origin, runs no inline script or style and
// cannot be framed.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// MinTokenLen is the shortest access token accepted: shorter ones are
// guessed too easily.
const MinTokenLen = 16

// NewToken returns a fresh access token: 32 random bytes, hex-encoded.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IsLoopback reports whether host (a name or an IP literal, without port
// or brackets) is this machine's loopback: localhost, 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOf returns the host of a Host header or listen address, without
// port and brackets, lower-cased.
func hostOf(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}

// guard holds the request checks of the security middleware.
type guard struct {
	listenHost  string // the configured listen host ("" when none)
	unspecified bool   // listening on every interface (0.0.0.0, ::)
	token       [32]byte
	needToken   bool
}

// newGuard builds the checks for listen address listen and token.
func newGuard(listen, token string) (*guard, error) {
	g := &guard{listenHost: hostOf(listen)}
	if ip := net.ParseIP(g.listenHost); ip != nil && ip.IsUnspecified() {
		g.unspecified = true
	}
	g.needToken = token != "" || (g.listenHost != "" && !IsLoopback(g.listenHost))
	switch {
	case g.needToken && token == "":
		return nil, fmt.Errorf("listening on %s (beyond loopback) needs an access token", listen)
	case token != "" && len(token) < MinTokenLen:
		return nil, fmt.Errorf("the access token must have at least %d characters, got %d", MinTokenLen, len(token))
	}
	g.token = sha256.Sum256([]byte(token))
	return g, nil
}

// hostAllowed reports whether a request's Host header names this server:
// a loopback name with any port, or the configured listen host. When the
// server listens on every interface, any IP literal is allowed too: DNS
// rebinding needs a name, and the token guards that mode.
func (g *guard) hostAllowed(hostHeader string) bool {
	h := hostOf(hostHeader)
	switch {
	case h == "":
		return false
	case h == "localhost" || h == "127.0.0.1" || h == "::1":
		return true
	case g.listenHost != "" && h == g.listenHost:
		return true
	case g.unspecified && net.ParseIP(h) != nil:
		return true
	}
	return false
}

// tokenOK reports whether r carries the access token, as a Bearer
// Authorization header or a token query parameter (EventSource cannot set
// headers). The comparison takes the same time whatever the token.
func (g *guard) tokenOK(r *http.Request) bool {
	if !g.needToken {
		return true
	}
	got := r.URL.Query().Get("token")
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, t, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		got = strings.TrimSpace(t)
	}
	if got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], g.token[:]) == 1
}

// sameOrigin reports whether a state-changing request comes from this
// server's own pages: Sec-Fetch-Site same-origin or none (typed by the
// user), or, from a client that does not send it, no Origin or our own.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return o == "" || o == scheme+r.Host
}

// stateChanging reports whether method may change state.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// secure wraps the app's routes with the security checks and headers, the
// panic guard and gzip for the API.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := w
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logf("error", "panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
				writeJSON(raw, http.StatusInternalServerError, map[string]any{"error": newError(kindInternal, "", "the server failed to answer %s %s; its log says why", r.Method, r.URL.Path)})
			}
		}()
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		api := r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/")
		if r.URL.Path == MetricsPath {
			h.Set("Cache-Control", "no-store")
		}
		if !api {
			h.Set("Content-Security-Policy", ContentSecurityPolicy)
			h.Set("X-Frame-Options", "DENY")
		} else {
			h.Set("Cache-Control", "no-store")
		}
		if !s.guard.hostAllowed(r.Host) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": newError(kindForbidden, "",
				"Host %q is not this server's: open the app at http://127.0.0.1 (or the --listen host)", r.Host)})
			return
		}
		if api || r.URL.Path == MetricsPath {
			id, ok := s.authenticate(w, r)
			if !ok {
				return
			}
			if id.limit != "" {
				if ok, wait := s.limiter.allow(id.limit); !ok {
					h.Set("Retry-After", strconv.Itoa(retryAfter(wait)))
					writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": newError(kindTooMany, "",
						"too many requests for this token: at most %g a second (bursts of %d); retry in %d s", s.limiter.rate, int(s.limiter.burst), retryAfter(wait))})
					return
				}
			}
			r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
		}
		if stateChanging(r.Method) && !sameOrigin(r) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": newError(kindForbidden, "",
				"cross-site %s refused: use the app's own pages", r.Method)})
			return
		}
		deadline(w, writeLimit) // streams and exports set their own
		if api && !strings.HasSuffix(r.URL.Path, "/events") && acceptsGzip(r) {
			gz := newGzipWriter(w)
			next.ServeHTTP(gz, r)
			gz.Close() // not after a panic: an aborted answer must not end as a whole gzip stream
			return
		}
		next.ServeHTTP(w, r)
	})
}
