package cli

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// appLine is the line `flperf serve` prints once it listens.
var appLine = regexp.MustCompile(`(?m)^flperf: app on (https?://127\.0\.0\.1:[0-9]+/(?:\?token=[0-9A-Za-z_.~-]+)?)$`)

// serveApp runs flperf with args (and the FLPERF_* variables in vars) in
// the background, waits for the app line and returns the app's URL, and a
// function that stops it and returns the exit code and stderr.
func serveApp(t *testing.T, vars map[string]string, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var errb syncBuffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errb, Getenv: func(k string) string { return vars[k] }}
	code := make(chan int, 1)
	go func() { code <- dispatch(ctx, env, args) }()
	stop := func() (int, string) {
		cancel()
		select {
		case c := <-code:
			return c, errb.String()
		case <-time.After(time.Minute):
			t.Fatal("flperf serve did not stop")
			return 0, ""
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := appLine.FindStringSubmatch(errb.String()); m != nil {
			return m[1], stop
		}
		select {
		case c := <-code:
			t.Fatalf("flperf %v exited %d: %s", args, c, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	t.Fatalf("no app line: %q", errb.String())
	return "", nil
}

// TestServe starts the app with `flperf serve`, checks that it answers and
// prints exactly one app line, then stops it with the context.
func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "app.db")
	url, stop := serveApp(t, nil, "serve", "--listen", "127.0.0.1:0", "--db", db)
	res, err := http.Get(url + "api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"ok":true`) {
		t.Fatalf("health: %d %s", res.StatusCode, b)
	}
	res, err = http.Get(url + "api/v1/system")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), filepath.Base(db)) {
		t.Fatalf("system does not name --db: %s", b)
	}
	code, stderr := stop()
	if code != ExitOK || len(appLine.FindAllString(stderr, -1)) != 1 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestNoArgumentsStartsTheApp checks that `flperf` alone starts the app,
// taking its address and database from FLPERF_LISTEN and FLPERF_DB.
func TestNoArgumentsStartsTheApp(t *testing.T) {
	db := filepath.Join(t.TempDir(), "noargs.db")
	url, stop := serveApp(t, map[string]string{"FLPERF_LISTEN": "127.0.0.1:0", "FLPERF_DB": db})
	res, err := http.Get(url + "api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if code, stderr := stop(); code != ExitOK || res.StatusCode != http.StatusOK {
		t.Fatalf("exit %d, health %d: %s", code, res.StatusCode, stderr)
	}
	// Flags alone are the app's flags: flperf --listen ADDR --db FILE.
	url, stop = serveApp(t, nil, "--listen", "127.0.0.1:0", "--db", db)
	if res, err := http.Get(url + "api/v1/health"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("flperf --listen: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if code, stderr := stop(); code != ExitOK {
		t.Fatalf("flperf --listen: exit %d: %s", code, stderr)
	}
	// `flperf help` still prints the usage, which names the app.
	o := run(t, "help")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "flperf serve") {
		t.Fatalf("usage: %s", o.stdout)
	}
}

// TestServeUsageErrors checks bad serve flags.
func TestServeUsageErrors(t *testing.T) {
	wantCode(t, run(t, "serve", "--listen", "nonsense"), ExitUsage)
	// A flag wrongly accepted would serve until the context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range [][]string{{"--listen", "127.0.0.1:99999"}, {"--listen", "127.0.0.1:-1"}, {"--listen", "127.0.0.1:http"},
		{"--token", "abc"}, {"--token", "0123456789abcde"}, {"--tls-cert", "cert.pem"}, {"--tls-key", "key.pem"},
		{"--rate-limit", "-1"}, {"--rate-burst", "0"}} {
		o := cli(t, ctx, nil, append([]string{"serve", "--db", newDB(t), "--listen", "127.0.0.1:0"}, c...)...)
		if o.code != ExitUsage || !strings.Contains(o.stderr, c[0]) {
			t.Errorf("serve %s %s: exit %d, stderr %q; want exit 2 naming %s", c[0], c[1], o.code, o.stderr, c[0])
		}
	}
	o := cli(t, ctx, map[string]string{"FLPERF_TOKEN": "x"}, "serve", "--db", newDB(t), "--listen", "127.0.0.1:0")
	if o.code != ExitUsage || !strings.Contains(o.stderr, "--token") {
		t.Errorf("FLPERF_TOKEN=x: exit %d, stderr %q; want exit 2 naming --token", o.code, o.stderr)
	}
	wantCode(t, run(t, "serve", "extra"), ExitUsage)
	wantCode(t, run(t, "serve", "--bogus"), ExitUsage)
	o = run(t, "serve", "-h")
	wantCode(t, o, ExitOK)
	for _, f := range []string{"--listen", "--db", "--token", "--open", "FLPERF_LISTEN", "FLPERF_TOKEN"} {
		if !strings.Contains(o.stdout, f) {
			t.Errorf("serve -h does not mention %s", f)
		}
	}
}

// TestAppURL checks the printed address: loopback as given, every
// interface shown as 127.0.0.1, the token appended beyond loopback.
func TestAppURL(t *testing.T) {
	for _, tc := range []struct {
		host, token string
		with, https bool
		want        string
	}{
		{"127.0.0.1", "", false, false, "http://127.0.0.1:8765/"},
		{"0.0.0.0", "abc", true, false, "http://127.0.0.1:8765/?token=abc"},
		{"::", "abc", true, false, "http://127.0.0.1:8765/?token=abc"},
		{"192.168.1.5", "a b", true, false, "http://192.168.1.5:8765/?token=a+b"},
		{"::1", "", false, false, "http://[::1]:8765/"},
		{"192.168.1.5", "abc", true, true, "https://192.168.1.5:8765/?token=abc"},
		{"0.0.0.0", "abc", false, true, "https://127.0.0.1:8765/"},
	} {
		if got := appURL(tc.host, "8765", tc.token, tc.with, tc.https); got != tc.want {
			t.Errorf("appURL(%q): %s, want %s", tc.host, got, tc.want)
		}
	}
}

// TestServeToken checks the access token as `flperf serve` sets it up: on
// every interface (--listen :PORT) one is generated; a token given is
// required even on loopback; either way the printed URL carries it, and
// opening that URL's API works while a call without the token gets 401.
func TestServeToken(t *testing.T) {
	given := "given-token-0123456789"
	for _, c := range []struct {
		name  string
		args  []string
		token string // "" : generated
	}{
		{"every interface, generated", []string{"--listen", ":0"}, ""},
		{"every interface, given", []string{"--listen", ":0", "--token", given}, given},
		{"loopback, given", []string{"--listen", "127.0.0.1:0", "--token", given}, given},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, stop := serveApp(t, nil, append([]string{"serve", "--db", newDB(t)}, c.args...)...)
			defer stop()
			base, query, ok := strings.Cut(u, "?")
			tok := strings.TrimPrefix(query, "token=")
			switch {
			case !ok:
				t.Fatalf("the printed URL %s carries no token", u)
			case c.token != "" && tok != c.token:
				t.Fatalf("the printed URL %s carries %q, want the given token", u, tok)
			case len(tok) < 16:
				t.Fatalf("the generated token %q is short", tok)
			}
			if code, _ := appDo(t, http.MethodGet, base+"api/v1/health"); code != http.StatusUnauthorized {
				t.Errorf("without the token: %d, want 401", code)
			}
			if code, body := appDo(t, http.MethodGet, base+"api/v1/health?"+query); code != http.StatusOK {
				t.Errorf("with the printed URL's token: %d %s", code, body)
			}
		})
	}
}
