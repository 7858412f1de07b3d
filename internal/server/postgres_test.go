package server

import (
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the schemas
)

// When FLPERF_TEST_POSTGRES names a PostgreSQL server, TestMain runs the
// app's tests a second time with every test database (openDB) a fresh
// schema on it (FLPERF_SERVER_TEST_BACKEND=postgres): the app works the
// same on either store.
const serverBackendEnv = "FLPERF_SERVER_TEST_BACKEND"

// onPostgres is true in the PostgreSQL pass.
var onPostgres = os.Getenv(serverBackendEnv) == "postgres"

// postgresPass re-runs this test binary on PostgreSQL when a server is
// given (not for benchmarks or fuzzing); it returns the exit code.
func postgresPass() int {
	if onPostgres || os.Getenv("FLPERF_TEST_POSTGRES") == "" {
		return 0
	}
	for _, name := range []string{"test.bench", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return 0
		}
	}
	fmt.Println("== the app's tests again, on PostgreSQL")
	// On PostgreSQL the app keeps its suites in the user's data directory
	// (store.DB.DataDir): a temporary one, not the real one.
	data, err := os.MkdirTemp("", "flperf-server-pg-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "PostgreSQL pass:", err)
		return 1
	}
	defer os.RemoveAll(data)
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), serverBackendEnv+"=postgres", "XDG_DATA_HOME="+data)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return max(ee.ExitCode(), 1)
		}
		fmt.Fprintln(os.Stderr, "PostgreSQL pass:", err)
		return 1
	}
	return 0
}

var (
	pgSchemas atomic.Int64
	pgLocMu   sync.Mutex
	pgLocs    = map[string]string{} // database path → its schema's URL
)

// dbLocation is where a test database at path lives in this pass: path
// itself, or on PostgreSQL a fresh schema, dropped at cleanup, the same
// one each time the test names the same path.
func dbLocation(t testing.TB, path string) string {
	t.Helper()
	if !onPostgres {
		return path
	}
	pgLocMu.Lock()
	defer pgLocMu.Unlock()
	if u, ok := pgLocs[path]; ok {
		return u
	}
	base := os.Getenv("FLPERF_TEST_POSTGRES")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("srv%d_%d", os.Getpid(), pgSchemas.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + name + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	pgLocs[path] = u.String()
	return u.String()
}

// sqliteOnly skips a test of the SQLite file in the PostgreSQL pass.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if onPostgres {
		t.Skip("SQLite only: " + why)
	}
}

// privateDataDir gives test t a data directory of its own in the
// PostgreSQL pass, where the app keeps saved suites in the user's data
// directory (store.DB.DataDir), not next to a database file: tests that
// save suites then do not see each other's.
func privateDataDir(t *testing.T) {
	t.Helper()
	if onPostgres {
		t.Setenv("XDG_DATA_HOME", t.TempDir())
	}
}
