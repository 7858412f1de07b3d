package server

import (
	"testing"

	"flperf/internal/pgtest"
)

// When FLPERF_TEST_POSTGRES names a PostgreSQL server, TestMain runs the
// app's tests a second time with every test database (openDB) a fresh
// schema on it (FLPERF_SERVER_TEST_BACKEND=postgres): the app works the
// same on either store. The scaffold is internal/pgtest's.
var pg = &pgtest.Pass{
	BackendEnv:   "FLPERF_SERVER_TEST_BACKEND",
	Banner:       "== the app's tests again, on PostgreSQL",
	SchemaPrefix: "srv",
	// On PostgreSQL the app keeps its suites in the user's data directory
	// (store.DB.DataDir): a temporary one, not the real one.
	TempDirEnv: "XDG_DATA_HOME",
}

// onPostgres is true in the PostgreSQL pass.
var onPostgres = pg.On()

// postgresPass re-runs this test binary on PostgreSQL when a server is
// given (not for benchmarks or fuzzing); it returns the exit code.
func postgresPass() int { return pg.Run() }

// dbLocation is where a test database at path lives in this pass: path
// itself, or on PostgreSQL a fresh schema, dropped at cleanup, the same
// one each time the test names the same path.
func dbLocation(t testing.TB, path string) string {
	t.Helper()
	return pg.Loc(t, path)
}

// sqliteOnly skips a test of the SQLite file in the PostgreSQL pass.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	pg.SQLiteOnly(t, why)
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
