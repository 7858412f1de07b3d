package server

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"flperf/internal/store"
)

// Access modes of the server (GET /whoami's mode).
const (
	modeOpen  = "open"  // loopback without a token: whoever reaches it is the owner
	modeToken = "token" // the single access token (--token, or generated beyond loopback)
	modeUsers = "users" // named users with roles (flperf users add)
)

// identity is who sent a request: a named user, or the owner of a
// single-user server (the single access token, or loopback without one),
// who may do everything.
type identity struct {
	user  string     // "" for the owner
	role  store.Role // what the request may do
	mode  string     // modeOpen, modeToken or modeUsers
	limit string     // the rate limiter's key ("" : not limited)
}

// identityKey keys the request's identity in its context.
type identityKey struct{}

// identityOf returns the request's identity (set by secure); a request
// that did not pass secure is the owner of an open server.
func identityOf(r *http.Request) identity {
	if id, ok := r.Context().Value(identityKey{}).(identity); ok {
		return id
	}
	return identity{role: store.RoleAdmin, mode: modeOpen}
}

// requestToken returns the token a request carries: a Bearer
// Authorization header, else a token query parameter (EventSource and
// download links cannot set headers). ok is false for an Authorization
// header of another scheme.
func requestToken(r *http.Request) (token string, ok bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, t, found := strings.Cut(auth, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		return strings.TrimSpace(t), true
	}
	return r.URL.Query().Get("token"), true
}

// authenticate finds who sent r. With users in the store only an active
// user's token is accepted; without, the single access token when one is
// required. It answers the error itself and returns ok false when r may
// not go on.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (identity, bool) {
	has, err := s.hasUsers(r)
	if err != nil {
		s.usersUnreadable(w, r, err)
		return identity{}, false
	}
	if !has {
		if !s.guard.tokenOK(r) {
			unauthorized(w, "this server needs its access token: open the URL it printed (with ?token=…) or send Authorization: Bearer TOKEN")
			return identity{}, false
		}
		if s.guard.needToken {
			return identity{role: store.RoleAdmin, mode: modeToken, limit: "\x00token"}, true
		}
		return identity{role: store.RoleAdmin, mode: modeOpen}, true
	}
	tok, ok := requestToken(r)
	if ok && tok != "" {
		sum := sha256.Sum256([]byte(tok))
		u, found, err := s.db.UserByTokenHash(r.Context(), sum[:])
		if err != nil {
			s.usersUnreadable(w, r, err)
			return identity{}, false
		}
		if found {
			return identity{user: u.Name, role: u.Role, mode: modeUsers, limit: u.Name}, true
		}
	}
	unauthorized(w, "this server has named users: send your user token as Authorization: Bearer TOKEN (or open the app with ?token=TOKEN); an admin creates one with flperf users add NAME --role viewer|runner|admin")
	return identity{}, false
}

// hasUsers reports whether the store has users. Users are revoked, never
// deleted, so once it has some it always will: that answer is kept and the
// store is not asked again. Until then each request asks (a user may be
// added by flperf users add while the server runs).
func (s *Server) hasUsers(r *http.Request) (bool, error) {
	if s.usersSeen.Load() {
		return true, nil
	}
	has, err := s.db.HasUsers(r.Context())
	if has {
		s.usersSeen.Store(true)
	}
	return has, err
}

// usersUnreadable answers 503 when the users could not be read (logged,
// unless the client went away).
func (s *Server) usersUnreadable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		s.logf("error", "authenticating %s %s: %v", r.Method, r.URL.Path, err)
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": newError(kindUnavailable, "",
		"the server could not read its users; its log says why")})
}

// unauthorized answers 401 with the Bearer challenge.
func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="flperf"`)
	writeJSON(w, http.StatusUnauthorized, map[string]any{"error": newError(kindUnauthorized, "", "%s", msg)})
}

// auditNote lets a handler name what a state-changing request acted on
// when the route's path does not (a new run's id, a new user's name).
type auditNote struct{ target string }

// auditNoteKey keys the *auditNote in a request's context.
type auditNoteKey struct{}

// noteTarget records what r acted on, for the audit log.
func noteTarget(r *http.Request, target string) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.target = target
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// guarded wraps a route's handler with its role check and, for a
// state-changing request of a named user, the audit log entry.
func (s *Server) guarded(rt route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := identityOf(r)
		audit := id.mode == modeUsers && stateChanging(r.Method)
		var note *auditNote
		sw := &statusWriter{ResponseWriter: w}
		if audit {
			note = &auditNote{target: routeTarget(r)}
			r = r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note))
			w = sw
		}
		if !id.role.Includes(rt.role) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": newError(kindForbidden, "",
				"%s %s needs the %s role; user %s has %s", r.Method, r.URL.Path, rt.role, id.user, id.role)})
		} else {
			h.ServeHTTP(w, r)
		}
		if audit {
			e := store.AuditEntry{At: time.Now(), User: id.user, Role: id.role, Method: r.Method, Route: rt.pattern,
				Target: note.target, Status: sw.status, Remote: r.RemoteAddr}
			if e.Status == 0 {
				e.Status = http.StatusOK
			}
			if err := s.db.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
				s.logf("error", "audit log: %s %s by %s (status %d) not recorded: %v", r.Method, r.URL.Path, id.user, e.Status, err)
			}
		}
	})
}

// routeTarget is what a request acts on as its path names it: the {id} or
// {name} of the route.
func routeTarget(r *http.Request) string {
	if v := r.PathValue("id"); v != "" {
		return v
	}
	return r.PathValue("name")
}
