package cli

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/load"
	"flperf/internal/server"
	"flperf/internal/store"
)

// teamToken is the team server's access token in these tests.
const teamToken = "fedcba9876543210fedcba9876543210"

// startTeamServer serves a team server on 127.0.0.1 over a fresh database
// at the returned path.
func startTeamServer(t *testing.T) (url, dbPath string) {
	t.Helper()
	dbPath = filepath.Join(t.TempDir(), "team.db")
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	s, err := server.New(server.Options{DB: db, Listen: ts.Listener.Addr().String(), Token: teamToken})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	ts.Start()
	t.Cleanup(func() { ts.Close(); s.Close(); db.Close() })
	return ts.URL, dbPath
}

// TestPushPullCommands: flperf run --push sends the run when it ends,
// keeping the local copy; flperf push again sends nothing; flperf pull
// brings it into another database byte for byte, once; the token comes
// from --token or FLPERF_TOKEN.
func TestPushPullCommands(t *testing.T) {
	ctx := context.Background()
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	url, teamDB := startTeamServer(t)
	dbA, dbB := newDB(t), newDB(t)
	vars := map[string]string{"FLPERF_TOKEN": teamToken}

	o := cli(t, ctx, vars, "run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--requests", "3",
		"--warmup", "0", "--db", dbA, "--format", "json", "--push", url)
	wantCode(t, o, ExitOK)
	id := str(t, decodeJSON(t, o.stdout), "id") // the report alone on stdout
	if !strings.Contains(o.stderr, "pushed run "+id+" to "+url+": 6 records") {
		t.Fatalf("run --push: stderr %q", o.stderr)
	}
	if got := storedRuns(t, dbA); len(got) != 1 {
		t.Fatalf("the local copy: %v", got)
	}
	if got := storedRuns(t, teamDB); len(got) != 1 || str(t, got[0], "id") != id {
		t.Fatalf("the team server holds %v", got)
	}

	o = run(t, "push", id[:12], "--to", url, "--db", dbA, "--token", teamToken)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "run "+id+" is already on "+url+" (6 records)") {
		t.Errorf("second push: %q", o.stdout)
	}

	o = cli(t, ctx, vars, "pull", url, id, "--db", dbB)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "pulled run "+id+" from "+url+": 6 records") {
		t.Errorf("pull: %q", o.stdout)
	}
	a := run(t, "export", id, "--format", "json", "--db", dbA)
	b := run(t, "export", id, "--format", "json", "--db", dbB)
	if a.stdout == "" || a.stdout != b.stdout {
		t.Errorf("the pulled run differs from the pushed one:\n%.1500s\n---\n%.1500s", a.stdout, b.stdout)
	}
	o = cli(t, ctx, vars, "pull", url, id, "--db", dbB)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "is already in") {
		t.Errorf("second pull: %q", o.stdout)
	}
}

// TestPushRefusalsAndFailures: a token is never sent over plain http
// beyond loopback without --insecure; a refused push exits 1, leaves the
// local run as it was and says how to retry, also after flperf run.
func TestPushRefusalsAndFailures(t *testing.T) {
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "tiny.json", tinySuite)
	url, _ := startTeamServer(t)
	db := newDB(t)

	o := run(t, "push", "x", "--to", "http://192.0.2.7:8765", "--token", teamToken, "--db", db)
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, "refusing to send the access token over plain http to 192.0.2.7:8765") || !strings.Contains(o.stderr, "--insecure") {
		t.Errorf("plain http: %q", o.stderr)
	}
	o = run(t, "push", "x", "--db", db)
	wantCode(t, o, ExitUsage)
	if !strings.Contains(o.stderr, "--to URL is required") {
		t.Errorf("no --to: %q", o.stderr)
	}
	o = run(t, "run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--requests", "1", "--no-save", "--push", url)
	wantCode(t, o, ExitUsage)

	// A server that refuses every push (wrong token).
	o = run(t, "run", "--endpoint", s.base, "--model", "tiny", "--suite", suitePath, "--requests", "2",
		"--warmup", "0", "--db", db, "--push", url, "--push-token", "wrong-token-wrong-token")
	wantCode(t, o, ExitFailure)
	runs := storedRuns(t, db)
	if len(runs) != 1 || str(t, runs[0], "status") != "completed" {
		t.Fatalf("the local run after a failed push: %v", runs)
	}
	id := str(t, runs[0], "id")
	if !strings.Contains(o.stderr, "answered 401") || !strings.Contains(o.stderr, "Push it again with: flperf push "+id+" --to "+url) {
		t.Errorf("failed push: stderr %q", o.stderr)
	}
	// Retried as told, with the right token: the run arrives.
	o = run(t, "push", id, "--to", url, "--db", db, "--token", teamToken)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, "pushed run "+id) {
		t.Errorf("retry: %q", o.stdout)
	}
	o = run(t, "pull", url, "nosuchrun", "--db", db, "--token", teamToken)
	wantCode(t, o, ExitFailure)
	if !strings.Contains(o.stderr, "404") {
		t.Errorf("pull of an unknown run: %q", o.stderr)
	}
}

// TestRunPushInterrupted: an interrupted run is pushed too, as it was
// saved (status interrupted, every record), and the exit code still says
// it was interrupted.
func TestRunPushInterrupted(t *testing.T) {
	s := startTestSim(t, slowProfile())
	url, teamDB := startTeamServer(t)
	db := newDB(t)
	ctx, stop := load.WithStop(context.Background())
	defer stop()
	suitePath := writeFile(t, "one.json", oneSuite)
	done := make(chan outcome, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		done <- cli(t, ctx, map[string]string{"FLPERF_TOKEN": teamToken}, "run", "--endpoint", s.base, "--model", "slow", "--suite", suitePath,
			"--requests", "1000", "--concurrency", "4", "--warmup", "0", "--format", "json", "--db", db, "--push", url)
	}()
	t.Cleanup(func() { stop(); <-ended })
	waitFor(t, 30*time.Second, "8 requests to reach the engine", func() bool { return s.Stats().Requests >= 8 })
	stop()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the run did not end after scheduling was stopped")
	}
	wantCode(t, o, ExitInterrupted)
	id := str(t, decodeJSON(t, o.stdout), "id")
	if !strings.Contains(o.stderr, "pushed run "+id) {
		t.Fatalf("stderr %q", o.stderr)
	}
	local, remote := storedRuns(t, db), storedRuns(t, teamDB)
	if len(remote) != 1 || str(t, remote[0], "status") != "interrupted" || num(t, remote[0], "records") != num(t, local[0], "records") {
		t.Fatalf("the team server holds %v, the local database %v", remote, local)
	}
	a := run(t, "export", id, "--format", "json", "--db", db)
	b := run(t, "export", id, "--format", "json", "--db", teamDB)
	if a.stdout != b.stdout {
		t.Error("the pushed interrupted run differs from the local one")
	}
}

// TestInsecureSaysSo: --insecure lets the token go over plain http beyond
// loopback, and says so on standard error.
func TestInsecureSaysSo(t *testing.T) {
	var errb syncBuffer
	env := &Env{Stdout: &syncBuffer{}, Stderr: &errb, Getenv: func(string) string { return "" }}
	if _, err := teamClient(env, "http://192.0.2.7:8765", teamToken, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "--insecure: the access token goes to http://192.0.2.7:8765 over plain http") {
		t.Errorf("stderr %q", errb.String())
	}
	errb = syncBuffer{}
	if _, err := teamClient(env, "https://192.0.2.7:8765", teamToken, true); err != nil || errb.String() != "" {
		t.Errorf("https with --insecure: %v, stderr %q", err, errb.String())
	}
}
