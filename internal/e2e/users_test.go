package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/cli"
)

// userCall calls the app's API with a user token and returns the status
// and the envelope's data.
func userCall(t *testing.T, method, url, token string) (int, json.RawMessage) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(b, &env)
	return res.StatusCode, env.Data
}

// TestUsersPage drives the Users page of a server with named users in
// Chromium: an admin (made with `flperf users add`) opens it with their
// token, sees the Users menu entry and the list, adds a viewer (whose
// token, shown once, works at once on the API; as a viewer the page shows
// nothing to manage and the menu no Users entry), revokes them (the token
// stops working), and reads the audit log, whose rows equal GET /audit's.
// A hostile name is refused and shown as text.
func TestUsersPage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "users.db")
	var out bytes.Buffer
	if code := cli.Main(context.Background(), []string{"users", "add", "root-admin", "--role", "admin", "--db", db}, nil, &out, io.Discard); code != 0 {
		t.Fatalf("flperf users add: exit %d", code)
	}
	admin := strings.TrimSpace(out.String())
	a := startApp(t, db)
	b := newBrowser(t, 1280, 900)
	b.open(t, a.url+"users?token="+admin, "users")
	b.waitFor(t, 20*time.Second, "the Users menu entry", `document.querySelector('#nav a[href="/users"]')`)
	b.waitFor(t, 20*time.Second, "the users table", `document.querySelector('#users-table tr[data-user="root-admin"]')`)
	if s := eval[string](t, b, `document.querySelector('tr[data-user="root-admin"] .state').textContent`); s != "active" {
		t.Errorf("root-admin: %q", s)
	}

	// A hostile name is refused, its error shown as text.
	b.setField(t, "#user-name", `<img src=x onerror=alert(1)>`)
	b.click(t, "#user-add")
	b.waitFor(t, 20*time.Second, "the refusal", `document.querySelector('#user-add-out .notice.error')`)
	if msg := eval[string](t, b, `document.querySelector('#user-add-out').textContent`); !strings.Contains(msg, "Not added: user name must be") ||
		eval[int](t, b, `document.querySelectorAll('#main img').length`) != 0 {
		t.Errorf("hostile name: %q", msg)
	}

	// Add a viewer: the token is shown once and works at once.
	b.setField(t, "#user-name", "carol")
	b.setField(t, "#user-role", "viewer")
	b.click(t, "#user-add")
	b.waitFor(t, 20*time.Second, "the new token", `document.querySelector('#new-token-value')`)
	carol := eval[string](t, b, `document.querySelector('#new-token-value').textContent`)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(carol) {
		t.Fatalf("shown token %q", carol)
	}
	code, data := userCall(t, http.MethodGet, a.url+"api/v1/whoami", carol)
	if code != http.StatusOK || string(data) != `{"user":"carol","role":"viewer","mode":"users"}` {
		t.Errorf("carol's token: %d %s", code, data)
	}
	b.waitFor(t, 20*time.Second, "carol listed", `document.querySelector('tr[data-user="carol"] .state')`)

	// Carol, a viewer, opening the page sees no users and no Users menu.
	b.open(t, a.url+"users?token="+carol, "users")
	if txt := eval[string](t, b, `document.querySelector('#page-users').textContent`); !strings.Contains(txt, "Only admins manage users.") ||
		eval[int](t, b, `document.querySelectorAll('#users-table, #user-form').length`) != 0 {
		t.Errorf("the page as a viewer: %q", txt)
	}
	b.waitFor(t, 20*time.Second, "the menu drawn", `document.querySelectorAll('#nav a').length >= 6`)
	if n := eval[int](t, b, `document.querySelectorAll('#nav a[href="/users"]').length`); n != 0 {
		t.Error("a viewer has the Users menu entry")
	}
	b.open(t, a.url+"users?token="+admin, "users")
	b.waitFor(t, 20*time.Second, "carol listed", `document.querySelector('button.revoke[data-user="carol"]')`)

	// Revoke her (the confirmation answered yes): her token stops working.
	eval[bool](t, b, `(window.confirm = () => true, true)`)
	b.click(t, `button.revoke[data-user="carol"]`)
	b.waitFor(t, 20*time.Second, "carol revoked", `/^revoked /.test(document.querySelector('tr[data-user="carol"] .state').textContent)`)
	if code, _ := userCall(t, http.MethodGet, a.url+"api/v1/whoami", carol); code != http.StatusUnauthorized {
		t.Errorf("carol's token after revoking: %d", code)
	}
	if n := eval[int](t, b, `document.querySelectorAll('button.revoke[data-user="carol"]').length`); n != 0 {
		t.Errorf("a revoked user still has a Revoke button")
	}

	// The audit log on the page equals GET /audit, row by row.
	b.waitFor(t, 20*time.Second, "three audit rows", `document.querySelectorAll('#audit-table tbody tr').length === 3`)
	shown := eval[[][]string](t, b, `[...document.querySelectorAll('#audit-table tbody tr')].map((tr) => [...tr.cells].slice(1).map((c) => c.textContent))`)
	code, data = userCall(t, http.MethodGet, a.url+"api/v1/audit", admin)
	var page struct {
		Entries []struct {
			User, Role, Route, Target, Remote string
			Status                            int
		}
	}
	if code != http.StatusOK || json.Unmarshal(data, &page) != nil || len(page.Entries) != 3 {
		t.Fatalf("GET /audit: %d %s", code, data)
	}
	want := [][]string{
		{"root-admin", "admin", "DELETE /api/v1/users/{name}", "carol", "200"},
		{"root-admin", "admin", "POST /api/v1/users", "carol", "201"},
		{"root-admin", "admin", "POST /api/v1/users", "<img src=x onerror=alert(1)>", "400"},
	}
	for i, e := range page.Entries {
		api := []string{e.User, e.Role, e.Route, e.Target, strconv.Itoa(e.Status)}
		if strings.Join(api, "|") != strings.Join(want[i], "|") {
			t.Errorf("GET /audit entry %d: %v, want %v", i, api, want[i])
		}
		if got := strings.Join(shown[i][:5], "|"); got != strings.Join(api, "|") || shown[i][5] != e.Remote {
			t.Errorf("audit row %d on the page: %v, API %v %s", i, shown[i], api, e.Remote)
		}
	}
	b.noErrors(t, "users")
}
