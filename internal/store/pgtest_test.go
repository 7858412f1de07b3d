package store

import (
	"database/sql"
	"os"
	"testing"

	"flperf/internal/pgtest"
)

// The store's tests run against SQLite and, when FLPERF_TEST_POSTGRES
// names a PostgreSQL server (.ci/postgres.sh starts a throwaway one), again
// against PostgreSQL: TestMain runs the test binary a second time with
// FLPERF_STORE_TEST_BACKEND=postgres, in which openAt, openTest and loc
// give each database path of a test a fresh schema of its own (search_path
// in the URL), dropped at cleanup. FLPERF_REQUIRE_POSTGRES=1 (CI) makes a
// missing server a failure instead of a skip. The scaffold is
// internal/pgtest's.
const pgTestEnv = pgtest.URLEnv

// pg is the store's PostgreSQL pass; not in kill tests' child processes.
var pg = &pgtest.Pass{
	BackendEnv:   "FLPERF_STORE_TEST_BACKEND",
	Banner:       "== the store's tests again, on PostgreSQL (" + RedactURL(os.Getenv(pgtest.URLEnv)) + ")",
	SchemaPrefix: "t",
	NotInChildOf: []string{childEnv},
}

// onPostgres is true in the PostgreSQL pass.
var onPostgres = pg.On()

// runPostgresPass re-runs this test binary, with its arguments, against
// PostgreSQL when a server is given; it returns the exit code.
func runPostgresPass() int { return pg.Run() }

// TestPostgresAvailable says whether the PostgreSQL pass runs: it skips,
// saying how to enable it, when FLPERF_TEST_POSTGRES is unset, and fails
// then when FLPERF_REQUIRE_POSTGRES is set.
func TestPostgresAvailable(t *testing.T) { pgtest.Available(t, "PostgreSQL tests skipped") }

// pgAdmin is a pool on the test server's own schema, for creating,
// dropping and looking into the tests' schemas.
func pgAdmin(t testing.TB) *sql.DB { return pgtest.Admin(t) }

// pgSchemaURL creates a fresh schema, dropped at t's cleanup, and returns
// the server's URL with search_path set to it.
func pgSchemaURL(t testing.TB) string { return pg.SchemaURL(t) }

// loc is where a test's database at path lives in this pass: path itself
// on SQLite (or when it is a PostgreSQL URL already); on PostgreSQL, a
// schema of its own, the same one each time the test names the same path.
func loc(t testing.TB, path string) string {
	t.Helper()
	if IsPostgres(path) {
		return path
	}
	return pg.Loc(t, path)
}

// sqliteOnly skips a test of SQLite's files in the PostgreSQL pass.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	pg.SQLiteOnly(t, why)
}
