package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// applicationID marks the SQLite file as flperf's ("FLPF").
const applicationID = 0x464C5046

// busyTimeout is how long a statement waits for another connection's lock.
const busyTimeout = 10 * time.Second

// maxConns bounds the pool: readers, short writes, and one connection per
// open RecordWriter.
const maxConns = 16

// sqliteHeader starts every SQLite 3 database file.
const sqliteHeader = "SQLite format 3\x00"

// ErrNotDatabase is wrapped by the errors for a file that is not an flperf
// SQLite database, or is one that is damaged.
var ErrNotDatabase = errors.New("not a usable flperf database")

// SchemaError reports a database written by a newer flperf.
type SchemaError struct {
	Path         string
	Found, Known int // the file's schema version; the newest this build knows
}

// Error says what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("database %s was written by a newer flperf (schema %d, this build knows %d); upgrade flperf", e.Path, e.Found, e.Known)
}

// DB is an open flperf database. It is safe for concurrent use.
type DB struct {
	path    string
	sql     *sql.DB
	version int
	host    string
	pid     int
	pg      *pgState // nil: SQLite
	// audits counts AddAudit calls, to prune the audit log every
	// auditPruneEvery entries (audit.go).
	audits atomic.Int64
}

// openOptions are Open's internal knobs, for tests.
type openOptions struct {
	target  int      // schema version to migrate to; 0: the latest
	pragmas []string // extra per-connection pragmas, e.g. "max_page_count(40)"
}

// Open opens (creating if needed) the database at path, an SQLite file,
// or, when path is a postgres:// URL, flperf's schema in that PostgreSQL
// database (openPostgres). It creates the
// directory (0700) and the file (0600) when missing; refuses, without
// writing to it, a file that is not an SQLite database, is damaged (PRAGMA
// quick_check), belongs to another program or was written by a newer flperf;
// applies the schema migrations; and marks runs whose writer died as
// interrupted.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, openOptions{})
}

func open(ctx context.Context, path string, o openOptions) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: no database path")
	}
	if IsPostgres(path) {
		return openPostgres(ctx, path, o)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, err
	}
	if err := probe(ctx, abs); err != nil {
		return nil, err
	}
	sdb, err := sql.Open("sqlite", dsn(abs, false, o.pragmas))
	if err != nil {
		return nil, explain(abs, "opening", err)
	}
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(4)
	host, _ := os.Hostname()
	db := &DB{path: abs, sql: sdb, host: host, pid: os.Getpid()}
	if err := db.init(ctx, o.target); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// init switches to WAL, migrates, and marks dead runs interrupted.
func (db *DB) init(ctx context.Context, target int) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return explain(db.path, "opening", err)
	}
	defer conn.Close()
	var mode string
	// Switching a new file to WAL needs it alone, and SQLite answers busy
	// at once, without its busy timeout, while another process opens it
	// too: try again until the busy timeout has passed.
	deadline := time.Now().Add(busyTimeout)
	for {
		err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if err == nil {
			break
		}
		if c := sqliteCode(err); (c != codeBusy && c != codeLocked) || time.Now().After(deadline) {
			return explain(db.path, "switching to WAL mode", err)
		}
		select {
		case <-ctx.Done():
			return explain(db.path, "switching to WAL mode", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("database %s: this file system does not support SQLite's WAL mode (journal mode stays %q); put the database on a local disk with --db", db.path, mode)
	}
	if db.version, err = migrate(ctx, conn, db.path, target); err != nil {
		return err
	}
	if db.version == LatestSchema() {
		return db.markStale(ctx, conn)
	}
	return nil
}

// prepareFile creates the directory and an empty 0600 file when missing, and
// checks an existing file's header before SQLite may write to it.
func prepareFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("database %s: cannot create its directory: %w", path, err)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, fs.ErrExist) { // ErrExist: another process won the race
			return fmt.Errorf("database %s: cannot create the file: %w", path, err)
		}
		if f != nil {
			return f.Close()
		}
		return nil
	case err != nil:
		return fmt.Errorf("database %s: %w", path, err)
	case fi.IsDir():
		return fmt.Errorf("database %s: is a directory, not a database file", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("database %s: not a regular file", path)
	}
	return checkHeader(path, fi.Size())
}

// checkHeader reads the first 100 bytes of an existing file: an empty file
// is a new database (or one whose pages are all still in its WAL); anything
// else must carry the SQLite header, flperf's application id (or none) and a
// schema version this build knows.
func checkHeader(path string, size int64) error {
	if size == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("database %s: cannot read it: %w", path, err)
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("database %s: cannot read it: %w", path, err)
	}
	if n < len(sqliteHeader) || string(h[:len(sqliteHeader)]) != sqliteHeader {
		return fmt.Errorf("database %s: %w: the file is not an SQLite database (it starts with %q); move it aside or pass --db with another path",
			path, ErrNotDatabase, printable(h[:min(n, 16)]))
	}
	if n < len(h) {
		return fmt.Errorf("database %s: %w: the file is truncated (%d bytes); move it aside or restore a backup", path, ErrNotDatabase, n)
	}
	appID := int64(binary.BigEndian.Uint32(h[68:72]))
	version := int(int32(binary.BigEndian.Uint32(h[60:64])))
	return checkIdentity(path, appID, version, LatestSchema())
}

// printable shows the start of a file safely in an error message.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return '.'
		}
		return r
	}, string(b))
}

// probe opens the file read-only and checks it before anything writes:
// quick_check, application id, schema version, and that a schema-0 file
// holds no other program's tables.
func probe(ctx context.Context, path string) error {
	p, err := sql.Open("sqlite", dsn(path, true, nil))
	if err != nil {
		return explain(path, "opening", err)
	}
	defer p.Close()
	p.SetMaxOpenConns(1)
	rows, err := p.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return corrupt(path, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return corrupt(path, err)
		}
		if s == "ok" {
			continue
		}
		for line := range strings.Lines(s) { // one row may hold many lines
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "***") {
				problems = append(problems, line)
			}
		}
	}
	if err := rows.Close(); err != nil {
		return corrupt(path, err)
	}
	if err := rows.Err(); err != nil {
		return corrupt(path, err)
	}
	if len(problems) > 0 {
		more := ""
		if len(problems) > 3 {
			more = fmt.Sprintf("; and %d more", len(problems)-3)
			problems = problems[:3]
		}
		return fmt.Errorf("database %s: %w: the file is damaged (quick_check: %s%s); move it aside or restore a backup",
			path, ErrNotDatabase, strings.Join(problems, "; "), more)
	}
	var appID int64
	var version int
	if err := p.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return corrupt(path, err)
	}
	if err := p.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return corrupt(path, err)
	}
	if err := checkIdentity(path, appID, version, LatestSchema()); err != nil {
		return err
	}
	if version == 0 {
		err := checkEmpty(ctx, p, path)
		if err == nil {
			return nil
		}
		// Another process may have created the schema between the two
		// reads: its tables with their version are flperf's.
		if p.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID) == nil &&
			p.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version) == nil && version > 0 {
			return checkIdentity(path, appID, version, LatestSchema())
		}
		return err
	}
	return nil
}

// corrupt explains an error met while checking a file; a corrupt or
// non-database file is reported as such.
func corrupt(path string, err error) error {
	switch sqliteCode(err) {
	case codeCorrupt, codeNotADB:
		return fmt.Errorf("database %s: %w: the file is damaged or not an SQLite database (%v); move it aside or restore a backup", path, ErrNotDatabase, err)
	}
	return explain(path, "checking it", err)
}

// dsn builds the driver's connection string: a file: URI (so any path
// survives: spaces, '?', '#', '%') with the per-connection pragmas.
// Read-only probes use mode=ro, which can never write the file.
func dsn(path string, readOnly bool, extra []string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: C:/x → /C:/x
	}
	u := url.URL{Scheme: "file", Path: p}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
	}
	for _, x := range extra {
		q.Add("_pragma", x)
	}
	return u.String() + "?" + q.Encode()
}

// Close closes the database. Close every RecordWriter first. On
// PostgreSQL the locks of runs begun and not finished are freed: such a
// run is then found interrupted.
func (db *DB) Close() error {
	if db.pg != nil {
		db.pg.leases.Range(func(id, _ any) bool {
			db.dropLease(id.(string))
			return true
		})
	}
	return db.sql.Close()
}

// Path returns the database file's absolute path; for PostgreSQL, its URL
// without the password.
func (db *DB) Path() string { return db.path }

// Local reports whether the database is a file on this machine (SQLite),
// not a PostgreSQL server: only then is Path a file path.
func (db *DB) Local() bool { return db.pg == nil }

// DataDir is the local directory that goes with the database, for the
// files flperf keeps beside it (the app's suites): DataDirOf its path.
func (db *DB) DataDir() string { return DataDirOf(db.path) }

// DataDirOf is the local directory that goes with the database at path:
// the SQLite file's directory, or, for a PostgreSQL URL or "" (the default
// database), the user's data directory (that of DefaultPath; "" when there
// is none).
func DataDirOf(path string) string {
	if path != "" && !IsPostgres(path) {
		return filepath.Dir(path)
	}
	p, err := DefaultPath()
	if err != nil {
		return ""
	}
	return filepath.Dir(p)
}

// SchemaVersion returns the schema version the database is at.
func (db *DB) SchemaVersion() int { return db.version }
