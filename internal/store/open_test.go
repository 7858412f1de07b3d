package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestOpenCreatesWithPragmas(t *testing.T) {
	sqliteOnly(t, "SQLite pragmas and file modes")
	dir := filepath.Join(t.TempDir(), "new", "data")
	path := filepath.Join(dir, "flperf.db")
	db := openAt(t, path)
	if db.Path() != path || db.SchemaVersion() != LatestSchema() || LatestSchema() < 2 {
		t.Errorf("path %q version %d (latest %d)", db.Path(), db.SchemaVersion(), LatestSchema())
	}
	for _, c := range []struct{ path string }{{dir}, {path}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode().Perm(), want)
		}
	}
	// Pragmas, read on one pooled connection.
	conn, err := db.sql.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1",
		"application_id": fmt.Sprint(applicationID), "user_version": fmt.Sprint(LatestSchema()),
	} {
		var got string
		if err := conn.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	// A BeginTx is BEGIN IMMEDIATE: it holds the write lock at once.
	tx, err := db.sql.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", path) // no busy timeout
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec("BEGIN IMMEDIATE"); sqliteCode(err) != codeBusy {
		t.Errorf("a second writer got %v while a transaction was open; want SQLITE_BUSY", err)
	}
	tx.Rollback()

	// Reopening is idempotent and keeps the data.
	if err := db.BeginRun(context.Background(), testResult("kept")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2 := openAt(t, path)
	if db2.SchemaVersion() != LatestSchema() {
		t.Errorf("reopened at version %d", db2.SchemaVersion())
	}
	if _, err := db2.Resolve(context.Background(), "kept"); err != nil {
		t.Error(err)
	}
	// runs, records, summaries, events (schema 2), record_text (4),
	// settings and run_samples (5), run_engine_series (9), users and
	// audit_log (15), push_sessions, push_chunks and run_origins (16),
	// board (17).
	if n := count(t, db2, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"); n != 14 {
		t.Errorf("%d tables after reopening, want 14", n)
	}
}

// makeDB writes a closed database with one run at path.
func makeDB(t *testing.T, path string, records int) {
	t.Helper()
	db, err := Open(context.Background(), loc(t, path))
	if err != nil {
		t.Fatal(err)
	}
	writeRun(t, db, "r", makeRecords(records, 10))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("the WAL was not checkpointed at close")
	}
}

// setUserVersion sets the schema version with a plain connection.
func setUserVersion(t *testing.T, path string, v int, keepOpen bool) {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		t.Fatal(err)
	}
	if keepOpen { // the new version stays in the WAL, the file's header is old
		t.Cleanup(func() { raw.Close() })
		return
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	sqliteOnly(t, "writes PRAGMA user_version (PostgreSQL: TestPostgresRefusesNewerSchema)")
	for _, inWAL := range []bool{false, true} {
		t.Run(fmt.Sprintf("inWAL=%v", inWAL), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flperf.db")
			makeDB(t, path, 20)
			newer := LatestSchema() + 1
			setUserVersion(t, path, newer, inWAL)
			before := fileHash(t, path)
			_, err := Open(context.Background(), loc(t, path))
			var se *SchemaError
			if !errors.As(err, &se) || se.Found != newer || se.Known != LatestSchema() {
				t.Fatalf("Open: %v, want a SchemaError", err)
			}
			want := fmt.Sprintf("database %s was written by a newer flperf (schema %d, this build knows %d); upgrade flperf", path, newer, LatestSchema())
			if err.Error() != want {
				t.Errorf("error %q\nwant  %q", err, want)
			}
			if fileHash(t, path) != before {
				t.Error("the newer database was modified")
			}
		})
	}
}

func TestOpenRefusesWhatIsNotItsDatabase(t *testing.T) {
	sqliteOnly(t, "damaged and foreign SQLite files (PostgreSQL: TestPostgresRefusesAnotherProgramsSchema)")
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	sqliteFile := func(t *testing.T, records int) []byte {
		p := filepath.Join(t.TempDir(), "real.db")
		makeDB(t, p, records)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	foreign := func(t *testing.T, setup string) []byte {
		p := filepath.Join(t.TempDir(), "other.db")
		raw, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(setup); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		data func(t *testing.T) []byte
		want string
	}{
		{"random bytes", func(*testing.T) []byte { return random }, "not an SQLite database"},
		{"text file", func(*testing.T) []byte { return []byte("model,ttft\nllama,120\n") }, `not an SQLite database (it starts with "model,ttft.llama")`},
		{"short header", func(*testing.T) []byte { return []byte("SQLite format 3\x00\x10\x00") }, "truncated"},
		{"truncated database", func(t *testing.T) []byte { b := sqliteFile(t, 3000); return b[:len(b)/2] }, "damaged"},
		{"page one only", func(t *testing.T) []byte { b := sqliteFile(t, 3000); return b[:4096] }, "damaged"},
		{"damaged pages", func(t *testing.T) []byte {
			b := sqliteFile(t, 3000)
			for i := 3 * 4096; i < len(b); i += 4096 {
				copy(b[i:i+64], random[:64]) // scribble over every page header
			}
			return b
		}, "damaged"},
		{"another program's tables", func(t *testing.T) []byte {
			return foreign(t, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep me')")
		}, "another program"},
		{"another application id", func(t *testing.T) []byte { return foreign(t, "PRAGMA application_id = 42; CREATE TABLE t (x)") }, "another application"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flperf.db")
			if err := os.WriteFile(path, c.data(t), 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, path)
			db, err := Open(context.Background(), loc(t, path))
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want ErrNotDatabase naming the path and saying %q", err, c.want)
			}
			t.Log(err)
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error spans lines: %q", err)
			}
			if fileHash(t, path) != before {
				t.Error("the file was modified")
			}
		})
	}
}

func TestOpenUnwritableLocations(t *testing.T) {
	sqliteOnly(t, "file system locations")
	dir := t.TempDir()
	file := filepath.Join(dir, "regular")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ path, want string }{
		// These fail for root too, which CI runs as: permission bits alone
		// do not stop root.
		"parent is a file":    {filepath.Join(file, "flperf.db"), "cannot create its directory"},
		"path is a directory": {dir, "is a directory"},
	}
	if runtime.GOOS == "linux" {
		// procfs refuses new files to everyone: a read-only location.
		cases["read-only file system"] = struct{ path, want string }{"/proc/flperf-test/flperf.db", "cannot create its directory"}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Open(context.Background(), loc(t, c.path))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("Open(%s): %v; want an error naming the path and saying %q", c.path, err, c.want)
			}
		})
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Error("the regular file was modified")
	}
}

// A read-only directory holding an existing database, for a user that
// permission bits do stop (not root).
func TestOpenReadOnlyDirectory(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("permission bits do not stop root (see TestOpenUnwritableLocations) or Windows")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	path := filepath.Join(dir, "flperf.db")
	makeDB(t, path, 10)
	before := fileHash(t, path)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := Open(context.Background(), loc(t, path))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Open in a read-only directory: %v", err)
	}
	if fileHash(t, path) != before {
		t.Error("the file was modified")
	}
}

func TestOpenOddPaths(t *testing.T) {
	sqliteOnly(t, "file paths")
	for _, name := range []string{"with space.db", "what?.db", "hash#tag.db", "100%.db", "ünï.db"} {
		if runtime.GOOS == "windows" && strings.ContainsAny(name, "?") {
			continue
		}
		path := filepath.Join(t.TempDir(), name)
		db, err := Open(context.Background(), loc(t, path))
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		db.Close()
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 || entries[0].Name() != name {
			t.Errorf("%q: directory holds %v", name, entries)
		}
	}
	if _, err := Open(context.Background(), ""); err == nil {
		t.Error("empty path accepted")
	}
}
