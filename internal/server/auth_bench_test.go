package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"flperf/internal/store"
)

// BenchmarkAuth measures what the access checks add to one API request
// (GET /health through the whole handler, no network): an open loopback
// app, the single access token, and a named user's token (its hash looked
// up in SQLite, then the role check).
func BenchmarkAuth(b *testing.B) {
	const tok = "s3cret-token-0123"
	open := newApp(b, Options{RateLimit: -1})
	single := newApp(b, Options{Listen: "0.0.0.0:8765", Token: tok, RateLimit: -1})
	users := newApp(b, Options{RateLimit: -1})
	user := addUser(b, users.db, "bench", store.RoleViewer)
	for _, c := range []struct {
		name  string
		a     *testApp
		token string
	}{{"open", open, ""}, {"single-token", single, tok}, {"user", users, user}} {
		b.Run(c.name, func(b *testing.B) {
			h := c.a.s.Handler()
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/v1/health", nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// FuzzRequestToken checks the token reader on any Authorization header:
// it never panics, takes the token of a Bearer header (the scheme in any
// case, up to the first space) trimmed, and refuses every other header;
// without a header, the token query parameter.
func FuzzRequestToken(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer  abc ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer\tx", "BEARER x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, auth string) {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/v1/health?token=q", nil)
		req.Header["Authorization"] = []string{auth}
		tok, ok := requestToken(req)
		wantTok, wantOK := "q", true
		if auth != "" {
			i := strings.IndexByte(auth, ' ')
			wantOK = i >= 0 && strings.EqualFold(auth[:i], "bearer")
			wantTok = ""
			if wantOK {
				wantTok = strings.TrimSpace(auth[i+1:])
			}
		}
		if tok != wantTok || ok != wantOK {
			t.Errorf("Authorization %q: %q %v, want %q %v", auth, tok, ok, wantTok, wantOK)
		}
	})
}
