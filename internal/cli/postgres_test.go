package cli

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"flperf/internal/pgtest"
)

// postgresDB returns the URL of a fresh schema (dropped at cleanup) on the
// PostgreSQL server FLPERF_TEST_POSTGRES names (.ci/postgres.sh starts a
// throwaway one); it skips without one, and fails under
// FLPERF_REQUIRE_POSTGRES.
func postgresDB(t *testing.T) string {
	t.Helper()
	if os.Getenv(pgtest.URLEnv) == "" {
		if os.Getenv("FLPERF_REQUIRE_POSTGRES") != "" {
			t.Fatal("FLPERF_REQUIRE_POSTGRES is set but FLPERF_TEST_POSTGRES is not")
		}
		t.Skip("set FLPERF_TEST_POSTGRES to a PostgreSQL server URL (eval \"$(.ci/postgres.sh start DIR)\")")
	}
	return cliPG.SchemaURL(t)
}

// cliPG names the CLI tests' schemas; the CLI has no second pass of its
// own (its PostgreSQL tests say so in their names: -run Postgres).
var cliPG = &pgtest.Pass{SchemaPrefix: "cli"}

// TestPostgresEndToEnd: `flperf run --db postgres://…` saves the run in
// PostgreSQL; `flperf runs` and `flperf show` (with --db, and with
// FLPERF_DB) read it back with the same figures; the app served on the
// same database lists it.
func TestPostgresEndToEnd(t *testing.T) {
	db := postgresDB(t)
	// On PostgreSQL the app keeps its suites in the user's data directory.
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	s := startTestSim(t, fastProfile("tiny"))
	suitePath := writeFile(t, "one.json", oneSuite)
	o := run(t, "run", "--db", db, "--endpoint", s.base, "--model", "tiny", "--suite", suitePath,
		"--requests", "6", "--warmup", "0", "--format", "json")
	wantCode(t, o, ExitOK)
	doc := decodeJSON(t, o.stdout)
	id := str(t, doc, "id")
	if !strings.Contains(o.stderr, "run "+id+" saved in "+db) {
		t.Errorf("stderr does not say run %s was saved in %s:\n%s", id, db, o.stderr)
	}

	runs := storedRuns(t, db)
	if len(runs) != 1 || str(t, runs[0], "id") != id || str(t, runs[0], "status") != "completed" {
		t.Fatalf("flperf runs: %v", runs)
	}
	if n, ok := num(t, runs[0], "requests"), num(t, runs[0], "ok"); n != 6 || ok != 6 {
		t.Errorf("requests %v ok %v, want 6 and 6", n, ok)
	}
	if n := num(t, runs[0], "records"); n != 6 {
		t.Errorf("records %v, want 6", n)
	}
	if v := num(t, runs[0], "ttft_p50_ms"); !(v > 0) {
		t.Errorf("stored TTFT p50 %v, want a positive figure", v)
	}

	// FLPERF_DB names the same database.
	o = cli(t, context.Background(), map[string]string{"FLPERF_DB": db}, "runs", "--format", "json")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, id) {
		t.Errorf("FLPERF_DB=%s flperf runs: %s", db, o.stdout)
	}
	o = run(t, "show", "--db", db, id[:len(id)-2])
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.stdout, id) || !strings.Contains(o.stdout, "tiny") {
		t.Errorf("flperf show:\n%s", o.stdout)
	}

	// db path names the database without a password; db backup says to
	// use PostgreSQL's own tools.
	pu, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	pu.User = url.UserPassword(pu.User.Username(), "s3cret")
	withPW := pu.String()
	o = run(t, "db", "path", "--db", withPW)
	wantCode(t, o, ExitOK)
	if strings.Contains(o.stdout, "s3cret") || !strings.Contains(o.stdout, "xxxxx") {
		t.Errorf("flperf db path: %q", o.stdout)
	}
	o = run(t, "db", "backup", "--db", db, t.TempDir()+"/copy.db")
	if o.code == ExitOK || !strings.Contains(o.stderr, "pg_dump") {
		t.Errorf("flperf db backup: %d %s", o.code, o.stderr)
	}

	// The app on the same database lists the run.
	app, stop := serveApp(t, nil, "serve", "--listen", "127.0.0.1:0", "--db", db)
	res, err := http.Get(app + "api/v1/runs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"`+id+`"`) {
		t.Errorf("GET /api/v1/runs: %d %s", res.StatusCode, b)
	}
	if code, stderr := stop(); code != ExitOK {
		t.Errorf("flperf serve exited %d: %s", code, stderr)
	}
}
