// Package pgtest is the PostgreSQL scaffold of flperf's tests, and only of
// its tests: product code must not import it (TestOnlyTestsImport checks).
//
// A package whose tests run on SQLite runs them a second time on
// PostgreSQL when FLPERF_TEST_POSTGRES names a server (.ci/postgres.sh
// starts a throwaway one): its TestMain calls Pass.Run after m.Run, which
// re-runs the test binary with the pass's backend variable set to
// "postgres", and in that second pass its tests put each database in a
// fresh schema of its own (search_path in the URL), dropped at cleanup.
// FLPERF_REQUIRE_POSTGRES=1 (CI) makes a missing server a failure instead
// of a skip (Available).
package pgtest

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

const (
	// URLEnv names the PostgreSQL server the second pass runs on.
	URLEnv = "FLPERF_TEST_POSTGRES"
	// RequireEnv, when set, makes a missing URLEnv a test failure.
	RequireEnv = "FLPERF_REQUIRE_POSTGRES"
)

// Pass is one package's PostgreSQL pass. Declare it once per test package
// as a package variable (it holds the package's schemas) and use it by
// pointer.
type Pass struct {
	// BackendEnv is the variable set to "postgres" in the second pass,
	// e.g. FLPERF_STORE_TEST_BACKEND.
	BackendEnv string
	// Banner is the line printed before the second pass.
	Banner string
	// SchemaPrefix starts the names of the pass's schemas (then the
	// process id and a counter), so that a leftover schema says whose it is.
	SchemaPrefix string
	// NotInChildOf lists variables that mark a child process of a test:
	// when one is set, Run runs no second pass.
	NotInChildOf []string
	// TempDirEnv, when not empty, is a variable the second pass gets
	// pointed at a fresh temporary directory, removed after it (a data
	// directory that must not be the user's own).
	TempDirEnv string

	locMu sync.Mutex
	locs  map[string]string // database path → its schema's URL
}

// On says whether this process is the PostgreSQL pass.
func (p *Pass) On() bool { return os.Getenv(p.BackendEnv) == "postgres" }

// Run re-runs this test binary, with its arguments, on PostgreSQL when
// URLEnv names a server, unless this is already the second pass, a child
// process (NotInChildOf), a benchmark run (benchmarks name their database
// kinds themselves) or fuzzing (which is of code); it returns the exit
// code, 0 when it ran nothing.
func (p *Pass) Run() int {
	if p.On() || os.Getenv(URLEnv) == "" {
		return 0
	}
	for _, name := range p.NotInChildOf {
		if os.Getenv(name) != "" {
			return 0
		}
	}
	for _, name := range []string{"test.bench", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return 0
		}
	}
	fmt.Println(p.Banner)
	env := append(os.Environ(), p.BackendEnv+"=postgres")
	if p.TempDirEnv != "" {
		dir, err := os.MkdirTemp("", "flperf-pgtest-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "PostgreSQL pass:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		env = append(env, p.TempDirEnv+"="+dir)
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = env
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

// SchemaURL creates a fresh schema, dropped at t's cleanup, and returns
// the server's URL (URLEnv) with search_path set to it. It works in
// either pass (benchmarks use it to name a PostgreSQL database).
func (p *Pass) SchemaURL(t testing.TB) string {
	t.Helper()
	admin := Admin(t)
	name := fmt.Sprintf("%s%d_%d", p.SchemaPrefix, os.Getpid(), schemas.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(os.Getenv(URLEnv))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Loc is where a test's database at path lives in this pass: path itself
// on SQLite; in the PostgreSQL pass a schema of its own (SchemaURL), the
// same one each time the test names the same path.
func (p *Pass) Loc(t testing.TB, path string) string {
	t.Helper()
	if !p.On() {
		return path
	}
	p.locMu.Lock()
	defer p.locMu.Unlock()
	if u, ok := p.locs[path]; ok {
		return u
	}
	u := p.SchemaURL(t)
	if p.locs == nil {
		p.locs = map[string]string{}
	}
	p.locs[path] = u
	return u
}

// SQLiteOnly skips a test of SQLite's files in the PostgreSQL pass, saying
// why.
func (p *Pass) SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if p.On() {
		t.Skip("SQLite only: " + why)
	}
}

// Available is the body of a package's TestPostgresAvailable: it skips,
// its message starting with skipped and saying how to enable the pass,
// when URLEnv is unset; fails then when RequireEnv is set; and otherwise
// fails unless the server answers.
func Available(t testing.TB, skipped string) {
	t.Helper()
	if os.Getenv(URLEnv) == "" {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s is set but %s is not: start a server (eval \"$(.ci/postgres.sh start DIR)\")", RequireEnv, URLEnv)
		}
		t.Skipf("%s: set %s to a server URL (eval \"$(.ci/postgres.sh start DIR)\" starts a throwaway one)", skipped, URLEnv)
	}
	_ = Admin(t)
}

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
	schemas   atomic.Int64
)

// Admin is a pool on the test server's own schema (URLEnv), for creating
// and dropping the tests' schemas and looking into them; it stays open for
// the life of the process.
func Admin(t testing.TB) *sql.DB {
	t.Helper()
	adminOnce.Do(func() {
		cfg, err := pgx.ParseConfig(os.Getenv(URLEnv))
		if err != nil {
			adminErr = err
			return
		}
		adminDB = stdlib.OpenDB(*cfg)
		adminErr = adminDB.PingContext(context.Background())
	})
	if adminErr != nil {
		t.Fatalf("%s: %v", URLEnv, adminErr)
	}
	return adminDB
}
