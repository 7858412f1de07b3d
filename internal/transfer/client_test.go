package transfer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"flperf/internal/server"
	"flperf/internal/store"
)

// TestNewClientURLs: the URLs a client takes, and the token never sent
// over plain http beyond loopback without insecure.
func TestNewClientURLs(t *testing.T) {
	for _, c := range []struct {
		url      string
		token    string
		insecure bool
		err      string
	}{
		{"https://bench.example:8765", testToken, false, ""},
		{"https://bench.example:8765/", testToken, false, ""},
		{"http://127.0.0.1:8765", testToken, false, ""},
		{"http://localhost:8765", testToken, false, ""},
		{"http://[::1]:8765", testToken, false, ""},
		{"http://bench.example:8765", "", false, ""},
		{"http://bench.example:8765", testToken, true, ""},
		{"http://bench.example:8765", testToken, false, "refusing to send the access token over plain http to bench.example:8765"},
		{"ftp://bench.example", "", false, "want http(s)://HOST[:PORT]"},
		{"bench.example:8765", "", false, "want http(s)://HOST[:PORT]"},
		{"https://user:pw@bench.example", "", false, "no user, query or fragment"},
		{"https://bench.example/?token=x", "", false, "no user, query or fragment"},
	} {
		_, err := NewClient(c.url, c.token, c.insecure)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.url, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.url, err, c.err)
		}
	}
}

// TestPushOverHTTPS pushes and pulls over TLS, the token in the
// Authorization header of an encrypted connection.
func TestPushOverHTTPS(t *testing.T) {
	ctx := context.Background()
	src, a := localRun(t, "20260301-120000-7777777777777777", 40)
	db := openDB(t)
	ts := httptest.NewUnstartedServer(nil)
	s, err := server.New(server.Options{DB: db, Listen: ts.Listener.Addr().String(), Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	ts.StartTLS()
	t.Cleanup(func() { ts.Close(); s.Close() })
	if !strings.HasPrefix(ts.URL, "https://") {
		t.Fatalf("not TLS: %s", ts.URL)
	}
	c, err := NewClient(ts.URL, testToken, false)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP = ts.Client() // trusts the test certificate
	if _, err := c.Push(ctx, src, a.ID); err != nil {
		t.Fatal(err)
	}
	dst := openDB(t)
	if _, err := c.Pull(ctx, dst, a.ID); err != nil {
		t.Fatal(err)
	}
	if exportJSON(t, dst, a.ID) != exportJSON(t, src, a.ID) {
		t.Fatal("the run differs after a round trip over https")
	}
	// An untrusted certificate is refused.
	c2, _ := NewClient(ts.URL, testToken, false)
	var retried int
	c2.Log = func(string) { retried++ }
	if _, err := c2.Push(ctx, src, a.ID); err == nil || !strings.Contains(err.Error(), "certificate") || retried != 0 {
		t.Fatalf("untrusted certificate: %v (retried %d times)", err, retried)
	}
	// Plain http to the https port: refused at its 400, without the
	// backoff's five tries. The TLS server writes its 400 and closes at
	// once, so on a busy machine the first try may see the connection
	// reset before the answer (a network failure, retried) and the second
	// the 400: at most one retry.
	c3, _ := NewClient("http"+strings.TrimPrefix(ts.URL, "https"), testToken, false)
	c3.Log = func(string) { retried++ }
	if _, err := c3.Push(ctx, src, a.ID); err == nil || retried > 1 {
		t.Fatalf("http to an https server: %v (retried %d times)", err, retried)
	}
}

// TestPullRefusesBadAnswers: a server whose answer is cut, lies about its
// record count or digest, or sends an endless line leaves nothing in the
// local database.
func TestPullRefusesBadAnswers(t *testing.T) {
	ctx := context.Background()
	_, a := localRun(t, "pulled-1", 20)
	header, _ := store.PushHeader(a)
	var lines []string
	for i := range a.Records {
		l, _ := store.EncodeJSON(&a.Records[i])
		lines = append(lines, string(l))
	}
	digest, _ := store.ArchiveDigest(a)
	whole := string(header) + "\n" + strings.Join(lines, "\n") + "\n"
	for _, c := range []struct {
		name, body, records, digest, want string
	}{
		{"cut", whole[:len(whole)-40], "20", digest, "pull it again"},
		{"fewer records", string(header) + "\n" + strings.Join(lines[:15], "\n") + "\n", "20", digest, "ended after 15 of its 20 records"},
		{"more records", whole + lines[0] + "\n", "20", digest, "more than the 20 records it announced"},
		{"other digest", whole, "20", store.DigestPrefix + strings.Repeat("ab", 32), "not the"},
		{"bad record", string(header) + "\n" + `{"seq":-1}` + "\n", "1", digest, "seq"},
		{"no headers", whole, "", "", "lacks a valid X-Flperf-Run"},
		{"long line", string(header) + "\n" + strings.Repeat("x", maxRecordLine+10) + "\n", "1", digest, "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.records != "" {
					w.Header().Set("X-Flperf-Run", "pulled-1")
					w.Header().Set("X-Flperf-Records", c.records)
					w.Header().Set("X-Flperf-Digest", c.digest)
				}
				fmt.Fprint(w, c.body)
			}))
			defer hs.Close()
			cl, _ := NewClient(hs.URL, "", false)
			cl.Retries = -1
			db := openDB(t)
			_, err := cl.Pull(ctx, db, "pulled-1")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if runs, _ := db.Runs(ctx, store.Filter{}); len(runs) != 0 {
				t.Errorf("a refused pull stored %d runs", len(runs))
			}
			if st, err := db.PushStatus(ctx, "pulled-1"); err == nil {
				t.Errorf("a refused pull left its session: %+v", st)
			}
		})
	}
}
