package server

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"time"

	"flperf/internal/store"
)

// whoamiView is GET /whoami: who the request's token belongs to.
type whoamiView struct {
	User *string    `json:"user"` // null for the owner of a single-user server
	Role store.Role `json:"role"`
	Mode string     `json:"mode"` // open, token or users
}

// handleWhoami answers GET /whoami.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) error {
	id := identityOf(r)
	v := whoamiView{Role: id.role, Mode: id.mode}
	if id.user != "" {
		v.User = &id.user
	}
	return writeData(w, http.StatusOK, v)
}

// handleUsers answers GET /users: every user, revoked ones included.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := s.db.Users(r.Context())
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, us)
}

// addUserBody is POST /users's body.
type addUserBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// newUserView is POST /users's answer: the user and its token, shown this
// once (only its hash is stored).
type newUserView struct {
	User  store.User `json:"user"`
	Token string     `json:"token"`
}

// handleAddUser answers POST /users. Users are added over the API only on
// a server that has users already: the first one is made with `flperf
// users add` on the server's machine, so that the owner's single token
// does not stop working under them.
func (s *Server) handleAddUser(w http.ResponseWriter, r *http.Request) error {
	var b addUserBody
	if err := decodeBody(w, r, &b, maxBody); err != nil {
		return err
	}
	noteTarget(r, b.Name)
	if err := store.CheckUserName(b.Name); err != nil {
		return badRequest("name", "%v", err)
	}
	role, err := store.ParseRole(b.Role)
	if err != nil {
		return badRequest("role", "%v", err)
	}
	if identityOf(r).mode != modeUsers {
		return conflict("this server has no users yet: create the first admin with `flperf users add NAME --role admin` on its machine, then sign in with that token")
	}
	tok := NewToken()
	sum := sha256.Sum256([]byte(tok))
	u, err := s.db.AddUser(r.Context(), b.Name, role, sum[:])
	if errors.Is(err, store.ErrUserExists) {
		return newError(kindConflict, "name", "%v", err)
	}
	if err != nil {
		return err
	}
	return writeData(w, http.StatusCreated, newUserView{User: u, Token: tok})
}

// handleRevokeUser answers DELETE /users/{name}. The last active admin is
// not revoked over the API: nobody could manage users afterwards.
func (s *Server) handleRevokeUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	us, err := s.db.Users(r.Context())
	if err != nil {
		return err
	}
	var target *store.User
	admins := 0
	for i, u := range us {
		if u.Revoked != nil {
			continue
		}
		if u.Role == store.RoleAdmin {
			admins++
		}
		if u.Name == name {
			target = &us[i]
		}
	}
	if target == nil {
		return notFound("no active user %s", quote(name))
	}
	if target.Role == store.RoleAdmin && admins == 1 {
		return conflict("%s is the last active admin: add another admin first (or use flperf users revoke on the server's machine)", name)
	}
	if err := s.db.RevokeUser(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNoUser) {
			return notFound("%v", err)
		}
		return err
	}
	return writeData(w, http.StatusOK, map[string]string{"name": name, "state": "revoked"})
}

// defaultAuditPage is GET /audit's page size without ?limit=.
const defaultAuditPage = 100

// auditView is GET /audit's answer: a page of entries, newest first, and
// the before= value of the next (older) page, null at the end.
type auditView struct {
	Entries []store.AuditEntry `json:"entries"`
	Next    *string            `json:"next"`
}

// handleAudit answers GET /audit?limit=N&before=T.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := defaultAuditPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxAuditPage {
			return badRequest("limit", "limit must be a whole number from 1 to %d, got %s", store.MaxAuditPage, quote(v))
		}
		limit = n
	}
	var before time.Time
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return badRequest("before", "before must be an RFC 3339 time (an entry's at), got %s", quote(v))
		}
		before = t
	}
	es, err := s.db.Audit(r.Context(), limit, before)
	if err != nil {
		return err
	}
	v := auditView{Entries: es}
	if len(es) == limit {
		next := es[len(es)-1].At.Format(time.RFC3339Nano)
		v.Next = &next
	}
	return writeData(w, http.StatusOK, v)
}
