package store

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The store's tests run against SQLite and, when FLPERF_TEST_POSTGRES
// names a PostgreSQL server (.ci/postgres.sh starts a throwaway one), again
// against PostgreSQL: TestMain runs the test binary a second time with
// storeBackendEnv=postgres, in which openAt, openTest and loc give each
// database path of a test a fresh schema of its own (search_path in the
// URL), dropped at cleanup. FLPERF_REQUIRE_POSTGRES=1 (CI) makes a missing
// server a failure instead of a skip.
const (
	pgTestEnv       = "FLPERF_TEST_POSTGRES"
	pgRequireEnv    = "FLPERF_REQUIRE_POSTGRES"
	storeBackendEnv = "FLPERF_STORE_TEST_BACKEND" // "postgres" in the second pass
)

// onPostgres is true in the PostgreSQL pass.
var onPostgres = os.Getenv(storeBackendEnv) == "postgres"

// runPostgresPass re-runs this test binary, with its arguments, against
// PostgreSQL when a server is given; it returns the exit code.
func runPostgresPass() int {
	if onPostgres || os.Getenv(pgTestEnv) == "" || os.Getenv(childEnv) != "" {
		return 0
	}
	for _, name := range []string{"test.bench", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return 0 // benchmarks name their database kinds themselves; fuzzing is of code
		}
	}
	fmt.Println("== the store's tests again, on PostgreSQL (" + RedactURL(os.Getenv(pgTestEnv)) + ")")
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), storeBackendEnv+"=postgres")
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

// TestPostgresAvailable says whether the PostgreSQL pass runs: it skips,
// saying how to enable it, when FLPERF_TEST_POSTGRES is unset, and fails
// then when FLPERF_REQUIRE_POSTGRES is set.
func TestPostgresAvailable(t *testing.T) {
	if os.Getenv(pgTestEnv) == "" {
		if os.Getenv(pgRequireEnv) != "" {
			t.Fatalf("%s is set but %s is not: start a server (eval \"$(.ci/postgres.sh start DIR)\")", pgRequireEnv, pgTestEnv)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to a server URL (eval \"$(.ci/postgres.sh start DIR)\" starts a throwaway one)", pgTestEnv)
	}
	_ = pgAdmin(t)
}

var (
	pgAdminOnce sync.Once
	pgAdminDB   *sql.DB
	pgAdminErr  error
	pgSchemas   atomic.Int64
	pgLocMu     sync.Mutex
	pgLocs      = map[string]string{} // database path → its schema's URL
)

// pgAdmin is a pool on the test server's own schema, for creating and
// dropping the tests' schemas.
func pgAdmin(t testing.TB) *sql.DB {
	t.Helper()
	pgAdminOnce.Do(func() {
		cfg, err := pgx.ParseConfig(os.Getenv(pgTestEnv))
		if err != nil {
			pgAdminErr = err
			return
		}
		pgAdminDB = stdlib.OpenDB(*cfg)
		pgAdminErr = pgAdminDB.PingContext(context.Background())
	})
	if pgAdminErr != nil {
		t.Fatalf("%s: %v", pgTestEnv, pgAdminErr)
	}
	return pgAdminDB
}

// pgSchemaURL creates a fresh schema, dropped at t's cleanup, and returns
// the server's URL with search_path set to it.
func pgSchemaURL(t testing.TB) string {
	t.Helper()
	admin := pgAdmin(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pgSchemas.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(os.Getenv(pgTestEnv))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// loc is where a test's database at path lives in this pass: path itself
// on SQLite; on PostgreSQL, a schema of its own, the same one each time
// the test names the same path.
func loc(t testing.TB, path string) string {
	t.Helper()
	if !onPostgres || IsPostgres(path) {
		return path
	}
	pgLocMu.Lock()
	u, ok := pgLocs[path]
	pgLocMu.Unlock()
	if ok {
		return u
	}
	u = pgSchemaURL(t)
	pgLocMu.Lock()
	pgLocs[path] = u
	pgLocMu.Unlock()
	return u
}

// sqliteOnly skips a test of SQLite's files in the PostgreSQL pass.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if onPostgres {
		t.Skip("SQLite only: " + why)
	}
}
