package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
)

// migrationFiles holds the schema history: migrations/NNN-name.sql, numbered
// from 001 without gaps. A migration is never edited once released; a change
// is a new file.
//
//go:embed migrations/*.sql migrations/postgres
var migrationFiles embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string // file name, for error messages
	sql     string
}

// loadMigrations reads and checks the embedded migrations once.
var loadMigrations = sync.OnceValues(func() ([]migration, error) {
	return parseMigrations(migrationFiles, "migrations")
})

// parseMigrations reads dir's NNN-name.sql files in version order and checks
// that they are numbered 1, 2, 3, … without gaps or duplicates.
func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name
		if e.IsDir() {
			continue // postgres/: PostgreSQL versions (migrate_pg.go)
		}
		name := e.Name()
		num, _, ok := strings.Cut(name, "-")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 3 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: want NNN-name.sql", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: want version %d next", name, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return ms, nil
}

// LatestSchema is the schema version this build writes.
func LatestSchema() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings the database on conn to schema target in one BEGIN
// IMMEDIATE transaction, re-checking under the write lock what the probe saw
// (another process may have migrated meanwhile). It returns the version the
// database is at. A database from a newer flperf is left untouched.
func migrate(ctx context.Context, conn *sql.Conn, dbPath string, target int) (version int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, fmt.Errorf("store: embedded migrations: %w", err)
	}
	if target <= 0 || target > len(ms) {
		target = len(ms)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, explain(dbPath, "locking it to update the schema", err)
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	var cur int
	var appID int64
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&cur); err != nil {
		return 0, explain(dbPath, "reading its schema version", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, explain(dbPath, "reading its application id", err)
	}
	if err := checkIdentity(dbPath, appID, cur, len(ms)); err != nil {
		return 0, err
	}
	if cur == 0 {
		if err := checkEmpty(ctx, conn, dbPath); err != nil {
			return 0, err
		}
	}
	if cur >= target {
		return cur, nil // rollback of a read-only transaction: nothing written
	}
	for _, m := range ms[cur:target] {
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return 0, explain(dbPath, "applying schema migration "+m.name, err)
		}
	}
	for _, p := range []string{
		"PRAGMA application_id = " + strconv.FormatInt(applicationID, 10),
		"PRAGMA user_version = " + strconv.Itoa(target),
	} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return 0, explain(dbPath, "recording the schema version", err)
		}
	}
	if err := foreignKeyCheck(ctx, conn, dbPath); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, explain(dbPath, "committing the schema migration", err)
	}
	committed = true
	return target, nil
}

// checkIdentity refuses a database of another application or of a newer
// flperf.
func checkIdentity(dbPath string, appID int64, version, latest int) error {
	if appID != 0 && appID != applicationID {
		return fmt.Errorf("database %s: %w: it belongs to another application (application_id %#x); pass --db with another path", dbPath, ErrNotDatabase, appID)
	}
	if version > latest {
		return &SchemaError{Path: dbPath, Found: version, Known: latest}
	}
	if version < 0 {
		return fmt.Errorf("database %s: %w: schema version %d", dbPath, ErrNotDatabase, version)
	}
	return nil
}

// checkEmpty refuses a schema-0 database that already holds tables: some
// other program's SQLite file, which must not be touched.
func checkEmpty(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, dbPath string) error {
	var n int
	err := q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").Scan(&n)
	if err != nil {
		return explain(dbPath, "reading its tables", err)
	}
	if n > 0 {
		return fmt.Errorf("database %s: %w: it is an SQLite database of another program (%d tables, no flperf schema version); pass --db with another path", dbPath, ErrNotDatabase, n)
	}
	return nil
}

// foreignKeyCheck fails if any row breaks a foreign key.
func foreignKeyCheck(ctx context.Context, conn *sql.Conn, dbPath string) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return explain(dbPath, "checking foreign keys", err)
	}
	defer rows.Close()
	if rows.Next() {
		return fmt.Errorf("database %s: foreign key check failed after migrating: %w", dbPath, ErrNotDatabase)
	}
	return explain(dbPath, "checking foreign keys", rows.Err())
}
