package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUsers checks adding, looking up by token hash, listing and revoking
// users, in a real SQLite file that is closed and reopened.
func TestUsers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "u.db")
	db := openAt(t, path)
	if has, err := db.HasUsers(ctx); err != nil || has {
		t.Fatalf("a new database has users: %v %v", has, err)
	}
	ha, hb := sha256.Sum256([]byte("token-a")), sha256.Sum256([]byte("token-b"))
	if _, err := db.AddUser(ctx, "alice", RoleAdmin, ha[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddUser(ctx, "bob", RoleViewer, hb[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddUser(ctx, "alice", RoleViewer, hb[:]); !errors.Is(err, ErrUserExists) {
		t.Errorf("second alice: %v", err)
	}
	hc := sha256.Sum256([]byte("token-c"))
	for _, bad := range []string{"", "-x", "a b", strings.Repeat("a", 65), "é"} {
		if _, err := db.AddUser(ctx, bad, RoleViewer, hc[:]); err == nil || !strings.Contains(err.Error(), "user name") {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	if _, err := db.AddUser(ctx, "carol", "root", hc[:]); err == nil || !strings.Contains(err.Error(), `got "root"`) {
		t.Errorf("role root: %v", err)
	}
	db.Close()
	db = openAt(t, path)
	u, ok, err := db.UserByTokenHash(ctx, ha[:])
	if err != nil || !ok || u.Name != "alice" || u.Role != RoleAdmin {
		t.Fatalf("alice by hash: %+v %v %v", u, ok, err)
	}
	if _, ok, _ := db.UserByTokenHash(ctx, hc[:]); ok {
		t.Error("an unknown hash found a user")
	}
	if err := db.RevokeUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeUser(ctx, "bob"); !errors.Is(err, ErrNoUser) {
		t.Errorf("revoking bob twice: %v", err)
	}
	if _, ok, _ := db.UserByTokenHash(ctx, hb[:]); ok {
		t.Error("a revoked token still works")
	}
	us, err := db.Users(ctx)
	if err != nil || len(us) != 2 || us[0].Name != "alice" || us[0].Revoked != nil || us[1].Name != "bob" || us[1].Revoked == nil {
		t.Fatalf("users: %+v %v", us, err)
	}
	// Every user revoked still counts as "has users".
	if err := db.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if has, err := db.HasUsers(ctx); err != nil || !has {
		t.Errorf("all revoked: has users %v %v", has, err)
	}
	// A revoked name may be given again, with a new token and role.
	if _, err := db.AddUser(ctx, "bob", RoleRunner, hc[:]); err != nil {
		t.Fatal(err)
	}
	if u, ok, _ := db.UserByTokenHash(ctx, hc[:]); !ok || u.Role != RoleRunner {
		t.Errorf("bob again: %+v %v", u, ok)
	}
}

// TestRoleIncludes checks the order of the roles.
func TestRoleIncludes(t *testing.T) {
	want := map[[2]Role]bool{
		{RoleViewer, RoleViewer}: true, {RoleViewer, RoleRunner}: false, {RoleViewer, RoleAdmin}: false,
		{RoleRunner, RoleViewer}: true, {RoleRunner, RoleRunner}: true, {RoleRunner, RoleAdmin}: false,
		{RoleAdmin, RoleViewer}: true, {RoleAdmin, RoleRunner}: true, {RoleAdmin, RoleAdmin}: true,
		{"", RoleViewer}: false, {"root", RoleViewer}: false,
	}
	for k, w := range want {
		if got := k[0].Includes(k[1]); got != w {
			t.Errorf("%q includes %q: %v", k[0], k[1], got)
		}
	}
	if _, err := ParseRole("Admin"); err == nil {
		t.Error("roles are lower case")
	}
}

// TestAuditLog checks that entries come back newest first, paged by time,
// with over-long fields cut.
func TestAuditLog(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	for i := range 5 {
		e := AuditEntry{At: t0.Add(time.Duration(i) * time.Second), User: "alice", Role: RoleAdmin, Method: "DELETE",
			Route: "DELETE /api/v1/runs/{id}", Target: "run-" + string(rune('a'+i)), Status: 200 + i, Remote: "10.0.0.1:5000"}
		if i == 4 {
			e.Target = strings.Repeat("é", 200) // 400 bytes
		}
		if err := db.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := db.Audit(ctx, 3, time.Time{})
	if err != nil || len(es) != 3 {
		t.Fatalf("audit: %v %v", es, err)
	}
	if es[0].Status != 204 || es[1].Status != 203 || es[2].Status != 202 || !es[1].At.Equal(t0.Add(3*time.Second)) || es[1].Target != "run-d" || es[1].User != "alice" || es[1].Role != RoleAdmin || es[1].Remote != "10.0.0.1:5000" {
		t.Errorf("newest three: %+v", es)
	}
	if len(es[0].Target) != 256 || es[0].Target != strings.Repeat("é", 128) {
		t.Errorf("long target kept %d bytes", len(es[0].Target))
	}
	older, err := db.Audit(ctx, 3, es[2].At)
	if err != nil || len(older) != 2 || older[0].Status != 201 || older[1].Status != 200 {
		t.Errorf("older page: %+v %v", older, err)
	}
	if _, err := db.Audit(ctx, 0, time.Time{}); err == nil {
		t.Error("page size 0 accepted")
	}
}

// FuzzCheckUserName checks that every name accepted is safe as a URL path
// segment and a table cell: 1 to 64 bytes of [A-Za-z0-9._-], first a
// letter or digit.
func FuzzCheckUserName(f *testing.F) {
	for _, s := range []string{"alice", "a.b-c_d", "", "../x", "a/b", "é", " a", "a\n", strings.Repeat("z", 64), strings.Repeat("z", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckUserName(name) != nil {
			return
		}
		if len(name) < 1 || len(name) > 64 || url.PathEscape(name) != name || strings.ContainsAny(name, "/<>&\"' \t\r\n") || name[0] == '.' || name[0] == '-' || name[0] == '_' {
			t.Errorf("accepted %q", name)
		}
	})
}

// TestAuditLogBounded checks that the audit log keeps the newest auditKeep
// entries: a stream of requests cannot grow the database without bound.
func TestAuditLogBounded(t *testing.T) {
	keep, every := auditKeep, auditPruneEvery
	auditKeep, auditPruneEvery = 10, 4
	t.Cleanup(func() { auditKeep, auditPruneEvery = keep, every })
	ctx := context.Background()
	db := openTest(t)
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	for i := range 40 {
		if err := db.AddAudit(ctx, AuditEntry{At: t0.Add(time.Duration(i) * time.Second), User: "bob", Role: RoleRunner,
			Method: "POST", Route: "POST /api/v1/runs", Status: 201}); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM audit_log"); n != 10 {
		t.Fatalf("%d entries after 40 added, want the newest 10", n)
	}
	es, err := db.Audit(ctx, 100, time.Time{})
	if err != nil || len(es) != 10 || !es[9].At.Equal(t0.Add(30*time.Second)) || !es[0].At.Equal(t0.Add(39*time.Second)) {
		t.Fatalf("kept %+v %v, want seconds 30 to 39", es, err)
	}
}
