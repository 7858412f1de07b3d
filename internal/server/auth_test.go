package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"flperf/internal/store"
)

// addUser stores a user whose token is "tok-"+name and returns the token.
func addUser(t testing.TB, db *store.DB, name string, role store.Role) string {
	t.Helper()
	tok := "tok-" + name + "-0123456789abcdef"
	sum := sha256.Sum256([]byte(tok))
	if _, err := db.AddUser(context.Background(), name, role, sum[:]); err != nil {
		t.Fatal(err)
	}
	return tok
}

// routeRequest is a request that reaches rt: its method (GET for a
// pattern without one) and its path with every wildcard set to "x".
func routeRequest(rt route) (method, path string) {
	method, path, found := strings.Cut(rt.pattern, " ")
	if !found {
		method, path = http.MethodGet, rt.pattern
	}
	if path == "/api/" {
		path = "/api/v2/nothing"
	}
	for _, w := range []string{"{id}", "{name}"} {
		path = strings.ReplaceAll(path, w, "x")
	}
	return method, path
}

// TestRoleMatrix walks every route of the route table with each role's
// token: a role that includes the route's is let through (its answer is
// the handler's, never 401 or 403), one that does not gets 403 with a
// JSON error naming the role needed, and no token or a wrong one gets 401.
func TestRoleMatrix(t *testing.T) {
	a := newApp(t, Options{RateLimit: -1})
	toks := map[store.Role]string{}
	for _, r := range store.Roles {
		toks[r] = addUser(t, a.db, string(r)+"1", r)
	}
	table := a.s.routeTable()
	if len(table) < 40 {
		t.Fatalf("route table of %d routes", len(table))
	}
	for _, rt := range table {
		method, path := routeRequest(rt)
		a.fail(method, path, nil, http.StatusUnauthorized)
		a.fail(method, path, nil, http.StatusUnauthorized, "Authorization", "Bearer tok-nobody-0123456789abcdef")
		for _, role := range store.Roles {
			r := a.do(method, path, nil, "Authorization", "Bearer "+toks[role])
			if role.Includes(rt.role) {
				if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
					t.Errorf("%s (%s) as %s: %d %s", rt.pattern, rt.role, role, r.status, r.body)
				}
				continue
			}
			var env envelope
			if r.status != http.StatusForbidden || json.Unmarshal(r.body, &env) != nil || env.Error == nil || env.Error.Kind != kindForbidden ||
				!strings.Contains(env.Error.Message, "needs the "+string(rt.role)+" role; user "+string(role)+"1 has "+string(role)) {
				t.Errorf("%s (%s) as %s: %d %s, want 403 naming the role", rt.pattern, rt.role, role, r.status, r.body)
			}
		}
	}
}

// TestRouteRoles checks the table's rules: every read is a viewer's but
// the users and the audit log, every delete and the server-wide settings
// and engines are an admin's, and starting runs is a runner's.
func TestRouteRoles(t *testing.T) {
	a := newApp(t, Options{})
	want := map[string]store.Role{
		"POST /api/v1/runs": store.RoleRunner, "POST /api/v1/capacity": store.RoleRunner, "POST /api/v1/profile": store.RoleRunner,
		"POST /api/v1/runs/{id}/cancel": store.RoleRunner, "POST /api/v1/suites": store.RoleRunner,
		"POST /api/v1/suites/validate": store.RoleViewer, "PUT /api/v1/suites/{name}": store.RoleRunner,
		"POST /api/v1/suites/{name}/duplicate": store.RoleRunner,
		"POST /api/v1/pushes":                  store.RoleRunner, "GET /api/v1/pushes/{id}": store.RoleRunner,
		"PUT /api/v1/pushes/{id}/records": store.RoleRunner, "POST /api/v1/pushes/{id}/commit": store.RoleRunner,
		"DELETE /api/v1/pushes/{id}":     store.RoleRunner,
		"POST /api/v1/engines/{id}/pull": store.RoleRunner, "POST /api/v1/engines/{id}/load": store.RoleRunner,
		"POST /api/v1/engines/{id}/unload": store.RoleRunner, "POST /api/v1/engines/{id}/test": store.RoleRunner,
		"POST /api/v1/engines": store.RoleAdmin, "PUT /api/v1/settings": store.RoleAdmin,
		"POST /api/v1/users": store.RoleAdmin, "GET /api/v1/users": store.RoleAdmin, "GET /api/v1/audit": store.RoleAdmin,
	}
	seen := map[string]bool{}
	for _, rt := range a.s.routeTable() {
		if seen[rt.pattern] {
			t.Errorf("%s twice", rt.pattern)
		}
		seen[rt.pattern] = true
		method, _ := routeRequest(rt)
		w, ok := want[rt.pattern]
		switch {
		case ok:
		case method == http.MethodDelete:
			w = store.RoleAdmin
		case method == http.MethodGet:
			w = store.RoleViewer
		default:
			t.Errorf("%s: no rule for its role (%s)", rt.pattern, rt.role)
			continue
		}
		if rt.role != w {
			t.Errorf("%s: role %s, want %s", rt.pattern, rt.role, w)
		}
	}
	for p := range want {
		if !seen[p] {
			t.Errorf("%s is not in the route table", p)
		}
	}
}

// TestSingleTokenModeUnchanged checks that without users the owner (open
// loopback, or the single token) may do everything, and that the first
// user switches the server to user tokens: the single token stops working.
func TestSingleTokenModeUnchanged(t *testing.T) {
	const tok = "s3cret-token-0123"
	a := newApp(t, Options{Listen: "0.0.0.0:8765", Token: tok})
	var who whoamiView
	r := a.do(http.MethodGet, "/api/v1/whoami", nil, "Authorization", "Bearer "+tok)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"user":null,"role":"admin","mode":"token"`) {
		t.Errorf("whoami with the single token: %d %s", r.status, r.body)
	}
	if r := a.do(http.MethodDelete, "/api/v1/runs/x", nil, "Authorization", "Bearer "+tok); r.status != http.StatusNotFound {
		t.Errorf("delete with the single token: %d %s", r.status, r.body)
	}
	// No users yet: POST /users says how to make the first one.
	e := a.fail(http.MethodPost, "/api/v1/users", map[string]string{"name": "bob", "role": "viewer"}, http.StatusConflict, "Authorization", "Bearer "+tok)
	if !strings.Contains(e.Message, "flperf users add NAME --role admin") {
		t.Errorf("first user over the API: %s", e.Message)
	}
	b := newApp(t, Options{})
	b.data(http.MethodGet, "/api/v1/whoami", nil, http.StatusOK, &who)
	if who.User != nil || who.Role != store.RoleAdmin || who.Mode != modeOpen {
		t.Errorf("open loopback: %+v", who)
	}
	admin := addUser(t, a.db, "alice", store.RoleAdmin)
	e = a.fail(http.MethodGet, "/api/v1/runs", nil, http.StatusUnauthorized, "Authorization", "Bearer "+tok)
	if !strings.Contains(e.Message, "flperf users add") {
		t.Errorf("single token with users: %s", e.Message)
	}
	r = a.do(http.MethodGet, "/api/v1/whoami?token="+admin, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"user":"alice","role":"admin","mode":"users"`) {
		t.Errorf("whoami as alice by ?token=: %d %s", r.status, r.body)
	}
	// Loopback too needs a user token once users exist.
	addUser(t, b.db, "carol", store.RoleViewer)
	b.fail(http.MethodGet, "/api/v1/health", nil, http.StatusUnauthorized)
}
