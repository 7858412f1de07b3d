package transfer

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"flperf/internal/store"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the schemas
)

// When FLPERF_TEST_POSTGRES names a PostgreSQL server, TestMain runs the
// transfer tests a second time with every team server's database
// (serverDB) a fresh schema on it (FLPERF_TRANSFER_TEST_BACKEND=postgres):
// pushing machines keep their own SQLite files, as they do in use, and
// push to a server on PostgreSQL. FLPERF_REQUIRE_POSTGRES=1 (CI) makes a
// missing server a failure instead of a skip.
const transferBackendEnv = "FLPERF_TRANSFER_TEST_BACKEND"

// onPostgres is true in the PostgreSQL pass.
var onPostgres = os.Getenv(transferBackendEnv) == "postgres"

// postgresPass re-runs this test binary on PostgreSQL when a server is
// given (not for benchmarks, fuzzing or a child process); it returns the
// exit code.
func postgresPass() int {
	if onPostgres || os.Getenv("FLPERF_TEST_POSTGRES") == "" {
		return 0
	}
	for _, name := range []string{"test.bench", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return 0
		}
	}
	fmt.Println("== the transfer tests again, with the team server on PostgreSQL")
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), transferBackendEnv+"=postgres")
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
	if os.Getenv("FLPERF_TEST_POSTGRES") == "" {
		if os.Getenv("FLPERF_REQUIRE_POSTGRES") != "" {
			t.Fatal("FLPERF_REQUIRE_POSTGRES is set but FLPERF_TEST_POSTGRES is not: start a server (eval \"$(.ci/postgres.sh start DIR)\")")
		}
		t.Skip("PostgreSQL pass skipped: set FLPERF_TEST_POSTGRES to a server URL (eval \"$(.ci/postgres.sh start DIR)\" starts a throwaway one)")
	}
}

var pgSchemas atomic.Int64

// serverDBLocation is where a team server's database lives in this pass:
// a fresh SQLite file, or on PostgreSQL a fresh schema, dropped at cleanup.
func serverDBLocation(t testing.TB) string {
	t.Helper()
	if !onPostgres {
		return filepath.Join(t.TempDir(), "team.db")
	}
	base := os.Getenv("FLPERF_TEST_POSTGRES")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("xfer%d_%d", os.Getpid(), pgSchemas.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// serverDB opens a team server's fresh database (serverDBLocation),
// closed at cleanup.
func serverDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), serverDBLocation(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
