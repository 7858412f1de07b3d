package pgtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyTestsImport checks that no product code imports this package:
// only _test.go files may.
func TestOnlyTestsImport(t *testing.T) {
	root := filepath.Join("..", "..")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		n++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "flperf/internal/pgtest" {
				t.Errorf("%s imports flperf/internal/pgtest, which is for tests only", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("read %d non-test Go files: the walk did not reach the module", n)
	}
}

// TestLocOnSQLite: outside the PostgreSQL pass a database stays where the
// test put it, and SQLiteOnly skips nothing.
func TestLocOnSQLite(t *testing.T) {
	p := &Pass{BackendEnv: "FLPERF_PGTEST_TEST_BACKEND", SchemaPrefix: "pgt"}
	t.Setenv(p.BackendEnv, "")
	if p.On() {
		t.Fatal("On with the backend variable empty")
	}
	if got := p.Loc(t, "/tmp/x/flperf.db"); got != "/tmp/x/flperf.db" {
		t.Fatalf("Loc = %q, want the path itself", got)
	}
	p.SQLiteOnly(t, "not skipped")
}

// TestLocOnPostgres: in the PostgreSQL pass each path gets a schema of its
// own, the same one each time, which exists until cleanup and is dropped
// then.
func TestLocOnPostgres(t *testing.T) {
	if os.Getenv(URLEnv) == "" {
		t.Skipf("set %s to a PostgreSQL server URL", URLEnv)
	}
	p := &Pass{BackendEnv: "FLPERF_PGTEST_TEST_BACKEND", SchemaPrefix: "pgt"}
	t.Setenv(p.BackendEnv, "postgres")
	var a, b string
	t.Run("schemas", func(t *testing.T) {
		a = p.Loc(t, "a.db")
		b = p.Loc(t, "b.db")
		if again := p.Loc(t, "a.db"); again != a {
			t.Fatalf("Loc(a.db) = %q then %q", a, again)
		}
		if a == b {
			t.Fatalf("two paths share schema URL %q", a)
		}
		for _, u := range []string{a, b} {
			if n := schemaCount(t, u); n != 1 {
				t.Fatalf("schema of %s: %d found, want 1", u, n)
			}
		}
	})
	for _, u := range []string{a, b} {
		if n := schemaCount(t, u); n != 0 {
			t.Fatalf("schema of %s: %d left after cleanup, want 0", u, n)
		}
	}
}

// schemaCount counts the schemas named by u's search_path.
func schemaCount(t *testing.T, u string) int {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	name := pu.Query().Get("search_path")
	if !strings.HasPrefix(name, "pgt") {
		t.Fatalf("schema %q does not start with the prefix", name)
	}
	var n int
	if err := Admin(t).QueryRow("SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
