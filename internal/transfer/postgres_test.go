package transfer

import (
	"context"
	"path/filepath"
	"testing"

	"flperf/internal/pgtest"
	"flperf/internal/store"
)

// When FLPERF_TEST_POSTGRES names a PostgreSQL server, TestMain runs the
// transfer tests a second time with every team server's database
// (serverDB) a fresh schema on it (FLPERF_TRANSFER_TEST_BACKEND=postgres):
// pushing machines keep their own SQLite files, as they do in use, and
// push to a server on PostgreSQL. FLPERF_REQUIRE_POSTGRES=1 (CI) makes a
// missing server a failure instead of a skip. The scaffold is
// internal/pgtest's.
var pg = &pgtest.Pass{
	BackendEnv:   "FLPERF_TRANSFER_TEST_BACKEND",
	Banner:       "== the transfer tests again, with the team server on PostgreSQL",
	SchemaPrefix: "xfer",
}

// onPostgres is true in the PostgreSQL pass.
var onPostgres = pg.On()

// postgresPass re-runs this test binary on PostgreSQL when a server is
// given (not for benchmarks, fuzzing or a child process); it returns the
// exit code.
func postgresPass() int { return pg.Run() }

// TestPostgresAvailable says whether the PostgreSQL pass runs: it skips,
// saying how to enable it, when FLPERF_TEST_POSTGRES is unset, and fails
// then when FLPERF_REQUIRE_POSTGRES is set.
func TestPostgresAvailable(t *testing.T) { pgtest.Available(t, "PostgreSQL pass skipped") }

// serverDBLocation is where a team server's database lives in this pass:
// a fresh SQLite file, or on PostgreSQL a fresh schema, dropped at cleanup.
func serverDBLocation(t testing.TB) string {
	t.Helper()
	if !onPostgres {
		return filepath.Join(t.TempDir(), "team.db")
	}
	return pg.SchemaURL(t)
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
