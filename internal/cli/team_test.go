package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runProcess runs the test binary as flperf (see TestMain) in a process
// of its own, as another machine would, and returns its exit code,
// stdout and stderr.
func runProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(cleanEnv(), "FLPERF_TEST_MAIN=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("flperf %v: %v", args, err)
	return 0, "", ""
}

// getJSON GETs url with a bearer token and decodes the answer's data.
func getJSON(t *testing.T, url, token string, into any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == http.StatusOK {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &env); err != nil || env.Data == nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
		if err := json.Unmarshal(env.Data, into); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return res.StatusCode
}

// TestTeamServerOnPostgres is the team set-up across processes: `flperf
// serve --db postgres://…` with named users, in a process of its own; a
// run made by another process, on the simulated engine, in its own SQLite
// file, pushed with a runner's token; the run then listed by the server's
// API with its origin (the pushing machine's host and the runner's name),
// and by `flperf runs` and `flperf show` on the server's database; a
// viewer's token refused the push (403) and the local copy kept.
func TestTeamServerOnPostgres(t *testing.T) {
	teamDB := postgresDB(t)
	o := run(t, "users", "add", "lab-runner", "--role", "runner", "--db", teamDB)
	wantCode(t, o, ExitOK)
	runnerTok := strings.TrimSpace(o.stdout)
	o = run(t, "users", "add", "guest", "--role", "viewer", "--db", teamDB)
	wantCode(t, o, ExitOK)
	viewerTok := strings.TrimSpace(o.stdout)

	srv := startPipedChild(t, "serve", "--listen", "127.0.0.1:0", "--db", teamDB)
	var url string
	for deadline := time.Now().Add(time.Minute); url == ""; {
		if m := appLine.FindStringSubmatch(srv.stderr.String()); m != nil {
			url = strings.TrimSuffix(m[1], "/")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flperf serve: no app line: %s", srv.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	local := newDB(t)
	code, stdout, stderr := runProcess(t, "run", "--engine", "sim", "--model", "sim-fast", "--suite", writeFile(t, "tiny.json", tinySuite),
		"--requests", "4", "--warmup", "0", "--seed", "5", "--db", local, "--no-progress", "--format", "json", "--push", url, "--push-token", runnerTok)
	if code != ExitOK {
		t.Fatalf("flperf run --push exited %d: %s", code, stderr)
	}
	id := str(t, decodeJSON(t, stdout), "id")
	if !strings.Contains(stderr, "pushed run "+id+" to "+url) {
		t.Fatalf("flperf run --push: stderr %q", stderr)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	var doc struct {
		Run struct {
			ID string `json:"id"`
		} `json:"run"`
		Origin *struct {
			Via, Host, User, Remote string
		} `json:"origin"`
	}
	if st := getJSON(t, url+"/api/v1/runs/"+id, viewerTok, &doc); st != http.StatusOK {
		t.Fatalf("GET /api/v1/runs/%s as a viewer: %d", id, st)
	}
	if doc.Run.ID != id || doc.Origin == nil || doc.Origin.Via != "push" || doc.Origin.Host != host || doc.Origin.User != "lab-runner" || doc.Origin.Remote != "127.0.0.1" {
		t.Fatalf("the pushed run on the server: %+v origin %+v", doc.Run, doc.Origin)
	}
	var list []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if st := getJSON(t, url+"/api/v1/runs", viewerTok, &list); st != http.StatusOK || len(list) != 1 || list[0].ID != id || list[0].Status != "completed" {
		t.Fatalf("GET /api/v1/runs: %d %+v", st, list)
	}
	if st := getJSON(t, url+"/api/v1/runs", "", &list); st != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/runs without a token: %d, want 401", st)
	}

	want := "pushed from " + host + " by lab-runner"
	o = run(t, "runs", "--db", teamDB)
	wantCode(t, o, ExitOK)
	if lines := strings.Split(strings.TrimSpace(o.stdout), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], "ORIGIN") ||
		!strings.HasPrefix(lines[1], id) || !strings.HasSuffix(lines[1], want) {
		t.Errorf("flperf runs on the team database:\n%s", o.stdout)
	}
	o = run(t, "show", id, "--db", teamDB)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "\nOrigin   "+want+"\n") {
		t.Errorf("flperf show on the team database has no origin line:\n%.600s", o.stdout)
	}
	o = run(t, "runs", "--db", local) // the pushing machine's own copy: made there
	wantCode(t, o, ExitOK)
	if strings.Contains(o.stdout, "ORIGIN") || !strings.Contains(o.stdout, id) {
		t.Errorf("flperf runs on the local database:\n%s", o.stdout)
	}

	// A viewer may read, not push: 403, and the local run stays.
	viewerLocal := newDB(t)
	code, _, stderr = runProcess(t, "run", "--engine", "sim", "--model", "sim-fast", "--suite", writeFile(t, "tiny2.json", tinySuite),
		"--requests", "2", "--warmup", "0", "--db", viewerLocal, "--no-progress", "--format", "json", "--push", url, "--push-token", viewerTok)
	if code != ExitFailure || !strings.Contains(stderr, "403") || !strings.Contains(stderr, "runner") {
		t.Errorf("a viewer's push: exit %d, stderr %q", code, stderr)
	}
	if runs := storedRuns(t, viewerLocal); len(runs) != 1 {
		t.Errorf("the refused run's local copy: %v", runs)
	}
	if st := getJSON(t, url+"/api/v1/runs", viewerTok, &list); st != http.StatusOK || len(list) != 1 {
		t.Errorf("after the refused push the server holds %d runs (status %d), want 1", len(list), st)
	}
}
