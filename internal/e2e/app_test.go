package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/cli"
	"flperf/internal/report"
)

// appLineRE is the line `flperf serve` prints once it listens (api.md).
var appLineRE = regexp.MustCompile(`^flperf: app on (http://127\.0\.0\.1:[0-9]+/)$`)

// app is a running `flperf serve`.
type app struct {
	url     string // base URL, ending in /
	db      string
	started time.Duration // from the call of cli.Main to the URL line
	mu      sync.Mutex
	stderr  strings.Builder
}

// startApp starts the app as api.md's "Starting the app" says, on a free
// port with its database at dbPath; the test's cleanup stops it and waits.
func startApp(t *testing.T, dbPath string) *app {
	t.Helper()
	a := &app{db: dbPath}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	begin := time.Now()
	go func() {
		code := cli.Main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--db", dbPath}, nil, io.Discard, pw)
		pw.Close()
		done <- code
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			a.mu.Lock()
			a.stderr.WriteString(line + "\n")
			a.mu.Unlock()
			if m := appLineRE.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	stopped := false
	t.Cleanup(func() {
		cancel()
		if stopped {
			return
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Errorf("flperf serve did not stop within 60 s of its context ending; stderr:\n%s", a.log())
		}
	})
	select {
	case u := <-urls:
		a.url, a.started = u, time.Since(begin)
	case code := <-done:
		stopped = true
		t.Fatalf("flperf serve exited with %d before printing its URL; stderr:\n%s", code, a.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("flperf serve printed no URL line in 60 s; stderr:\n%s", a.log())
	}
	return a
}

func (a *app) log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

// get fetches an API path (under /api/v1) and decodes the envelope's data.
func (a *app) get(t *testing.T, path string, out any) {
	t.Helper()
	res, err := http.Get(a.url + "api/v1" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", path, res.Status, body)
	}
	env := struct {
		Data json.RawMessage `json:"data"`
	}{}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("GET %s: data: %v in %s", path, err, env.Data)
	}
}

// runDoc is the part of GET /runs/{id} the tests read.
type runDoc struct {
	Run struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Config struct {
			Models    []string `json:"models"`
			Scenarios []string `json:"scenarios"`
		} `json:"config"`
		Groups []map[string]any `json:"groups"`
		Models []map[string]any `json:"models"`
	} `json:"run"`
	Best []report.BestClaim `json:"best"`
}

func (a *app) run(t *testing.T, id string) runDoc {
	t.Helper()
	var d runDoc
	a.get(t, "/runs/"+id, &d)
	return d
}

// waitStatus polls GET /runs/{id} until its status is one of want.
func (a *app) waitStatus(t *testing.T, id string, timeout time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := a.run(t, id).Run.Status
		for _, w := range want {
			if st == w {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: status %q after %v, want one of %v", id, st, timeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// sprintf is fmt.Sprintf, for building JavaScript.
var sprintf = fmt.Sprintf
