package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/store"
)

// TestUsersAPI checks adding a user over the API (its token shown once
// and working at once, only its hash stored), listing, revoking (the token
// stops working at once; the last admin is kept) and the audit log of it
// all, exact entry by entry.
func TestUsersAPI(t *testing.T) {
	a := newApp(t, Options{})
	admin := addUser(t, a.db, "alice", store.RoleAdmin)
	as := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	r := a.do(http.MethodPost, "/api/v1/users", map[string]string{"name": "bob", "role": "runner"}, as(admin)...)
	var created struct {
		Data newUserView `json:"data"`
	}
	if r.status != http.StatusCreated || decode(r.body, &created) != nil || created.Data.User.Name != "bob" || created.Data.User.Role != store.RoleRunner || len(created.Data.Token) != 64 {
		t.Fatalf("add bob: %d %s", r.status, r.body)
	}
	bob := created.Data.Token
	sum := sha256.Sum256([]byte(bob))
	if u, ok, err := a.db.UserByTokenHash(context.Background(), sum[:]); err != nil || !ok || u.Name != "bob" {
		t.Fatalf("bob's token hash is not stored: %+v %v %v", u, ok, err)
	}
	if r := a.do(http.MethodGet, "/api/v1/whoami", nil, as(bob)...); !strings.Contains(string(r.body), `"user":"bob","role":"runner"`) {
		t.Errorf("bob's token: %d %s", r.status, r.body)
	}
	// Bad input names its field; a second bob is a conflict on name.
	if e := a.fail(http.MethodPost, "/api/v1/users", map[string]string{"name": "bad name", "role": "viewer"}, http.StatusBadRequest, as(admin)...); e.Field != "name" {
		t.Errorf("bad name: %+v", e)
	}
	if e := a.fail(http.MethodPost, "/api/v1/users", map[string]string{"name": "dan", "role": "root"}, http.StatusBadRequest, as(admin)...); e.Field != "role" {
		t.Errorf("bad role: %+v", e)
	}
	if e := a.fail(http.MethodPost, "/api/v1/users", map[string]string{"name": "bob", "role": "viewer"}, http.StatusConflict, as(admin)...); e.Field != "name" {
		t.Errorf("second bob: %+v", e)
	}
	// A runner may not manage users.
	a.fail(http.MethodPost, "/api/v1/users", map[string]string{"name": "eve", "role": "admin"}, http.StatusForbidden, as(bob)...)

	// The last admin is kept; bob is revoked and his token stops at once.
	if e := a.fail(http.MethodDelete, "/api/v1/users/alice", nil, http.StatusConflict, as(admin)...); !strings.Contains(e.Message, "last active admin") {
		t.Errorf("revoking the last admin: %s", e.Message)
	}
	if r := a.do(http.MethodDelete, "/api/v1/users/bob", nil, as(admin)...); r.status != http.StatusOK {
		t.Fatalf("revoke bob: %d %s", r.status, r.body)
	}
	a.fail(http.MethodGet, "/api/v1/health", nil, http.StatusUnauthorized, as(bob)...)
	a.fail(http.MethodDelete, "/api/v1/users/bob", nil, http.StatusNotFound, as(admin)...)
	var us []store.User
	r = a.do(http.MethodGet, "/api/v1/users", nil, as(admin)...)
	var listed struct {
		Data []store.User `json:"data"`
	}
	if decode(r.body, &listed) != nil {
		t.Fatal(string(r.body))
	}
	us = listed.Data
	if len(us) != 2 || us[0].Name != "alice" || us[0].Revoked != nil || us[1].Name != "bob" || us[1].Revoked == nil || strings.Contains(string(r.body), "token") {
		t.Errorf("users: %s", r.body)
	}

	// The audit log, newest first: each state-changing request of a named
	// user (refused ones included), none of the reads.
	var page struct {
		Data auditView `json:"data"`
	}
	r = a.do(http.MethodGet, "/api/v1/audit", nil, as(admin)...)
	if r.status != http.StatusOK || decode(r.body, &page) != nil {
		t.Fatalf("audit: %d %s", r.status, r.body)
	}
	type row struct {
		user, method, route, target string
		status                      int
	}
	want := []row{
		{"alice", "DELETE", "DELETE /api/v1/users/{name}", "bob", 404},
		{"alice", "DELETE", "DELETE /api/v1/users/{name}", "bob", 200},
		{"alice", "DELETE", "DELETE /api/v1/users/{name}", "alice", 409},
		{"bob", "POST", "POST /api/v1/users", "", 403},
		{"alice", "POST", "POST /api/v1/users", "bob", 409},
		{"alice", "POST", "POST /api/v1/users", "dan", 400},
		{"alice", "POST", "POST /api/v1/users", "bad name", 400},
		{"alice", "POST", "POST /api/v1/users", "bob", 201},
	}
	es := page.Data.Entries
	if len(es) != len(want) || page.Data.Next != nil {
		t.Fatalf("audit log of %d entries, want %d: %s", len(es), len(want), r.body)
	}
	for i, w := range want {
		e := es[i]
		if (row{e.User, e.Method, e.Route, e.Target, e.Status}) != w || !strings.HasPrefix(e.Remote, "127.0.0.1:") || e.At.IsZero() {
			t.Errorf("audit entry %d: %+v, want %+v", i, e, w)
		}
	}
	// Paging: two at a time, the next page from the cursor.
	r = a.do(http.MethodGet, "/api/v1/audit?limit=2", nil, as(admin)...)
	if decode(r.body, &page) != nil || len(page.Data.Entries) != 2 || page.Data.Next == nil {
		t.Fatalf("first page: %s", r.body)
	}
	r = a.do(http.MethodGet, "/api/v1/audit?limit=2&before="+*page.Data.Next, nil, as(admin)...)
	if decode(r.body, &page) != nil || len(page.Data.Entries) != 2 || page.Data.Entries[0].Status != 409 || page.Data.Entries[0].Target != "alice" {
		t.Errorf("second page: %s", r.body)
	}
	if e := a.fail(http.MethodGet, "/api/v1/audit?limit=0", nil, http.StatusBadRequest, as(admin)...); e.Field != "limit" {
		t.Errorf("limit 0: %+v", e)
	}
	if e := a.fail(http.MethodGet, "/api/v1/audit?before=yesterday", nil, http.StatusBadRequest, as(admin)...); e.Field != "before" {
		t.Errorf("before: %+v", e)
	}
}

// TestAuditRunStart checks that starting a run is logged with the new
// run's id as its target.
func TestAuditRunStart(t *testing.T) {
	a := newApp(t, Options{})
	tok := addUser(t, a.db, "rita", store.RoleRunner)
	r := a.do(http.MethodPost, "/api/v1/runs", runBody(1, nil), "Authorization", "Bearer "+tok)
	var started struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if r.status != http.StatusCreated || decode(r.body, &started) != nil {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for a.s.jobs.get(started.Data.ID) != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	es, err := a.db.Audit(context.Background(), 10, time.Time{})
	if err != nil || len(es) != 1 || es[0].User != "rita" || es[0].Role != store.RoleRunner || es[0].Route != "POST /api/v1/runs" ||
		es[0].Target != started.Data.ID || es[0].Status != http.StatusCreated {
		t.Errorf("audit: %+v %v", es, err)
	}
}

// decode decodes a JSON answer.
func decode(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestAuditConcurrent sends state-changing requests from 8 clients at
// once, each with its own user: every one is in the audit log, once.
func TestAuditConcurrent(t *testing.T) {
	a := newApp(t, Options{RateLimit: -1})
	const clients, each = 8, 10
	toks := make([]string, clients)
	for i := range toks {
		toks[i] = addUser(t, a.db, fmt.Sprint("admin", i), store.RoleAdmin)
	}
	var wg sync.WaitGroup
	codes := make(chan int, clients*each)
	for i := range clients {
		wg.Go(func() {
			for range each {
				req, _ := http.NewRequest(http.MethodDelete, a.url+"/api/v1/runs/no-such-run", nil)
				req.Header.Set("Authorization", "Bearer "+toks[i])
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				codes <- res.StatusCode
			}
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusNotFound {
			t.Errorf("status %d", c)
		}
	}
	es, err := a.db.Audit(context.Background(), store.MaxAuditPage, time.Time{})
	if err != nil || len(es) != clients*each {
		t.Fatalf("%d audit entries, want %d: %v", len(es), clients*each, err)
	}
	per := map[string]int{}
	ids := map[string]bool{}
	for _, e := range es {
		per[e.User]++
		ids[e.ID] = true
		if e.Route != "DELETE /api/v1/runs/{id}" || e.Target != "no-such-run" || e.Status != http.StatusNotFound {
			t.Errorf("entry %+v", e)
		}
	}
	for i := range clients {
		if n := per[fmt.Sprint("admin", i)]; n != each {
			t.Errorf("admin%d: %d entries, want %d", i, n, each)
		}
	}
	if len(ids) != clients*each {
		t.Errorf("%d distinct ids", len(ids))
	}
}
