package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Integrity is what Check found about a database file.
type Integrity struct {
	// Path is the file checked (absolute).
	Path string `json:"path"`
	// Exists is false when there is no file yet (flperf creates it on
	// first use); the other fields are then empty.
	Exists    bool  `json:"exists"`
	SizeBytes int64 `json:"size_bytes"`
	// Check names the check run: "integrity_check" (SQLite's full check).
	Check string `json:"check,omitempty"`
	// OK is true when the file is a usable flperf database with no problem
	// found (an empty file, a database not yet written, is OK).
	OK bool `json:"ok"`
	// Problems lists what the check reported, at most maxProblems lines.
	Problems []string `json:"problems"`
	// SchemaVersion is the file's schema version (PRAGMA user_version),
	// nil when it could not be read; LatestSchema is this build's.
	SchemaVersion *int `json:"schema_version"`
	LatestSchema  int  `json:"latest_schema"`
	// Runs counts the stored runs, nil when they could not be counted.
	Runs *int `json:"runs"`
}

// maxProblems bounds the problems Check lists.
const maxProblems = 20

// Check inspects the database file at path without writing to it and
// without creating it: its header, SQLite's PRAGMA integrity_check (every
// page and index), flperf's application id, the schema version and the
// number of runs. What it finds wrong is data in Integrity; the error is
// only for a check that could not run at all (a path that is not
// absolute-able). ctx bounds the check (a large file takes time).
func Check(ctx context.Context, path string) (Integrity, error) {
	if IsPostgres(path) {
		return checkPostgres(ctx, path), nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Integrity{Path: path}, fmt.Errorf("database %s: %w", path, err)
	}
	in := Integrity{Path: abs, Problems: []string{}, LatestSchema: LatestSchema()}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		in.OK = true
		return in, nil
	case err != nil:
		in.Problems = append(in.Problems, err.Error())
		return in, nil
	}
	in.Exists, in.SizeBytes = true, fi.Size()
	if !fi.Mode().IsRegular() {
		in.Problems = append(in.Problems, "not a regular file")
		return in, nil
	}
	if fi.Size() == 0 {
		in.OK = true // created, nothing written yet
		return in, nil
	}
	if p := headerProblem(abs); p != "" {
		in.Problems = append(in.Problems, p)
		return in, nil
	}
	in.Check = "integrity_check"
	db, err := sql.Open("sqlite", dsn(abs, true, nil))
	if err != nil {
		in.Problems = append(in.Problems, err.Error())
		return in, nil
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	in.Problems = append(in.Problems, integrityProblems(ctx, db)...)
	var appID int64
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err == nil {
		if appID != 0 && appID != applicationID {
			in.Problems = append(in.Problems, fmt.Sprintf("belongs to another application (application_id %#x)", appID))
		}
	}
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err == nil {
		in.SchemaVersion = &version
		if version > in.LatestSchema {
			in.Problems = append(in.Problems, fmt.Sprintf("written by a newer flperf (schema %d, this build knows %d)", version, in.LatestSchema))
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM runs").Scan(&n); err == nil {
		in.Runs = &n
	}
	in.OK = len(in.Problems) == 0
	return in, nil
}

// headerProblem reads the first bytes of a non-empty file: "" when it
// starts as an SQLite database, else what it is.
func headerProblem(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "cannot read it: " + err.Error()
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "cannot read it: " + err.Error()
	}
	if n < len(sqliteHeader) || string(h[:len(sqliteHeader)]) != sqliteHeader {
		return fmt.Sprintf("not an SQLite database (it starts with %q)", printable(h[:min(n, 16)]))
	}
	if n < len(h) {
		return fmt.Sprintf("truncated (%d bytes)", n)
	}
	return ""
}

// integrityProblems runs PRAGMA integrity_check and returns its lines other
// than "ok"; an error of the check itself (a file too damaged to read) is
// one problem.
func integrityProblems(ctx context.Context, db *sql.DB) []string {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA integrity_check(%d)", maxProblems))
	if err != nil {
		return []string{"integrity_check could not run: " + err.Error()}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return append(out, "integrity_check: "+err.Error())
		}
		for line := range strings.Lines(s) {
			if line = strings.TrimSpace(line); line != "" && line != "ok" && !strings.HasPrefix(line, "***") && len(out) < maxProblems {
				out = append(out, line)
			}
		}
	}
	if err := rows.Err(); err != nil {
		out = append(out, "integrity_check: "+err.Error())
	}
	return out
}
